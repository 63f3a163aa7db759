//! The demultiplexer on untrusted datagrams, for the fuzz target in `fuzz/`
//! and the corpus test: whatever arrives at the media port, nothing panics,
//! no connection is taken over, and the call it carries stays as it was.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use crate::addresses::Candidates;
use crate::plane::{Command, Plane};
use crate::{CallState, MediaConfig, Party};

/// A media plane (no socket, no thread) with one call and one visitor
/// connection.
pub struct Demux {
    plane: Plane,
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
    /// The harness, as if bound on a loopback port (nothing is bound).
    ///
    /// # Panics
    /// If str0m refuses the fixed offer.
    pub fn new() -> Demux {
        let config = MediaConfig::default();
        let bound = SocketAddr::from((Ipv4Addr::LOCALHOST, 40_000));
        let candidates = Candidates::discover(bound.ip(), None);
        let mut plane = Plane::new(config, bound, None, candidates, Box::new(|_| {}));
        let state = CallState {
            agent: Some("a1".into()),
            active: true,
            ..CallState::default()
        };
        plane.command(Command::Update {
            session: "cs_fuzz".into(),
            state: Some(state),
        });
        let (reply, mut rx) = tokio::sync::oneshot::channel();
        plane.command(Command::Connect {
            session: "cs_fuzz".into(),
            party: Party::Customer,
            owner: "visitor".into(),
            offer: OFFER.into(),
            reply,
        });
        rx.try_recv()
            .expect("a reply")
            .expect("the fixed offer is accepted");
        Demux { plane }
    }

    /// Feeds one datagram from a stranger, then lets the plane run a turn
    /// and takes what it would send.
    pub fn datagram(&mut self, data: &[u8]) {
        let stranger = SocketAddr::from(([127, 0, 0, 9], 40_000));
        let now = Instant::now();
        self.plane.datagram(data, stranger, None, now);
        self.plane.turn(now);
        while self.plane.poll_transmit().is_some() {}
        assert_eq!(
            self.plane.peer_count(),
            1,
            "no connection appears from noise"
        );
        assert!(self.plane.call_active("cs_fuzz"), "the call is untouched");
    }
}

impl Default for Demux {
    fn default() -> Self {
        Demux::new()
    }
}
