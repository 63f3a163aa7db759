//! The core's only notion of time: milliseconds since the Unix epoch, passed in.

use core::fmt;
use core::time::Duration;

use serde::{Deserialize, Serialize};

const MS_PER_DAY: u64 = 86_400_000;

/// A point in time, in milliseconds since the Unix epoch (UTC).
///
/// The core never reads a clock: every input carries a `Timestamp`, so the same
/// inputs always give the same outputs. It is wall time (sessions show it, the
/// daily trend buckets by it) and the core treats it as monotonic: an input
/// older than one already seen is taken to happen at the latest time seen.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// A timestamp `ms` milliseconds after the Unix epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at the far future rather than wrapping.
    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }

    /// Time elapsed from `earlier` to `self`; zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// Days since the Unix epoch (UTC), the bucket of the daily trend.
    pub const fn day(self) -> u64 {
        self.0 / MS_PER_DAY
    }

    /// The UTC calendar date of `day` (days since the epoch) as `YYYY-MM-DD`.
    pub fn date_of_day(day: u64) -> String {
        let (y, m, d) = civil_from_days(day);
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// RFC 3339 in UTC with milliseconds, e.g. `2026-05-07T11:05:00.000Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d) = civil_from_days(self.day());
        let ms_of_day = self.0 % MS_PER_DAY;
        let (h, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
        let (mi, rest) = (rest / 60_000, rest % 60_000);
        let (s, ms) = (rest / 1000, rest % 1000);
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
/// Howard Hinnant's `civil_from_days`, restricted to non-negative days.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants_as_rfc3339() {
        assert_eq!(Timestamp::EPOCH.to_string(), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (a leap day in a century leap year) 12:34:56.789
        let t = Timestamp::from_millis(951_827_696_789);
        assert_eq!(t.to_string(), "2000-02-29T12:34:56.789Z");
        // 2026-05-07T11:05:00Z, the seed's example session time (19:05 +08:00).
        assert_eq!(
            Timestamp::from_millis(1_778_151_900_000).to_string(),
            "2026-05-07T11:05:00.000Z"
        );
    }

    #[test]
    fn dates_roll_over_months_and_years() {
        assert_eq!(Timestamp::date_of_day(0), "1970-01-01");
        assert_eq!(Timestamp::date_of_day(58), "1970-02-28");
        assert_eq!(Timestamp::date_of_day(59), "1970-03-01");
        assert_eq!(Timestamp::date_of_day(365), "1971-01-01");
        assert_eq!(Timestamp::date_of_day(11_016), "2000-02-29");
        assert_eq!(Timestamp::date_of_day(11_017), "2000-03-01");
    }

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp::from_millis(u64::MAX - 1);
        assert_eq!(
            t.saturating_add(Duration::from_secs(5)).as_millis(),
            u64::MAX
        );
        let a = Timestamp::from_millis(10);
        let b = Timestamp::from_millis(25);
        assert_eq!(b.saturating_since(a), Duration::from_millis(15));
        assert_eq!(a.saturating_since(b), Duration::ZERO);
    }
}
