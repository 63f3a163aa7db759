//! A tiny driver for the core: one center, a virtual clock, and the events it
//! emitted, with helpers named after what people do.
#![allow(dead_code)]

use std::time::Duration;

use switchboard_core::routing::RoutingMode;
use switchboard_core::{
    AgentState, Center, Clock, Command, Config, CoreError, Event, EventKind, ManualClock, Media,
    Membership, Party, Recipient, Reply, SessionId, Timestamp, WorkgroupSettings,
};

/// 2026-05-07T11:05:00Z, the seed's example time.
pub const T0: Timestamp = Timestamp::from_millis(1_778_151_900_000);

pub struct Harness {
    pub center: Center,
    pub clock: ManualClock,
    pub events: Vec<Event>,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Self {
        Harness {
            center: Center::new(config, 7).expect("valid config"),
            clock: ManualClock::new(T0),
            events: Vec::new(),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn drain(&mut self) {
        while let Some(e) = self.center.poll_event() {
            self.events.push(e);
        }
    }

    /// Moves time forward, firing whatever falls due, as a driver would.
    pub fn advance(&mut self, d: Duration) {
        self.clock.advance(d);
        self.center.handle_timeout(self.clock.now());
        self.drain();
        self.center.check_invariants().expect("invariants");
    }

    pub fn advance_secs(&mut self, secs: u64) {
        self.advance(Duration::from_secs(secs));
    }

    pub fn cmd(&mut self, c: Command) -> Result<Reply, CoreError> {
        let r = self.center.apply(self.clock.now(), c);
        self.drain();
        self.center.check_invariants().expect("invariants");
        r
    }

    /// Applies a command that must be refused and checks it changed nothing.
    pub fn refused(&mut self, c: Command) -> CoreError {
        self.center.handle_timeout(self.clock.now());
        self.drain();
        let before = self.center.clone();
        let err = self.cmd(c).expect_err("command should be refused");
        assert!(
            self.center == before,
            "refused command changed state: {err}"
        );
        err
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Events delivered to `to` so far, by name, and forgets all events.
    pub fn names_for(&mut self, to: &Recipient) -> Vec<String> {
        self.take_events()
            .into_iter()
            .filter(|e| &e.to == to)
            .map(|e| event_name(&e.event))
            .collect()
    }

    pub fn register(&mut self, agent: &str) {
        self.cmd(Command::RegisterAgent {
            agent_id: agent.into(),
            agent_name: Some(format!("Agent {agent}")),
        })
        .expect("register");
    }

    pub fn join(&mut self, visitor: &str) -> Reply {
        self.cmd(Command::JoinQueue {
            visitor_id: visitor.into(),
            visitor_name: Some(format!("Visitor {visitor}")),
            preferred_skill: None,
            priority: 0,
            channel: Default::default(),
            question: None,
        })
        .expect("join")
    }

    pub fn offline(&mut self, agent: &str) {
        self.cmd(Command::AgentOffline {
            agent_id: agent.into(),
        })
        .expect("offline");
    }

    pub fn not_ready(&mut self, agent: &str) {
        self.cmd(Command::AgentNotReady {
            agent_id: agent.into(),
            reason: None,
        })
        .expect("not ready");
    }

    pub fn available(&mut self, agent: &str) {
        self.cmd(Command::AgentAvailable {
            agent_id: agent.into(),
        })
        .expect("available");
    }

    pub fn accept(&mut self, agent: &str) -> SessionId {
        match self
            .cmd(Command::AcceptCall {
                agent_id: agent.into(),
                media: Media::Video,
            })
            .expect("accept")
        {
            Reply::Accepted { session_id } => session_id,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    pub fn reject(&mut self, agent: &str) {
        self.cmd(Command::RejectCall {
            agent_id: agent.into(),
        })
        .expect("reject");
    }

    pub fn end(&mut self, session: &SessionId, by: Party) {
        self.cmd(Command::EndSession {
            session_id: session.clone(),
            by,
        })
        .expect("end");
    }

    pub fn state_of(&self, agent: &str) -> AgentState {
        self.center.agent(agent).expect("agent exists").state
    }

    pub fn session_of_visitor(&self, visitor: &str) -> SessionId {
        self.center
            .visitor(visitor)
            .expect("visitor has a session")
            .session_id
    }

    /// Creates workgroup `id` with `mode` and optional overflow.
    pub fn group(&mut self, id: &str, mode: RoutingMode, overflow: Option<(u64, &str)>) {
        self.cmd(Command::CreateWorkgroup {
            workgroup_id: id.into(),
            settings: WorkgroupSettings {
                routing_mode: mode,
                overflow_after_secs: overflow.map(|(s, _)| s),
                overflow_to: overflow.map(|(_, g)| g.into()),
                ..WorkgroupSettings::default()
            },
        })
        .expect("create workgroup");
    }

    /// Puts `agent` in exactly `groups`, as (workgroup, skill level).
    pub fn member(&mut self, agent: &str, groups: &[(&str, u8)]) {
        self.cmd(Command::SetAgentWorkgroups {
            agent_id: agent.into(),
            workgroups: groups
                .iter()
                .map(|(g, level)| Membership {
                    workgroup_id: (*g).into(),
                    level: *level,
                })
                .collect(),
        })
        .expect("set workgroups");
    }

    /// A visitor joins workgroup `group` with `priority`.
    pub fn join_group(&mut self, visitor: &str, group: &str, priority: u8) -> Reply {
        self.cmd(Command::JoinQueue {
            visitor_id: visitor.into(),
            visitor_name: None,
            preferred_skill: Some(group.into()),
            priority,
            channel: Default::default(),
            question: None,
        })
        .expect("join")
    }

    pub fn capacity(&mut self, agent: &str, max: u32) {
        self.cmd(Command::SetAgentCapacity {
            agent_id: agent.into(),
            max_concurrent: max,
        })
        .expect("capacity");
    }

    /// The agent being rung for a visitor, if any.
    pub fn rung_for(&self, visitor: &str) -> Option<String> {
        let sid = self.center.visitor(visitor).ok()?.session_id;
        let agent = self.center.session(sid.as_str())?.ringing_agent()?;
        Some(agent.to_string())
    }

    pub fn queue_visitors(&self) -> Vec<String> {
        self.center
            .queue()
            .map(|s| s.customer_id.to_string())
            .collect()
    }
}

pub fn agent(id: &str) -> Recipient {
    Recipient::Agent(id.into())
}

pub fn visitor(id: &str) -> Recipient {
    Recipient::Visitor(id.into())
}

/// The seed's name of an event, as it goes on the wire.
pub fn event_name(e: &EventKind) -> String {
    serde_json::to_value(e).expect("serializable")["type"]
        .as_str()
        .expect("tagged")
        .to_owned()
}

pub fn session_id(reply: &Reply) -> SessionId {
    match reply {
        Reply::Queued { session_id, .. }
        | Reply::Assigned { session_id, .. }
        | Reply::Accepted { session_id }
        | Reply::WithBot { session_id }
        | Reply::Ended { session_id } => session_id.clone(),
        Reply::Done => panic!("no session in reply"),
    }
}
