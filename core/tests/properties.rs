//! Model-based property test: long random sequences of every command and of
//! time advances, with the contact-center invariants checked after every step.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use proptest::prelude::*;
use switchboard_core::routing::RoutingMode;
use switchboard_core::{
    AgentState, Center, ChatAccess, Command, Config, EndReason, EventKind, Media, Party, Recipient,
    Reply, SessionId, SessionStatus, Speaker, Timestamp,
};

const AGENTS: usize = 5;
const VISITORS: usize = 12;
const T0: Timestamp = Timestamp::from_millis(1_778_151_900_000);

#[derive(Clone, Debug)]
enum Op {
    Register(usize),
    Available(usize),
    NotReady(usize),
    Offline(usize),
    Accept(usize, bool),
    Reject(usize),
    Join(usize),
    Create(usize),
    Leave(usize),
    EndByAgent(usize),
    EndByVisitor(usize),
    EndByAdmin(usize),
    Assign(usize, usize),
    Transfer(usize, usize),
    Mute(usize, bool, bool),
    Rate(usize, u8),
    Advance(u64),
    /// Switch to one of a few timeout settings and a routing mode, mid-flight.
    Reconfigure(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let a = 0..AGENTS;
    let v = 0..VISITORS;
    prop_oneof![
        3 => a.clone().prop_map(Op::Register),
        1 => a.clone().prop_map(Op::Available),
        1 => a.clone().prop_map(Op::NotReady),
        1 => a.clone().prop_map(Op::Offline),
        4 => (a.clone(), any::<bool>()).prop_map(|(a, m)| Op::Accept(a, m)),
        2 => a.clone().prop_map(Op::Reject),
        5 => v.clone().prop_map(Op::Join),
        1 => v.clone().prop_map(Op::Create),
        1 => v.clone().prop_map(Op::Leave),
        2 => a.clone().prop_map(Op::EndByAgent),
        1 => v.clone().prop_map(Op::EndByVisitor),
        1 => v.clone().prop_map(Op::EndByAdmin),
        1 => (v.clone(), a.clone()).prop_map(|(v, a)| Op::Assign(v, a)),
        1 => (a.clone(), a.clone()).prop_map(|(f, t)| Op::Transfer(f, t)),
        1 => (a.clone(), any::<bool>(), any::<bool>()).prop_map(|(a, c, m)| Op::Mute(a, c, m)),
        2 => (v.clone(), 0u8..=6).prop_map(|(v, r)| Op::Rate(v, r)),
        5 => prop_oneof![0u64..40_000, 100_000u64..400_000].prop_map(Op::Advance),
        1 => (0..3usize, 0..RoutingMode::ALL.len()).prop_map(|(t, m)| Op::Reconfigure(t, m)),
    ]
}

fn config() -> Config {
    Config {
        max_sessions: 8,
        max_queue_size: 5,
        accept_timeout_secs: 30,
        queue_timeout_secs: 120,
        session_timeout_secs: 600,
        // Large enough that no session of a run is forgotten.
        ended_sessions_max: 10_000,
        // The model is one FIFO queue; holds for `recent` are walked in
        // tests/workgroups.rs.
        recent_wait_secs: 0,
        ..Config::default()
    }
}

/// Settings a run may switch between: timeouts and routing mode; bounds stay
/// as in `config()`.
fn settings(timeouts: usize, mode: usize) -> Config {
    let (accept, queue, session) = [(30, 120, 600), (10, 60, 200), (45, 300, 900)][timeouts];
    Config {
        accept_timeout_secs: accept,
        queue_timeout_secs: queue,
        session_timeout_secs: session,
        routing_mode: RoutingMode::ALL[mode],
        wrap_up_secs: [0, 15, 45][timeouts],
        reject_delay_secs: [0, 5, 0][timeouts],
        max_no_answer: [3, 1, 0][timeouts],
        ..config()
    }
}

fn agent_id(i: usize) -> String {
    format!("agent_{i}")
}

fn visitor_id(i: usize) -> String {
    format!("v{i}")
}

/// What the test knows independently of the center.
#[derive(Default)]
struct Model {
    /// Queue order, rebuilt from `queued` events and dispatches.
    queue: VecDeque<SessionId>,
    /// Sessions seen being rung and not yet answered or ended.
    offered: std::collections::HashSet<SessionId>,
    /// Every session an accepted join or create made, oldest first.
    contacts: Vec<SessionId>,
    /// Last session of each visitor, for commands that name a visitor.
    last_session: HashMap<usize, SessionId>,
}

struct Run {
    center: Center,
    now: Timestamp,
    model: Model,
}

impl Run {
    fn new() -> Self {
        Run {
            center: Center::new(config(), 11).unwrap(),
            now: T0,
            model: Model::default(),
        }
    }

    fn agent_session(&self, a: usize) -> Option<SessionId> {
        self.center
            .agent(&agent_id(a))
            .and_then(|x| x.sessions().next().cloned())
    }

    fn visitor_session(&self, v: usize) -> SessionId {
        self.model
            .last_session
            .get(&v)
            .cloned()
            .unwrap_or_else(|| SessionId::from("cs_unknown"))
    }

    fn command(&self, op: &Op) -> Option<Command> {
        Some(match *op {
            Op::Register(a) => Command::RegisterAgent {
                agent_id: agent_id(a).into(),
                agent_name: None,
            },
            Op::Available(a) => Command::AgentAvailable {
                agent_id: agent_id(a).into(),
            },
            Op::NotReady(a) => Command::AgentNotReady {
                agent_id: agent_id(a).into(),
                reason: None,
            },
            Op::Offline(a) => Command::AgentOffline {
                agent_id: agent_id(a).into(),
            },
            Op::Accept(a, video) => Command::AcceptCall {
                agent_id: agent_id(a).into(),
                media: if video { Media::Video } else { Media::Audio },
            },
            Op::Reject(a) => Command::RejectCall {
                agent_id: agent_id(a).into(),
            },
            Op::Join(v) => Command::JoinQueue {
                visitor_id: visitor_id(v).into(),
                visitor_name: None,
                preferred_skill: None,
                priority: 0,
                channel: Default::default(),
                question: None,
            },
            Op::Create(v) => Command::CreateSession {
                title: "售后咨询".into(),
                customer_id: visitor_id(v).into(),
                customer_name: None,
                description: None,
            },
            Op::Leave(v) => Command::LeaveQueue {
                visitor_id: visitor_id(v).into(),
            },
            Op::EndByAgent(a) => Command::EndSession {
                session_id: self.agent_session(a).unwrap_or_else(|| "cs_none".into()),
                by: Party::Agent,
            },
            Op::EndByVisitor(v) => Command::EndSession {
                session_id: self.visitor_session(v),
                by: Party::Customer,
            },
            Op::EndByAdmin(v) => Command::EndSession {
                session_id: self.visitor_session(v),
                by: Party::Admin,
            },
            Op::Assign(v, a) => Command::AssignSession {
                session_id: self.visitor_session(v),
                agent_id: agent_id(a).into(),
            },
            Op::Transfer(from, to) => Command::TransferSession {
                session_id: self.agent_session(from).unwrap_or_else(|| "cs_none".into()),
                target_agent_id: agent_id(to).into(),
            },
            Op::Mute(a, customer, muted) => Command::SetMute {
                session_id: self.agent_session(a).unwrap_or_else(|| "cs_none".into()),
                target: if customer {
                    Party::Customer
                } else {
                    Party::Agent
                },
                muted,
            },
            Op::Rate(v, rating) => Command::RateSession {
                session_id: self.visitor_session(v),
                rating,
                comment: None,
            },
            Op::Advance(_) | Op::Reconfigure(..) => return None,
        })
    }

    /// Applies one op, checking the refusal rule and feeding the model.
    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        // Timers due now fire first (as `apply` would), so that a refusal can
        // be compared against the state it actually saw.
        self.center.handle_timeout(self.now);
        self.observe_events(None)?;
        match self.command(op) {
            None => {
                match op {
                    Op::Advance(ms) => {
                        self.now = self.now.saturating_add(Duration::from_millis(*ms));
                    }
                    Op::Reconfigure(t, m) => {
                        prop_assert!(self.center.reconfigure(settings(*t, *m)).is_ok());
                    }
                    _ => {}
                }
                self.center.handle_timeout(self.now);
                self.observe_events(None)?;
            }
            Some(cmd) => {
                let before = self.center.clone();
                let assigning = matches!(cmd, Command::AssignSession { .. });
                match self.center.apply(self.now, cmd) {
                    Err(e) => {
                        prop_assert!(self.center == before, "refused {op:?} ({e}) changed state");
                        // A refused transfer may tell the holder; nothing else.
                        while let Some(ev) = self.center.poll_event() {
                            prop_assert!(
                                matches!(ev.event, EventKind::TransferFailed { .. }),
                                "refused {op:?} emitted {ev:?}"
                            );
                        }
                    }
                    Ok(reply) => {
                        if let (
                            Op::Join(v) | Op::Create(v),
                            Reply::Queued { session_id, .. } | Reply::Assigned { session_id, .. },
                        ) = (op, &reply)
                        {
                            self.model.contacts.push(session_id.clone());
                            self.model.last_session.insert(*v, session_id.clone());
                        }
                        self.observe_events(assigning.then_some(()))?;
                    }
                }
            }
        }
        self.check()
    }

    /// Replays the event stream into the model's queue, checking FIFO: an
    /// automatic dispatch always takes the head.
    fn observe_events(&mut self, manual_assign: Option<()>) -> Result<(), TestCaseError> {
        while let Some(ev) = self.center.poll_event() {
            match (&ev.to, &ev.event) {
                (
                    Recipient::Visitor(_),
                    EventKind::Queued {
                        session_id,
                        position,
                    },
                ) => {
                    // A session the model saw being rung is back after a reject,
                    // ring timeout or sign-out: it belongs at the head.
                    if self.model.offered.remove(session_id) {
                        prop_assert_eq!(*position, 1, "re-queued {} not at the head", session_id);
                        self.model.queue.push_front(session_id.clone());
                    } else {
                        prop_assert_eq!(*position, self.model.queue.len() + 1);
                        self.model.queue.push_back(session_id.clone());
                    }
                }
                (Recipient::Visitor(_), EventKind::CallAccepted { session_id, .. }) => {
                    self.model.offered.remove(session_id);
                }
                (Recipient::Agent(_), EventKind::IncomingCall { session_id, .. }) => {
                    self.model.offered.insert(session_id.clone());
                    match self.model.queue.iter().position(|s| s == session_id) {
                        Some(0) => {
                            self.model.queue.pop_front();
                        }
                        Some(i) => {
                            prop_assert!(
                                manual_assign.is_some(),
                                "dispatch skipped the head for {session_id}"
                            );
                            self.model.queue.remove(i);
                        }
                        // Immediate assignment skips the queue only when it is empty;
                        // a manual assign may move a session that was ringing elsewhere.
                        None => prop_assert!(
                            self.model.queue.is_empty() || manual_assign.is_some(),
                            "{session_id} rung while others queued"
                        ),
                    }
                }
                (Recipient::Visitor(_), EventKind::CallEnded { session_id, .. }) => {
                    self.model.queue.retain(|s| s != session_id);
                    self.model.offered.remove(session_id);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let c = &self.center;
        if let Err(e) = c.check_invariants() {
            return Err(TestCaseError::fail(e));
        }
        let sessions = c.sessions();

        // Busy iff agent of exactly one Active session; Ringing iff exactly one offer.
        for a in c.agents() {
            let active = sessions
                .iter()
                .filter(|s| {
                    s.status() == SessionStatus::Active && s.agent_id.as_ref() == Some(&a.id)
                })
                .count();
            let offers = sessions
                .iter()
                .filter(|s| s.ringing_agent() == Some(&a.id))
                .count();
            prop_assert_eq!(
                a.state == AgentState::Busy,
                active == 1,
                "agent {} busy/active {}",
                a.id,
                active
            );
            prop_assert!(active <= 1);
            prop_assert_eq!(
                a.state == AgentState::Ringing,
                offers == 1,
                "agent {} ringing/offers {}",
                a.id,
                offers
            );
            prop_assert!(offers <= 1);
        }

        // A visitor is in at most one of queued / offered / in session.
        let mut open_per_visitor: HashMap<&str, usize> = HashMap::new();
        for s in sessions
            .iter()
            .filter(|s| s.status() != SessionStatus::Ended)
        {
            *open_per_visitor.entry(s.customer_id.as_str()).or_default() += 1;
            let places = [
                s.is_queued(),
                s.ringing_agent().is_some(),
                s.status() == SessionStatus::Active,
            ];
            prop_assert_eq!(
                places.iter().filter(|p| **p).count(),
                1,
                "session {} in {:?}",
                s.id,
                places
            );
        }
        prop_assert!(open_per_visitor.values().all(|n| *n == 1));

        // Chat: the visitor writes while open; exactly the agent holding an
        // Active session writes too; nobody writes in an ended one; a visitor
        // never reads notes; another visitor has no access at all.
        for s in &sessions {
            let id = s.id.as_str();
            let open = s.status() != SessionStatus::Ended;
            let own = c.chat_access(id, &Speaker::Visitor(s.customer_id.clone()));
            prop_assert_eq!(
                own.map(|a| (a.read, a.write, a.notes)),
                Some((true, open, false))
            );
            let stranger = c.chat_access(id, &Speaker::Visitor("nobody".into()));
            prop_assert_eq!(stranger, Some(ChatAccess::default()));
            let writers: Vec<_> = c
                .agents()
                .into_iter()
                .filter(|a| {
                    c.chat_access(id, &Speaker::Agent(a.id.clone()))
                        .is_some_and(|x| x.write)
                })
                .map(|a| a.id.clone())
                .collect();
            let holder = (s.status() == SessionStatus::Active)
                .then(|| s.agent_id.clone())
                .flatten();
            prop_assert_eq!(
                writers,
                holder.into_iter().collect::<Vec<_>>(),
                "writers of {}",
                id
            );
        }

        // None vanish: every accepted join is queued, offered, in session,
        // served, left or timed out.
        for sid in &self.model.contacts {
            let s = c.session(sid.as_str());
            prop_assert!(s.is_some(), "session {sid} vanished");
            let s = s.unwrap();
            let ok = match s.status() {
                SessionStatus::Waiting => s.is_queued() != s.ringing_agent().is_some(),
                SessionStatus::Active => s.agent_id.is_some(),
                // No group here has a bot.
                SessionStatus::Bot => false,
                SessionStatus::Ended if s.started_at.is_some() => true,
                SessionStatus::Ended => matches!(
                    s.end_reason,
                    Some(
                        EndReason::Left
                            | EndReason::Cancelled
                            | EndReason::QueueTimeout
                            | EndReason::SessionTimeout
                    )
                ),
            };
            prop_assert!(ok, "session {sid} is in no known place: {s:?}");
        }

        // Queue bound and FIFO order.
        let queue: Vec<SessionId> = c.queue().map(|s| s.id.clone()).collect();
        prop_assert!(queue.len() <= c.config().max_queue_size);
        prop_assert_eq!(
            &queue,
            &self.model.queue.iter().cloned().collect::<Vec<_>>()
        );
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_on_every_step(ops in prop::collection::vec(op(), 1..300)) {
        // Alongside, replay the same inputs at the same times with no
        // handle_timeout in between: it must reach the same state.
        let mut run = Run::new();
        let mut replay = Center::new(config(), 11).unwrap();
        for op in &ops {
            if let Some(cmd) = run.command(op) {
                let _ = replay.apply(run.now, cmd);
            }
            if let Op::Reconfigure(t, m) = op {
                replay.handle_timeout(run.now);
                prop_assert!(replay.reconfigure(settings(*t, *m)).is_ok());
            }
            run.step(op)?;
            while replay.poll_event().is_some() {}
        }
        replay.handle_timeout(run.now);
        run.center.handle_timeout(run.now);
        prop_assert!(replay == run.center, "replay without timer calls diverged");

        // A snapshot, through JSON, restores the same center.
        let json = serde_json::to_string(&run.center.snapshot()).unwrap();
        let restored = Center::restore(serde_json::from_str(&json).unwrap()).unwrap();
        prop_assert!(restored == run.center, "snapshot round trip changed the state");
    }
}
