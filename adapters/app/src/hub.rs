//! WebSocket connections as the engine sees them: who is connected, who is in
//! which room (at most two: the agent and the visitor), and who dropped and
//! may come back within the grace period. Owned by the engine thread; no locks.

use std::collections::HashMap;
use std::time::Duration;

use http::StatusCode;
use serde_json::{json, Value};
use switchboard_core::{
    AgentId, AgentPart, AgentState, Center, Command, Event, EventKind, Party, Recipient, RoomId,
    SessionId, SessionStatus, Speaker, Timestamp, VisitorId,
};
use tokio::sync::mpsc;

use crate::answer::{Answer, AnswerExt};

/// A connection's number, unique for the life of the process.
pub type ConnId = u64;

/// Most participants in a room, as the seed's Room service sets it.
pub const ROOM_MAX_USERS: usize = 2;

/// Who is on the other end of a connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Identity {
    /// An agent (console, or a call room).
    Agent(AgentId),
    /// A visitor (waiting page, or a call room).
    Customer(VisitorId),
}

impl Identity {
    fn recipient(&self) -> Recipient {
        match self {
            Identity::Agent(a) => Recipient::Agent(a.clone()),
            Identity::Customer(v) => Recipient::Visitor(v.clone()),
        }
    }

    /// As whom the core's rules see this participant.
    pub fn speaker(&self) -> Speaker {
        match self {
            Identity::Agent(a) => Speaker::Agent(a.clone()),
            Identity::Customer(v) => Speaker::Visitor(v.clone()),
        }
    }

    /// The party this participant ends session `sid` as (the core's rule),
    /// if they may end it.
    pub fn ending_party(&self, center: &Center, sid: &SessionId) -> Option<Party> {
        center
            .session(sid.as_str())?
            .ending_party(&self.speaker(), false)
    }

    /// `"agent"` or `"customer"`.
    pub fn role(&self) -> &'static str {
        match self {
            Identity::Agent(_) => "agent",
            Identity::Customer(_) => "customer",
        }
    }

    /// Whether this participant belongs in the call of `session` (its visitor,
    /// or the agent talking to or being rung for it).
    pub fn belongs_to(&self, center: &Center, session: &SessionId) -> bool {
        let Some(s) = center.session(session.as_str()) else {
            return false;
        };
        match self {
            Identity::Customer(v) => &s.customer_id == v,
            Identity::Agent(a) => matches!(
                s.agent_part(a),
                Some(AgentPart::Holding | AgentPart::Ringing)
            ),
        }
    }
}

struct Conn {
    who: Identity,
    room: Option<SessionId>,
    /// None once the connection was cut for not keeping up: its socket task
    /// sees the channel closed, ends, and disconnects the usual way.
    out: Option<mpsc::Sender<String>>,
}

struct Member {
    who: Identity,
    conn: Option<ConnId>,
}

/// Someone who dropped and has until `deadline` to come back.
struct Away {
    deadline: Timestamp,
    who: Identity,
    room: Option<SessionId>,
}

/// The engine's view of WebSocket connections.
pub(crate) struct Hub {
    conns: HashMap<ConnId, Conn>,
    by_recipient: HashMap<Recipient, Vec<ConnId>>,
    rooms: HashMap<SessionId, Vec<Member>>,
    away: Vec<Away>,
    grace: Duration,
    /// Supervisors' and admins' live views: every event of the center.
    monitors: HashMap<ConnId, Option<mpsc::Sender<String>>>,
}

impl Hub {
    pub(crate) fn new(grace: Duration) -> Self {
        Hub {
            conns: HashMap::new(),
            by_recipient: HashMap::new(),
            rooms: HashMap::new(),
            away: Vec::new(),
            grace,
            monitors: HashMap::new(),
        }
    }

    /// Connections open now.
    pub(crate) fn len(&self) -> usize {
        self.conns.len()
    }

    /// Admits a connection, joining `room` if given. A participant coming back
    /// to a room takes its place again; a stranger or a third participant is
    /// refused.
    pub(crate) fn connect(
        &mut self,
        center: &Center,
        conn: ConnId,
        who: Identity,
        room: Option<RoomId>,
        out: mpsc::Sender<String>,
    ) -> Result<Value, Answer> {
        if let Identity::Agent(a) = &who {
            if center.agent(a.as_str()).is_none() {
                return Err(Answer::error(
                    StatusCode::NOT_FOUND,
                    "agent_not_found",
                    format!("agent {a} is not registered"),
                ));
            }
        }
        let session = room.as_ref().map(|r| r.session_id().clone());
        if let Some(sid) = &session {
            self.join_room(center, conn, &who, sid)?;
        }
        self.away.retain(|a| !(a.who == who && a.room == session));
        self.by_recipient
            .entry(who.recipient())
            .or_default()
            .push(conn);
        let welcome = json!({
            "type": "joined",
            "role": who.role(),
            "room_id": room.as_ref().map(|r| r.to_string()),
        });
        self.conns.insert(
            conn,
            Conn {
                who,
                room: session,
                out: Some(out),
            },
        );
        Ok(welcome)
    }

    fn join_room(
        &mut self,
        center: &Center,
        conn: ConnId,
        who: &Identity,
        sid: &SessionId,
    ) -> Result<(), Answer> {
        let Some(s) = center.session(sid.as_str()) else {
            return Err(Answer::error(
                StatusCode::NOT_FOUND,
                "session_not_found",
                format!("session {sid} not found"),
            ));
        };
        if s.status() == SessionStatus::Ended {
            return Err(Answer::error(
                StatusCode::CONFLICT,
                "session_ended",
                format!("session {sid} has ended"),
            ));
        }
        if let Some(m) = self
            .rooms
            .get_mut(sid)
            .and_then(|ms| ms.iter_mut().find(|m| &m.who == who))
        {
            // Coming back (or a second tab): the newest connection takes the place.
            if let Some(old) = m.conn.replace(conn) {
                if let Some(c) = self.conns.get_mut(&old) {
                    c.room = None;
                }
            }
            return Ok(());
        }
        if self.rooms.get(sid).map_or(0, Vec::len) >= ROOM_MAX_USERS {
            return Err(Answer::error(
                StatusCode::CONFLICT,
                "room_full",
                format!(
                    "room {} already has {ROOM_MAX_USERS} participants",
                    sid.room_id()
                ),
            ));
        }
        if !who.belongs_to(center, sid) {
            return Err(Answer::error(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("{} is not a participant of session {sid}", who.role()),
            ));
        }
        let members = self.rooms.entry(sid.clone()).or_default();
        members.push(Member {
            who: who.clone(),
            conn: Some(conn),
        });
        Ok(())
    }

    /// Admits a monitor: a staff view that receives every event.
    pub(crate) fn watch(&mut self, conn: ConnId, out: mpsc::Sender<String>) {
        self.monitors.insert(conn, Some(out));
    }

    /// Sends `text` to every connection of every agent, in the order they
    /// connected (not the map's: a simulated run must be reproducible).
    pub(crate) fn tell_agents(&mut self, text: &str) {
        let mut ids: Vec<ConnId> = self
            .by_recipient
            .iter()
            .filter(|(r, _)| matches!(r, Recipient::Agent(_)))
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        ids.sort_unstable();
        send_to(&mut self.conns, &ids, text);
    }

    /// Whether anyone watches the center.
    pub(crate) fn watched(&self) -> bool {
        !self.monitors.is_empty()
    }

    /// Sends `text` to every monitor.
    pub(crate) fn tell_monitors(&mut self, text: &str) {
        let mut ids: Vec<ConnId> = self.monitors.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(out) = self.monitors.get_mut(&id) {
                push(out, id, text);
            }
        }
    }

    /// A connection closed at `now`: its room place and its presence are held
    /// for the grace period.
    pub(crate) fn disconnect(&mut self, conn: ConnId, now: Timestamp) {
        if self.monitors.remove(&conn).is_some() {
            return;
        }
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        let recipient = c.who.recipient();
        if let Some(list) = self.by_recipient.get_mut(&recipient) {
            list.retain(|x| *x != conn);
            if list.is_empty() {
                self.by_recipient.remove(&recipient);
            }
        }
        let deadline = now.saturating_add(self.grace);
        match &c.room {
            Some(sid) => {
                let Some(m) = self
                    .rooms
                    .get_mut(sid)
                    .and_then(|ms| ms.iter_mut().find(|m| m.conn == Some(conn)))
                else {
                    return;
                };
                m.conn = None;
                self.away.push(Away {
                    deadline,
                    who: c.who,
                    room: Some(sid.clone()),
                });
            }
            None => {
                if !self.by_recipient.contains_key(&recipient) {
                    self.away.push(Away {
                        deadline,
                        who: c.who,
                        room: None,
                    });
                }
            }
        }
    }

    /// The earliest grace deadline pending.
    pub(crate) fn next_deadline(&self) -> Option<Timestamp> {
        self.away.iter().map(|a| a.deadline).min()
    }

    /// Ends the grace of everyone who did not come back by `now`, returning
    /// what that means for the center: a visitor or agent who left a call
    /// ends it; an agent whose console is gone signs out.
    pub(crate) fn expire(&mut self, center: &Center, now: Timestamp) -> Vec<Command> {
        let (due, waiting): (Vec<Away>, Vec<Away>) =
            self.away.drain(..).partition(|a| a.deadline <= now);
        self.away = waiting;
        let mut commands = Vec::new();
        for a in due {
            match a.room {
                Some(sid) => {
                    let Some(members) = self.rooms.get_mut(&sid) else {
                        continue;
                    };
                    let before = members.len();
                    members.retain(|m| !(m.who == a.who && m.conn.is_none()));
                    let left = members.len() < before;
                    let status = center.session(sid.as_str()).map(|s| s.status());
                    if !(left && a.who.belongs_to(center, &sid)) {
                        continue;
                    }
                    match (status, &a.who) {
                        (Some(SessionStatus::Active), _) => {
                            commands.extend(a.who.ending_party(center, &sid).map(|by| {
                                Command::EndSession {
                                    session_id: sid,
                                    by,
                                }
                            }))
                        }
                        // A visitor gone from the bot has left it.
                        (Some(SessionStatus::Bot), Identity::Customer(v)) => {
                            commands.push(Command::LeaveQueue {
                                visitor_id: v.clone(),
                            })
                        }
                        _ => {}
                    }
                }
                None => {
                    let Identity::Agent(agent) = &a.who else {
                        continue;
                    };
                    let gone = !self.by_recipient.contains_key(&a.who.recipient());
                    let signed_in = center
                        .agent(agent.as_str())
                        .is_some_and(|x| x.state != AgentState::Offline);
                    if gone && signed_in {
                        commands.push(Command::AgentOffline {
                            agent_id: agent.clone(),
                        });
                    }
                }
            }
        }
        commands
    }

    /// Sends an event to every connection of its recipient, and keeps rooms in
    /// step with the calls they belong to. A connection that cannot keep up is
    /// dropped (its socket task then closes).
    pub(crate) fn deliver(&mut self, event: &Event) {
        match &event.event {
            EventKind::CallTransferred {
                session_id,
                from_agent_id,
                ..
            } => self.leave_room(session_id, &Identity::Agent(from_agent_id.clone())),
            EventKind::CallEnded { session_id, .. } => self.close_room(session_id),
            _ => {}
        }
        let Some(ids) = self.by_recipient.get(&event.to) else {
            return;
        };
        let Ok(text) = serde_json::to_string(&event.event) else {
            return;
        };
        send_to(&mut self.conns, ids, &text);
    }

    /// Sends `text` to the connections in session `sid`'s room (both participants).
    pub(crate) fn notify_room(&mut self, sid: &SessionId, text: &str) {
        self.notify_call(sid, None, text);
    }

    /// Sends `text` to a call's participants: its room, and the consoles of
    /// `agent` (which take calls without joining their rooms), each once.
    pub(crate) fn notify_call(&mut self, sid: &SessionId, agent: Option<&AgentId>, text: &str) {
        let mut ids: Vec<ConnId> = self
            .rooms
            .get(sid)
            .into_iter()
            .flatten()
            .filter_map(|m| m.conn)
            .collect();
        if let Some(console) =
            agent.and_then(|a| self.by_recipient.get(&Recipient::Agent(a.clone())))
        {
            ids.extend(
                console
                    .iter()
                    .filter(|id| !ids.contains(id))
                    .copied()
                    .collect::<Vec<_>>(),
            );
        }
        send_to(&mut self.conns, &ids, text);
    }

    /// Sends `text` to every connection of `to`.
    pub(crate) fn send_recipient(&mut self, to: &Recipient, text: &str) {
        if let Some(ids) = self.by_recipient.get(to) {
            send_to(&mut self.conns, ids, text);
        }
    }

    /// Closes every connection (shutdown).
    pub(crate) fn close_all(&mut self) {
        self.conns.clear();
        self.monitors.clear();
        self.by_recipient.clear();
    }

    fn leave_room(&mut self, sid: &SessionId, who: &Identity) {
        if let Some(members) = self.rooms.get_mut(sid) {
            for m in members.iter().filter(|m| &m.who == who) {
                if let Some(c) = m.conn.and_then(|id| self.conns.get_mut(&id)) {
                    c.room = None;
                }
            }
            members.retain(|m| &m.who != who);
        }
    }

    fn close_room(&mut self, sid: &SessionId) {
        for m in self.rooms.remove(sid).unwrap_or_default() {
            if let Some(c) = m.conn.and_then(|id| self.conns.get_mut(&id)) {
                c.room = None;
            }
        }
        self.away.retain(|a| a.room.as_ref() != Some(sid));
    }
}

/// Sends `text` to connections `ids`; one that cannot keep up is cut (its
/// socket task then sees the channel closed and disconnects the usual way).
fn send_to(conns: &mut HashMap<ConnId, Conn>, ids: &[ConnId], text: &str) {
    for id in ids {
        if let Some(c) = conns.get_mut(id) {
            push(&mut c.out, *id, text);
        }
    }
}

/// Queues `text` on one connection's channel, cutting it if it is full.
fn push(out: &mut Option<mpsc::Sender<String>>, id: ConnId, text: &str) {
    let full = out
        .as_ref()
        .is_some_and(|o| o.try_send(text.to_owned()).is_err());
    if full {
        tracing::warn!(conn = id, "cutting a connection that does not keep up");
        *out = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::{Command, Config};

    /// A connection cut for not keeping up still goes through disconnect and
    /// its grace period: after it, an agent with no other connection is
    /// signed out.
    #[test]
    fn a_slow_connection_is_cut_and_then_handled_like_any_drop() {
        let mut center = Center::new(Config::default(), 1).unwrap();
        let now = Timestamp::from_millis(1_000);
        let reg = Command::RegisterAgent {
            agent_id: "a1".into(),
            agent_name: None,
        };
        center.apply(now, reg).unwrap();
        let mut hub = Hub::new(Duration::from_secs(1));
        let (tx, mut rx) = mpsc::channel(1);
        hub.connect(&center, 7, Identity::Agent("a1".into()), None, tx)
            .unwrap();
        let event = Event {
            to: Recipient::Agent("a1".into()),
            event: EventKind::RingTimeout {
                session_id: "cs_x".into(),
            },
        };
        hub.deliver(&event);
        hub.deliver(&event); // the buffer of 1 is full: cut
        assert!(rx.try_recv().is_ok(), "the first event arrived");
        assert!(
            matches!(rx.try_recv(), Err(mpsc::error::TryRecvError::Disconnected)),
            "the socket task sees the channel closed"
        );
        hub.disconnect(7, now);
        let later = now.saturating_add(Duration::from_secs(2));
        let offline = Command::AgentOffline {
            agent_id: "a1".into(),
        };
        assert_eq!(hub.expire(&center, later), vec![offline]);
    }
}
