//! The server's clock: wall time from the operating system. The core never
//! reads it; the engine reads it and passes `now` in.

use std::time::{SystemTime, UNIX_EPOCH};

use switchboard_core::{Clock, Timestamp};

/// Milliseconds since the Unix epoch from the system clock (a clock set before
/// 1970 reads as the epoch).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Timestamp::from_millis(ms)
    }
}

/// Wall time in Unix milliseconds, as the store's columns keep it.
pub fn now_ms() -> i64 {
    i64::try_from(SystemClock.now().as_millis()).unwrap_or(i64::MAX)
}
