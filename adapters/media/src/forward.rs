//! What a receiving track does with relayed RTP. Packets are forwarded as
//! they arrive (no depacketizing); a track's source can change under it (a
//! transfer brings the new agent's camera to the visitor's existing
//! receiver, a reconnect brings a new SSRC), so each outgoing track rewrites
//! sequence numbers and RTP timestamps to continue where the last source
//! stopped, and a new video source starts on a keyframe.

use std::time::Instant;

use str0m::format::Codec;
use str0m::media::{MediaKind, Mid, Pt};
use str0m::rtp::Ssrc;

/// A source: the connection's serial number and the SSRC it sends on.
pub(crate) type Source = (u64, Ssrc);

/// One outgoing track's rewriting state.
#[derive(Debug)]
pub(crate) struct Sink {
    pub(crate) mid: Mid,
    pub(crate) kind: MediaKind,
    source: Option<Source>,
    /// Added to a source's extended sequence numbers (wrapping).
    seq_offset: u64,
    /// Added to a source's RTP timestamps (wrapping).
    ts_offset: u32,
    /// The source's first forwarded sequence number; earlier ones, which
    /// would land before what was already sent, are dropped.
    floor: u64,
    /// The newest packet sent: outgoing sequence number, timestamp, arrival.
    last: Option<(u64, u32, Instant)>,
    /// Payload types: the source's, and this receiver's for the same codec
    /// (None: the receiver did not negotiate it).
    pts: Vec<(Pt, Option<Pt>)>,
    /// Whether its stream's resend cache was sized (on the first write).
    pub(crate) rtx_sized: bool,
}

/// What to do with one packet on one sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Send it with these sequence number and timestamp.
    Forward { seq: u64, ts: u32 },
    /// Drop it: late, from before the source took over.
    Drop,
    /// Drop it and ask the source for a keyframe: a new video source
    /// cannot be decoded before one.
    AwaitKeyframe,
}

/// The packet as the sink sees it.
pub(crate) struct Arrival {
    pub(crate) source: Source,
    /// Extended sequence number.
    pub(crate) seq: u64,
    /// RTP timestamp.
    pub(crate) ts: u32,
    /// The codec's clock rate.
    pub(crate) clock: u32,
    pub(crate) at: Instant,
}

impl Sink {
    pub(crate) fn new(mid: Mid, kind: MediaKind) -> Sink {
        Sink {
            mid,
            kind,
            source: None,
            seq_offset: 0,
            ts_offset: 0,
            floor: 0,
            last: None,
            pts: Vec::new(),
            rtx_sized: false,
        }
    }

    /// Decides on a packet. `keyframe` says whether it starts a keyframe
    /// (None: the codec cannot tell); it is asked only on a change of source.
    pub(crate) fn admit(
        &mut self,
        p: &Arrival,
        keyframe: impl FnOnce() -> Option<bool>,
    ) -> Verdict {
        if self.source != Some(p.source) {
            if self.kind == MediaKind::Video && keyframe() == Some(false) {
                return Verdict::AwaitKeyframe;
            }
            let (seq, ts) = match self.last {
                // The first source: its own numbers, on a rollover counter of
                // zero (which the receiver assumes).
                None => (p.seq & 0xffff, p.ts),
                // Continue one packet and the elapsed time later.
                Some((seq, ts, at)) => {
                    let elapsed = p.at.saturating_duration_since(at).as_secs_f64();
                    let ticks = (elapsed * f64::from(p.clock)).max(1.0) as u32;
                    (seq + 1, ts.wrapping_add(ticks))
                }
            };
            self.seq_offset = seq.wrapping_sub(p.seq);
            self.ts_offset = ts.wrapping_sub(p.ts);
            self.floor = p.seq;
            self.source = Some(p.source);
            self.pts.clear();
        }
        if p.seq < self.floor {
            return Verdict::Drop;
        }
        let seq = p.seq.wrapping_add(self.seq_offset);
        let ts = p.ts.wrapping_add(self.ts_offset);
        if self.last.is_none_or(|(last, _, _)| seq > last) {
            self.last = Some((seq, ts, p.at));
        }
        Verdict::Forward { seq, ts }
    }

    /// This receiver's payload type for the source's `pt`, computing it
    /// with `lookup` the first time.
    pub(crate) fn pt(&mut self, pt: Pt, lookup: impl FnOnce() -> Option<Pt>) -> Option<Pt> {
        if let Some(&(_, out)) = self.pts.iter().find(|(p, _)| *p == pt) {
            return out;
        }
        let out = lookup();
        self.pts.push((pt, out));
        out
    }
}

/// Whether an RTP payload starts a keyframe, for the codecs that can be
/// told from one packet.
pub(crate) fn starts_keyframe(codec: Codec, payload: &[u8]) -> Option<bool> {
    use str0m::format::{detect_h264_keyframe, detect_vp8_keyframe, detect_vp9_keyframe};
    match codec {
        Codec::Vp8 => Some(detect_vp8_keyframe(payload)),
        Codec::Vp9 => Some(detect_vp9_keyframe(payload)),
        Codec::H264 => Some(detect_h264_keyframe(payload)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn arrival(source: u64, seq: u64, ts: u32, at: Instant) -> Arrival {
        Arrival {
            source: (source, Ssrc::from(source as u32)),
            seq,
            ts,
            clock: 90_000,
            at,
        }
    }

    #[test]
    fn the_first_source_keeps_its_numbers_on_a_zero_rollover() {
        let mut s = Sink::new(Mid::from("1"), MediaKind::Audio);
        let t = Instant::now();
        let v = s.admit(&arrival(1, 70_000, 500, t), || None);
        assert_eq!(
            v,
            Verdict::Forward {
                seq: 70_000 - 65_536,
                ts: 500
            }
        );
        let v = s.admit(&arrival(1, 70_001, 1460, t), || None);
        assert_eq!(
            v,
            Verdict::Forward {
                seq: 70_001 - 65_536,
                ts: 1460
            }
        );
    }

    #[test]
    fn a_new_source_continues_the_numbers_and_time() {
        let mut s = Sink::new(Mid::from("1"), MediaKind::Video);
        let t = Instant::now();
        assert!(matches!(
            s.admit(&arrival(1, 10, 1000, t), || Some(true)),
            Verdict::Forward { .. }
        ));
        let later = t + Duration::from_millis(100);
        assert_eq!(
            s.admit(&arrival(2, 5000, 77, later), || Some(false)),
            Verdict::AwaitKeyframe
        );
        let v = s.admit(&arrival(2, 5001, 77, later), || Some(true));
        assert_eq!(
            v,
            Verdict::Forward {
                seq: 11,
                ts: 1000 + 9000
            }
        );
        // The old source's stragglers and the new one's earlier packets drop.
        assert_eq!(
            s.admit(&arrival(2, 5000, 77, later), || None),
            Verdict::Drop
        );
        assert_eq!(
            s.admit(&arrival(2, 5002, 3077, later), || None),
            Verdict::Forward {
                seq: 12,
                ts: 13_000
            }
        );
    }

    #[test]
    fn reordered_packets_keep_their_order_and_payload_types_are_looked_up_once() {
        let mut s = Sink::new(Mid::from("0"), MediaKind::Audio);
        let t = Instant::now();
        s.admit(&arrival(1, 100, 0, t), || None);
        assert_eq!(
            s.admit(&arrival(1, 102, 1920, t), || None),
            Verdict::Forward { seq: 102, ts: 1920 }
        );
        assert_eq!(
            s.admit(&arrival(1, 101, 960, t), || None),
            Verdict::Forward { seq: 101, ts: 960 }
        );
        let mut asked = 0;
        for _ in 0..3 {
            let pt = s.pt(Pt::from(111), || {
                asked += 1;
                Some(Pt::from(109))
            });
            assert_eq!(pt, Some(Pt::from(109)));
        }
        assert_eq!(asked, 1);
    }
}
