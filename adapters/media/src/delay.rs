//! How long relayed media waits in the server: from the moment its datagram
//! is read to the moment the forwarded packet is handed back to the kernel
//! (the last of a receiving connection's batch, so a batch counts as its
//! oldest packet). Time spent in the socket's receive buffer before the
//! read is not seen here.

use std::time::Duration;

use hdrhistogram::Histogram;

/// A histogram of forwarding delays since the media plane started, in
/// microseconds (1 µs to 10 s, two significant digits).
#[derive(Clone, Debug)]
pub struct ForwardDelay {
    hist: Histogram<u64>,
    sum_us: u64,
}

impl Default for ForwardDelay {
    fn default() -> Self {
        ForwardDelay {
            hist: Histogram::new_with_bounds(1, 10_000_000, 2)
                .expect("constant bounds that hdrhistogram accepts"),
            sum_us: 0,
        }
    }
}

impl ForwardDelay {
    /// Bucket upper bounds for export, microseconds (1-2-5 steps, 10 µs to 1 s).
    pub const BOUNDS_US: [u64; 16] = [
        10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000,
        500_000, 1_000_000,
    ];

    pub(crate) fn record(&mut self, delay: Duration) {
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.hist.saturating_record(us.max(1));
        self.sum_us = self.sum_us.saturating_add(us);
    }

    /// Batches measured.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// Their delays summed, microseconds.
    pub fn sum_us(&self) -> u64 {
        self.sum_us
    }

    /// The delay under which a share `q` (0 to 1) of batches fall,
    /// microseconds; None when there are none.
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        (!self.hist.is_empty()).then(|| self.hist.value_at_quantile(q))
    }

    /// Batches that waited at most `bound_us` microseconds.
    pub fn at_most_us(&self, bound_us: u64) -> u64 {
        self.hist.count_between(0, bound_us)
    }

    /// What was recorded since `earlier`, a snapshot of this histogram.
    pub fn since(&self, earlier: &ForwardDelay) -> ForwardDelay {
        let mut d = self.clone();
        if d.hist.subtract(&earlier.hist).is_err() {
            // Not an earlier snapshot of this one: nothing to take away.
            return self.clone();
        }
        d.sum_us = d.sum_us.saturating_sub(earlier.sum_us);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_cumulative_counts_follow_what_was_recorded() {
        let mut d = ForwardDelay::default();
        assert_eq!(d.quantile_us(0.5), None);
        for _ in 0..98 {
            d.record(Duration::from_micros(30));
        }
        d.record(Duration::from_micros(700));
        d.record(Duration::from_secs(3));
        // Two significant digits: within 1%.
        assert_eq!(d.quantile_us(0.5), Some(30));
        assert!(d.quantile_us(0.99).is_some_and(|us| us.abs_diff(700) <= 7));
        assert!(d.quantile_us(1.0) >= Some(2_990_000));
        assert_eq!(d.count(), 100);
        assert_eq!(d.at_most_us(50), 98);
        assert_eq!(d.at_most_us(1_000), 99);
        assert_eq!(d.sum_us(), 98 * 30 + 700 + 3_000_000);
    }

    #[test]
    fn a_difference_counts_only_what_came_after() {
        let mut d = ForwardDelay::default();
        d.record(Duration::from_micros(5));
        let before = d.clone();
        d.record(Duration::from_micros(150));
        let after = d.since(&before);
        assert_eq!((after.count(), after.sum_us()), (1, 150));
        assert_eq!(after.quantile_us(0.5), Some(150));
    }
}
