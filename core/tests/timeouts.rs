//! The seed's timeouts: ring (accept_timeout_secs), queue (queue_timeout_secs)
//! and session (session_timeout_secs), and the safety-net dispatch tick.

mod common;

use std::time::Duration;

use common::*;
use switchboard_core::{
    AgentState, Center, Command, Config, EndReason, Party, SessionStatus, Timestamp,
};

#[test]
fn ring_timeout_requeues_at_head_and_rings_the_next_agent() {
    let mut h = Harness::new();
    h.register("a1");
    let sid = session_id(&h.join("v1"));
    h.register("a2");
    assert_eq!(h.state_of("a1"), AgentState::Ringing);
    assert_eq!(h.state_of("a2"), AgentState::Ready);
    h.take_events();

    // One millisecond short of 30 s nothing happens.
    h.advance(Duration::from_millis(29_999));
    assert_eq!(h.state_of("a1"), AgentState::Ringing);
    assert!(h.take_events().is_empty());
    h.advance(Duration::from_millis(1));
    assert_eq!(h.state_of("a1"), AgentState::Ready);
    assert_eq!(
        h.state_of("a2"),
        AgentState::Ringing,
        "round robin moved past a1"
    );
    assert_eq!(h.center.agent("a1").unwrap().stats.timed_out, 1);
    assert_eq!(h.center.stats().totals.ring_timeouts, 1);
    let events: Vec<_> = h
        .take_events()
        .into_iter()
        .map(|e| (e.to, event_name(&e.event)))
        .collect();
    assert_eq!(
        events,
        [
            (agent("a1"), "ring_timeout".to_owned()),
            (visitor("v1"), "queued".to_owned()),
            (agent("a2"), "incoming_call".to_owned()),
            (visitor("v1"), "agent_assignment".to_owned()),
        ]
    );
    assert_eq!(h.accept("a2"), sid);
}

#[test]
fn ring_timeouts_at_the_same_instant_fire_in_ring_order() {
    let mut h = Harness::new();
    h.register("a1");
    h.register("a2");
    h.join("v1");
    h.join("v2");
    h.take_events();
    h.advance_secs(30);
    // v1's ring lapses first; only a1 is Ready at that moment, so v1 rings a1
    // again; then v2's lapses and v2 rings a2 again.
    let order: Vec<_> = h
        .take_events()
        .into_iter()
        .filter(|e| {
            event_name(&e.event) == "ring_timeout" || event_name(&e.event) == "incoming_call"
        })
        .map(|e| (e.to, event_name(&e.event)))
        .collect();
    assert_eq!(
        order,
        [
            (agent("a1"), "ring_timeout".to_owned()),
            (agent("a1"), "incoming_call".to_owned()),
            (agent("a2"), "ring_timeout".to_owned()),
            (agent("a2"), "incoming_call".to_owned()),
        ]
    );
}

#[test]
fn ring_timeout_with_no_agent_left_leaves_visitor_first_in_line() {
    let mut h = Harness::new();
    h.register("a1");
    h.join("v1");
    h.join("v2");
    // The only agent is rung again after the lapse; when it signs out the
    // visitor is first in line, ahead of v2.
    h.advance_secs(30);
    assert_eq!(h.state_of("a1"), AgentState::Ringing);
    assert_eq!(
        h.center.visitor("v1").unwrap().agent_id.unwrap().as_str(),
        "a1"
    );
    assert_eq!(h.queue_visitors(), ["v2"]);
    h.offline("a1");
    assert_eq!(h.queue_visitors(), ["v1", "v2"]);
}

#[test]
fn queue_timeout_removes_the_visitor_with_an_event() {
    let mut h = Harness::new();
    let sid = session_id(&h.join("v1"));
    h.advance_secs(300);
    h.join("v2");
    h.take_events();
    h.advance(Duration::from_millis(599_999 - 300_000));
    assert_eq!(h.queue_visitors(), ["v1", "v2"]);
    h.advance(Duration::from_millis(1));
    assert_eq!(h.queue_visitors(), ["v2"]);
    let s = h.center.session(sid.as_str()).unwrap();
    assert_eq!(s.end_reason, Some(EndReason::QueueTimeout));
    assert_eq!(
        s.ended_at,
        Some(Timestamp::from_millis(T0.as_millis() + 600_000))
    );
    assert_eq!(h.names_for(&visitor("v1")), ["queue_timeout", "call_ended"]);
    assert_eq!(h.center.stats().totals.queue_timeouts, 1);
    h.advance_secs(300);
    assert!(h.queue_visitors().is_empty());
}

#[test]
fn queue_timeout_counts_from_joining_across_requeues() {
    let mut h = Harness::with_config(Config {
        queue_timeout_secs: 60,
        ..Config::default()
    });
    h.register("a1");
    let sid = session_id(&h.join("v1"));
    // Rung twice for 30 s each: back in the queue at 60 s, already due.
    h.advance_secs(59);
    h.cmd(Command::AgentNotReady {
        agent_id: "a1".into(),
        reason: None,
    })
    .expect_err("ringing");
    h.offline("a1");
    assert_eq!(h.queue_visitors(), ["v1"]);
    h.advance_secs(1);
    assert_eq!(
        h.center.session(sid.as_str()).unwrap().end_reason,
        Some(EndReason::QueueTimeout)
    );
}

#[test]
fn session_timeout_ends_a_call_that_runs_too_long() {
    let mut h = Harness::with_config(Config {
        session_timeout_secs: 120,
        ..Config::default()
    });
    h.register("a1");
    h.join("v1");
    h.advance_secs(20);
    let sid = h.accept("a1");
    h.take_events();
    h.advance_secs(99);
    assert_eq!(
        h.center.session(sid.as_str()).unwrap().status(),
        SessionStatus::Active
    );
    h.advance_secs(1);
    let s = h.center.session(sid.as_str()).unwrap();
    assert_eq!(
        (s.status(), s.end_reason, s.ended_by),
        (
            SessionStatus::Ended,
            Some(EndReason::SessionTimeout),
            Some(Party::System)
        )
    );
    assert_eq!(h.state_of("a1"), AgentState::Ready);
    assert_eq!(h.names_for(&agent("a1")), ["call_ended"]);
}

#[test]
fn ending_a_session_disarms_its_timers() {
    let mut h = Harness::new();
    h.register("a1");
    h.join("v1");
    let sid = h.accept("a1");
    h.end(&sid, Party::Agent);
    assert_eq!(h.center.poll_timeout(), None, "nothing left to wait for");
}

#[test]
fn dispatch_tick_is_armed_only_while_visitors_queue() {
    let mut h = Harness::new();
    assert_eq!(h.center.poll_timeout(), None);
    h.join("v1");
    let first = h.center.poll_timeout().unwrap();
    assert_eq!(
        first.as_millis() - T0.as_millis(),
        500,
        "the safety-net tick"
    );
    h.advance_secs(2);
    assert_eq!(
        h.center.poll_timeout().unwrap().as_millis() - T0.as_millis(),
        2_500
    );
    h.cmd(Command::LeaveQueue {
        visitor_id: "v1".into(),
    })
    .unwrap();
    h.advance_secs(1);
    assert_eq!(h.center.poll_timeout(), None);
}

/// A driver that calls `handle_timeout` late (or never between commands)
/// reaches exactly the state of one that is always on time.
#[test]
fn firing_timers_late_gives_the_same_state_as_on_time() {
    let script: Vec<(u64, Command)> = vec![
        (
            0,
            Command::RegisterAgent {
                agent_id: "a1".into(),
                agent_name: None,
            },
        ),
        (
            0,
            Command::RegisterAgent {
                agent_id: "a2".into(),
                agent_name: None,
            },
        ),
        (
            1_000,
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
            2_000,
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
            3_000,
            Command::JoinQueue {
                visitor_id: "v3".into(),
                visitor_name: None,
                preferred_skill: None,
                priority: 0,
                channel: Default::default(),
                question: None,
            },
        ),
        (
            95_000,
            Command::AcceptCall {
                agent_id: "a1".into(),
                media: switchboard_core::Media::Video,
            },
        ),
        (
            700_000,
            Command::RegisterAgent {
                agent_id: "a3".into(),
                agent_name: None,
            },
        ),
    ];
    let run = |step_ms: Option<u64>| {
        let mut c = Center::new(Config::default(), 1).unwrap();
        let mut t = T0.as_millis();
        for (at, cmd) in &script {
            let target = T0.as_millis() + at;
            if let Some(step) = step_ms {
                while t + step < target {
                    t += step;
                    c.handle_timeout(Timestamp::from_millis(t));
                }
            }
            t = target;
            let _ = c.apply(Timestamp::from_millis(t), cmd.clone());
            c.check_invariants().unwrap();
        }
        c.handle_timeout(Timestamp::from_millis(t + 1));
        c
    };
    let never = run(None);
    assert_eq!(never, run(Some(1)), "ticking every ms");
    assert_eq!(never, run(Some(7_777)), "ticking at odd times");
    // And the timers did something in this script.
    assert!(never.stats().totals.ring_timeouts > 0);
}
