//! Not-ready reasons (the console's status control), the time an agent
//! spends under each, a call taken by transfer counted as taken, and what a
//! visitor's question and way in make of their session.

mod common;

use common::*;
use switchboard_core::{
    AgentState, Arrival, Command, Config, CoreError, Party, Reply, NO_ANSWER_REASON,
};

fn not_ready(h: &mut Harness, agent: &str, reason: &str) -> Result<Reply, CoreError> {
    h.cmd(Command::AgentNotReady {
        agent_id: agent.into(),
        reason: Some(reason.into()),
    })
}

fn away(h: &Harness, agent: &str) -> Option<String> {
    h.center
        .agent(agent)
        .and_then(|a| a.away.as_ref().map(|w| w.reason.clone()))
}

#[test]
fn a_reason_is_one_of_the_centers_and_none_means_the_first() {
    let mut h = Harness::new();
    h.register("a1");
    assert_eq!(away(&h, "a1"), None, "Ready: no reason");
    h.not_ready("a1");
    assert_eq!(
        away(&h, "a1").as_deref(),
        Some("break"),
        "the first configured"
    );
    not_ready(&mut h, "a1", "training").expect("a configured reason");
    assert_eq!(away(&h, "a1").as_deref(), Some("training"));
    let before = h.center.agent("a1").cloned();
    let refused = not_ready(&mut h, "a1", "lunch").expect_err("not configured");
    assert!(matches!(
        refused,
        CoreError::InvalidInput {
            field: "reason",
            ..
        }
    ));
    assert_eq!(
        h.center.agent("a1").cloned(),
        before,
        "a refusal changes nothing"
    );
    h.available("a1");
    assert_eq!(away(&h, "a1"), None);
    assert_eq!(h.state_of("a1"), AgentState::Ready);
}

#[test]
fn a_center_configures_its_own_reasons() {
    let config = Config {
        not_ready_reasons: vec!["lunch".into(), "coaching".into()],
        ..Config::default()
    };
    assert_eq!(config.validate(), Ok(()));
    let mut h = Harness::with_config(config);
    h.register("a1");
    h.not_ready("a1");
    assert_eq!(away(&h, "a1").as_deref(), Some("lunch"));
    assert!(
        not_ready(&mut h, "a1", "break").is_err(),
        "not this center's"
    );
    for bad in [vec![], vec!["has space".to_owned()]] {
        let c = Config {
            not_ready_reasons: bad,
            ..Config::default()
        };
        assert_eq!(c.validate().map_err(|e| e.key), Err("not_ready_reasons"));
    }
}

#[test]
fn time_is_counted_per_reason() {
    let mut h = Harness::new();
    h.register("a1");
    not_ready(&mut h, "a1", "break").unwrap();
    h.advance_secs(300);
    not_ready(&mut h, "a1", "training").unwrap();
    h.advance_secs(60);
    // The same reason again goes on counting from when it began.
    not_ready(&mut h, "a1", "training").unwrap();
    h.advance_secs(60);
    let a = h.center.agent("a1").unwrap();
    let now = h.now();
    let spent = a.away_ms(now);
    assert_eq!(spent.get("break"), Some(&300_000));
    assert_eq!(spent.get("training"), Some(&120_000), "counted up to now");
    h.available("a1");
    h.advance_secs(500);
    let a = h.center.agent("a1").unwrap();
    assert_eq!(
        a.away_ms(h.now()).get("training"),
        Some(&120_000),
        "Ready: no longer counted"
    );
}

#[test]
fn not_ready_in_a_call_takes_effect_when_it_ends() {
    let mut h = Harness::new();
    h.register("a1");
    h.join("v1");
    let sid = h.accept("a1");
    not_ready(&mut h, "a1", "after_call_work").expect("allowed in a call");
    assert_eq!(h.state_of("a1"), AgentState::Busy, "the call goes on");
    h.end(&sid, Party::Customer);
    assert_eq!(h.state_of("a1"), AgentState::Online);
    assert_eq!(away(&h, "a1").as_deref(), Some("after_call_work"));
    h.join("v2");
    assert_eq!(h.rung_for("v2"), None, "not offered calls");
}

#[test]
fn missed_rings_give_the_no_answer_reason_and_signing_in_clears_it() {
    let mut h = Harness::with_config(Config {
        max_no_answer: 1,
        ..Config::default()
    });
    h.register("a1");
    h.join("v1");
    h.advance_secs(31);
    assert_eq!(h.state_of("a1"), AgentState::Online);
    assert_eq!(away(&h, "a1").as_deref(), Some(NO_ANSWER_REASON));
    h.register("a1");
    assert_eq!(away(&h, "a1"), None);
}

#[test]
fn a_transferred_call_counts_as_taken_by_its_new_agent() {
    let mut h = Harness::new();
    h.register("a1");
    h.join("v1");
    let sid = h.accept("a1");
    h.register("a2");
    h.cmd(Command::TransferSession {
        session_id: sid,
        target_agent_id: "a2".into(),
    })
    .expect("transfer");
    let stats = |id: &str| h.center.agent(id).unwrap().stats;
    assert_eq!((stats("a1").answered, stats("a1").transferred_in), (1, 0));
    assert_eq!((stats("a2").answered, stats("a2").transferred_in), (0, 1));
}

#[test]
fn a_visitors_question_titles_their_session_and_the_way_in_is_kept() {
    let mut h = Harness::new();
    let reply = h
        .cmd(Command::JoinQueue {
            visitor_id: "v1".into(),
            visitor_name: None,
            preferred_skill: None,
            priority: 0,
            channel: Default::default(),
            question: Some("\n  My order 1234 never came  \nIt was due Monday.".into()),
        })
        .expect("join");
    let s = h.center.session(session_id(&reply).as_str()).unwrap();
    assert_eq!(s.title, "My order 1234 never came");
    assert_eq!(
        s.description.as_deref(),
        Some("\n  My order 1234 never came  \nIt was due Monday.")
    );
    assert_eq!(s.arrival, Arrival::Entry);
    let long = "x".repeat(500);
    let reply = h
        .cmd(Command::JoinQueue {
            visitor_id: "v2".into(),
            visitor_name: None,
            preferred_skill: None,
            priority: 0,
            channel: Default::default(),
            question: Some(long),
        })
        .expect("a long question is a long description");
    let s = h.center.session(session_id(&reply).as_str()).unwrap();
    assert_eq!(
        s.title.chars().count(),
        switchboard_core::NAME_MAX,
        "cut to a title"
    );
    let reply = h
        .cmd(Command::CreateSession {
            title: "Refund".into(),
            customer_id: "c1".into(),
            customer_name: None,
            description: None,
        })
        .expect("create");
    let s = h.center.session(session_id(&reply).as_str()).unwrap();
    assert_eq!(s.arrival, Arrival::Link);
}

/// Drops every member named `names` from a JSON value, at any depth.
fn without(value: &mut serde_json::Value, names: &[&str]) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|k, _| !names.contains(&k.as_str()));
            map.values_mut().for_each(|v| without(v, names));
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| without(v, names)),
        _ => {}
    }
}

#[test]
fn a_snapshot_from_before_reasons_restores() {
    let mut h = Harness::new();
    h.register("a1");
    not_ready(&mut h, "a1", "training").unwrap();
    h.register("a2");
    h.join("v1");
    let mut old = serde_json::to_value(h.center.snapshot()).unwrap();
    // What a journal written by the previous version holds: none of this
    // round's fields.
    without(
        &mut old,
        &[
            "away",
            "away_ms",
            "transferred_in",
            "arrival",
            "settled",
            "not_ready_reasons",
        ],
    );
    let snapshot: switchboard_core::Snapshot = serde_json::from_value(old).expect("it reads");
    let restored = switchboard_core::Center::restore(snapshot).expect("it restores");
    let a1 = restored.agent("a1").unwrap();
    assert_eq!((a1.away.as_ref(), a1.stats.transferred_in), (None, 0));
    assert_eq!(
        restored.config().not_ready_reasons,
        Config::default().not_ready_reasons
    );
    let s = restored
        .session(session_of(&restored, "v1").as_str())
        .unwrap();
    assert_eq!(s.arrival, Arrival::Entry);
}

fn session_of(c: &switchboard_core::Center, visitor: &str) -> switchboard_core::SessionId {
    c.sessions()
        .into_iter()
        .find(|s| s.customer_id.as_str() == visitor)
        .map(|s| s.id.clone())
        .unwrap()
}
