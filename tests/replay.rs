//! `switchboard replay`: a journal written by the real server, replayed from
//! its first record, reaches the state the server had — recovered on its own
//! path from the latest snapshot plus the journal tail.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

const CS: &str = "/customer-service";

fn replay(db: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("replay")
        .arg(db)
        .args(args)
        .output()
        .expect("run replay");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn a_crashed_servers_journal_replays_to_its_live_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    // Snapshots every few records, so recovery and replay take different paths.
    let config = format!("snapshot_every: 4\n{}", yaml("  max_queue_size: 50"));
    let mut s = Server::start_on(&db, &config);
    s.post(
        &format!("{CS}/workgroups"),
        r#"{"workgroup_id":"billing","routing_mode":"longest_idle"}"#,
    );
    for a in ["a1", "a2", "a3"] {
        s.register(a);
    }
    s.call(
        "PUT",
        &format!("{CS}/agents/a3/workgroups"),
        Some(r#"{"workgroups":[{"workgroup_id":"billing"}]}"#),
    );
    let mut sessions = Vec::new();
    for v in 0..6 {
        sessions.push(s.join(&format!("v{v}")));
    }
    s.post(&format!("{CS}/agents/a1/accept"), "{}");
    s.post(&format!("{CS}/agents/a2/reject"), "");
    let stats_before: Value = s.get(&format!("{CS}/stats"));
    s.kill();

    let (code, out) = replay(&db, &["--json"]);
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(report["matches_live_state"], true, "{report}");
    assert_eq!(report["sessions"], stats_before["sessions"], "{report}");
    assert_eq!(report["agents"]["busy"], stats_before["agents"]["busy"]);
    assert!(report["records"].as_u64().unwrap() >= 12);

    // Stepping through: stop after record 3, with a trace of each record.
    let (code, out) = replay(&db, &["--until", "3", "--trace", "--json"]);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let records = lines.iter().filter(|l| l.get("record").is_some()).count();
    assert_eq!(records, 3);
    let last = lines.last().unwrap();
    assert_eq!(
        (
            last["records"].as_u64(),
            last["matches_live_state"].is_null()
        ),
        (Some(3), true)
    );

    let (code, out) = replay(&db, &[]);
    assert_eq!(code, 0);
    assert!(out.contains("matches the live state"), "{out}");
}

#[test]
fn replaying_something_that_is_not_a_journal_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "not a database").unwrap();
    let (code, out) = replay(&path, &[]);
    assert_eq!(code, 2);
    assert!(out.contains("not a Switchboard database"), "{out}");
    let (code, _) = replay(&path, &["--until"]);
    assert_eq!(code, 2);
}
