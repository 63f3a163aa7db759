//! Agents: the seed's five states and the commands that move between them.
//!
//! | from            | input                 | to      |
//! |-----------------|-----------------------|---------|
//! | (new), Offline, Online, Ready | register | Ready |
//! | Online          | available             | Ready   |
//! | Ready           | not ready (break)     | Online  |
//! | Ready           | offer (dispatch)      | Ringing |
//! | Ringing         | accept                | Busy    |
//! | Ringing         | reject / ring timeout | Ready, visitor re-queued at the head |
//! | Busy            | call ends             | Ready   |
//! | Busy            | transfer away         | Ready   |
//! | Ready           | transfer in           | Busy    |
//! | any             | offline               | Offline, releasing its offer or call |

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::center::{Outbox, State};
use crate::routing::{Candidate, Router, Routing};
use crate::session::{check_text, EndReason, Stage, NAME_MAX};
use crate::stats::Counts;
use crate::timers::{AgentLane, TimerKey};
use crate::{AgentId, CoreError, Party, Reply, SessionId, Timestamp};

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
    /// The session it is rung for (Ringing) or talking in (Busy).
    pub session: Option<SessionId>,
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
            active: 0,
            response_ms: self.response_ms.unwrap_or(NEUTRAL_RESPONSE_MS),
            weight: u64::from(self.weight) * stars_x100.max(1),
        }
    }

    /// Folds one ring-to-answer time into the moving average (weight 1/5).
    pub(crate) fn record_response(&mut self, ms: u64) {
        self.response_ms = Some(match self.response_ms {
            None => ms,
            Some(avg) => (avg * 4 + ms) / 5,
        });
    }
}

/// Moves an agent to `new`, keeping the per-state counts and the router's
/// set of Ready agents in step. Every agent state change goes through here.
pub(crate) fn transition(
    a: &mut Agent,
    new: AgentState,
    now: Timestamp,
    counts: &mut Counts,
    router: &mut Router,
) {
    let old = a.state;
    if old == new {
        return;
    }
    // Leaving Online ends any pause; its timer, if it fires, finds no match.
    a.resume = None;
    a.state = new;
    a.state_since = now;
    counts.agents[old.index()] -= 1;
    counts.agents[new.index()] += 1;
    if old == AgentState::Ready {
        router.remove(&a.id);
    }
    if new == AgentState::Ready {
        router.insert(a.candidate());
    }
}

impl State {
    /// Moves an agent to `new`; see [`transition`].
    pub(crate) fn set_agent_state(&mut self, id: &AgentId, new: AgentState, now: Timestamp) {
        if let Some(a) = self.agents.get_mut(id) {
            transition(a, new, now, &mut self.counts, &mut self.router);
        }
    }

    /// Frees an agent from the session it held: a Ringing agent becomes
    /// Ready; a Busy one starts its after-call work (Online for
    /// `wrap_up_secs`) or is Ready at once; one signing out stays Offline.
    pub(crate) fn release_agent(&mut self, now: Timestamp, id: &AgentId) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        a.session = None;
        match a.state {
            AgentState::Busy if !self.config.wrap_up().is_zero() => {
                a.idle_since = now;
                self.pause(now, id, ResumeReason::WrapUp);
            }
            AgentState::Busy | AgentState::Ringing => {
                if a.state == AgentState::Busy {
                    a.idle_since = now;
                }
                transition(
                    a,
                    AgentState::Ready,
                    now,
                    &mut self.counts,
                    &mut self.router,
                );
            }
            _ => {}
        }
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
        self.set_agent_state(id, AgentState::Online, now);
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
            self.set_agent_state(id, AgentState::Ready, at);
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
        check_text("agent_id", Some(id.as_str()), true, NAME_MAX)?;
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
                    session: None,
                    state_since: now,
                    idle_since: now,
                    response_ms: None,
                    weight: 1,
                    no_answer: 0,
                    resume: None,
                    stats: AgentCallStats::default(),
                };
                self.agents.insert(id.clone(), agent);
                self.counts.agents[AgentState::Offline.index()] += 1;
            }
        }
        self.set_agent_state(id, AgentState::Ready, now);
        if let Some(a) = self.agents.get_mut(id) {
            a.no_answer = 0;
        }
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
        if a.state == AgentState::Ready {
            self.router.insert(a.candidate());
        }
        Ok(Reply::Done)
    }

    /// Online <-> Ready: an agent comes back from a break (`ready`) or takes
    /// one. Already being there is not an error.
    pub(crate) fn set_ready(
        &mut self,
        now: Timestamp,
        id: &AgentId,
        ready: bool,
    ) -> Result<Reply, CoreError> {
        let allowed = [AgentState::Online, AgentState::Ready];
        self.expect_agent_state(id, &allowed, "online or ready")?;
        let to = if ready {
            AgentState::Ready
        } else {
            AgentState::Online
        };
        self.set_agent_state(id, to, now);
        if let Some(a) = self.agents.get_mut(id) {
            // A break taken during a pause lasts until the agent comes back.
            a.resume = None;
            if ready {
                a.no_answer = 0;
            }
        }
        Ok(Reply::Done)
    }

    /// Any -> Offline. An offer it held goes back to the head of the queue; a
    /// call it held ends.
    pub(crate) fn agent_offline(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &AgentId,
    ) -> Result<Reply, CoreError> {
        let agent = self.agent(id)?;
        let (state, held) = (agent.state, agent.session.clone());
        // Offline first, so that a released visitor is not offered straight back.
        self.set_agent_state(id, AgentState::Offline, now);
        if let Some(session) = held {
            match state {
                AgentState::Ringing => self.withdraw_offer(out, now, &session),
                AgentState::Busy => {
                    self.finish(out, now, &session, EndReason::AgentOffline, Party::Agent)
                }
                _ => {}
            }
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

    /// Whether `agent` holds `session` in the stage its state says it should.
    pub(crate) fn agent_holds(&self, agent: &Agent, session: &SessionId) -> bool {
        let Some(s) = self.sessions.get(session) else {
            return false;
        };
        match (&s.stage, agent.state) {
            (Stage::Ringing { agent: a, .. }, AgentState::Ringing)
            | (Stage::Active { agent: a }, AgentState::Busy) => a == &agent.id,
            _ => false,
        }
    }
}
