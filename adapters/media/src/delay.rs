//! How long relayed media waits in the server: from the moment its datagram
//! is read to the moment the forwarded packet is handed back to the kernel
//! (the last of a receiving connection's batch, so a batch counts as its
//! oldest packet). Time spent in the socket's receive buffer before the
//! read is not seen here.

use std::time::Duration;

use serde::Serialize;

/// Bucket upper bounds, microseconds (1-2-5 steps from 10 µs to 1 s).
const BOUNDS_US: [u64; 16] = [
    10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000,
    500_000, 1_000_000,
];

/// A histogram of forwarding delays since the media plane started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ForwardDelay {
    /// Per bucket of [`ForwardDelay::BOUNDS_US`], how many fell in it (not cumulative);
    /// one more for those above the last bound.
    pub buckets: [u64; BOUNDS_US.len() + 1],
    /// Batches measured.
    pub count: u64,
    /// Their delays summed, microseconds.
    pub sum_us: u64,
}

impl ForwardDelay {
    /// Bucket upper bounds, microseconds (1-2-5 steps from 10 µs to 1 s).
    pub const BOUNDS_US: [u64; BOUNDS_US.len()] = BOUNDS_US;

    pub(crate) fn record(&mut self, delay: Duration) {
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        let bucket = BOUNDS_US.partition_point(|&b| b < us);
        self.buckets[bucket] += 1;
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(us);
    }

    /// The upper bound of the bucket holding quantile `q` (0 to 1), in
    /// microseconds; None when empty or beyond the last bound.
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return BOUNDS_US.get(i).copied();
            }
        }
        None
    }

    /// What was recorded since `earlier` (a snapshot of this histogram).
    pub fn since(&self, earlier: &ForwardDelay) -> ForwardDelay {
        let mut d = self.clone();
        for (b, e) in d.buckets.iter_mut().zip(earlier.buckets) {
            *b = b.saturating_sub(e);
        }
        d.count = d.count.saturating_sub(earlier.count);
        d.sum_us = d.sum_us.saturating_sub(earlier.sum_us);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_the_bounds_of_their_buckets() {
        let mut d = ForwardDelay::default();
        assert_eq!(d.quantile_us(0.5), None);
        for _ in 0..98 {
            d.record(Duration::from_micros(30));
        }
        d.record(Duration::from_micros(700));
        d.record(Duration::from_secs(3));
        assert_eq!(d.quantile_us(0.5), Some(50));
        assert_eq!(d.quantile_us(0.99), Some(1_000));
        assert_eq!(d.quantile_us(1.0), None, "beyond the last bound");
        assert_eq!((d.count, d.buckets[2], d.buckets[16]), (100, 98, 1));
    }

    #[test]
    fn a_difference_counts_only_what_came_after() {
        let mut d = ForwardDelay::default();
        d.record(Duration::from_micros(5));
        let before = d.clone();
        d.record(Duration::from_micros(150));
        let after = d.since(&before);
        assert_eq!((after.count, after.sum_us), (1, 150));
        assert_eq!(after.quantile_us(0.5), Some(200));
    }
}
