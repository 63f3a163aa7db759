//! Changing settings on a running center, and snapshots.

mod common;

use std::time::Duration;

use common::*;
use switchboard_core::{AgentState, Center, Command, Config, EndReason, Snapshot};

#[test]
fn a_shorter_accept_timeout_applies_to_a_ring_in_flight() {
    let mut h = Harness::new();
    h.register("a1");
    h.join("v1");
    h.advance_secs(5);
    let shorter = Config {
        accept_timeout_secs: 10,
        ..Config::default()
    };
    h.center.reconfigure(shorter).unwrap();
    h.center.check_invariants().unwrap();
    h.advance(Duration::from_millis(4_999));
    assert_eq!(h.center.stats().totals.ring_timeouts, 0);
    h.advance(Duration::from_millis(1));
    assert_eq!(
        h.center.stats().totals.ring_timeouts,
        1,
        "10 s after the ring began"
    );
}

#[test]
fn a_timeout_already_passed_under_new_settings_fires_now() {
    let mut h = Harness::new();
    let sid = session_id(&h.join("v1"));
    h.advance_secs(100);
    let shorter = Config {
        queue_timeout_secs: 60,
        ..Config::default()
    };
    h.center.reconfigure(shorter).unwrap();
    h.advance(Duration::ZERO);
    let s = h.center.session(sid.as_str()).unwrap();
    assert_eq!(s.end_reason, Some(EndReason::QueueTimeout));
    assert_eq!(s.ended_at, Some(h.now()), "not back-dated");
}

#[test]
fn bounds_below_current_use_are_refused_and_change_nothing() {
    let mut h = Harness::new();
    for v in ["v1", "v2", "v3"] {
        h.join(v);
    }
    let before = h.center.clone();
    let err = h
        .center
        .reconfigure(Config {
            max_queue_size: 2,
            ..Config::default()
        })
        .unwrap_err();
    assert_eq!(err.key, "max_queue_size");
    assert!(h.center == before);
    assert!(h
        .center
        .reconfigure(Config {
            max_queue_size: 3,
            ..Config::default()
        })
        .is_ok());
}

#[test]
fn fewer_ended_sessions_kept_forgets_the_oldest() {
    let mut h = Harness::new();
    h.register("a1");
    let mut ended = Vec::new();
    for v in ["v1", "v2", "v3"] {
        h.join(v);
        let sid = h.accept("a1");
        h.end(&sid, switchboard_core::Party::Agent);
        ended.push(sid);
    }
    h.center
        .reconfigure(Config {
            ended_sessions_max: 1,
            ..Config::default()
        })
        .unwrap();
    assert!(h.center.session(ended[0].as_str()).is_none());
    assert!(h.center.session(ended[1].as_str()).is_none());
    assert!(h.center.session(ended[2].as_str()).is_some());
    assert_eq!(
        h.center.stats().sessions.ended,
        3,
        "statistics keep counting"
    );
}

#[test]
fn a_restored_snapshot_carries_on_exactly_like_the_original() {
    let mut h = Harness::new();
    h.register("a1");
    h.register("a2");
    h.join("v1");
    h.join("v2");
    h.join("v3");
    h.accept("a1");
    let json = serde_json::to_string(&h.center.snapshot()).unwrap();
    let mut restored = Center::restore(serde_json::from_str::<Snapshot>(&json).unwrap()).unwrap();
    assert!(restored == h.center);
    let later = h.now().saturating_add(Duration::from_secs(31));
    let cmd = Command::RejectCall {
        agent_id: "a2".into(),
    };
    let a = h.center.apply(later, cmd.clone());
    let b = restored.apply(later, cmd);
    assert_eq!(a, b);
    assert!(restored == h.center);
    assert_eq!(
        restored.agent("a2").map(|a| a.state),
        Some(AgentState::Ringing)
    );
}

#[test]
fn a_corrupt_snapshot_is_refused() {
    let mut h = Harness::new();
    h.register("a1");
    h.join("v1");
    let mut json: serde_json::Value = serde_json::to_value(h.center.snapshot()).unwrap();
    // Claim the agent is Ready while it holds a ring.
    let agents = &mut json["state"]["agents"];
    let a1 = agents.as_object_mut().unwrap().get_mut("a1").unwrap();
    a1["state"] = "ready".into();
    let snapshot: Snapshot = serde_json::from_value(json).unwrap();
    assert!(Center::restore(snapshot).is_err());
}
