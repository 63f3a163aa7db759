//! The demultiplexer on untrusted datagrams, for the fuzz target in `fuzz/`
//! and the corpus test: whatever arrives at the media port, nothing panics,
//! no connection is taken over, and the call it carries stays as it was.

use std::net::SocketAddr;

use crate::sfu::{Command, Sfu};
use crate::{CallState, MediaConfig, Party};

/// A media loop (no thread) with one call and one visitor connection.
pub struct Demux {
    sfu: Sfu,
}

/// A Chromium-like offer: sendrecv audio and video.
const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n\
a=ice-ufrag:fuzz\r\na=ice-pwd:fuzzfuzzfuzzfuzzfuzzfuzz\r\n\
a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n\
a=setup:actpass\r\na=rtpmap:111 opus/48000/2\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendrecv\r\na=rtcp-mux\r\n\
a=ice-ufrag:fuzz\r\na=ice-pwd:fuzzfuzzfuzzfuzzfuzzfuzz\r\n\
a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n\
a=setup:actpass\r\na=rtpmap:96 VP8/90000\r\n";

impl Demux {
    /// The harness, on a loopback port.
    ///
    /// # Panics
    /// If no loopback UDP port can be bound or str0m refuses the fixed offer.
    pub fn new() -> Demux {
        let config = MediaConfig::default();
        let mut sfu = Sfu::bind(config, Box::new(|_| {})).expect("a loopback UDP port");
        let state = CallState {
            agent: Some("a1".into()),
            active: true,
            ..CallState::default()
        };
        sfu.command(Command::Update {
            session: "cs_fuzz".into(),
            state: Some(state),
        });
        let (reply, mut rx) = tokio::sync::oneshot::channel();
        sfu.command(Command::Connect {
            session: "cs_fuzz".into(),
            party: Party::Customer,
            owner: "visitor".into(),
            offer: OFFER.into(),
            reply,
        });
        rx.try_recv()
            .expect("a reply")
            .expect("the fixed offer is accepted");
        Demux { sfu }
    }

    /// Feeds one datagram from a stranger, then lets the loop run its outputs.
    pub fn datagram(&mut self, data: &[u8]) {
        let stranger = SocketAddr::from(([127, 0, 0, 9], 40_000));
        self.sfu.datagram(data, stranger, None);
        let mut queue = Vec::new();
        for i in 0..self.sfu.peer_count() {
            self.sfu.drain(i, &mut queue, false);
        }
        assert_eq!(self.sfu.peer_count(), 1, "no connection appears from noise");
        assert!(self.sfu.call_active("cs_fuzz"), "the call is untouched");
    }
}

impl Default for Demux {
    fn default() -> Self {
        Demux::new()
    }
}
