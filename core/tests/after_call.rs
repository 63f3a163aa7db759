//! After-call work (`wrap_up_secs`), no-answer handling (`max_no_answer`) and
//! the pause after a reject (`reject_delay_secs`), as FreeSWITCH's
//! mod_callcenter and Asterisk's app_queue do it.

mod common;

use std::time::Duration;

use common::*;
use switchboard_core::{AgentState, Config, EventKind, Party, ResumeReason};

fn config(wrap_up: u64, reject_delay: u64, max_no_answer: u32) -> Config {
    Config {
        wrap_up_secs: wrap_up,
        reject_delay_secs: reject_delay,
        max_no_answer,
        ..Config::default()
    }
}

#[test]
fn wrap_up_keeps_the_agent_online_then_ready_and_rung() {
    let mut h = Harness::with_config(config(10, 0, 0));
    h.register("a1");
    h.join("v1");
    let sid = h.accept("a1");
    h.join("v2");
    h.end(&sid, Party::Customer);
    let a = h.center.agent("a1").unwrap();
    assert_eq!(a.state, AgentState::Online, "after-call work");
    assert_eq!(a.resume.map(|r| r.reason), Some(ResumeReason::WrapUp));
    assert_eq!(h.queue_visitors(), ["v2"], "not offered during wrap-up");
    h.advance(Duration::from_millis(9_999));
    assert_eq!(h.state_of("a1"), AgentState::Online);
    h.advance(Duration::from_millis(1));
    assert_eq!(
        h.state_of("a1"),
        AgentState::Ringing,
        "Ready at 10 s and rung at once"
    );
    assert!(h.center.agent("a1").unwrap().resume.is_none());
}

#[test]
fn an_agent_can_end_wrap_up_early_or_turn_it_into_a_break() {
    let mut h = Harness::with_config(config(30, 0, 0));
    h.register("a1");
    h.join("v1");
    let sid = h.accept("a1");
    h.end(&sid, Party::Agent);
    h.available("a1");
    assert_eq!(h.state_of("a1"), AgentState::Ready, "done early");

    h.join("v2");
    let sid = h.accept("a1");
    h.end(&sid, Party::Agent);
    h.not_ready("a1");
    h.advance_secs(60);
    assert_eq!(
        h.state_of("a1"),
        AgentState::Online,
        "a break lasts until the agent comes back"
    );
}

#[test]
fn reject_delay_pauses_a_rejecting_agent() {
    let mut h = Harness::with_config(config(0, 5, 0));
    h.register("a1");
    h.join("v1");
    h.reject("a1");
    assert_eq!(h.state_of("a1"), AgentState::Online);
    assert_eq!(
        h.queue_visitors(),
        ["v1"],
        "not offered straight back to a1"
    );
    h.register("a2");
    assert_eq!(
        h.state_of("a2"),
        AgentState::Ringing,
        "another agent takes it"
    );
    h.join("v2");
    h.advance_secs(5);
    assert_eq!(
        h.state_of("a1"),
        AgentState::Ringing,
        "back after 5 s, and rung for v2"
    );
}

#[test]
fn max_no_answer_takes_an_absent_agent_off_calls() {
    let mut h = Harness::with_config(config(0, 0, 2));
    h.register("a1");
    h.join("v1");
    h.advance_secs(30);
    assert_eq!(
        h.state_of("a1"),
        AgentState::Ringing,
        "one miss: rung again"
    );
    assert_eq!(h.center.agent("a1").unwrap().no_answer, 1);
    h.take_events();
    h.advance_secs(30);
    assert_eq!(h.state_of("a1"), AgentState::Online, "two misses in a row");
    let told: Vec<_> = h
        .take_events()
        .into_iter()
        .filter(|e| e.to == agent("a1"))
        .map(|e| e.event)
        .collect();
    assert!(
        told.contains(&EventKind::AgentNoAnswer {
            agent_id: "a1".into(),
            missed: 2
        }),
        "{told:?}"
    );
    assert_eq!(h.queue_visitors(), ["v1"]);
    // Coming back resets the count; answering resets it too.
    h.available("a1");
    assert_eq!(h.center.agent("a1").unwrap().no_answer, 0);
    h.advance_secs(30);
    assert_eq!(h.center.agent("a1").unwrap().no_answer, 1);
    h.accept("a1");
    assert_eq!(h.center.agent("a1").unwrap().no_answer, 0);
}

#[test]
fn the_default_takes_an_agent_off_after_three_misses() {
    let mut h = Harness::new();
    h.register("a1");
    h.join("v1");
    h.advance_secs(60);
    assert_eq!(h.state_of("a1"), AgentState::Ringing);
    h.advance_secs(30);
    assert_eq!(h.state_of("a1"), AgentState::Online);
}

#[test]
fn a_shorter_wrap_up_applies_to_a_pause_in_progress() {
    let mut h = Harness::with_config(config(60, 0, 0));
    h.register("a1");
    h.join("v1");
    let sid = h.accept("a1");
    h.end(&sid, Party::Agent);
    h.advance_secs(10);
    h.center.reconfigure(config(20, 0, 0)).unwrap();
    h.center.check_invariants().unwrap();
    h.advance(Duration::from_millis(9_999));
    assert_eq!(h.state_of("a1"), AgentState::Online);
    h.advance(Duration::from_millis(1));
    assert_eq!(
        h.state_of("a1"),
        AgentState::Ready,
        "20 s after the call ended"
    );
}
