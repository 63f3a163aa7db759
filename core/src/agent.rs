//! Agents: the seed's five states and the commands that move between them.
//!
//! | from            | input                 | to      |
//! |-----------------|-----------------------|---------|
//! | (new), Offline, Online, Ready | register | Ready |
//! | Online          | available             | Ready   |
//! | Ready           | not ready (a reason)  | Online  |
//! | Busy            | not ready / available | Busy, Online (or Ready) once the call ends |
//! | Ready           | offer (dispatch)      | Ringing |
//! | Ringing         | accept                | Busy (Ready below capacity) |
//! | Ringing         | reject / ring timeout | Ready, visitor re-queued at the head |
//! | Busy            | call ends             | Ready (Online during wrap-up) |
//! | Busy            | transfer away         | Ready   |
//! | Ready           | transfer in           | Busy (Ready below capacity) |
//! | any             | offline               | Offline, releasing its offer and calls |
//!
//! An agent holds up to `max_concurrent` calls (1 by default) and at most one
//! offer at a time. The state is never set directly: it follows from what
//! the agent holds and wants ([`Agent::derived_state`]), and
//! [`State::settle`] keeps the state, the per-state counts and the
//! workgroups' Ready sets in step after every change.

use core::fmt;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::center::{Outbox, State};
use crate::limits::{check_id, check_text, NAME_MAX};
use crate::queue::Queue;
use crate::routing::Candidate;
use crate::session::{EndReason, Stage};
use crate::timers::{AgentLane, TimerKey};
use crate::workgroup::{Membership, DEFAULT_WORKGROUP};
use crate::{AgentId, CoreError, Party, Reply, SessionId, Timestamp, WorkgroupId};

/// The seed's agent states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    /// Signed out.
    Offline,
    /// Signed in, not taking calls (break, wrap-up).
    Online,
    /// Waiting for a call: the dispatch target.
    Ready,
    /// An offer is pushed; accept or reject before it lapses.
    Ringing,
    /// On a call.
    Busy,
}

impl AgentState {
    /// Position in declaration order, for per-state counters.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AgentState::Offline => "offline",
            AgentState::Online => "online",
            AgentState::Ready => "ready",
            AgentState::Ringing => "ringing",
            AgentState::Busy => "busy",
        })
    }
}

/// Counters of one agent's work since registering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentCallStats {
    /// Calls rung through to the agent.
    pub offered: u64,
    /// Calls answered.
    pub answered: u64,
    /// Calls declined.
    pub rejected: u64,
    /// Offers that lapsed unanswered.
    pub timed_out: u64,
    /// Sum of ring-to-answer times, for the average.
    pub ring_to_accept_ms_total: u64,
    /// Time spent in calls (each call counted from answer or transfer in to
    /// end or transfer out), in ms.
    pub talk_ms_total: u64,
    /// Time spent Ready, in ms, up to the agent's last state change.
    pub ready_ms_total: u64,
    /// Calls transferred to it (taken without being rung).
    #[serde(default)]
    pub transferred_in: u64,
    /// Ratings of calls it answered last.
    pub ratings: u64,
    /// Sum of those ratings' stars.
    pub rating_sum: u64,
}

/// A person who takes calls. Read-only outside the core.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Chosen at registration.
    pub id: AgentId,
    /// Display name.
    pub name: String,
    /// Current state.
    pub state: AgentState,
    /// The session it is being rung for.
    pub offer: Option<SessionId>,
    /// The Active sessions it is in, with when each began for this agent.
    pub calls: Vec<Call>,
    /// Most calls it holds at once (an offer counts).
    pub max_concurrent: u32,
    /// Signed in.
    pub signed_in: bool,
    /// Wants calls: false on a break and after `max_no_answer` missed rings.
    pub available: bool,
    /// Workgroups it belongs to, with its skill level in each.
    pub workgroups: BTreeMap<WorkgroupId, u8>,
    /// Returning visitors waiting for this agent (`recent_wait_secs`), in
    /// queue order.
    pub(crate) held: Queue,
    /// When it entered its current state.
    pub state_since: Timestamp,
    /// When its last call ended (or it registered): `longest_idle` routing.
    pub idle_since: Timestamp,
    /// Moving average of its ring-to-answer time in ms, once it has answered.
    pub response_ms: Option<u64>,
    /// Relative share of calls under `weighted_random` (1 to 1000).
    pub weight: u32,
    /// Offers in a row that lapsed unanswered.
    pub no_answer: u32,
    /// While Online for after-call work or after a reject: when it will be
    /// Ready again on its own.
    pub resume: Option<Resume>,
    /// Work counters.
    pub stats: AgentCallStats,
    /// Why it does not want calls, while it does not (its own choice, a
    /// supervisor's, or `no_answer`), and since when. (Defaults: snapshots
    /// made before reasons existed restore without them.)
    #[serde(default)]
    pub away: Option<Away>,
    /// Time spent not ready so far, per reason, in ms (up to the last
    /// change of reason).
    #[serde(default)]
    pub away_ms: BTreeMap<String, u64>,
}

/// A Not-ready agent's reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Away {
    /// One of the center's `not_ready_reasons`, or `no_answer`.
    pub reason: String,
    /// When it began.
    pub since: Timestamp,
}

/// The reason given to an agent moved out of Ready after `max_no_answer`
/// lapsed offers.
pub const NO_ANSWER_REASON: &str = "no_answer";

/// One call an agent is in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The Active session.
    pub session_id: SessionId,
    /// When this agent took it (answered or was transferred it).
    pub since: Timestamp,
}

/// Why an Online agent will be Ready again on its own, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// After-call work or the pause after a reject.
    pub reason: ResumeReason,
    /// When the pause began.
    pub since: Timestamp,
    /// When the agent is Ready again.
    pub until: Timestamp,
    pub(crate) timer: TimerKey,
}

/// Why an agent pauses before being Ready again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResumeReason {
    /// After-call work (`wrap_up_secs`).
    WrapUp,
    /// The pause after a reject (`reject_delay_secs`).
    RejectDelay,
}

impl ResumeReason {
    pub(crate) fn lane(self) -> AgentLane {
        match self {
            ResumeReason::WrapUp => AgentLane::WrapUp,
            ResumeReason::RejectDelay => AgentLane::RejectDelay,
        }
    }
}

/// Ring-to-answer time assumed for an agent who has not answered yet, so that
/// `fastest_response` neither favours nor shuns newcomers.
pub const NEUTRAL_RESPONSE_MS: u64 = 5_000;
/// Most `weight` an agent can be given.
pub const WEIGHT_MAX: u32 = 1_000;
/// Most calls an agent can be allowed at once.
pub const CONCURRENT_MAX: u32 = 100;

impl Agent {
    /// What routing weighs about this agent while it is Ready.
    pub(crate) fn candidate(&self) -> Candidate<'_> {
        // Weight × average stars (3 until rated), in hundredths.
        let stars_x100 = (self.stats.rating_sum * 100)
            .checked_div(self.stats.ratings)
            .unwrap_or(300);
        Candidate {
            id: &self.id,
            idle_since: self.idle_since,
            active: self.calls.len() as u32,
            response_ms: self.response_ms.unwrap_or(NEUTRAL_RESPONSE_MS),
            weight: u64::from(self.weight) * stars_x100.max(1),
        }
    }

    /// The state that follows from what the agent holds and wants: Offline
    /// when signed out; Ringing with an offer; Busy at capacity; Online on a
    /// break or pause; else Ready.
    pub fn derived_state(&self) -> AgentState {
        if !self.signed_in {
            AgentState::Offline
        } else if self.offer.is_some() {
            AgentState::Ringing
        } else if self.calls.len() >= self.max_concurrent as usize {
            AgentState::Busy
        } else if !self.available || self.resume.is_some() {
            AgentState::Online
        } else {
            AgentState::Ready
        }
    }

    /// Wants calls (`reason` None) or not, and why; the time under the
    /// reason it leaves is counted.
    pub(crate) fn set_away(&mut self, now: Timestamp, reason: Option<String>) {
        self.available = reason.is_none();
        if self.away.as_ref().map(|a| &a.reason) == reason.as_ref() {
            return;
        }
        if let Some(old) = self.away.take() {
            *self.away_ms.entry(old.reason).or_default() +=
                now.saturating_since(old.since).as_millis() as u64;
        }
        self.away = reason.map(|reason| Away { reason, since: now });
    }

    /// Calls and offers held, against `max_concurrent`.
    pub fn load(&self) -> usize {
        self.calls.len() + usize::from(self.offer.is_some())
    }

    /// The call a frame means when it names none: the agent's only one
    /// (an offer or a call). With several, the client must say which.
    pub fn only_call(&self) -> Option<&SessionId> {
        let mut held = self.sessions();
        let first = held.next();
        first.filter(|_| held.next().is_none())
    }

    /// Every session it holds: the offer, then the calls.
    pub fn sessions(&self) -> impl Iterator<Item = &SessionId> {
        self.offer
            .iter()
            .chain(self.calls.iter().map(|c| &c.session_id))
    }

    /// Time in calls so far, counting the calls still running, in ms.
    pub fn talk_ms(&self, now: Timestamp) -> u64 {
        let running: u64 = self
            .calls
            .iter()
            .map(|c| now.saturating_since(c.since).as_millis() as u64)
            .sum();
        self.stats.talk_ms_total + running
    }

    /// Time Ready so far, counting the current stretch if Ready now.
    pub fn ready_ms(&self, now: Timestamp) -> u64 {
        let current = if self.state == AgentState::Ready {
            now.saturating_since(self.state_since).as_millis() as u64
        } else {
            0
        };
        self.stats.ready_ms_total + current
    }

    /// Time spent not ready per reason, up to `now`.
    pub fn away_ms(&self, now: Timestamp) -> BTreeMap<String, u64> {
        let mut all = self.away_ms.clone();
        if let Some(a) = &self.away {
            *all.entry(a.reason.clone()).or_default() +=
                now.saturating_since(a.since).as_millis() as u64;
        }
        all
    }

    /// Folds one ring-to-answer time into the moving average (weight 1/5).
    pub(crate) fn record_response(&mut self, ms: u64) {
        self.response_ms = Some(match self.response_ms {
            None => ms,
            Some(avg) => (avg * 4 + ms) / 5,
        });
    }
}

impl State {
    /// Brings agent `id`'s state in line with what it holds and wants, at
    /// `now`, keeping the per-state counts and its workgroups' Ready sets in
    /// step. Every change to an agent ends here.
    pub(crate) fn settle(&mut self, id: &AgentId, now: Timestamp) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        let (old, new) = (a.state, a.derived_state());
        let holding = !a.held.is_empty();
        if new != AgentState::Online {
            // Only an Online agent pauses; its timer, if it fires, finds no match.
            a.resume = None;
        }
        if old != new && (old == AgentState::Offline || new == AgentState::Offline) {
            // Signed in or out: the groups' staffing advice is out of date.
            self.forecasts.stale.extend(a.workgroups.keys().cloned());
        }
        if old != new {
            if old == AgentState::Ready {
                a.stats.ready_ms_total += now.saturating_since(a.state_since).as_millis() as u64;
            }
            a.state = new;
            a.state_since = now;
            self.counts.agents[old.index()] -= 1;
            self.counts.agents[new.index()] += 1;
        }
        for (group, level) in &a.workgroups {
            let Some(g) = self.groups.get_mut(group) else {
                continue;
            };
            if new == AgentState::Ready {
                // Also refreshes what routing weighs (calls held, rating).
                g.insert(*level, a.candidate());
                if g.front().is_some() {
                    self.dirty.insert(group.clone());
                }
            } else if old == AgentState::Ready {
                g.remove(*level, id);
            }
        }
        if holding && new == AgentState::Ready {
            self.held_ready.insert(id.clone());
        } else if holding && !(a.signed_in && a.available) {
            // Not coming back soon: nobody should wait for this agent.
            self.release_holds(now, id);
        }
    }

    /// Sends every visitor held for agent `id` to their group's queue.
    pub(crate) fn release_holds(&mut self, now: Timestamp, id: &AgentId) {
        let held: Vec<SessionId> = self
            .agents
            .get(id)
            .map(|a| a.held.iter().map(|(_, s)| s.clone()).collect())
            .unwrap_or_default();
        for sid in held {
            self.release_hold(now, &sid);
        }
    }

    /// Frees agent `id` from `session`, its offer or one of its calls. A
    /// call's end starts after-call work (Online for `wrap_up_secs`).
    pub(crate) fn release_agent(&mut self, now: Timestamp, id: &AgentId, session: &SessionId) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        if a.offer.as_ref() == Some(session) {
            a.offer = None;
        } else if let Some(i) = a.calls.iter().position(|c| &c.session_id == session) {
            let call = a.calls.remove(i);
            a.stats.talk_ms_total += now.saturating_since(call.since).as_millis() as u64;
            a.idle_since = now;
            if a.signed_in && !self.config.wrap_up().is_zero() {
                self.pause(now, id, ResumeReason::WrapUp);
                return;
            }
        }
        self.settle(id, now);
    }

    /// Moves an agent to Online until the pause for `reason` is over.
    pub(crate) fn pause(&mut self, now: Timestamp, id: &AgentId, reason: ResumeReason) {
        let length = match reason {
            ResumeReason::WrapUp => self.config.wrap_up(),
            ResumeReason::RejectDelay => self.config.reject_delay(),
        };
        self.pause_from(now, now, id, reason, length);
    }

    /// Arms a pause that began at `since` (re-arming keeps its start).
    pub(crate) fn pause_from(
        &mut self,
        now: Timestamp,
        since: Timestamp,
        id: &AgentId,
        reason: ResumeReason,
        length: core::time::Duration,
    ) {
        let until = since.saturating_add(length).max(now);
        let timer = self.timers.arm_agent(reason.lane(), until, id.clone());
        if let Some(a) = self.agents.get_mut(id) {
            a.resume = Some(Resume {
                reason,
                since,
                until,
                timer,
            });
        }
        self.settle(id, now);
    }

    /// A pause's timer fell due at `at`: Ready again, unless the pause was
    /// ended or replaced meanwhile.
    pub(crate) fn resume(&mut self, at: Timestamp, id: &AgentId, lane: AgentLane) {
        let current = self
            .agents
            .get(id)
            .and_then(|a| a.resume)
            .filter(|r| r.reason.lane() == lane && r.until == at);
        if current.is_some() {
            if let Some(a) = self.agents.get_mut(id) {
                a.resume = None;
            }
            self.settle(id, at);
        }
    }

    pub(crate) fn agent(&self, id: &AgentId) -> Result<&Agent, CoreError> {
        self.agents
            .get(id)
            .ok_or_else(|| CoreError::AgentNotFound(id.clone()))
    }

    /// Signs an agent in (creating it if new) and makes it Ready.
    pub(crate) fn register_agent(
        &mut self,
        now: Timestamp,
        id: &AgentId,
        name: Option<String>,
    ) -> Result<Reply, CoreError> {
        check_id("agent_id", id.as_str())?;
        check_text("agent_name", name.as_deref(), false, NAME_MAX)?;
        match self.agents.get_mut(id) {
            Some(a) => match a.state {
                AgentState::Offline | AgentState::Online | AgentState::Ready => {
                    if let Some(name) = name {
                        a.name = name;
                    }
                }
                state => {
                    return Err(CoreError::AgentState {
                        agent: id.clone(),
                        state,
                        expected: "offline, online or ready",
                    })
                }
            },
            None => {
                if self.agents.len() >= self.config.max_agents {
                    return Err(CoreError::TooManyAgents {
                        max: self.config.max_agents,
                    });
                }
                let agent = Agent {
                    id: id.clone(),
                    name: name.unwrap_or_else(|| id.to_string()),
                    state: AgentState::Offline,
                    offer: None,
                    calls: Vec::new(),
                    max_concurrent: self.config.max_concurrent,
                    signed_in: false,
                    available: false,
                    workgroups: BTreeMap::from([(WorkgroupId::from(DEFAULT_WORKGROUP), 1)]),
                    held: Queue::default(),
                    state_since: now,
                    idle_since: now,
                    response_ms: None,
                    weight: 1,
                    no_answer: 0,
                    resume: None,
                    stats: AgentCallStats::default(),
                    away: None,
                    away_ms: BTreeMap::new(),
                };
                self.agents.insert(id.clone(), agent);
                self.counts.agents[AgentState::Offline.index()] += 1;
            }
        }
        if let Some(a) = self.agents.get_mut(id) {
            a.signed_in = true;
            a.set_away(now, None);
            a.resume = None;
            a.no_answer = 0;
        }
        self.settle(id, now);
        Ok(Reply::Done)
    }

    /// Sets an agent's share of calls under `weighted_random`.
    pub(crate) fn set_weight(&mut self, id: &AgentId, weight: u32) -> Result<Reply, CoreError> {
        if !(1..=WEIGHT_MAX).contains(&weight) {
            return Err(CoreError::InvalidInput {
                field: "weight",
                reason: "must be an integer from 1 to 1000",
            });
        }
        let a = self
            .agents
            .get_mut(id)
            .ok_or_else(|| CoreError::AgentNotFound(id.clone()))?;
        a.weight = weight;
        let now = self.now;
        self.settle(id, now);
        Ok(Reply::Done)
    }

    /// Sets how many calls an agent holds at once; never below what it holds.
    pub(crate) fn set_capacity(&mut self, id: &AgentId, max: u32) -> Result<Reply, CoreError> {
        if !(1..=CONCURRENT_MAX).contains(&max) {
            return Err(CoreError::InvalidInput {
                field: "max_concurrent",
                reason: "must be an integer from 1 to 100",
            });
        }
        let a = self
            .agents
            .get_mut(id)
            .ok_or_else(|| CoreError::AgentNotFound(id.clone()))?;
        if (max as usize) < a.load() {
            return Err(CoreError::InvalidInput {
                field: "max_concurrent",
                reason: "must not be below the calls the agent holds now",
            });
        }
        a.max_concurrent = max;
        self.forecasts.stale.extend(a.workgroups.keys().cloned());
        let now = self.now;
        self.settle(id, now);
        Ok(Reply::Done)
    }

    /// Replaces the workgroups an agent belongs to.
    pub(crate) fn set_workgroups(
        &mut self,
        id: &AgentId,
        memberships: Vec<Membership>,
    ) -> Result<Reply, CoreError> {
        Membership::validate_all(&memberships, |g| self.groups.contains_key(g))?;
        let a = self
            .agents
            .get_mut(id)
            .ok_or_else(|| CoreError::AgentNotFound(id.clone()))?;
        let new: BTreeMap<WorkgroupId, u8> = memberships
            .into_iter()
            .map(|m| (m.workgroup_id, m.level))
            .collect();
        let old = core::mem::replace(&mut a.workgroups, new);
        let touched = old.keys().chain(a.workgroups.keys()).cloned();
        self.forecasts.stale.extend(touched);
        if a.state == AgentState::Ready {
            for (group, level) in &old {
                if let Some(g) = self.groups.get_mut(group) {
                    g.remove(*level, id);
                }
            }
        }
        let now = self.now;
        // Held visitors may belong to a group the agent just left.
        self.release_holds(now, id);
        self.settle(id, now);
        Ok(Reply::Done)
    }

    /// Online <-> Ready: an agent comes back from a break (`ready`) or takes
    /// one. Already being there is not an error.
    pub(crate) fn set_ready(
        &mut self,
        now: Timestamp,
        id: &AgentId,
        away: Option<Option<String>>,
    ) -> Result<Reply, CoreError> {
        // In a call, the choice applies when it ends ("not ready after this call").
        let allowed = [AgentState::Online, AgentState::Ready, AgentState::Busy];
        self.expect_agent_state(id, &allowed, "online, ready or busy")?;
        let away = match away {
            None => None,
            Some(reason) => Some(self.config.not_ready_reason(reason)?),
        };
        let ready = away.is_none();
        if let Some(a) = self.agents.get_mut(id) {
            a.set_away(now, away);
            // A break taken during a pause lasts until the agent comes back.
            a.resume = None;
            if ready {
                a.no_answer = 0;
            }
        }
        self.settle(id, now);
        Ok(Reply::Done)
    }

    /// Any -> Offline. An offer it held goes back to the head of the queue;
    /// calls it held end.
    pub(crate) fn agent_offline(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &AgentId,
    ) -> Result<Reply, CoreError> {
        let agent = self.agent(id)?;
        let offer = agent.offer.clone();
        let calls: Vec<SessionId> = agent.calls.iter().map(|c| c.session_id.clone()).collect();
        // Offline first, so that a released visitor is not offered straight back.
        if let Some(a) = self.agents.get_mut(id) {
            a.signed_in = false;
            // Signed out: no reason to count, and no calls either.
            a.set_away(now, None);
            a.available = false;
        }
        self.settle(id, now);
        if let Some(session) = offer {
            self.withdraw_offer(out, now, &session);
        }
        for session in calls {
            self.finish(out, now, &session, EndReason::AgentOffline, Party::Agent);
        }
        Ok(Reply::Done)
    }

    /// The agent's state if it is one of `allowed`, else a typed conflict.
    pub(crate) fn expect_agent_state(
        &self,
        id: &AgentId,
        allowed: &[AgentState],
        expected: &'static str,
    ) -> Result<&Agent, CoreError> {
        let agent = self.agent(id)?;
        if allowed.contains(&agent.state) {
            Ok(agent)
        } else {
            Err(CoreError::AgentState {
                agent: id.clone(),
                state: agent.state,
                expected,
            })
        }
    }

    /// Whether `session` is rung for `agent` (`offer`) or in a call with it.
    pub(crate) fn agent_holds(&self, agent: &Agent, session: &SessionId, offer: bool) -> bool {
        let Some(s) = self.sessions.get(session) else {
            return false;
        };
        match (&s.stage, offer) {
            (Stage::Ringing { agent: a, .. }, true) | (Stage::Active { agent: a }, false) => {
                a == &agent.id
            }
            _ => false,
        }
    }
}
