//! One test per row of the seed's agent and session transition tables, plus
//! the refusals that must leave everything unchanged.

mod common;

use common::*;
use switchboard_core::{
    AgentState, Command, Config, CoreError, EndReason, ErrorKind, EventKind, Media, Party, Reply,
    SessionStatus,
};

#[test]
fn register_makes_a_new_agent_ready() {
    let mut h = Harness::new();
    h.register("a1");
    assert_eq!(h.state_of("a1"), AgentState::Ready);
    assert_eq!(
        h.center.agent("a1").map(|a| a.name.as_str()),
        Some("Agent a1")
    );
    assert_eq!(h.center.stats().agents.ready, 1);
}

#[test]
fn register_signs_an_offline_or_online_agent_back_in() {
    let mut h = Harness::new();
    h.register("a1");
    h.offline("a1");
    h.register("a1");
    assert_eq!(h.state_of("a1"), AgentState::Ready);
    h.not_ready("a1");
    h.register("a1");
    assert_eq!(h.state_of("a1"), AgentState::Ready);
}

#[test]
fn offer_rings_a_ready_agent_with_visitor_name_and_timeout() {
    let mut h = Harness::new();
    h.register("a1");
    h.take_events();
    let reply = h.join("v1");
    let sid = session_id(&reply);
    assert_eq!(
        reply,
        Reply::Assigned {
            session_id: sid.clone(),
            agent_id: "a1".into()
        }
    );
    assert_eq!(h.state_of("a1"), AgentState::Ringing);
    let events = h.take_events();
    let incoming = events
        .iter()
        .find(|e| e.to == agent("a1"))
        .map(|e| e.event.clone());
    assert_eq!(
        incoming,
        Some(EventKind::IncomingCall {
            session_id: sid.clone(),
            room_id: sid.room_id(),
            visitor_id: "v1".into(),
            visitor_name: "Visitor v1".into(),
            timeout_secs: 30,
            channel: Default::default(),
            context: None,
        })
    );
    assert!(events
        .iter()
        .any(|e| e.to == visitor("v1") && matches!(e.event, EventKind::AgentAssignment { .. })));
    assert_eq!(
        h.center.session(sid.as_str()).unwrap().status(),
        SessionStatus::Waiting
    );
}

#[test]
fn accept_makes_agent_busy_and_session_active_and_tells_both() {
    let mut h = Harness::new();
    h.register("a1");
    let sid = session_id(&h.join("v1"));
    h.take_events();
    h.advance_secs(4);
    let accepted = h
        .cmd(Command::AcceptCall {
            agent_id: "a1".into(),
            media: Media::Audio,
        })
        .unwrap();
    assert_eq!(
        accepted,
        Reply::Accepted {
            session_id: sid.clone()
        }
    );
    assert_eq!(h.state_of("a1"), AgentState::Busy);
    let s = h.center.session(sid.as_str()).unwrap();
    assert_eq!(s.status(), SessionStatus::Active);
    assert_eq!(s.media, Some(Media::Audio));
    assert_eq!(s.agent_id.as_ref().map(|a| a.as_str()), Some("a1"));
    assert_eq!(s.started_at, Some(h.now()));
    let a = h.center.agent("a1").unwrap();
    assert_eq!(
        (a.stats.answered, a.stats.ring_to_accept_ms_total),
        (1, 4000)
    );
    let events = h.take_events();
    for to in [agent("a1"), visitor("v1")] {
        assert!(events.iter().any(|e| e.to == to
            && matches!(
                e.event,
                EventKind::CallAccepted {
                    media: Media::Audio,
                    ..
                }
            )));
    }
}

#[test]
fn end_returns_agent_to_ready_and_keeps_the_record() {
    for by in [Party::Agent, Party::Customer, Party::Admin] {
        let mut h = Harness::new();
        h.register("a1");
        h.join("v1");
        let sid = h.accept("a1");
        h.advance_secs(90);
        h.take_events();
        h.end(&sid, by);
        assert_eq!(h.state_of("a1"), AgentState::Ready);
        let s = h.center.session(sid.as_str()).unwrap();
        assert_eq!(s.status(), SessionStatus::Ended);
        assert_eq!(s.end_reason, Some(EndReason::Completed));
        assert_eq!(s.ended_by, Some(by));
        assert_eq!(s.duration(h.now()).map(|d| d.as_secs()), Some(90));
        let events = h.take_events();
        for to in [agent("a1"), visitor("v1")] {
            assert!(events
                .iter()
                .any(|e| e.to == to && matches!(e.event, EventKind::CallEnded { .. })));
        }
        // The visitor may come back with a new session.
        assert_ne!(session_id(&h.join("v1")), sid);
    }
}

#[test]
fn reject_requeues_visitor_at_head() {
    let mut h = Harness::new();
    h.register("a1");
    h.join("v1");
    h.cmd(Command::AgentNotReady {
        agent_id: "a1".into(),
        reason: None,
    })
    .expect_err("a1 is ringing, not ready");
    h.join("v2");
    h.join("v3");
    assert_eq!(h.queue_visitors(), ["v2", "v3"]);
    h.take_events();
    h.offline("a1");
    // Offline while ringing put v1 back at the head.
    assert_eq!(h.queue_visitors(), ["v1", "v2", "v3"]);
    h.register("a1");
    assert_eq!(h.state_of("a1"), AgentState::Ringing);
    h.reject("a1");
    // a1 is Ready again and the only agent: v1 (at the head) is rung again.
    assert_eq!(h.center.agent("a1").unwrap().stats.rejected, 1);
    assert_eq!(h.center.stats().totals.rejects, 1);
    assert_eq!(h.queue_visitors(), ["v2", "v3"]);
    h.register("a2");
    assert_eq!(h.state_of("a2"), AgentState::Ringing);
    assert_eq!(h.queue_visitors(), ["v3"]);
    // With both ringing, a reject puts v1 ahead of v3.
    let v1_agent = h.center.visitor("v1").unwrap().agent_id.unwrap();
    h.reject(v1_agent.as_str());
    assert_eq!(
        h.center.visitor("v1").unwrap().position,
        None,
        "re-offered at once"
    );
    assert_eq!(h.queue_visitors(), ["v3"]);
}

#[test]
fn reject_with_no_other_agent_puts_visitor_first_in_line() {
    let mut h = Harness::new();
    h.register("a1");
    h.join("v1");
    h.join("v2");
    h.cmd(Command::AgentNotReady {
        agent_id: "a1".into(),
        reason: None,
    })
    .expect_err("ringing");
    // Take a1 off the roster before rejecting so v1 cannot be re-offered to it.
    h.reject("a1");
    h.offline("a1");
    assert_eq!(h.queue_visitors(), ["v1", "v2"], "{:?}", h.queue_visitors());
    assert_eq!(h.center.visitor("v1").unwrap().position, Some(1));
}

#[test]
fn available_moves_online_to_ready_and_not_ready_back() {
    let mut h = Harness::new();
    h.register("a1");
    h.not_ready("a1");
    assert_eq!(h.state_of("a1"), AgentState::Online);
    h.join("v1");
    assert_eq!(h.queue_visitors(), ["v1"], "an Online agent is not rung");
    h.available("a1");
    assert_eq!(
        h.state_of("a1"),
        AgentState::Ringing,
        "dispatched the moment it is Ready"
    );
}

#[test]
fn offline_from_every_state_releases_what_it_held() {
    // Ready and Online: just Offline.
    for prep in [false, true] {
        let mut h = Harness::new();
        h.register("a1");
        if prep {
            h.not_ready("a1");
        }
        h.offline("a1");
        assert_eq!(h.state_of("a1"), AgentState::Offline);
        // Offline again is a no-op, not an error.
        h.offline("a1");
    }
    // Busy: the call ends with reason agent_offline.
    let mut h = Harness::new();
    h.register("a1");
    h.join("v1");
    let sid = h.accept("a1");
    h.offline("a1");
    assert_eq!(h.state_of("a1"), AgentState::Offline);
    let s = h.center.session(sid.as_str()).unwrap();
    assert_eq!(s.end_reason, Some(EndReason::AgentOffline));
    assert!(h.center.agent("a1").unwrap().sessions().next().is_none());
}

#[test]
fn illegal_agent_transitions_are_conflicts_that_change_nothing() {
    let mut h = Harness::new();
    h.register("a1");
    // Ready: cannot accept or reject.
    for c in [
        Command::AcceptCall {
            agent_id: "a1".into(),
            media: Media::Video,
        },
        Command::RejectCall {
            agent_id: "a1".into(),
        },
    ] {
        let e = h.refused(c);
        assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
        assert!(matches!(
            e,
            CoreError::AgentState {
                state: AgentState::Ready,
                ..
            }
        ));
    }
    // Ringing: cannot register again, go available, or take a break.
    h.join("v1");
    for c in [
        Command::RegisterAgent {
            agent_id: "a1".into(),
            agent_name: None,
        },
        Command::AgentAvailable {
            agent_id: "a1".into(),
        },
        Command::AgentNotReady {
            agent_id: "a1".into(),
            reason: None,
        },
    ] {
        assert_eq!(h.refused(c).kind(), ErrorKind::Conflict);
    }
    // Busy: cannot accept again or reject (Ready and Not ready only choose
    // what follows the call: tests/not_ready.rs).
    h.accept("a1");
    for c in [
        Command::AcceptCall {
            agent_id: "a1".into(),
            media: Media::Video,
        },
        Command::RejectCall {
            agent_id: "a1".into(),
        },
    ] {
        assert_eq!(h.refused(c).kind(), ErrorKind::Conflict);
    }
    // Offline: must register, not just go available.
    h.offline("a1");
    assert_eq!(
        h.refused(Command::AgentAvailable {
            agent_id: "a1".into()
        })
        .kind(),
        ErrorKind::Conflict
    );
    // Unknown agents are 404s.
    let e = h.refused(Command::AcceptCall {
        agent_id: "nobody".into(),
        media: Media::Audio,
    });
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[test]
fn manual_assign_moves_a_waiting_session_to_the_chosen_ready_agent() {
    let mut h = Harness::new();
    h.register("a1");
    let sid = session_id(&h.join("v1"));
    assert_eq!(h.state_of("a1"), AgentState::Ringing);
    h.register("a2");
    h.take_events();
    let reply = h
        .cmd(Command::AssignSession {
            session_id: sid.clone(),
            agent_id: "a2".into(),
        })
        .unwrap();
    assert_eq!(
        reply,
        Reply::Assigned {
            session_id: sid.clone(),
            agent_id: "a2".into()
        }
    );
    assert_eq!(
        h.state_of("a1"),
        AgentState::Ready,
        "the previous ring is withdrawn"
    );
    assert_eq!(h.state_of("a2"), AgentState::Ringing);
    let events = h.take_events();
    for kind in ["incoming_call", "agent_assignment"] {
        assert!(
            events
                .iter()
                .any(|e| e.to == agent("a2") && event_name(&e.event) == kind),
            "a2 not sent {kind}"
        );
    }
    assert_eq!(h.accept("a2"), sid);
}

#[test]
fn manual_assign_needs_a_waiting_session_and_a_ready_agent() {
    let mut h = Harness::new();
    h.register("a1");
    h.not_ready("a1");
    let sid = session_id(&h.join("v1"));
    let e = h.refused(Command::AssignSession {
        session_id: sid.clone(),
        agent_id: "a1".into(),
    });
    assert!(matches!(
        e,
        CoreError::AgentState {
            state: AgentState::Online,
            ..
        }
    ));
    let e = h.refused(Command::AssignSession {
        session_id: "cs_nope".into(),
        agent_id: "a1".into(),
    });
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = h.refused(Command::AssignSession {
        session_id: sid.clone(),
        agent_id: "zz".into(),
    });
    assert_eq!(e.kind(), ErrorKind::NotFound);
    h.available("a1");
    h.accept("a1");
    h.register("a2");
    let e = h.refused(Command::AssignSession {
        session_id: sid,
        agent_id: "a2".into(),
    });
    assert!(matches!(
        e,
        CoreError::SessionState {
            status: SessionStatus::Active,
            ..
        }
    ));
}

#[test]
fn transfer_moves_the_call_and_tells_all_three() {
    let mut h = Harness::new();
    h.register("a1");
    h.join("v1");
    let sid = h.accept("a1");
    h.register("a2");
    h.take_events();
    h.cmd(Command::TransferSession {
        session_id: sid.clone(),
        target_agent_id: "a2".into(),
    })
    .unwrap();
    assert_eq!(h.state_of("a1"), AgentState::Ready);
    assert_eq!(h.state_of("a2"), AgentState::Busy);
    let s = h.center.session(sid.as_str()).unwrap();
    assert_eq!(
        s.status(),
        SessionStatus::Active,
        "the visitor stays connected"
    );
    assert_eq!(s.agent_id.as_ref().map(|a| a.as_str()), Some("a2"));
    assert_eq!(s.transfers, 1);
    let events = h.take_events();
    for to in [agent("a1"), agent("a2"), visitor("v1")] {
        assert!(
            events.iter().any(|e| e.to == to
                && e.event
                    == EventKind::CallTransferred {
                        session_id: sid.clone(),
                        from_agent_id: "a1".into(),
                        to_agent_id: "a2".into(),
                    }),
            "{to:?} not told"
        );
    }
}

#[test]
fn transfer_to_an_agent_not_ready_fails_and_changes_nothing() {
    let mut h = Harness::new();
    h.register("a1");
    h.join("v1");
    let sid = h.accept("a1");
    h.register("a2");
    h.not_ready("a2");
    h.take_events();
    let e = h.refused(Command::TransferSession {
        session_id: sid.clone(),
        target_agent_id: "a2".into(),
    });
    assert!(matches!(
        e,
        CoreError::AgentState {
            state: AgentState::Online,
            ..
        }
    ));
    let failed = h.take_events();
    assert!(failed.iter().any(|ev| ev.to == agent("a1")
        && matches!(&ev.event, EventKind::TransferFailed { target_agent_id, .. } if target_agent_id.as_str() == "a2")));
    // To self, to nobody, and of a session that is not Active.
    assert!(matches!(
        h.refused(Command::TransferSession {
            session_id: sid.clone(),
            target_agent_id: "a1".into()
        }),
        CoreError::TransferToSelf(_)
    ));
    assert_eq!(
        h.refused(Command::TransferSession {
            session_id: sid.clone(),
            target_agent_id: "zz".into()
        })
        .kind(),
        ErrorKind::NotFound
    );
    h.end(&sid, Party::Agent);
    assert!(matches!(
        h.refused(Command::TransferSession {
            session_id: sid,
            target_agent_id: "a2".into()
        }),
        CoreError::SessionState {
            status: SessionStatus::Ended,
            ..
        }
    ));
}

#[test]
fn mute_and_unmute_a_participant() {
    let mut h = Harness::new();
    h.register("a1");
    let sid = session_id(&h.join("v1"));
    let e = h.refused(Command::SetMute {
        session_id: sid.clone(),
        target: Party::Customer,
        muted: true,
    });
    assert_eq!(e.kind(), ErrorKind::Conflict, "not active yet");
    h.accept("a1");
    h.take_events();
    h.cmd(Command::SetMute {
        session_id: sid.clone(),
        target: Party::Customer,
        muted: true,
    })
    .unwrap();
    assert!(h.center.session(sid.as_str()).unwrap().customer_muted);
    assert_eq!(h.names_for(&agent("a1")), ["mute_user"]);
    h.cmd(Command::SetMute {
        session_id: sid.clone(),
        target: Party::Customer,
        muted: false,
    })
    .unwrap();
    assert!(!h.center.session(sid.as_str()).unwrap().customer_muted);
    assert_eq!(h.names_for(&visitor("v1")), ["unmute_user"]);
    let e = h.refused(Command::SetMute {
        session_id: sid,
        target: Party::Admin,
        muted: true,
    });
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

#[test]
fn rating_is_once_per_ended_answered_session_from_1_to_5() {
    let mut h = Harness::new();
    h.register("a1");
    h.join("v1");
    let sid = h.accept("a1");
    let rate = |rating: u8| Command::RateSession {
        session_id: sid.clone(),
        rating,
        comment: Some("服务很好".into()),
    };
    assert!(
        matches!(h.refused(rate(5)), CoreError::SessionState { .. }),
        "still active"
    );
    h.end(&sid, Party::Customer);
    assert_eq!(h.refused(rate(0)).kind(), ErrorKind::InvalidInput);
    assert_eq!(h.refused(rate(6)).kind(), ErrorKind::InvalidInput);
    h.cmd(rate(4)).unwrap();
    assert_eq!(
        h.center
            .session(sid.as_str())
            .unwrap()
            .rating
            .as_ref()
            .map(|r| r.rating),
        Some(4)
    );
    assert!(matches!(h.refused(rate(5)), CoreError::AlreadyRated(_)));
    let r = h.center.stats().ratings;
    assert_eq!(
        (r.total, r.distribution, r.average()),
        (1, [0, 0, 0, 1, 0], 4.0)
    );

    // A session that was never answered has no call to rate.
    let left = session_id(&h.join("v2"));
    h.reject("a1");
    h.cmd(Command::LeaveQueue {
        visitor_id: "v2".into(),
    })
    .unwrap();
    let e = h.refused(Command::RateSession {
        session_id: left,
        rating: 3,
        comment: None,
    });
    assert!(matches!(e, CoreError::NotAnswered(_)));
    let e = h.refused(Command::RateSession {
        session_id: "cs_x".into(),
        rating: 3,
        comment: None,
    });
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[test]
fn queue_full_refuses_the_next_join() {
    let mut h = Harness::with_config(Config {
        max_queue_size: 3,
        ..Config::default()
    });
    for v in ["v1", "v2", "v3"] {
        h.join(v);
    }
    let e = h.refused(Command::JoinQueue {
        visitor_id: "v4".into(),
        visitor_name: None,
        preferred_skill: None,
        priority: 0,
        channel: Default::default(),
        question: None,
    });
    assert_eq!(e, CoreError::QueueFull { max: 3 });
    assert_eq!(e.kind(), ErrorKind::LimitReached);
    h.cmd(Command::LeaveQueue {
        visitor_id: "v2".into(),
    })
    .unwrap();
    h.join("v4");
    assert_eq!(h.queue_visitors(), ["v1", "v3", "v4"]);
}

#[test]
fn max_sessions_bounds_open_sessions() {
    let mut h = Harness::with_config(Config {
        max_sessions: 2,
        ..Config::default()
    });
    h.register("a1");
    h.join("v1");
    h.accept("a1");
    h.join("v2");
    let e = h.refused(Command::CreateSession {
        title: "售后咨询".into(),
        customer_id: "cust_001".into(),
        customer_name: Some("张三".into()),
        description: None,
    });
    assert_eq!(e, CoreError::TooManySessions { max: 2 });
}

#[test]
fn a_visitor_holds_one_open_session_at_a_time() {
    let mut h = Harness::new();
    let sid = session_id(&h.join("v1"));
    let e = h.refused(Command::JoinQueue {
        visitor_id: "v1".into(),
        visitor_name: None,
        preferred_skill: None,
        priority: 0,
        channel: Default::default(),
        question: None,
    });
    assert_eq!(
        e,
        CoreError::VisitorBusy {
            visitor: "v1".into(),
            session: sid
        }
    );
}

#[test]
fn bad_input_is_invalid_input() {
    let mut h = Harness::new();
    for c in [
        Command::RegisterAgent {
            agent_id: "".into(),
            agent_name: None,
        },
        Command::RegisterAgent {
            agent_id: "a".into(),
            agent_name: Some("x".repeat(300)),
        },
        Command::JoinQueue {
            visitor_id: " ".into(),
            visitor_name: None,
            preferred_skill: None,
            priority: 0,
            channel: Default::default(),
            question: None,
        },
        Command::CreateSession {
            title: "".into(),
            customer_id: "c".into(),
            customer_name: None,
            description: None,
        },
        Command::CreateSession {
            title: "t".into(),
            customer_id: "c".into(),
            customer_name: None,
            description: Some("d".repeat(5000)),
        },
    ] {
        assert_eq!(h.refused(c).kind(), ErrorKind::InvalidInput);
    }
}

#[test]
fn back_office_session_is_queued_and_auto_assigned() {
    let mut h = Harness::new();
    let reply = h
        .cmd(Command::CreateSession {
            title: "售后咨询".into(),
            customer_id: "cust_001".into(),
            customer_name: Some("张三".into()),
            description: Some("订单问题".into()),
        })
        .unwrap();
    let sid = session_id(&reply);
    assert!(sid.as_str().starts_with("cs_") && sid.as_str().len() == 15);
    assert_eq!(
        reply,
        Reply::Queued {
            session_id: sid.clone(),
            position: 1
        }
    );
    let s = h.center.session(sid.as_str()).unwrap();
    assert_eq!((s.title.as_str(), s.created_at), ("售后咨询", T0));
    assert_eq!(s.room_id().to_string(), format!("customer-service/{sid}"));
    h.register("a1");
    assert_eq!(h.state_of("a1"), AgentState::Ringing);
    // Admin closes it while ringing: cancelled, agent freed.
    h.end(&sid, Party::Admin);
    assert_eq!(h.state_of("a1"), AgentState::Ready);
    let s = h.center.session(sid.as_str()).unwrap();
    assert_eq!(s.end_reason, Some(EndReason::Cancelled));
    assert!(matches!(
        h.refused(Command::EndSession {
            session_id: sid,
            by: Party::Admin
        }),
        CoreError::SessionState {
            status: SessionStatus::Ended,
            ..
        }
    ));
}

#[test]
fn leave_queue_ends_the_session_as_left() {
    let mut h = Harness::new();
    let sid = session_id(&h.join("v1"));
    h.join("v2");
    h.take_events();
    h.cmd(Command::LeaveQueue {
        visitor_id: "v1".into(),
    })
    .unwrap();
    assert_eq!(h.queue_visitors(), ["v2"]);
    assert_eq!(
        h.center.session(sid.as_str()).unwrap().end_reason,
        Some(EndReason::Left)
    );
    assert_eq!(h.names_for(&visitor("v1")), ["call_ended"]);
    assert_eq!(
        h.refused(Command::LeaveQueue {
            visitor_id: "v1".into()
        })
        .kind(),
        ErrorKind::NotFound
    );
    // An answered visitor hangs up rather than leaves.
    h.register("a1");
    h.accept("a1");
    assert_eq!(
        h.refused(Command::LeaveQueue {
            visitor_id: "v2".into()
        })
        .kind(),
        ErrorKind::Conflict
    );
}

#[test]
fn position_lookup_reports_place_and_agent() {
    let mut h = Harness::new();
    for v in ["v1", "v2", "v3"] {
        h.join(v);
    }
    let p = h.center.visitor("v3").unwrap();
    assert_eq!(
        (p.position, p.queue_length, p.status),
        (Some(3), 3, SessionStatus::Waiting)
    );
    h.register("a1");
    let p = h.center.visitor("v1").unwrap();
    assert_eq!(
        (p.position, p.agent_id.as_ref().map(|a| a.as_str())),
        (None, Some("a1"))
    );
    assert_eq!(h.center.visitor("v3").unwrap().position, Some(2));
    assert!(matches!(
        h.center.visitor("nobody"),
        Err(CoreError::VisitorNotFound(_))
    ));
}

#[test]
fn stats_and_trend_reflect_what_happened() {
    let mut h = Harness::new();
    h.register("a1");
    h.register("a2");
    h.join("v1");
    let s1 = h.accept("a1");
    h.join("v2");
    h.join("v3");
    h.advance_secs(10);
    let st = h.center.stats();
    assert_eq!(
        (st.sessions.total, st.sessions.waiting, st.sessions.active),
        (3, 2, 1)
    );
    assert_eq!(
        (st.agents.total, st.agents.busy, st.agents.ringing),
        (2, 1, 1)
    );
    assert_eq!((st.queue.length, st.queue.longest_wait_ms), (1, 10_000));
    h.end(&s1, Party::Customer);
    h.cmd(Command::RateSession {
        session_id: s1,
        rating: 5,
        comment: None,
    })
    .unwrap();
    // Next day: one more session.
    h.advance_secs(86_400);
    h.join("v4");
    let trend = h.center.trend(3).unwrap();
    let dates: Vec<&str> = trend.iter().map(|d| d.date.as_str()).collect();
    assert_eq!(dates, ["2026-05-06", "2026-05-07", "2026-05-08"]);
    let counts: Vec<(u64, u64, u64)> = trend
        .iter()
        .map(|d| (d.counts.created, d.counts.answered, d.counts.completed))
        .collect();
    assert_eq!(counts[1], (3, 1, 1));
    assert_eq!(counts[0], (0, 0, 0));
    assert_eq!(counts[2].0, 1);
    assert!(h.center.trend(0).is_err() && h.center.trend(367).is_err());
    assert_eq!(h.center.stats().ratings.total, 1);
}

#[test]
fn chat_follows_the_call_preview_while_ringing_handed_over_on_transfer_read_only_after() {
    use switchboard_core::{ChatAccess, Speaker};
    let access = |h: &Harness, sid: &str, who: Speaker| {
        let a = h.center.chat_access(sid, &who).unwrap();
        (a.read, a.write, a.notes)
    };
    let mut h = Harness::new();
    h.register("a1");
    h.register("a2");
    h.not_ready("a2");
    let sid = session_id(&h.join("v1"));
    let id = sid.as_str();
    assert_eq!(
        access(&h, id, Speaker::Agent("a1".into())),
        (true, false, false)
    );
    assert_eq!(
        access(&h, id, Speaker::Visitor("v1".into())),
        (true, true, false)
    );
    h.accept("a1");
    assert_eq!(
        access(&h, id, Speaker::Agent("a1".into())),
        (true, true, true)
    );
    assert_eq!(
        access(&h, id, Speaker::Agent("a2".into())),
        (false, false, false)
    );
    h.available("a2");
    h.cmd(Command::TransferSession {
        session_id: sid.clone(),
        target_agent_id: "a2".into(),
    })
    .unwrap();
    assert_eq!(
        access(&h, id, Speaker::Agent("a2".into())),
        (true, true, true)
    );
    assert_eq!(
        h.center.chat_access(id, &Speaker::Agent("a1".into())),
        Some(ChatAccess::default()),
        "the agent it was transferred away from is shut out"
    );
    h.end(&sid, Party::Customer);
    assert_eq!(
        access(&h, id, Speaker::Agent("a2".into())),
        (true, false, true)
    );
    assert_eq!(
        access(&h, id, Speaker::Visitor("v1".into())),
        (true, false, false)
    );
    assert_eq!(access(&h, id, Speaker::Staff), (true, false, true));
    assert_eq!(h.center.chat_access("cs_missing", &Speaker::Staff), None);
}

#[test]
fn the_estimated_wait_grows_with_the_position_and_shrinks_with_agents() {
    let mut h = Harness::new();
    h.register("a1");
    let first = session_id(&h.join("v0"));
    h.accept("a1");
    h.advance_secs(60);
    h.end(&first, Party::Agent);
    h.advance_secs(120); // wrap-up off by default: a1 is Ready again
    h.not_ready("a1");
    h.join("v1");
    h.join("v2");
    let wait = |h: &mut Harness, v: &str| {
        h.center.refresh_forecasts();
        h.center.visitor(v).unwrap().estimated_wait_ms
    };
    // One signed-in agent, a measured 60 s handle time.
    assert_eq!(wait(&mut h, "v1"), Some(60_000));
    assert_eq!(wait(&mut h, "v2"), Some(120_000));
    h.capacity("a1", 2);
    assert_eq!(
        wait(&mut h, "v2"),
        Some(60_000),
        "two places at once halve it"
    );
    h.offline("a1");
    assert_eq!(wait(&mut h, "v1"), None, "nobody signed in: no estimate");
}
