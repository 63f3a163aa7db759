//! Which way a connection's media goes: the kind of the participant's
//! candidate on the pair in use (through TURN or not) and its transport.
//! An ICE-lite server never learns which pair the browser nominated, so it
//! is read from where the first media goes, against the candidates the
//! participant offered or trickled.

use std::net::SocketAddr;

use serde::Serialize;
use str0m::net::Protocol;
use str0m::{Candidate, CandidateKind};

/// The kind of the participant's candidate the media goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathKind {
    /// The participant's own address.
    Host,
    /// Its address as a STUN server saw it (behind NAT).
    Srflx,
    /// An address it did not offer (learnt from its checks, e.g. behind a
    /// NAT it did not ask a STUN server about).
    Prflx,
    /// A TURN server's relay.
    Relay,
}

impl PathKind {
    /// Every kind, in the order of [`MediaTotals::paths`](crate::MediaTotals).
    pub const ALL: [PathKind; 4] = [
        PathKind::Host,
        PathKind::Srflx,
        PathKind::Prflx,
        PathKind::Relay,
    ];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            PathKind::Host => "host",
            PathKind::Srflx => "srflx",
            PathKind::Prflx => "prflx",
            PathKind::Relay => "relay",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// The path in use: the candidate's kind and the transport to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MediaPath {
    pub candidate: PathKind,
    /// ICE-TCP (to the participant's passive or active TCP candidate).
    pub tcp: bool,
}

/// The candidates a participant offered or trickled.
#[derive(Debug, Default)]
pub(crate) struct RemoteCandidates(Vec<(SocketAddr, CandidateKind)>);

impl RemoteCandidates {
    /// Adds the candidates in `sdp` (an offer or a trickled fragment) and
    /// returns them.
    pub(crate) fn add_from(&mut self, sdp: &str) -> Vec<Candidate> {
        let found: Vec<Candidate> = sdp
            .lines()
            .filter_map(|l| Candidate::from_sdp_string(l.trim().trim_start_matches("a=")).ok())
            .collect();
        self.0.extend(found.iter().map(|c| (c.addr(), c.kind())));
        found
    }

    /// The path media sent to `destination` over `proto` takes.
    pub(crate) fn path_to(&self, destination: SocketAddr, proto: Protocol) -> MediaPath {
        let canonical = |a: SocketAddr| SocketAddr::new(a.ip().to_canonical(), a.port());
        let kind = self
            .0
            .iter()
            .find(|(a, _)| canonical(*a) == canonical(destination))
            .map(|(_, k)| *k);
        MediaPath {
            candidate: match kind {
                Some(CandidateKind::Host) => PathKind::Host,
                Some(CandidateKind::ServerReflexive) => PathKind::Srflx,
                Some(CandidateKind::Relayed) => PathKind::Relay,
                Some(CandidateKind::PeerReflexive) | None => PathKind::Prflx,
            },
            tcp: proto != Protocol::Udp,
        }
    }
}

/// Whether a datagram is RTP or RTCP (RFC 7983: first byte 128 to 191),
/// not a STUN answer (which an ICE-lite server sends on every pair checked)
/// or DTLS.
pub(crate) fn is_media(datagram: &[u8]) -> bool {
    datagram.first().is_some_and(|b| (128..=191).contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
        a=candidate:1 1 udp 2122260223 10.0.0.5 50000 typ host\r\n\
        a=candidate:2 1 udp 1686052607 203.0.113.7 40000 typ srflx raddr 10.0.0.5 rport 50000\r\n\
        a=candidate:3 1 udp 41885439 198.51.100.9 3478 typ relay raddr 203.0.113.7 rport 40000\r\n\
        a=candidate:4 1 tcp 1518280447 10.0.0.5 9 typ host tcptype active\r\n";

    #[test]
    fn the_path_is_the_kind_of_the_candidate_media_goes_to() {
        let mut c = RemoteCandidates::default();
        c.add_from(OFFER);
        let path = |a: &str, p| c.path_to(a.parse().unwrap(), p);
        assert_eq!(
            path("198.51.100.9:3478", Protocol::Udp),
            MediaPath {
                candidate: PathKind::Relay,
                tcp: false
            }
        );
        assert_eq!(
            path("203.0.113.7:40000", Protocol::Udp).candidate,
            PathKind::Srflx
        );
        assert_eq!(
            path("10.0.0.5:50000", Protocol::Udp).candidate,
            PathKind::Host
        );
        // A v4-mapped destination is the same address.
        assert_eq!(
            path("[::ffff:10.0.0.5]:50000", Protocol::Udp).candidate,
            PathKind::Host
        );
        // An address never offered: learnt from the checks.
        assert_eq!(
            path("10.0.0.5:50001", Protocol::Udp).candidate,
            PathKind::Prflx
        );
        assert!(path("10.0.0.5:50001", Protocol::Tcp).tcp);
    }

    #[test]
    fn trickled_candidates_count_and_only_rtp_or_rtcp_is_media() {
        let mut c = RemoteCandidates::default();
        c.add_from(
            "a=candidate:9 1 udp 41885439 198.51.100.10 3478 typ relay raddr 0.0.0.0 rport 0\r\n",
        );
        assert_eq!(
            c.path_to("198.51.100.10:3478".parse().unwrap(), Protocol::Udp)
                .candidate,
            PathKind::Relay
        );
        assert!(is_media(&[0x80, 96]));
        assert!(is_media(&[0xbf]));
        assert!(!is_media(&[0x00, 0x01]), "a STUN binding");
        assert!(!is_media(&[22, 254, 253]), "a DTLS handshake");
        assert!(!is_media(&[]));
    }
}
