//! The journal on a real SQLite file: recovery, snapshots, foreign and
//! corrupt files.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use switchboard_core::{AgentState, Center, Command, Config, Media, Party, Timestamp};
use switchboard_store::{Record, Store, StoreError};

const T0: Timestamp = Timestamp::from_millis(1_778_151_900_000);

fn script() -> Vec<(Timestamp, Command)> {
    let at = |s: u64| T0.saturating_add(Duration::from_secs(s));
    vec![
        (
            at(0),
            Command::RegisterAgent {
                agent_id: "a1".into(),
                agent_name: Some("客服小王".into()),
            },
        ),
        (
            at(1),
            Command::JoinQueue {
                visitor_id: "v1".into(),
                visitor_name: None,
                preferred_skill: None,
                priority: 0,
                channel: Default::default(),
                question: None,
            },
        ),
        (
            at(2),
            Command::JoinQueue {
                visitor_id: "v2".into(),
                visitor_name: None,
                preferred_skill: None,
                priority: 0,
                channel: Default::default(),
                question: None,
            },
        ),
        (
            at(3),
            Command::AcceptCall {
                agent_id: "a1".into(),
                media: Media::Video,
            },
        ),
        (
            at(4),
            Command::RegisterAgent {
                agent_id: "a2".into(),
                agent_name: None,
            },
        ),
    ]
}

/// Applies `script` to `center` and journals what it accepts, as the server does.
fn run(store: &mut Store, center: &mut Center, script: &[(Timestamp, Command)]) {
    for (at, cmd) in script {
        center.apply(*at, cmd.clone()).expect("accepted");
        store
            .append(&[(*at, Record::Command(cmd.clone()))])
            .expect("journaled");
    }
}

fn open(
    path: &Path,
    config: &Config,
) -> Result<(Store, Center, switchboard_store::Recovery), StoreError> {
    Store::open(path, config, 42, 0)
}

#[test]
fn reopening_rebuilds_the_same_center() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let (mut store, mut center, rec) = open(&path, &Config::default()).unwrap();
    assert!(rec.created);
    run(&mut store, &mut center, &script());
    drop(store);
    let (_, again, rec) = open(&path, &Config::default()).unwrap();
    assert!(!rec.created);
    assert_eq!(rec.replayed, 6, "settings + 5 commands");
    assert!(again == center);
    assert_eq!(again.agent("a1").map(|a| a.name.as_str()), Some("客服小王"));
}

#[test]
fn an_offer_that_expired_while_down_requeues_the_visitor_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let (mut store, mut center, _) = open(&path, &Config::default()).unwrap();
    run(&mut store, &mut center, &script()[..2]);
    assert_eq!(
        center.agent("a1").map(|a| a.state),
        Some(AgentState::Ringing)
    );
    drop(store);
    let (_, mut again, _) = open(&path, &Config::default()).unwrap();
    // Down for a minute: the 30 s ring lapsed; a1 is the only agent, so v1
    // was re-queued and rung again.
    again.handle_timeout(T0.saturating_add(Duration::from_secs(61)));
    assert_eq!(again.stats().totals.ring_timeouts, 2);
    assert_eq!(
        again.agent("a1").map(|a| a.state),
        Some(AgentState::Ringing)
    );
}

#[test]
fn snapshots_bound_replay_and_agree_with_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let (mut store, mut center, _) = Store::open(&path, &Config::default(), 42, 3).unwrap();
    let s = script();
    run(&mut store, &mut center, &s[..3]);
    assert!(
        store.maybe_snapshot(&center).unwrap(),
        "4 records since start"
    );
    run(&mut store, &mut center, &s[3..]);
    assert!(
        !store.maybe_snapshot(&center).unwrap(),
        "only 2 since the snapshot"
    );
    drop(store);
    let (_, again, rec) = open(&path, &Config::default()).unwrap();
    assert_eq!((rec.snapshot_seq, rec.replayed), (Some(4), 2));
    assert!(again == center);

    // Without the snapshot, full replay gives the same.
    Connection::open(&path)
        .unwrap()
        .execute("DELETE FROM snapshots", [])
        .unwrap();
    let (_, full, rec) = open(&path, &Config::default()).unwrap();
    assert_eq!((rec.snapshot_seq, rec.replayed), (None, 6));
    assert!(full == center);
}

#[test]
fn new_settings_are_applied_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let (mut store, mut center, _) = open(&path, &Config::default()).unwrap();
    run(&mut store, &mut center, &script());
    drop(store);
    let bigger = Config {
        max_queue_size: 500,
        ..Config::default()
    };
    let (store, center, _) = open(&path, &bigger).unwrap();
    assert_eq!(center.config().max_queue_size, 500);
    drop(store);
    let (_, records) = Store::read_records(&path).unwrap();
    assert!(matches!(records.last(), Some((_, Record::Config(c))) if c.max_queue_size == 500));
    // Settings that do not fit what is in use are refused with a clear error.
    let tiny = Config {
        max_queue_size: 0,
        ..Config::default()
    };
    assert!(matches!(open(&path, &tiny), Err(StoreError::Config(_))));
    let (_, center, _) = open(&path, &bigger).unwrap();
    assert_eq!(center.config().max_queue_size, 500);
    drop(center);
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    std::fs::write(&path, b"dear diary, today I queued").unwrap();
    let err = open(&path, &Config::default()).err().expect("refused");
    assert!(matches!(err, StoreError::Foreign { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"dear diary, today I queued");
}

#[test]
fn another_programs_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let c = Connection::open(&path).unwrap();
    c.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY); INSERT INTO users VALUES (7);")
        .unwrap();
    drop(c);
    let err = open(&path, &Config::default()).err().expect("refused");
    assert!(matches!(err, StoreError::Foreign { .. }), "{err}");
    let c = Connection::open(&path).unwrap();
    let tables: i64 = c
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 1, "nothing was created in it");
}

#[test]
fn a_gap_or_garbage_in_the_journal_is_corruption_not_silent_loss() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let (mut store, mut center, _) = open(&path, &Config::default()).unwrap();
    run(&mut store, &mut center, &script());
    drop(store);
    let c = Connection::open(&path).unwrap();
    c.execute("DELETE FROM journal WHERE seq = 3", []).unwrap();
    let err = open(&path, &Config::default()).err().expect("refused");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("record 3 is missing"), "{err}");

    let path2 = dir.path().join("sb2.db");
    let (mut store, mut center, _) = open(&path2, &Config::default()).unwrap();
    run(&mut store, &mut center, &script());
    drop(store);
    Connection::open(&path2)
        .unwrap()
        .execute(
            "UPDATE journal SET record = '{\"kind\":\"bogus\"}' WHERE seq = 4",
            [],
        )
        .unwrap();
    let err = open(&path2, &Config::default()).err().expect("refused");
    assert!(err.to_string().contains("record 4 cannot be read"), "{err}");
}

#[test]
fn a_journaled_command_that_no_longer_replays_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let (mut store, _center, _) = open(&path, &Config::default()).unwrap();
    // Journal a command the core would refuse (nobody is ringing).
    let bad = Command::EndSession {
        session_id: "cs_nope".into(),
        by: Party::Admin,
    };
    store.append(&[(T0, Record::Command(bad))]).unwrap();
    drop(store);
    let err = open(&path, &Config::default()).err().expect("refused");
    assert!(err.to_string().contains("replays as refused"), "{err}");
}
