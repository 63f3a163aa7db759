//! One participant's connection: its `Rtc`, which of its tracks carry media
//! in (by SSRC) and out (sinks, with their rewriting), and its quality
//! figures.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::bwe::Bitrate;
use str0m::change::SdpOffer;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid};
use str0m::net::Transmit;
use str0m::rtp::Ssrc;
use str0m::Rtc;

use crate::error::{bad_offer, MediaError};
use crate::forward::Sink;
use crate::holes::{self, Holes};
use crate::path::{is_media, PathKind, RemoteCandidates};
use crate::quality::PeerQuality;
use crate::restart;
use crate::Party;

/// A live connection.
pub(crate) struct Peer {
    /// The resource id in the WHIP `Location`.
    pub(crate) id: String,
    /// Its number, unique in this process (what sinks know a source by).
    pub(crate) serial: u64,
    pub(crate) session: String,
    pub(crate) party: Party,
    /// The credential that made it (only it may change or end it).
    pub(crate) owner: String,
    /// For an agent's connection, which agent: after a transfer the old
    /// agent's media is no longer forwarded.
    pub(crate) agent: Option<String>,
    pub(crate) rtc: Rtc,
    /// Tracks the participant sends on, in the offer's order.
    pub(crate) incoming: Vec<(Mid, MediaKind)>,
    /// Its incoming streams, learnt once per SSRC.
    sources: Vec<Source>,
    /// Tracks the participant receives on, in the offer's order.
    pub(crate) outgoing: Vec<Sink>,
    /// Open data channels, by label.
    pub(crate) channels: Vec<(str0m::channel::ChannelId, String)>,
    /// Remote addresses seen for it (the demultiplexing map's keys).
    pub(crate) addrs: Vec<SocketAddr>,
    pub(crate) quality: PeerQuality,
    /// Byte counters at the previous stats event, for bitrates.
    last_bytes: Option<(u64, u64, Instant)>,
    /// Keyframe requests to this peer's sources are throttled.
    last_keyframe_request: Option<Instant>,
    /// Whether its offer sends media (a publisher or a sendrecv page).
    pub(crate) publishes: bool,
    /// Whether its offer receives media (a player or a sendrecv page).
    pub(crate) plays: bool,
    /// The offer it was negotiated with, as the client's credentials
    /// and candidates now are (an ICE restart replays it).
    pub(crate) offer: String,
    /// Whether its path is in the totals (once per connection, not again
    /// after an ICE restart).
    pub(crate) path_counted: bool,
    /// The candidates it offered or trickled (which way its media goes).
    pub(crate) remote_candidates: RemoteCandidates,
    /// Its recording, while the call is recorded.
    pub(crate) recorder: Option<crate::recorder::Recorder>,
    /// When its `Rtc` next wants a timeout, as its last drain said.
    pub(crate) due: Instant,
    /// Where its media goes.
    pub(crate) route: Route,
    /// When the oldest media written to it since its last drain was read
    /// (for the forwarding delay).
    pub(crate) pending_since: Option<Instant>,
    /// It was given input since its last drain: drain it this turn.
    pub(crate) dirty: bool,
    /// When the connection was made (for the time to connected).
    pub(crate) created: Instant,
    /// Whether its ICE and DTLS ever came up.
    pub(crate) ever_connected: bool,
    /// What the leg to this participant carries: str0m's send-side
    /// estimate (TWCC), when it has one.
    pub(crate) downlink: Option<Bitrate>,
    /// The last cap asked of this participant's encoder, and when.
    last_cap: Option<(Bitrate, Instant)>,
    /// Its leg's round trip and jitter, smoothed (for how long its
    /// receivers should wait for its media).
    pub(crate) leg: LegTiming,
    /// Per track, NACKs and keyframe requests so far: incoming (sent by
    /// us), outgoing (sent by the participant). str0m counts per track.
    ingress: Vec<(Mid, u64, u64)>,
    egress: Vec<(Mid, u64, u64)>,
}

/// One incoming stream: its track, kind, which of that kind (0: camera or
/// microphone, 1: screen share), and the packets it still misses.
struct Source {
    ssrc: Ssrc,
    mid: Mid,
    kind: MediaKind,
    index: usize,
    holes: Holes,
}

/// Where a connection's media goes and what of it may, as of the last
/// change to its call (recomputed then, not per packet).
#[derive(Clone, Debug, Default)]
pub(crate) struct Route {
    /// The connections on the other side of the call (the current agent's
    /// or the visitor's), by index.
    pub(crate) partners: Vec<usize>,
    /// The call is answered (data channels are relayed).
    pub(crate) active: bool,
    /// Its audio is forwarded: answered, its own party current, not muted.
    pub(crate) audio: bool,
    /// Its video is forwarded: answered, current, not an audio-only call.
    pub(crate) video: bool,
}

/// A leg's timing as a receiver on the other side would need it. One
/// round trip sample swings with the leg's jitter, so it is smoothed as
/// TCP smooths its round trip (a gain of 1/8).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct LegTiming {
    pub(crate) srtt_ms: Option<f64>,
    /// The interarrival jitter (RFC 3550) of its camera, ms.
    pub(crate) jitter_ms: Option<f64>,
}

impl LegTiming {
    fn rtt_sample(&mut self, ms: f64) {
        self.srtt_ms = Some(self.srtt_ms.map_or(ms, |s| s + (ms - s) / 8.0));
    }
}

/// The fewest time between two keyframe requests to one source.
const KEYFRAME_REQUEST_GAP: Duration = Duration::from_millis(500);
/// Caps are repeated at most this often, unless one falls by a fifth.
const CAP_GAP: Duration = Duration::from_millis(500);

impl Peer {
    pub(crate) fn new(
        id: String,
        serial: u64,
        session: String,
        party: Party,
        owner: String,
        agent: Option<String>,
        rtc: Rtc,
    ) -> Peer {
        Peer {
            quality: PeerQuality {
                id: id.clone(),
                session: session.clone(),
                party,
                ..PeerQuality::default()
            },
            id,
            serial,
            session,
            party,
            owner,
            agent,
            rtc,
            incoming: Vec::new(),
            sources: Vec::new(),
            outgoing: Vec::new(),
            channels: Vec::new(),
            addrs: Vec::new(),
            due: Instant::now(),
            dirty: true,
            route: Route::default(),
            pending_since: None,
            last_bytes: None,
            last_keyframe_request: None,
            created: Instant::now(),
            ever_connected: false,
            downlink: None,
            last_cap: None,
            leg: LegTiming::default(),
            ingress: Vec::new(),
            egress: Vec::new(),
            publishes: true,
            plays: true,
            offer: String::new(),
            path_counted: false,
            remote_candidates: RemoteCandidates::default(),
            recorder: None,
        }
    }

    /// Takes a PATCHed fragment: trickled candidates, or new credentials
    /// (an ICE restart, after the client's network changed), which it
    /// answers with credentials of its own.
    pub(crate) fn trickle(&mut self, fragment: &str) -> Result<Option<String>, MediaError> {
        let (ufrag, pwd) = restart::credentials(fragment);
        let Some(ufrag) = ufrag.filter(|&u| Some(u) != restart::credentials(&self.offer).0) else {
            for c in self.remote_candidates.add_from(fragment) {
                self.rtc.add_remote_candidate(c);
            }
            return Ok(None);
        };
        let pwd = pwd.ok_or(MediaError::BadOffer(
            "an ICE restart needs a=ice-ufrag and a=ice-pwd",
        ))?;
        let offer = restart::reoffer(&self.offer, ufrag, pwd, fragment);
        let parsed = SdpOffer::from_sdp_string(&offer)
            .map_err(|e| bad_offer("the ICE restart's offer cannot be read", &e))?;
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(parsed)
            .map_err(|e| bad_offer("the ICE restart cannot be answered", &e))?;
        self.remote_candidates.add_from(fragment);
        self.offer = offer;
        // Which way its media goes is learnt again.
        self.quality.path = None;
        Ok(restart::answer_fragment(&answer.to_sdp_string()))
    }

    /// Learns which way its media goes from the first RTP or RTCP sent to
    /// it once connected; the candidate's kind when that is new for this
    /// connection (to count once, not again after an ICE restart).
    pub(crate) fn note_path(&mut self, t: &Transmit) -> Option<PathKind> {
        if self.quality.path.is_some() || !self.ever_connected || !is_media(&t.contents) {
            return None;
        }
        let path = self.remote_candidates.path_to(t.destination, t.proto);
        self.quality.path = Some(path);
        (!std::mem::replace(&mut self.path_counted, true)).then_some(path.candidate)
    }

    /// Notes a negotiated track.
    pub(crate) fn track_added(&mut self, mid: Mid, kind: MediaKind, direction: Direction) {
        if matches!(direction, Direction::RecvOnly | Direction::SendRecv) {
            self.incoming.push((mid, kind));
        }
        if matches!(direction, Direction::SendOnly | Direction::SendRecv) {
            self.outgoing.push(Sink::new(mid, kind));
        }
    }

    /// Its first incoming track of `kind` (the microphone or the camera).
    pub(crate) fn first_incoming(&self, kind: MediaKind) -> Option<Mid> {
        self.incoming
            .iter()
            .find(|(_, k)| *k == kind)
            .map(|(m, _)| *m)
    }

    /// The track, kind and index (among its kind) an incoming SSRC
    /// carries, learnt from str0m once per SSRC.
    pub(crate) fn source(&mut self, ssrc: Ssrc) -> Option<(Mid, MediaKind, usize)> {
        if let Some(s) = self.sources.iter().find(|s| s.ssrc == ssrc) {
            return Some((s.mid, s.kind, s.index));
        }
        let mid = self.rtc.direct_api().stream_rx(&ssrc)?.mid();
        let kind = self.incoming.iter().find(|(m, _)| *m == mid)?.1;
        let index = self
            .incoming
            .iter()
            .filter(|(_, k)| *k == kind)
            .position(|(m, _)| *m == mid)?;
        self.sources.push(Source {
            ssrc,
            mid,
            kind,
            index,
            holes: Holes::default(),
        });
        Some((mid, kind, index))
    }

    /// Notes a packet of incoming stream `ssrc` (known to [`Peer::source`]);
    /// whether a hole in it has outlived the repairs (a keyframe is due, see
    /// [`crate::holes`]).
    pub(crate) fn hole_given_up(&mut self, ssrc: Ssrc, seq: u64, at: Instant) -> bool {
        let patience = holes::patience(self.leg.srtt_ms);
        let Some(source) = self.sources.iter_mut().find(|s| s.ssrc == ssrc) else {
            return false;
        };
        source.holes.arrived(seq, at);
        source.holes.gave_up(at, patience)
    }

    /// The outgoing track `mid`'s kind.
    pub(crate) fn outgoing_kind(&self, mid: Mid) -> Option<MediaKind> {
        Some(self.outgoing.iter().find(|s| s.mid == mid)?.kind)
    }

    /// Caps what the participant sends at `cap` (a REMB on each video it
    /// sends), so that its encoder fits the other side's downlink, as it
    /// would peer to peer. Returns whether a cap was sent.
    pub(crate) fn cap_bitrate(&mut self, cap: Bitrate, now: Instant) -> bool {
        let quiet = self.last_cap.is_some_and(|(last, at)| {
            now.duration_since(at) < CAP_GAP && cap.as_f64() >= last.as_f64() * 0.8
        });
        if quiet {
            return false;
        }
        self.last_cap = Some((cap, now));
        self.each_incoming_video(|stream| stream.request_remb(cap));
        true
    }

    /// Runs `f` on the receiving stream of every video the participant sends.
    fn each_incoming_video(&mut self, mut f: impl FnMut(&mut str0m::rtp::StreamRx)) {
        let videos: Vec<Mid> = self
            .incoming
            .iter()
            .filter(|(_, k)| *k == MediaKind::Video)
            .map(|(m, _)| *m)
            .collect();
        let mut api = self.rtc.direct_api();
        for mid in videos {
            if let Some(stream) = api.stream_rx_by_mid(mid, None) {
                f(stream);
            }
        }
    }

    /// Asks the participant for a keyframe on every video it sends.
    pub(crate) fn request_keyframes(&mut self, now: Instant) {
        if self
            .last_keyframe_request
            .is_some_and(|t| now.duration_since(t) < KEYFRAME_REQUEST_GAP)
        {
            return;
        }
        self.last_keyframe_request = Some(now);
        self.each_incoming_video(|stream| stream.request_keyframe(KeyframeRequestKind::Pli));
    }

    /// Folds str0m's peer statistics into the quality figures.
    pub(crate) fn peer_stats(&mut self, s: &str0m::stats::PeerStats) {
        if let Some((rx, tx, at)) = self.last_bytes {
            let secs = s.timestamp.saturating_duration_since(at).as_secs_f64();
            if secs > 0.0 {
                self.quality.bitrate_in_kbps =
                    (s.peer_bytes_rx.saturating_sub(rx) as f64 * 8.0 / secs / 1000.0) as u64;
                self.quality.bitrate_out_kbps =
                    (s.peer_bytes_tx.saturating_sub(tx) as f64 * 8.0 / secs / 1000.0) as u64;
            }
        }
        self.last_bytes = Some((s.peer_bytes_rx, s.peer_bytes_tx, s.timestamp));
        self.quality.bytes_in = s.peer_bytes_rx;
        self.quality.bytes_out = s.peer_bytes_tx;
        if let Some(rtt) = s.rtt {
            self.rtt_sample(rtt);
        }
        self.quality.loss_in = s.ingress_loss_fraction.or(self.quality.loss_in);
        self.quality.loss_out = s.egress_loss_fraction.or(self.quality.loss_out);
    }

    fn rtt_sample(&mut self, rtt: Duration) {
        let ms = rtt.as_secs_f64() * 1000.0;
        self.quality.rtt_ms = Some(ms);
        self.leg.rtt_sample(ms);
    }

    /// Folds one incoming track's statistics (jitter) into the figures.
    pub(crate) fn ingress_stats(&mut self, s: &str0m::stats::MediaIngressStats) {
        self.quality.jitter = Some(s.jitter);
        if self.first_incoming(MediaKind::Video) == Some(s.mid) {
            self.leg.jitter_ms = Some(f64::from(s.jitter) / 90.0);
        }
        if let Some(rtt) = s.rtt {
            self.rtt_sample(rtt);
        }
        let (nacks, keyframes) = tally(&mut self.ingress, s.mid, s.nacks, s.plis + s.firs);
        self.quality.nacks_sent = nacks;
        self.quality.keyframes_asked_of = keyframes;
    }

    /// Folds one outgoing track's figures (what the participant asked of it).
    pub(crate) fn egress_stats(&mut self, s: &str0m::stats::MediaEgressStats) {
        let (nacks, keyframes) = tally(&mut self.egress, s.mid, s.nacks, s.plis + s.firs);
        self.quality.nacks_received = nacks;
        self.quality.keyframes_asked_by = keyframes;
    }
}

/// Records one track's running counts in `tracks`; returns the totals.
fn tally(tracks: &mut Vec<(Mid, u64, u64)>, mid: Mid, nacks: u64, keyframes: u64) -> (u64, u64) {
    match tracks.iter_mut().find(|t| t.0 == mid) {
        Some(t) => (t.1, t.2) = (nacks, keyframes),
        None => tracks.push((mid, nacks, keyframes)),
    }
    tracks.iter().fold((0, 0), |(n, k), t| (n + t.1, k + t.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_legs_round_trip_is_smoothed_against_its_jitter() {
        let mut leg = LegTiming::default();
        leg.rtt_sample(80.0);
        assert_eq!(leg.srtt_ms, Some(80.0), "the first sample as it is");
        // A sample that jitter made tiny moves it by an eighth only.
        leg.rtt_sample(0.0);
        assert_eq!(leg.srtt_ms, Some(70.0));
        for _ in 0..100 {
            leg.rtt_sample(160.0);
        }
        assert!(
            (leg.srtt_ms.unwrap() - 160.0).abs() < 0.01,
            "it follows a lasting change"
        );
    }
}
