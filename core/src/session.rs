//! Sessions: Waiting -> Active -> Ended, and the commands that open, end,
//! mute and rate them.

use core::fmt;
use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::center::{Outbox, State};
use crate::limits::{check_id, check_text, NAME_MAX, TEXT_MAX};
use crate::queue::QueueKey;
use crate::routing::Placing;
use crate::timers::{Lane, TimerKey};
use crate::workgroup::joined_workgroup;
use crate::{
    AgentId, AgentState, Channel, CoreError, EventKind, Media, Party, Recipient, Reply, RoomId,
    SessionId, Speaker, Timestamp, VisitorId, WorkgroupId,
};

/// How an agent stands in a session ([`Session::agent_part`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentPart {
    /// Talking with the visitor: answered, not ended.
    Holding,
    /// Being rung for it.
    Ringing,
    /// The last agent it had: the call ended, or the visitor waits again
    /// (for this agent or another).
    Last,
}

/// The seed's session life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// With the workgroup's bot; not queued.
    Bot,
    /// Created; the visitor is queued or an agent is being rung.
    Waiting,
    /// An agent answered; the call is on.
    Active,
    /// Over; kept for rating and statistics.
    Ended,
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SessionStatus::Bot => "bot",
            SessionStatus::Waiting => "waiting",
            SessionStatus::Active => "active",
            SessionStatus::Ended => "ended",
        })
    }
}

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// An answered call was hung up by a participant or the back office.
    Completed,
    /// The visitor gave up before being answered.
    Left,
    /// The back office or an agent closed it before it was answered.
    Cancelled,
    /// The visitor waited `queue_timeout_secs` in the queue.
    QueueTimeout,
    /// The session was open for `session_timeout_secs`.
    SessionTimeout,
    /// The agent holding the call signed out.
    AgentOffline,
    /// The visitor, served by the bot alone, closed the conversation.
    Resolved,
    /// No agent could be reached; the visitor left a message for staff.
    Ticket,
}

/// A visitor's rating of an answered call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// Stars, 1 to 5.
    pub rating: u8,
    /// Optional text feedback.
    pub comment: Option<String>,
    /// When it was given.
    pub rated_at: Timestamp,
}

/// Where a Waiting or Active session is, with the handles to undo it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Stage {
    /// With the workgroup's bot (the conversation is in `Session::bot`).
    Bot,
    Queued {
        key: QueueKey,
    },
    /// Waiting for their last agent (`recent_wait_secs`), in that agent's
    /// line rather than the group's queue; `key` is their place once released.
    Held {
        key: QueueKey,
        agent: AgentId,
        until: Timestamp,
    },
    Ringing {
        agent: AgentId,
        timer: TimerKey,
        since: Timestamp,
    },
    Active {
        agent: AgentId,
    },
    Ended,
}

/// One contact between a visitor and the center. Read-only outside the core.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// `cs_` + random characters.
    pub id: SessionId,
    /// How the visitor came: a link the back office made, or the entry.
    #[serde(default)]
    pub arrival: Arrival,
    /// Shown to agents and in the back office.
    pub title: String,
    /// Free text for the agent.
    pub description: Option<String>,
    /// The visitor.
    pub customer_id: VisitorId,
    /// The visitor's display name.
    pub customer_name: Option<String>,
    /// Requested skill group.
    pub preferred_skill: Option<String>,
    /// The workgroup it queues in: `preferred_skill`, or `default`.
    pub workgroup: WorkgroupId,
    /// 0 to 9, higher first (see `priority_aging_secs`).
    pub priority: u8,
    /// The agent who answered (the last one, after transfers). None until answered.
    pub agent_id: Option<AgentId>,
    /// How the call was answered.
    pub media: Option<Media>,
    /// A call or text chat only, as the visitor asked.
    #[serde(default)]
    pub channel: Channel,
    /// When the session was created (the visitor joined).
    pub created_at: Timestamp,
    /// When the call was answered.
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub ended_at: Option<Timestamp>,
    /// Why it ended.
    pub end_reason: Option<EndReason>,
    /// Who ended it.
    pub ended_by: Option<Party>,
    /// Whether the agent's microphone is muted.
    pub agent_muted: bool,
    /// Whether the visitor's microphone is muted.
    pub customer_muted: bool,
    /// Number of transfers so far.
    pub transfers: u32,
    /// The visitor's rating, once given.
    pub rating: Option<Rating>,
    /// When the visitor joined the queue, if later than `created_at` (the
    /// bot handed them over): waits and service levels count from here.
    #[serde(default)]
    pub queued_at: Option<Timestamp>,
    /// The conversation with the workgroup's bot, if it fronted this session.
    #[serde(default)]
    pub bot: Option<Box<crate::bot::BotChat>>,
    pub(crate) stage: Stage,
    /// Session-timeout timer, armed while the session is open.
    pub(crate) timeout_timer: Option<TimerKey>,
    /// Queue-timeout timer, armed from joining until answered or ended; it
    /// acts only if it fires while the visitor is queued.
    pub(crate) queue_timer: Option<TimerKey>,
}

impl Session {
    /// Waiting, Active or Ended.
    pub fn status(&self) -> SessionStatus {
        match self.stage {
            Stage::Queued { .. } | Stage::Held { .. } | Stage::Ringing { .. } => {
                SessionStatus::Waiting
            }
            Stage::Active { .. } => SessionStatus::Active,
            Stage::Ended => SessionStatus::Ended,
            Stage::Bot => SessionStatus::Bot,
        }
    }

    /// When the visitor's wait for an agent began: joining, or the bot's
    /// handoff.
    pub fn waiting_since(&self) -> Timestamp {
        self.queued_at.unwrap_or(self.created_at)
    }

    /// The WebSocket room: `customer-service/{session_id}`.
    pub fn room_id(&self) -> RoomId {
        self.id.room_id()
    }

    /// Whether the visitor is waiting in the queue, or held for their last
    /// agent (not being rung).
    pub fn is_queued(&self) -> bool {
        matches!(self.stage, Stage::Queued { .. } | Stage::Held { .. })
    }

    /// How `agent` stands in this session: the one rule every door (HTTP
    /// routes, `/room`, socket.io, WHIP/WHEP, chat, recordings) asks about an
    /// agent; each then admits the parts it serves.
    pub fn agent_part(&self, agent: &AgentId) -> Option<AgentPart> {
        match &self.stage {
            Stage::Active { agent: a } if a == agent => Some(AgentPart::Holding),
            Stage::Ringing { agent: a, .. } if a == agent => Some(AgentPart::Ringing),
            _ if self.agent_id.as_ref() == Some(agent) => Some(AgentPart::Last),
            _ => None,
        }
    }

    /// The party `who` ends this session as, if they may: its visitor as the
    /// customer, an agent taking part (holding, rung, or last) as the agent,
    /// anyone else who supervises as staff. A supervisor holding the call
    /// hangs up as its agent.
    pub fn ending_party(&self, who: &Speaker, supervisor: bool) -> Option<Party> {
        match who {
            Speaker::Visitor(v) if *v == self.customer_id => Some(Party::Customer),
            Speaker::Agent(a) if self.agent_part(a).is_some() => Some(Party::Agent),
            _ if supervisor => Some(Party::Admin),
            _ => None,
        }
    }

    /// Whether the credential this session's visitor was given may still do
    /// something: anything while the session is open; once it has ended,
    /// only rate it (`rating`).
    pub fn visitor_may_act(&self, rating: bool) -> bool {
        rating || self.status() != SessionStatus::Ended
    }

    /// Whether the session's bot hears a chat message from `from`: the
    /// visitor's own words (not a file, not a note) while the bot serves them.
    pub fn bot_hears(&self, from: &Speaker, note: bool, file: bool) -> bool {
        let visitor = matches!(from, Speaker::Visitor(v) if *v == self.customer_id);
        visitor && !note && !file && self.status() == SessionStatus::Bot
    }

    /// The agent on the call's side now: the one holding it, else the one
    /// being rung (what the media plane connects and forwards).
    pub fn call_agent(&self) -> Option<&AgentId> {
        match &self.stage {
            Stage::Active { agent } | Stage::Ringing { agent, .. } => Some(agent),
            _ => None,
        }
    }

    /// The agent being rung for this session, if any.
    pub fn ringing_agent(&self) -> Option<&AgentId> {
        match &self.stage {
            Stage::Ringing { agent, .. } => Some(agent),
            _ => None,
        }
    }

    /// When the agent now being rung for it was rung.
    pub fn ringing_since(&self) -> Option<Timestamp> {
        match &self.stage {
            Stage::Ringing { since, .. } => Some(*since),
            _ => None,
        }
    }

    /// Talk time: from answer to end, or to `now` while Active.
    pub fn duration(&self, now: Timestamp) -> Option<Duration> {
        let start = self.started_at?;
        Some(self.ended_at.unwrap_or(now).saturating_since(start))
    }

    /// When the visitor is served as if they had joined, in ms: joining time
    /// less `priority × aging_secs` (see `priority_aging_secs`).
    pub(crate) fn virtual_arrival(&self, aging_secs: u64) -> i64 {
        let credit = i64::from(self.priority)
            .saturating_mul(aging_secs as i64)
            .saturating_mul(1000);
        (self.waiting_since().as_millis() as i64).saturating_sub(credit)
    }

    /// When the visitor has waited `queue_timeout` since joining.
    pub(crate) fn queue_deadline(&self, queue_timeout: Duration) -> Timestamp {
        self.waiting_since().saturating_add(queue_timeout)
    }

    /// The visitor's display name, falling back to their id.
    pub fn visitor_name(&self) -> &str {
        self.customer_name
            .as_deref()
            .unwrap_or(self.customer_id.as_str())
    }
}

/// What a new session is made of, from `CreateSession` or `JoinQueue`.
pub(crate) struct NewSession {
    pub(crate) arrival: Arrival,
    pub(crate) title: String,
    pub(crate) customer_id: VisitorId,
    pub(crate) customer_name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) preferred_skill: Option<String>,
    pub(crate) priority: u8,
    pub(crate) channel: Channel,
}

/// How a session began.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    /// The back office opened it for a customer and sent them a link.
    Link,
    /// The visitor joined the queue (the public entry, or an API client).
    #[default]
    Entry,
}

/// The title of a session a visitor opened with `question`: its first line,
/// cut to a title's length.
pub(crate) fn title_of(question: Option<&str>) -> String {
    let line = question.and_then(|q| q.lines().map(str::trim).find(|l| !l.is_empty()));
    line.map(|l| l.chars().take(NAME_MAX).collect())
        .unwrap_or_default()
}

/// Highest visitor priority.
pub const PRIORITY_MAX: u8 = 9;

impl State {
    /// Opens a session and rings an agent at once or queues the visitor.
    pub(crate) fn open_session(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        new: NewSession,
    ) -> Result<Reply, CoreError> {
        check_id("customer_id", new.customer_id.as_str())?;
        check_text("title", Some(&new.title), false, NAME_MAX)?;
        check_text(
            "customer_name",
            new.customer_name.as_deref(),
            false,
            NAME_MAX,
        )?;
        check_text(
            "preferred_skill",
            new.preferred_skill.as_deref(),
            false,
            NAME_MAX,
        )?;
        check_text("description", new.description.as_deref(), false, TEXT_MAX)?;
        if new.priority > PRIORITY_MAX {
            return Err(CoreError::InvalidInput {
                field: "priority",
                reason: "must be an integer from 0 to 9",
            });
        }
        let workgroup = joined_workgroup(new.preferred_skill.as_deref());
        if !self.groups.contains_key(&workgroup) {
            return Err(CoreError::WorkgroupNotFound(workgroup));
        }
        if let Some(open) = self.visitors.get(&new.customer_id) {
            return Err(CoreError::VisitorBusy {
                visitor: new.customer_id,
                session: open.clone(),
            });
        }
        if self.counts.waiting + self.counts.active + self.counts.bot >= self.config.max_sessions {
            return Err(CoreError::TooManySessions {
                max: self.config.max_sessions,
            });
        }
        // Visitors being rung count too, so a re-queue always finds room.
        if self.counts.waiting >= self.config.max_queue_size {
            return Err(CoreError::QueueFull {
                max: self.config.max_queue_size,
            });
        }

        let id = self.new_session_id();
        let timeout_timer = self.timers.arm(
            Lane::Session,
            now.saturating_add(self.config.session_timeout()),
            id.clone(),
        );
        let session = Session {
            id: id.clone(),
            arrival: new.arrival,
            title: new.title,
            description: new.description,
            customer_id: new.customer_id.clone(),
            customer_name: new.customer_name,
            preferred_skill: new.preferred_skill,
            workgroup: workgroup.clone(),
            priority: new.priority,
            agent_id: None,
            media: None,
            channel: new.channel,
            created_at: now,
            started_at: None,
            ended_at: None,
            end_reason: None,
            ended_by: None,
            agent_muted: false,
            customer_muted: false,
            transfers: 0,
            rating: None,
            queued_at: None,
            bot: None,
            // Placed properly just below, by `offer` or `enqueue`.
            stage: Stage::Ended,
            timeout_timer: Some(timeout_timer),
            queue_timer: None,
        };
        let with_bot = self.bot_for(&session).is_some();
        self.sessions.insert(id.clone(), Box::new(session));
        self.visitors.insert(new.customer_id.clone(), id.clone());
        self.totals.created += 1;
        self.day_mut(now).created += 1;
        if with_bot {
            self.start_bot(out, now, &id);
            return Ok(Reply::WithBot { session_id: id });
        }
        let queue_timer = self.timers.arm(
            Lane::Queue,
            now.saturating_add(self.config.queue_timeout()),
            id.clone(),
        );
        if let Some(s) = self.sessions.get_mut(&id) {
            s.queue_timer = Some(queue_timer);
        }
        self.counts.waiting += 1;
        if let Some(g) = self.groups.get_mut(&workgroup) {
            g.counters.offered += 1;
            g.traffic.arrival(now);
        }
        Ok(self.place(out, now, &id, false))
    }

    /// Places Waiting session `id`, not yet queued: held for the visitor's
    /// last agent (under `recent` routing, or always when `prefer_last`, as
    /// a bot's handoff does, which also rings that agent straight away if
    /// Ready), else rung at once if nobody in its group is ahead and an
    /// agent is Ready, else queued.
    pub(crate) fn place(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &SessionId,
        prefer_last: bool,
    ) -> Reply {
        let Some(s) = self.sessions.get(id) else {
            return Reply::Done;
        };
        let (customer, workgroup) = (s.customer_id.clone(), s.workgroup.clone());
        let last = self.last_agent.get(&customer).map(|(a, _)| a);
        let last_ready = last
            .and_then(|a| self.agents.get(a))
            .filter(|a| a.state == AgentState::Ready && a.workgroups.contains_key(&workgroup))
            .map(|a| a.id.clone());
        if let Some(agent) = last_ready.filter(|_| prefer_last) {
            self.offer(out, now, id, &agent);
            return Reply::Assigned {
                session_id: id.clone(),
                agent_id: agent,
            };
        }
        // A returning visitor may wait a little for their last agent.
        if let Some(agent) = self.hold_for(&workgroup, &customer, prefer_last) {
            let position = self.hold(out, now, id, &agent);
            return Reply::Queued {
                session_id: id.clone(),
                position,
            };
        }
        // Immediate assignment: skip the queue when nobody in the group is
        // ahead and one of its agents is Ready.
        let placing = Placing {
            visitor: &customer,
            last_agent: self.last_agent.get(&customer).map(|(a, _)| a),
        };
        let chosen = self
            .groups
            .get(&workgroup)
            .filter(|g| g.front().is_none())
            .and_then(|g| g.choose(placing, &mut self.rng));
        if let (Some(g), Some((level, agent))) = (self.groups.get_mut(&workgroup), &chosen) {
            g.picked(*level, agent);
        }
        if let Some((_, agent)) = chosen {
            self.offer(out, now, id, &agent);
            return Reply::Assigned {
                session_id: id.clone(),
                agent_id: agent,
            };
        }
        let position = self.enqueue(out, now, id, false);
        Reply::Queued {
            session_id: id.clone(),
            position,
        }
    }

    /// A fresh `cs_` id from the core's PRNG, unique among sessions held.
    fn new_session_id(&mut self) -> SessionId {
        const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        loop {
            let mut bits = self.rng.next_u64();
            let mut id = *b"cs_000000000000";
            for c in &mut id[3..] {
                *c = ALPHABET[(bits % 36) as usize];
                bits /= 36;
            }
            let id = SessionId::from_ascii(&id);
            if !self.sessions.contains_key(&id) {
                return id;
            }
        }
    }

    /// Ends a Waiting or Active session on request.
    pub(crate) fn end_session(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &SessionId,
        by: Party,
    ) -> Result<Reply, CoreError> {
        let session = self.session(id)?;
        let reason = match (&session.stage, by) {
            (Stage::Ended, _) => {
                return Err(CoreError::SessionState {
                    session: id.clone(),
                    status: SessionStatus::Ended,
                    expected: "waiting or active",
                })
            }
            (Stage::Active { .. }, _) => EndReason::Completed,
            (Stage::Bot, Party::Customer) => EndReason::Resolved,
            (_, Party::Customer) => EndReason::Left,
            (_, _) => EndReason::Cancelled,
        };
        self.finish(out, now, id, reason, by);
        Ok(Reply::Ended {
            session_id: id.clone(),
        })
    }

    /// A waiting visitor gives up.
    pub(crate) fn leave_queue(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        visitor: &VisitorId,
    ) -> Result<Reply, CoreError> {
        let id = self
            .visitors
            .get(visitor)
            .cloned()
            .ok_or_else(|| CoreError::VisitorNotFound(visitor.clone()))?;
        let status = self.session(&id)?.status();
        if !matches!(status, SessionStatus::Waiting | SessionStatus::Bot) {
            return Err(CoreError::SessionState {
                session: id,
                status,
                expected: "waiting or with the bot",
            });
        }
        self.finish(out, now, &id, EndReason::Left, Party::Customer);
        Ok(Reply::Ended { session_id: id })
    }

    /// Moves a session to Ended, releasing its queue place, ring or agent.
    /// The caller has checked that it is open.
    pub(crate) fn finish(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &SessionId,
        reason: EndReason,
        by: Party,
    ) {
        // Out of its queues while the stage still says where it is.
        self.unqueue(id);
        let closed_by_visitor = matches!(reason, EndReason::Resolved | EndReason::Ticket);
        self.bot_ending(id, closed_by_visitor);
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        let stage = core::mem::replace(&mut s.stage, Stage::Ended);
        s.ended_at = Some(now);
        s.end_reason = Some(reason);
        s.ended_by = Some(by);
        let (customer, group) = (s.customer_id.clone(), s.workgroup.clone());
        // Waited until now, or talked since the answer.
        let (waited, talked) = (
            now.saturating_since(s.waiting_since()).as_millis() as u64,
            s.started_at
                .map(|a| now.saturating_since(a).as_millis() as u64),
        );
        if let Some(t) = s.timeout_timer.take() {
            self.timers.cancel(Lane::Session, t);
        }
        if let Some(t) = s.queue_timer.take() {
            self.timers.cancel(Lane::Queue, t);
        }
        let waiting = matches!(
            stage,
            Stage::Queued { .. } | Stage::Held { .. } | Stage::Ringing { .. }
        );
        if waiting {
            // Ended before being answered: abandoned.
            self.counts.waiting -= 1;
            if let Some(g) = self.groups.get_mut(&group) {
                g.counters.abandoned += 1;
                g.traffic.abandoned(now, waited);
            }
        }
        let agent = match stage {
            Stage::Queued { .. } | Stage::Held { .. } | Stage::Bot => None,
            Stage::Ringing { agent, timer, .. } => {
                self.timers.cancel(Lane::Ring, timer);
                Some(agent)
            }
            Stage::Active { agent } => {
                self.counts.active -= 1;
                if let (Some(g), Some(talked)) = (self.groups.get_mut(&group), talked) {
                    g.traffic.handled(now, talked);
                }
                self.day_mut(now).completed += 1;
                Some(agent)
            }
            Stage::Ended => return,
        };
        self.visitors.remove(&customer);
        self.totals.count_end(reason);
        self.remember_ended(id.clone());

        let ended = EventKind::CallEnded {
            session_id: id.clone(),
            reason,
            ended_by: by,
        };
        if let Some(agent) = agent {
            self.release_agent(now, &agent, id);
            out.push(Recipient::Agent(agent), ended.clone());
        }
        out.push(Recipient::Visitor(customer), ended);
    }

    /// Keeps at most `ended_sessions_max` ended sessions, forgetting the oldest.
    fn remember_ended(&mut self, id: SessionId) {
        self.ended.push_back(id);
        self.forget_ended_beyond_limit();
    }

    pub(crate) fn forget_ended_beyond_limit(&mut self) {
        while self.ended.len() > self.config.ended_sessions_max {
            if let Some(old) = self.ended.pop_front() {
                self.sessions.remove(&old);
            }
        }
    }

    /// Mutes or unmutes a participant of an Active call.
    pub(crate) fn set_mute(
        &mut self,
        out: &mut Outbox,
        id: &SessionId,
        target: Party,
        muted: bool,
    ) -> Result<Reply, CoreError> {
        if !matches!(target, Party::Agent | Party::Customer) {
            return Err(CoreError::InvalidInput {
                field: "target",
                reason: "must be agent or customer",
            });
        }
        let s = self.session_mut(id)?;
        let Stage::Active { agent } = &s.stage else {
            return Err(CoreError::SessionState {
                session: id.clone(),
                status: s.status(),
                expected: "active",
            });
        };
        let agent = agent.clone();
        match target {
            Party::Agent => s.agent_muted = muted,
            _ => s.customer_muted = muted,
        }
        let customer = s.customer_id.clone();
        let kind = if muted {
            EventKind::MuteUser {
                session_id: id.clone(),
                target,
            }
        } else {
            EventKind::UnmuteUser {
                session_id: id.clone(),
                target,
            }
        };
        out.push(Recipient::Agent(agent), kind.clone());
        out.push(Recipient::Visitor(customer), kind);
        Ok(Reply::Done)
    }

    /// Records the visitor's rating of an ended, answered call.
    pub(crate) fn rate(
        &mut self,
        now: Timestamp,
        id: &SessionId,
        rating: u8,
        comment: Option<String>,
    ) -> Result<Reply, CoreError> {
        if !(1..=5).contains(&rating) {
            return Err(CoreError::InvalidInput {
                field: "rating",
                reason: "must be an integer from 1 to 5",
            });
        }
        check_text("comment", comment.as_deref(), false, TEXT_MAX)?;
        let s = self.session_mut(id)?;
        if s.status() != SessionStatus::Ended {
            return Err(CoreError::SessionState {
                session: id.clone(),
                status: s.status(),
                expected: "ended",
            });
        }
        if s.started_at.is_none() {
            return Err(CoreError::NotAnswered(id.clone()));
        }
        if s.rating.is_some() {
            return Err(CoreError::AlreadyRated(id.clone()));
        }
        s.rating = Some(Rating {
            rating,
            comment,
            rated_at: now,
        });
        let agent = s.agent_id.clone();
        self.ratings.add(rating);
        if let Some(agent) = agent {
            if let Some(a) = self.agents.get_mut(&agent) {
                a.stats.ratings += 1;
                a.stats.rating_sum += u64::from(rating);
            }
            self.settle(&agent, now);
        }
        Ok(Reply::Done)
    }

    pub(crate) fn session(&self, id: &SessionId) -> Result<&Session, CoreError> {
        self.sessions
            .get(id)
            .map(|s| &**s)
            .ok_or_else(|| CoreError::SessionNotFound(id.clone()))
    }

    pub(crate) fn session_mut(&mut self, id: &SessionId) -> Result<&mut Session, CoreError> {
        self.sessions
            .get_mut(id)
            .map(|s| &mut **s)
            .ok_or_else(|| CoreError::SessionNotFound(id.clone()))
    }
}
