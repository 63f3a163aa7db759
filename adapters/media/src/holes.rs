//! Holes in a sender's video: packets lost on its leg that the server's
//! NACKs did not bring back (str0m asks five times, about 100 ms apart,
//! then gives up). Every frame that needs such a packet is lost to the
//! receivers, and so is every frame after it until a keyframe; left alone,
//! a receiver notices only when its own wait runs out (Chrome: about 3 s of
//! frozen picture) and asks then. The server knows sooner: a hole that
//! outlives the repairs is asked for with a keyframe at once.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The most missing packets followed at once; a longer gap is not a loss
/// to repair but a jump (a new encoder, a restart) and is not tracked.
const TRACKED_MAX: u64 = 256;

/// The missing sequence numbers of one incoming video stream, each with
/// when it was found missing, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Holes {
    highest: Option<u64>,
    missing: VecDeque<(u64, Instant)>,
}

impl Holes {
    /// Notes packet `seq` (extended) arriving at `now`: a gap before it
    /// opens holes, a late packet (a repair, a reordered one) fills one.
    pub(crate) fn arrived(&mut self, seq: u64, now: Instant) {
        let Some(highest) = self.highest else {
            self.highest = Some(seq);
            return;
        };
        if seq > highest {
            if seq - highest - 1 > TRACKED_MAX {
                self.missing.clear();
            } else {
                self.missing.extend((highest + 1..seq).map(|s| (s, now)));
                let over = self.missing.len().saturating_sub(TRACKED_MAX as usize);
                self.missing.drain(..over);
            }
            self.highest = Some(seq);
        } else if let Some(i) = self.missing.iter().position(|&(s, _)| s == seq) {
            self.missing.remove(i);
        }
    }

    /// Whether a hole has been open longer than `patience` at `now`: then
    /// a keyframe is due, which makes every hole moot, so they are forgotten.
    pub(crate) fn gave_up(&mut self, now: Instant, patience: Duration) -> bool {
        let stale = self
            .missing
            .front()
            .is_some_and(|&(_, at)| now.saturating_duration_since(at) > patience);
        if stale {
            self.missing.clear();
        }
        stale
    }
}

/// How long a hole may stay open before it is given up: str0m's five NACKs,
/// 105 ms apart, the last resend's trip back, and a margin for jitter.
pub(crate) fn patience(srtt_ms: Option<f64>) -> Duration {
    let rtt = srtt_ms.unwrap_or(100.0).clamp(0.0, 1000.0);
    Duration::from_millis(600) + Duration::from_secs_f64(2.0 * rtt / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repaired_or_reordered_packet_closes_its_hole_and_an_unrepaired_one_is_given_up() {
        let t = Instant::now();
        let ms = |n| t + Duration::from_millis(n);
        let patience = Duration::from_millis(800);
        let mut h = Holes::default();
        for seq in [10, 11, 14] {
            h.arrived(seq, t);
        }
        // 12 and 13 are missing; 13 arrives late (reordered), 12 repaired.
        h.arrived(13, ms(30));
        h.arrived(12, ms(200));
        assert!(!h.gave_up(ms(5_000), patience), "every hole closed");
        // 15 is never repaired.
        h.arrived(16, ms(5_000));
        assert!(!h.gave_up(ms(5_700), patience), "still within the repairs");
        assert!(h.gave_up(ms(5_801), patience), "outlived them");
        assert!(!h.gave_up(ms(9_000), patience), "asked once: forgotten");
        // Nothing before the first packet is a hole, nor is a duplicate.
        let mut fresh = Holes::default();
        fresh.arrived(100, t);
        fresh.arrived(100, t);
        fresh.arrived(99, t);
        assert!(!fresh.gave_up(ms(10_000), patience));
    }

    #[test]
    fn a_jump_is_not_a_hole_and_few_holes_are_followed_at_once() {
        let t = Instant::now();
        let later = t + Duration::from_secs(10);
        let mut h = Holes::default();
        h.arrived(1, t);
        h.arrived(1 + TRACKED_MAX + 2, t);
        assert!(!h.gave_up(later, Duration::ZERO), "a new encoder's numbers");
        h.arrived(2 * TRACKED_MAX + 4, t);
        assert_eq!(h.missing.len(), TRACKED_MAX as usize);
        assert!(h.gave_up(later, Duration::ZERO));
    }

    #[test]
    fn patience_covers_the_repairs_and_two_round_trips() {
        assert_eq!(patience(None), Duration::from_millis(800));
        assert_eq!(patience(Some(80.0)), Duration::from_millis(760));
        assert_eq!(patience(Some(1e9)), Duration::from_millis(2_600));
    }
}
