//! Workgroups (skill groups with levels, per-group modes and overflow) and
//! agent capacity, directed tests first, then a random walk over all of it
//! checking every invariant after every step.

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use switchboard_core::routing::RoutingMode;
use switchboard_core::{
    AgentState, Center, Command, Config, CoreError, Media, Membership, Party, Reply, SessionStatus,
    Timestamp, WorkgroupSettings,
};

#[test]
fn the_public_entry_takes_the_default_or_the_named_group_unless_it_closed_it() {
    let mut h = Harness::new();
    h.group("vip", RoutingMode::RoundRobin, None);
    assert_eq!(switchboard_core::joined_workgroup(None).as_str(), "default");
    assert_eq!(
        switchboard_core::joined_workgroup(Some("vip")).as_str(),
        "vip"
    );
    assert!(h.center.takes_public_join(None));
    assert!(h.center.takes_public_join(Some("vip")));
    assert!(
        h.center.takes_public_join(Some("nowhere")),
        "an unknown group is the join's to refuse (404), not the entry's"
    );
    for group in ["vip", "default"] {
        h.cmd(Command::UpdateWorkgroup {
            workgroup_id: group.into(),
            settings: WorkgroupSettings {
                public_join: false,
                ..WorkgroupSettings::default()
            },
        })
        .expect("close the public entry");
    }
    assert!(!h.center.takes_public_join(Some("vip")));
    assert!(
        !h.center.takes_public_join(None),
        "the default group, closed"
    );
}

#[test]
fn a_visitor_is_rung_only_to_agents_of_their_workgroup() {
    let mut h = Harness::new();
    h.group("sales", RoutingMode::RoundRobin, None);
    h.group("support", RoutingMode::RoundRobin, None);
    h.register("a1");
    h.register("a2");
    h.member("a1", &[("sales", 1)]);
    h.member("a2", &[("support", 1)]);
    h.join_group("v1", "support", 0);
    assert_eq!(h.rung_for("v1").as_deref(), Some("a2"));
    let r = h.join_group("v2", "support", 0);
    assert!(matches!(r, Reply::Queued { position: 1, .. }), "{r:?}");
    assert_eq!(
        h.state_of("a1"),
        AgentState::Ready,
        "a sales agent stays free"
    );
    assert_eq!(h.center.visitor("v2").unwrap().queue_length, 1);
    // The default group has no members now: its visitors wait too.
    let r = h.join("v3");
    assert!(matches!(r, Reply::Queued { .. }), "{r:?}");
}

#[test]
fn unknown_workgroups_and_bad_memberships_are_refused_and_change_nothing() {
    let mut h = Harness::new();
    h.register("a1");
    let e = h.refused(Command::JoinQueue {
        visitor_id: "v1".into(),
        visitor_name: None,
        preferred_skill: Some("nope".into()),
        priority: 0,
        channel: Default::default(),
        question: None,
    });
    assert!(matches!(e, CoreError::WorkgroupNotFound(_)), "{e}");
    let set = |groups: Vec<(&str, u8)>| Command::SetAgentWorkgroups {
        agent_id: "a1".into(),
        workgroups: groups
            .into_iter()
            .map(|(g, level)| Membership {
                workgroup_id: g.into(),
                level,
            })
            .collect(),
    };
    assert!(matches!(
        h.refused(set(vec![])),
        CoreError::InvalidInput { .. }
    ));
    assert!(matches!(
        h.refused(set(vec![("default", 11)])),
        CoreError::InvalidInput { field: "level", .. }
    ));
    assert!(matches!(
        h.refused(set(vec![("default", 1), ("default", 2)])),
        CoreError::InvalidInput { .. }
    ));
    assert!(matches!(
        h.refused(set(vec![("ghost", 1)])),
        CoreError::WorkgroupNotFound(_)
    ));
    h.group("sales", RoutingMode::RoundRobin, None);
    let create = |settings| Command::CreateWorkgroup {
        workgroup_id: "sales".into(),
        settings,
    };
    assert!(matches!(
        h.refused(create(WorkgroupSettings::default())),
        CoreError::WorkgroupExists(_)
    ));
    let bad_overflow = |to: &str, after| Command::UpdateWorkgroup {
        workgroup_id: "sales".into(),
        settings: WorkgroupSettings {
            overflow_after_secs: after,
            overflow_to: Some(to.into()),
            ..WorkgroupSettings::default()
        },
    };
    assert!(matches!(
        h.refused(bad_overflow("sales", Some(5))),
        CoreError::InvalidInput { .. }
    ));
    assert!(matches!(
        h.refused(bad_overflow("ghost", Some(5))),
        CoreError::WorkgroupNotFound(_)
    ));
    assert!(matches!(
        h.refused(bad_overflow("default", None)),
        CoreError::InvalidInput { .. }
    ));
    assert!(matches!(
        h.refused(Command::SetAgentCapacity {
            agent_id: "a1".into(),
            max_concurrent: 0
        }),
        CoreError::InvalidInput { .. }
    ));
}

#[test]
fn higher_skill_levels_are_offered_calls_first() {
    let mut h = Harness::new();
    h.group("support", RoutingMode::RoundRobin, None);
    for a in ["a1", "a2", "a3"] {
        h.register(a);
    }
    h.member("a1", &[("support", 1)]);
    h.member("a2", &[("support", 5)]);
    h.member("a3", &[("support", 5)]);
    let mut rung = Vec::new();
    for v in ["v1", "v2", "v3"] {
        h.join_group(v, "support", 0);
        rung.push(h.rung_for(v).unwrap());
    }
    assert_eq!(rung, ["a2", "a3", "a1"], "level 5 in turn, then level 1");
}

#[test]
fn each_workgroup_routes_by_its_own_mode_changeable_at_runtime() {
    let mut h = Harness::new();
    h.group("support", RoutingMode::Manual, None);
    h.register("a1");
    h.member("a1", &[("support", 1)]);
    h.join_group("v1", "support", 0);
    assert_eq!(h.rung_for("v1"), None, "manual: nobody is rung");
    assert_eq!(h.center.next_agent("support").unwrap(), None);
    // The default group still routes automatically.
    h.register("a2");
    h.join("v2");
    assert_eq!(h.rung_for("v2").as_deref(), Some("a2"));

    h.cmd(Command::UpdateWorkgroup {
        workgroup_id: "support".into(),
        settings: WorkgroupSettings {
            routing_mode: RoutingMode::LongestIdle,
            ..WorkgroupSettings::default()
        },
    })
    .unwrap();
    assert_eq!(
        h.rung_for("v1").as_deref(),
        Some("a1"),
        "leaving manual rings at once"
    );
    assert_eq!(
        h.center.workgroup("support").unwrap().settings.routing_mode,
        RoutingMode::LongestIdle
    );
}

#[test]
fn the_routing_state_for_display_advances_nothing() {
    let mut h = Harness::new();
    h.group("support", RoutingMode::RoundRobin, None);
    for a in ["a1", "a2", "a3"] {
        h.register(a);
        h.member(a, &[("support", 1)]);
    }
    h.join_group("v0", "support", 0);
    let next = h.center.next_agent("support").unwrap();
    assert_eq!(h.center.next_agent("support").unwrap(), next, "peek twice");
    h.join_group("v1", "support", 0);
    assert_eq!(h.rung_for("v1"), next.map(|a| a.to_string()));
    assert!(matches!(
        h.center.next_agent("ghost"),
        Err(CoreError::WorkgroupNotFound(_))
    ));
}

#[test]
fn recent_prefers_the_last_agent_at_any_skill_level() {
    let mut h = Harness::new();
    h.group("support", RoutingMode::Recent, None);
    h.register("junior");
    h.register("senior");
    h.member("junior", &[("support", 1)]);
    h.member("senior", &[("support", 9)]);
    h.not_ready("senior");
    h.join_group("v1", "support", 0);
    let sid = h.accept("junior");
    h.end(&sid, Party::Customer);
    h.available("senior");
    h.join_group("v1", "support", 0);
    assert_eq!(h.rung_for("v1").as_deref(), Some("junior"));
    h.join_group("v2", "support", 0);
    assert_eq!(
        h.rung_for("v2").as_deref(),
        Some("senior"),
        "a new visitor goes by level"
    );
}

/// a1 served v1 and is now busy with v9; a2 is Ready.
fn recent_with_v1s_agent_busy() -> Harness {
    let mut h = Harness::with_config(Config {
        routing_mode: RoutingMode::Recent,
        recent_wait_secs: 10,
        ..Config::default()
    });
    h.register("a1");
    h.join("v1");
    let sid = h.accept("a1");
    h.end(&sid, Party::Customer);
    h.join("v9");
    h.accept("a1");
    h.register("a2");
    h
}

#[test]
fn recent_holds_a_returning_visitor_for_their_busy_agent_then_falls_back() {
    let mut h = recent_with_v1s_agent_busy();
    let r = h.join("v1");
    assert!(matches!(r, Reply::Queued { position: 1, .. }), "{r:?}");
    assert_eq!(h.rung_for("v1"), None, "a2 is Ready but v1 waits for a1");
    assert_eq!(h.center.visitor("v1").unwrap().position, Some(1));
    h.join("v2");
    assert_eq!(
        h.rung_for("v2").as_deref(),
        Some("a2"),
        "others are not held up"
    );
    let s2 = h.accept("a2");
    h.end(&s2, Party::Agent);
    h.advance(Duration::from_millis(9_999));
    assert_eq!(h.rung_for("v1"), None);
    h.advance(Duration::from_millis(1));
    assert_eq!(
        h.rung_for("v1").as_deref(),
        Some("a2"),
        "after 10 s, anyone"
    );
}

#[test]
fn a_held_visitor_is_rung_to_their_agent_as_soon_as_it_is_free() {
    let mut h = recent_with_v1s_agent_busy();
    h.not_ready("a2");
    h.join("v1");
    h.join("v3");
    h.advance_secs(4);
    let call = h.center.agent("a1").unwrap().calls[0].session_id.clone();
    h.end(&call, Party::Agent);
    assert_eq!(
        h.rung_for("v1").as_deref(),
        Some("a1"),
        "before v3, who queued for anyone"
    );
}

#[test]
fn an_agent_signing_out_releases_the_visitors_held_for_it() {
    let mut h = recent_with_v1s_agent_busy();
    h.join("v1");
    assert_eq!(h.rung_for("v1"), None);
    h.offline("a1");
    assert_eq!(h.rung_for("v1").as_deref(), Some("a2"));
}

#[test]
fn overflow_widens_the_pool_after_the_wait_without_losing_the_place() {
    let mut h = Harness::new();
    h.group("general", RoutingMode::RoundRobin, None);
    h.group("vip", RoutingMode::RoundRobin, Some((30, "general")));
    h.register("a1");
    h.member("a1", &[("general", 1)]);
    h.join_group("g1", "general", 0);
    let g1 = h.accept("a1");

    h.join_group("v1", "vip", 0);
    h.advance_secs(10);
    h.join_group("v2", "vip", 0);
    h.advance_secs(20);
    // v1 has waited 30 s: eligible in general, but a1 is busy.
    let stats = h.center.workgroup_stats("general").unwrap();
    assert_eq!((stats.waiting, stats.overflowed_in), (0, 1));
    h.advance_secs(5);
    h.join_group("g2", "general", 0);
    h.advance_secs(5);
    assert_eq!(
        h.center.workgroup_stats("general").unwrap().overflowed_in,
        2
    );
    assert_eq!(
        h.center.visitor("v2").unwrap().position,
        Some(2),
        "place kept"
    );

    // A vip agent arrives: the head of its own queue, v1, is theirs.
    h.register("b1");
    h.member("b1", &[("vip", 1)]);
    assert_eq!(h.rung_for("v1").as_deref(), Some("b1"));
    assert_eq!(h.center.visitor("v2").unwrap().position, Some(1));
    // a1 frees up: v2 (joined before g2) goes first, from general's pool.
    h.end(&g1, Party::Agent);
    assert_eq!(h.rung_for("v2").as_deref(), Some("a1"));
    assert_eq!(h.center.visitor("g2").unwrap().position, Some(1));
}

#[test]
fn before_the_overflow_time_the_fallback_group_does_not_serve() {
    let mut h = Harness::new();
    h.group("general", RoutingMode::RoundRobin, None);
    h.group("vip", RoutingMode::RoundRobin, Some((30, "general")));
    h.register("a1");
    h.member("a1", &[("general", 1)]);
    h.join_group("v1", "vip", 0);
    h.advance(Duration::from_millis(29_999));
    assert_eq!(h.rung_for("v1"), None);
    h.advance(Duration::from_millis(1));
    assert_eq!(h.rung_for("v1").as_deref(), Some("a1"), "at 30 s exactly");
    // Rejected: back at the head of vip, and still eligible in general.
    h.reject("a1");
    assert_eq!(h.rung_for("v1").as_deref(), Some("a1"));
}

#[test]
fn clearing_overflow_takes_waiting_visitors_back_out_of_the_fallback() {
    let mut h = Harness::new();
    h.group("general", RoutingMode::RoundRobin, None);
    h.group("vip", RoutingMode::RoundRobin, Some((30, "general")));
    h.register("a1");
    h.member("a1", &[("general", 1)]);
    h.not_ready("a1");
    h.join_group("v1", "vip", 0);
    h.advance_secs(40);
    assert_eq!(
        h.center.workgroup_stats("general").unwrap().overflowed_in,
        1
    );
    h.cmd(Command::UpdateWorkgroup {
        workgroup_id: "vip".into(),
        settings: WorkgroupSettings::default(),
    })
    .unwrap();
    assert_eq!(
        h.center.workgroup_stats("general").unwrap().overflowed_in,
        0
    );
    h.available("a1");
    assert_eq!(h.rung_for("v1"), None);
}

#[test]
fn capacity_is_never_exceeded_when_many_arrive_at_once() {
    let mut h = Harness::new();
    h.register("a1");
    h.register("a2");
    h.capacity("a1", 3);
    h.capacity("a2", 2);
    for i in 0..10 {
        h.join(&format!("v{i}"));
    }
    for _ in 0..10 {
        for a in ["a1", "a2"] {
            if h.state_of(a) == AgentState::Ringing {
                h.accept(a);
            }
        }
    }
    let calls = |h: &Harness, a: &str| {
        h.center
            .sessions()
            .iter()
            .filter(|s| {
                s.status() == SessionStatus::Active
                    && s.agent_id.as_ref().map(|x| x.as_str()) == Some(a)
            })
            .count()
    };
    assert_eq!((calls(&h, "a1"), calls(&h, "a2")), (3, 2));
    assert_eq!(h.state_of("a1"), AgentState::Busy);
    assert_eq!(h.state_of("a2"), AgentState::Busy);
    assert_eq!(h.center.queue_len(), 5);
    // One call ends: below capacity again, so Ready, and rung at once.
    let first = h.center.agent("a1").unwrap().calls[0].session_id.clone();
    h.end(&first, Party::Customer);
    assert_eq!(h.state_of("a1"), AgentState::Ringing);
    // Capacity cannot drop below what an agent holds.
    let e = h.refused(Command::SetAgentCapacity {
        agent_id: "a1".into(),
        max_concurrent: 2,
    });
    assert!(matches!(e, CoreError::InvalidInput { .. }), "{e}");
}

#[test]
fn least_active_counts_the_calls_held_right_now() {
    let mut h = Harness::with_config(Config {
        routing_mode: RoutingMode::LeastActive,
        max_concurrent: 3,
        ..Config::default()
    });
    h.register("a1");
    h.register("a2");
    let mut rung = Vec::new();
    for v in ["v1", "v2", "v3", "v4"] {
        h.join(v);
        let a = h.rung_for(v).unwrap();
        h.accept(&a);
        rung.push(a);
    }
    assert_eq!(rung, ["a1", "a2", "a1", "a2"]);
    // a1 ends one: now it holds fewer, so it is next.
    let first = h.center.agent("a1").unwrap().calls[0].session_id.clone();
    h.end(&first, Party::Agent);
    h.join("v5");
    assert_eq!(h.rung_for("v5").as_deref(), Some("a1"));
}

#[test]
fn service_level_and_speed_of_answer_are_counted_per_group() {
    let mut h = Harness::new();
    h.group("support", RoutingMode::RoundRobin, None);
    h.register("a1");
    h.member("a1", &[("support", 1)]);
    h.join_group("v1", "support", 0);
    h.advance_secs(5);
    let s1 = h.accept("a1");
    h.join_group("v2", "support", 0);
    h.join_group("v3", "support", 0);
    h.advance_secs(25);
    h.end(&s1, Party::Agent);
    h.accept("a1");
    h.cmd(Command::LeaveQueue {
        visitor_id: "v3".into(),
    })
    .unwrap();
    let st = h.center.workgroup_stats("support").unwrap();
    assert_eq!(
        (
            st.counters.offered,
            st.counters.answered,
            st.counters.abandoned
        ),
        (3, 2, 1)
    );
    assert_eq!(st.counters.answered_in_time, 1, "5 s yes, 25 s no");
    assert_eq!(st.service_level, Some(1.0 / 3.0));
    assert_eq!(st.average_answer_ms, Some(15_000));
    let default = h.center.workgroup_stats("default").unwrap();
    assert_eq!(default.counters.offered, 0);
}

#[test]
fn agents_accumulate_talk_and_ready_time() {
    let mut h = Harness::new();
    h.register("a1");
    h.advance_secs(10);
    h.join("v1");
    h.advance_secs(2);
    let sid = h.accept("a1");
    h.advance_secs(60);
    let running = h.center.agent("a1").unwrap().talk_ms(h.now());
    assert_eq!(running, 60_000, "a call still running counts");
    h.end(&sid, Party::Customer);
    h.advance_secs(3);
    let a = h.center.agent("a1").unwrap();
    assert_eq!(a.stats.talk_ms_total, 60_000);
    assert_eq!(a.ready_ms(h.now()), 13_000, "10 s before, 3 s after");
}

#[test]
fn an_agent_in_two_groups_takes_the_longest_waiting_visitor_of_either() {
    let mut h = Harness::new();
    h.group("sales", RoutingMode::RoundRobin, None);
    h.group("support", RoutingMode::RoundRobin, None);
    h.join_group("s1", "support", 0);
    h.advance_secs(1);
    h.join_group("p1", "sales", 0);
    h.advance_secs(1);
    h.join_group("s2", "support", 0);
    h.register("a1");
    h.member("a1", &[("sales", 1), ("support", 1)]);
    assert_eq!(h.rung_for("s1").as_deref(), Some("a1"));
    h.reject("a1");
    // s1 is back at the head of support; a1 is offered it again first.
    assert_eq!(h.rung_for("s1").as_deref(), Some("a1"));
    let sid = h.accept("a1");
    h.end(&sid, Party::Agent);
    assert_eq!(h.rung_for("p1").as_deref(), Some("a1"), "then sales' p1");
}

// ---- random walk ----

const AGENTS: usize = 5;
const VISITORS: usize = 10;
const GROUPS: [&str; 3] = ["default", "sales", "support"];
const T0: Timestamp = Timestamp::from_millis(1_778_151_900_000);

#[derive(Clone, Debug)]
enum Op {
    Register(usize),
    NotReady(usize),
    Available(usize),
    Offline(usize),
    Accept(usize),
    Reject(usize),
    End(usize),
    Transfer(usize, usize),
    Join(usize, usize, u8),
    Leave(usize),
    Members(usize, Vec<(usize, u8)>),
    Capacity(usize, u32),
    Mode(usize, usize, Option<(u64, usize)>),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let a = 0..AGENTS;
    let v = 0..VISITORS;
    let g = 0..GROUPS.len();
    prop_oneof![
        2 => a.clone().prop_map(Op::Register),
        1 => a.clone().prop_map(Op::NotReady),
        1 => a.clone().prop_map(Op::Available),
        1 => a.clone().prop_map(Op::Offline),
        4 => a.clone().prop_map(Op::Accept),
        1 => a.clone().prop_map(Op::Reject),
        3 => a.clone().prop_map(Op::End),
        1 => (a.clone(), a.clone()).prop_map(|(f, t)| Op::Transfer(f, t)),
        5 => (v.clone(), g.clone(), 0u8..=3).prop_map(|(v, g, p)| Op::Join(v, g, p)),
        1 => v.prop_map(Op::Leave),
        2 => (a.clone(), prop::collection::vec((g.clone(), 1u8..=3), 0..3))
            .prop_map(|(a, m)| Op::Members(a, m)),
        1 => (a, 0u32..=3).prop_map(|(a, c)| Op::Capacity(a, c)),
        1 => (g.clone(), 0..RoutingMode::ALL.len(), prop::option::of((5u64..60, g)))
            .prop_map(|(g, m, o)| Op::Mode(g, m, o)),
        4 => prop_oneof![0u64..20_000, 60_000u64..200_000].prop_map(Op::Advance),
    ]
}

fn walk_config() -> Config {
    Config {
        max_sessions: 8,
        max_queue_size: 6,
        accept_timeout_secs: 20,
        queue_timeout_secs: 300,
        session_timeout_secs: 900,
        wrap_up_secs: 5,
        recent_wait_secs: 15,
        ended_sessions_max: 10_000,
        ..Config::default()
    }
}

fn command(c: &Center, op: &Op) -> Option<Command> {
    let agent = |a: usize| format!("a{a}");
    let held = |a: usize| {
        c.agent(&agent(a))
            .and_then(|x| x.calls.first().map(|c| c.session_id.clone()))
            .unwrap_or_else(|| "cs_none".into())
    };
    Some(match op {
        Op::Register(a) => Command::RegisterAgent {
            agent_id: agent(*a).into(),
            agent_name: None,
        },
        Op::NotReady(a) => Command::AgentNotReady {
            agent_id: agent(*a).into(),
            reason: None,
        },
        Op::Available(a) => Command::AgentAvailable {
            agent_id: agent(*a).into(),
        },
        Op::Offline(a) => Command::AgentOffline {
            agent_id: agent(*a).into(),
        },
        Op::Accept(a) => Command::AcceptCall {
            agent_id: agent(*a).into(),
            media: Media::Audio,
        },
        Op::Reject(a) => Command::RejectCall {
            agent_id: agent(*a).into(),
        },
        Op::End(a) => Command::EndSession {
            session_id: held(*a),
            by: Party::Agent,
        },
        Op::Transfer(f, t) => Command::TransferSession {
            session_id: held(*f),
            target_agent_id: agent(*t).into(),
        },
        Op::Join(v, g, p) => Command::JoinQueue {
            visitor_id: format!("v{v}").into(),
            visitor_name: None,
            preferred_skill: Some(GROUPS[*g].into()),
            priority: *p,
            channel: Default::default(),
            question: None,
        },
        Op::Leave(v) => Command::LeaveQueue {
            visitor_id: format!("v{v}").into(),
        },
        Op::Members(a, m) => Command::SetAgentWorkgroups {
            agent_id: agent(*a).into(),
            workgroups: m
                .iter()
                .map(|(g, level)| Membership {
                    workgroup_id: GROUPS[*g].into(),
                    level: *level,
                })
                .collect(),
        },
        Op::Capacity(a, n) => Command::SetAgentCapacity {
            agent_id: agent(*a).into(),
            max_concurrent: *n,
        },
        Op::Mode(g, m, overflow) => Command::UpdateWorkgroup {
            workgroup_id: GROUPS[*g].into(),
            settings: WorkgroupSettings {
                routing_mode: RoutingMode::ALL[*m],
                overflow_after_secs: overflow.map(|(s, _)| s),
                overflow_to: overflow.map(|(_, to)| GROUPS[to].into()),
                ..WorkgroupSettings::default()
            },
        },
        Op::Advance(_) => return None,
    })
}

fn new_center() -> Center {
    let mut c = Center::new(walk_config(), 5).unwrap();
    for g in &GROUPS[1..] {
        c.apply(
            T0,
            Command::CreateWorkgroup {
                workgroup_id: (*g).into(),
                settings: WorkgroupSettings::default(),
            },
        )
        .unwrap();
    }
    c
}

/// What must hold beyond `check_invariants`, seen from outside: no agent is
/// in more calls than its capacity, and every session a join made is still
/// somewhere.
fn check_outside(c: &Center, joined: &[switchboard_core::SessionId]) -> Result<(), TestCaseError> {
    c.check_invariants().map_err(TestCaseError::fail)?;
    for a in c.agents() {
        let held = c
            .sessions()
            .iter()
            .filter(|s| {
                s.status() != SessionStatus::Ended
                    && (s.agent_id.as_ref() == Some(&a.id) && s.status() == SessionStatus::Active
                        || s.ringing_agent() == Some(&a.id))
            })
            .count();
        prop_assert!(
            held <= a.max_concurrent as usize,
            "agent {} holds {held} > {}",
            a.id,
            a.max_concurrent
        );
    }
    for sid in joined {
        prop_assert!(c.session(sid.as_str()).is_some(), "{sid} vanished");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_with_workgroups_overflow_priorities_and_capacity(
        ops in prop::collection::vec(op(), 1..250)
    ) {
        let mut c = new_center();
        let mut replay = new_center();
        let mut now = T0;
        let mut joined = Vec::new();
        for op in &ops {
            if let Op::Advance(ms) = op {
                now = now.saturating_add(Duration::from_millis(*ms));
                c.handle_timeout(now);
            } else if let Some(cmd) = command(&c, op) {
                c.handle_timeout(now);
                let before = c.clone();
                let _ = replay.apply(now, cmd.clone());
                match c.apply(now, cmd) {
                    Err(e) => prop_assert!(c == before, "refused {op:?} ({e}) changed state"),
                    Ok(Reply::Queued { session_id, .. } | Reply::Assigned { session_id, .. }) => {
                        joined.push(session_id)
                    }
                    Ok(_) => {}
                }
            }
            while c.poll_event().is_some() {}
            while replay.poll_event().is_some() {}
            check_outside(&c, &joined)?;
        }
        replay.handle_timeout(now);
        prop_assert!(replay == c, "replay without timer calls diverged");
        let json = serde_json::to_string(&c.snapshot()).unwrap();
        let restored = Center::restore(serde_json::from_str(&json).unwrap()).unwrap();
        prop_assert!(restored == c, "snapshot round trip changed the state");
    }
}
