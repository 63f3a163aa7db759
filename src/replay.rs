//! `switchboard replay <db>`: replays a journal from its first record through
//! the core on a virtual clock (each command at the time it was accepted),
//! reports the final state, and checks it equals the state the live server
//! had (its latest snapshot plus the records after it). `--until N` stops
//! after record N, to step through an incident; `--trace` prints every
//! record and the events it caused, one JSON object per line.

use std::io::Write;
use std::path::Path;

use serde_json::json;
use switchboard_core::Center;
use switchboard_store::{apply_record, Store};

/// What to do, from the command line.
pub struct Options {
    pub until: Option<u64>,
    pub trace: bool,
    pub json: bool,
}

/// Runs the replay, writing to `out`; returns whether it matched the live
/// state (always true when stopped early with `--until`).
pub fn run(db: &Path, o: &Options, out: &mut dyn Write) -> Result<bool, String> {
    let (seed, records) = Store::read_records(db).map_err(|e| e.to_string())?;
    let mut center: Option<Center> = None;
    let mut replayed = 0u64;
    for (i, (at, record)) in records.into_iter().enumerate() {
        let seq = i as u64 + 1;
        if o.until.is_some_and(|u| seq > u) {
            break;
        }
        if o.trace {
            let line = json!({ "seq": seq, "at": at.to_string(), "record": record });
            writeln!(out, "{line}").map_err(|e| e.to_string())?;
        }
        apply_record(&mut center, seed, seq as i64, at, record)?;
        if let Some(c) = center.as_mut() {
            while let Some(event) = c.poll_event() {
                if o.trace {
                    writeln!(out, "{}", json!({ "seq": seq, "event": event }))
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        replayed += 1;
    }
    let center = center.ok_or("the journal holds no settings record")?;
    let matches = if o.until.is_some() {
        None
    } else {
        let (live, _) = Store::load(db).map_err(|e| e.to_string())?;
        Some(live == center)
    };
    let stats = center.stats();
    let groups: Vec<_> = center
        .workgroups()
        .map(|g| json!({ "workgroup_id": g.id, "routing_mode": g.settings.routing_mode, "queued": g.queue_len() }))
        .collect();
    let summary = json!({
        "records": replayed,
        "until": o.until,
        "now": center.now().to_string(),
        "sessions": stats.sessions,
        "agents": stats.agents,
        "queue_length": stats.queue.length,
        "totals": stats.totals,
        "workgroups": groups,
        "matches_live_state": matches,
    });
    if o.json {
        writeln!(out, "{summary}").map_err(|e| e.to_string())?;
    } else {
        let s = &stats.sessions;
        let a = &stats.agents;
        writeln!(
            out,
            "replayed {replayed} records up to {now}\n\
             sessions: {} waiting, {} active, {} ended ({} in all)\n\
             agents:   {} ready, {} ringing, {} busy, {} online, {} offline\n\
             queue:    {}\n\
             {}",
            s.waiting,
            s.active,
            s.ended,
            s.total,
            a.ready,
            a.ringing,
            a.busy,
            a.online,
            a.offline,
            stats.queue.length,
            match matches {
                Some(true) => "matches the live state (latest snapshot + journal tail)",
                Some(false) => "DIFFERS from the live state (latest snapshot + journal tail)",
                None => "stopped early: not compared with the live state",
            },
            now = center.now(),
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(matches != Some(false))
}
