//! Where time comes from: a trait the server implements with the system clock
//! and simulations implement with a virtual one.

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use crate::Timestamp;

/// A source of the current time. The core itself never calls it: drivers read
/// the clock and pass `now` into [`Center`](crate::Center) inputs.
pub trait Clock {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// A clock that moves only when told to: for tests and discrete-event
/// simulation, where days of virtual time pass in milliseconds of real time.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ms: AtomicU64,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: Timestamp) -> Self {
        ManualClock {
            now_ms: AtomicU64::new(start.as_millis()),
        }
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .now_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(ms))
            });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.now_ms.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let c = ManualClock::new(Timestamp::from_millis(1000));
        assert_eq!(c.now().as_millis(), 1000);
        c.advance(Duration::from_millis(500));
        assert_eq!(c.now().as_millis(), 1500);
        c.advance(Duration::MAX);
        assert_eq!(c.now().as_millis(), u64::MAX, "saturates");
    }
}
