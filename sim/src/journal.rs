//! A simulated run as a real journal: every command the core accepted,
//! written with the server's own store, so that the tools that read a
//! server's journal (recovery, replay, `whatif`) read it too.

use std::path::Path;

use switchboard_core::Timestamp;
use switchboard_store::{Record, Store};

use crate::des::{Journal, Params};

/// Records per transaction: one fsync each.
const BATCH: usize = 10_000;

/// Writes `commands`, the journal of a run of `p`, to a new file at `path`.
pub fn write(path: &Path, p: &Params, commands: Journal) -> Result<(), String> {
    if path.exists() {
        return Err(format!(
            "{}: exists; the journal is written to a new file",
            path.display()
        ));
    }
    let (mut store, _, _) = Store::open(path, &p.config(), p.seed, 0).map_err(|e| e.to_string())?;
    let records: Vec<(Timestamp, Record)> = commands
        .into_iter()
        .map(|(t, c)| (t, Record::Command(c)))
        .collect();
    for chunk in records.chunks(BATCH) {
        store.append(chunk).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A time given as `2026-01-05T08:00:00Z` (UTC; seconds optional) or as
/// milliseconds since the epoch.
pub fn parse_time(text: &str) -> Option<Timestamp> {
    if let Ok(ms) = text.parse::<u64>() {
        return Some(Timestamp::from_millis(ms));
    }
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|x| x.parse::<u64>().ok());
    let (hh, mm) = (t.next()??, t.next()??);
    let ss = t.next().flatten().unwrap_or(0);
    if d.next().is_some()
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
        || hh > 23
        || mm > 59
        || ss > 59
    {
        return None;
    }
    let days = u64::try_from(days_from_civil(y, m, day)).ok()?;
    Some(Timestamp::from_millis(
        ((days * 86_400) + hh * 3600 + mm * 60 + ss) * 1000,
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_utc() {
        assert_eq!(
            parse_time("2026-01-05T00:00:00Z"),
            Some(crate::des::START),
            "the simulator's first day"
        );
        assert_eq!(
            parse_time("2026-01-05T08:30Z").map(|t| t.as_millis()),
            Some(crate::des::START.as_millis() + 8 * 3_600_000 + 30 * 60_000)
        );
        assert_eq!(parse_time("1767571200000"), Some(crate::des::START));
        // The core prints what this reads.
        for t in [
            "2024-02-29T23:59:59Z",
            "2000-03-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
        ] {
            let printed = parse_time(t).unwrap().to_string();
            assert_eq!(printed.replace(".000Z", "Z"), t);
        }
        for bad in [
            "2026-13-01T00:00Z",
            "2026-01-05 08:00",
            "yesterday",
            "2026-01-05T24:00Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }
}
