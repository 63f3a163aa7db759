//! The engine's side of webhooks: which subscriptions exist, and which
//! webhook events a turn's accepted commands and core events amount to. The
//! turn's events become outbox rows committed with its journal records.

use std::collections::HashSet;

use serde_json::{json, Value};
use switchboard_core::{Center, Command, Event, EventKind, Reply};
use switchboard_store::{NewEvent, Webhook};

/// Every event a subscription can ask for.
pub const EVENTS: &[&str] = &[
    "session.created",
    "session.assigned",
    "call.accepted",
    "call.transferred",
    "call.ended",
    "rating.submitted",
    "queue.timeout",
    "agent.status_changed",
    "recording.completed",
];

/// The subscriptions and the current turn's events.
#[derive(Default)]
pub(crate) struct Hooks {
    subscriptions: Vec<Webhook>,
    turn: Vec<(String, &'static str, Value)>,
    /// (event, key) pairs already taken this turn: a core event sent to
    /// both sides of a call is one webhook event.
    seen: HashSet<(&'static str, String)>,
}

impl Hooks {
    pub(crate) fn new(subscriptions: Vec<Webhook>) -> Hooks {
        Hooks {
            subscriptions,
            ..Hooks::default()
        }
    }

    /// The subscriptions, to change them.
    pub(crate) fn subscriptions(&mut self) -> &mut Vec<Webhook> {
        &mut self.subscriptions
    }

    fn wanted(&self, name: &str) -> bool {
        self.subscriptions
            .iter()
            .any(|w| w.enabled && w.events.iter().any(|e| e == name))
    }

    /// Notes `name` about `session` ("" for none) with `data`, once per
    /// turn for each `key` (the session, for events both sides receive).
    pub(crate) fn emit(&mut self, name: &'static str, session: &str, key: &str, data: Value) {
        if !self.wanted(name) || !self.seen.insert((name, key.to_owned())) {
            return;
        }
        self.turn.push((session.to_owned(), name, data));
    }

    /// The webhook events an accepted command amounts to by itself (the
    /// rest come from the core's events).
    pub(crate) fn on_command(&mut self, center: &Center, command: &Command, reply: &Reply) {
        if self.subscriptions.is_empty() {
            return;
        }
        match (command, reply) {
            (
                Command::JoinQueue { .. } | Command::CreateSession { .. },
                Reply::Queued { session_id, .. } | Reply::Assigned { session_id, .. },
            ) => {
                if let Some(s) = center.session(session_id.as_str()) {
                    let data = json!({
                        "session_id": s.id, "visitor_id": s.customer_id, "visitor_name": s.customer_name,
                        "workgroup": s.workgroup, "priority": s.priority,
                    });
                    self.emit("session.created", s.id.as_str(), s.id.as_str(), data);
                }
            }
            (Command::RateSession { session_id, .. }, _) => {
                if let Some(s) = center.session(session_id.as_str()) {
                    let r = s.rating.as_ref();
                    let data = json!({
                        "session_id": s.id, "agent_id": s.agent_id,
                        "rating": r.map(|r| r.rating), "comment": r.and_then(|r| r.comment.clone()),
                    });
                    self.emit("rating.submitted", s.id.as_str(), s.id.as_str(), data);
                }
            }
            (
                Command::RegisterAgent { agent_id, .. }
                | Command::AgentOffline { agent_id }
                | Command::AgentAvailable { agent_id }
                | Command::AgentNotReady { agent_id, .. },
                _,
            ) => {
                if let Some(a) = center.agent(agent_id.as_str()) {
                    let data = json!({ "agent_id": a.id, "state": a.state });
                    self.emit("agent.status_changed", "", a.id.as_str(), data);
                }
            }
            _ => {}
        }
    }

    /// The webhook event a core event is, if any.
    pub(crate) fn on_event(&mut self, event: &Event) {
        if self.subscriptions.is_empty() {
            return;
        }
        let (name, session) = match &event.event {
            EventKind::IncomingCall { session_id, .. } => ("session.assigned", session_id),
            EventKind::CallAccepted { session_id, .. } => ("call.accepted", session_id),
            EventKind::CallTransferred { session_id, .. } => ("call.transferred", session_id),
            EventKind::CallEnded { session_id, .. } => ("call.ended", session_id),
            EventKind::QueueTimeout { session_id, .. } => ("queue.timeout", session_id),
            _ => return,
        };
        let data = serde_json::to_value(&event.event).unwrap_or(Value::Null);
        self.emit(name, session.as_str(), session.as_str(), data);
    }

    /// The turn's events as outbox rows, one per interested subscription.
    pub(crate) fn take(&mut self, now_ms: i64) -> Vec<NewEvent> {
        self.seen.clear();
        let mut rows = Vec::new();
        for (session, name, data) in self.turn.drain(..) {
            let data = data.to_string();
            for w in self
                .subscriptions
                .iter()
                .filter(|w| w.enabled && w.events.iter().any(|e| e == name))
            {
                rows.push(NewEvent {
                    webhook_id: w.id,
                    session_key: session.clone(),
                    event: name.to_owned(),
                    data: data.clone(),
                    created_ms: now_ms,
                });
            }
        }
        rows
    }
}
