//! Workgroups (skill groups). Each has its own queue, routing mode and
//! settings; agents belong to one or more with a skill level, and a visitor
//! joins one (`preferred_skill`, or `default`).
//!
//! Rules:
//! - Within a workgroup, Ready agents of the highest skill level are offered
//!   calls first; the group's routing mode picks among them.
//! - With overflow set, a visitor who has waited `overflow_after_secs` since
//!   joining may also be served by the `overflow_to` group's agents, while
//!   keeping their place in their own queue. Whichever group frees an agent
//!   first serves them; the fallback group serves its own visitors and
//!   overflowed ones in queue-key order (priority and waiting time).
//! - Service level is the share of visitors answered within
//!   `service_level_secs` of joining, among those answered or abandoned.

use core::time::Duration;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bot::{BotCounters, BotSettings};
use crate::center::State;
use crate::forecast::Traffic;
use crate::queue::{Queue, QueueKey};
use crate::routing::{Candidate, Placing, Router, Routing, RoutingMode};

use crate::timers::Deadline;
use crate::{AgentId, CoreError, Prng, Reply, SessionId, Timestamp, WorkgroupId};

/// The workgroup every center has, which visitors join unless they ask for
/// another and every new agent belongs to.
pub const DEFAULT_WORKGROUP: &str = "default";
/// The workgroup a visitor asking for `preferred_skill` queues in: that
/// one, or the default.
pub fn joined_workgroup(preferred_skill: Option<&str>) -> WorkgroupId {
    WorkgroupId::from(preferred_skill.unwrap_or(DEFAULT_WORKGROUP))
}

/// Most workgroups a center holds.
pub const WORKGROUPS_MAX: usize = 256;
/// Most workgroups one agent belongs to.
pub const MEMBERSHIPS_MAX: usize = 32;
/// Highest skill level; levels run from 1 to this, higher offered first.
pub const SKILL_LEVEL_MAX: u8 = 10;
/// Longest overflow wait or service-level threshold: a day.
const SECS_MAX: u64 = 86_400;

/// A workgroup's settings, all changeable at runtime.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkgroupSettings {
    /// Display name; the id when absent.
    pub name: Option<String>,
    /// How a Ready agent is chosen for this group's visitors.
    pub routing_mode: RoutingMode,
    /// Seconds after joining at which a visitor may also be served by
    /// `overflow_to`; set both or neither.
    pub overflow_after_secs: Option<u64>,
    /// The fallback workgroup.
    pub overflow_to: Option<WorkgroupId>,
    /// The service-level threshold: answered within this many seconds counts.
    pub service_level_secs: u64,
    /// The service-level target: the share (percent, 1 to 99) of visitors
    /// to answer within `service_level_secs`, for the staffing advice.
    pub service_level_percent: u8,
    /// Whether visitors without a credential may join this group's queue
    /// (the public entry page and link); staff may always queue a visitor.
    pub public_join: bool,
    /// Whether visitors see when the agent has read their messages.
    pub read_receipts: bool,
    /// A bot that answers the group's visitors first and hands over.
    pub bot: Option<Box<BotSettings>>,
}

impl Default for WorkgroupSettings {
    fn default() -> Self {
        WorkgroupSettings {
            name: None,
            routing_mode: RoutingMode::default(),
            overflow_after_secs: None,
            overflow_to: None,
            service_level_secs: 20,
            service_level_percent: 80,
            public_join: true,
            read_receipts: true,
            bot: None,
        }
    }
}

/// Where a group's visitors overflow, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Overflow {
    pub(crate) after: Duration,
    pub(crate) to: WorkgroupId,
}

impl WorkgroupSettings {
    /// Checks the settings of group `id`, given which groups exist.
    pub(crate) fn validate(
        &self,
        id: &WorkgroupId,
        exists: impl Fn(&WorkgroupId) -> bool,
    ) -> Result<(), CoreError> {
        crate::limits::check_text("name", self.name.as_deref(), false, crate::limits::NAME_MAX)?;
        let invalid = |field, reason| Err(CoreError::InvalidInput { field, reason });
        if !(1..=SECS_MAX).contains(&self.service_level_secs) {
            return invalid("service_level_secs", "must be from 1 to 86400");
        }
        if !(1..=99).contains(&self.service_level_percent) {
            return invalid("service_level_percent", "must be from 1 to 99");
        }
        if let Some(bot) = &self.bot {
            bot.validate()?;
        }
        match (&self.overflow_after_secs, &self.overflow_to) {
            (None, None) => Ok(()),
            (Some(after), Some(to)) => {
                if !(1..=SECS_MAX).contains(after) {
                    invalid("overflow_after_secs", "must be from 1 to 86400")
                } else if to == id {
                    invalid("overflow_to", "must be another workgroup")
                } else if !exists(to) {
                    Err(CoreError::WorkgroupNotFound(to.clone()))
                } else {
                    Ok(())
                }
            }
            _ => invalid(
                "overflow_after_secs",
                "must be set together with overflow_to",
            ),
        }
    }

    pub(crate) fn overflow(&self) -> Option<Overflow> {
        match (&self.overflow_after_secs, &self.overflow_to) {
            (Some(after), Some(to)) => Some(Overflow {
                after: Duration::from_secs(*after),
                to: to.clone(),
            }),
            _ => None,
        }
    }
}

/// An agent's place in a workgroup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    /// The workgroup.
    pub workgroup_id: WorkgroupId,
    /// Skill level, 1 to 10; higher levels are offered calls first.
    #[serde(default = "Membership::default_level")]
    pub level: u8,
}

impl Membership {
    fn default_level() -> u8 {
        1
    }

    /// Checks a whole set of memberships, given which groups exist.
    pub(crate) fn validate_all(
        all: &[Membership],
        exists: impl Fn(&WorkgroupId) -> bool,
    ) -> Result<(), CoreError> {
        let invalid = |reason| {
            Err(CoreError::InvalidInput {
                field: "workgroups",
                reason,
            })
        };
        if all.is_empty() {
            return invalid("must name at least one workgroup");
        }
        if all.len() > MEMBERSHIPS_MAX {
            return invalid("must name at most 32 workgroups");
        }
        for (i, m) in all.iter().enumerate() {
            if !(1..=SKILL_LEVEL_MAX).contains(&m.level) {
                return Err(CoreError::InvalidInput {
                    field: "level",
                    reason: "must be an integer from 1 to 10",
                });
            }
            if all[..i].iter().any(|o| o.workgroup_id == m.workgroup_id) {
                return invalid("must not name a workgroup twice");
            }
            if !exists(&m.workgroup_id) {
                return Err(CoreError::WorkgroupNotFound(m.workgroup_id.clone()));
            }
        }
        Ok(())
    }
}

/// What a workgroup has done, counted as it happens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkgroupCounters {
    /// Visitors who joined this group.
    pub offered: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Answered within `service_level_secs` of joining.
    pub answered_in_time: u64,
    /// Ended before being answered (left, cancelled, timed out).
    pub abandoned: u64,
    /// Sum of join-to-answer times of answered visitors, for the average.
    pub wait_ms_total: u64,
}

/// One workgroup: settings, counters, and its queue and Ready agents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workgroup {
    /// Chosen at creation.
    pub id: WorkgroupId,
    /// Current settings.
    pub settings: WorkgroupSettings,
    /// Lifetime counters.
    pub counters: WorkgroupCounters,
    /// Ready members by skill level, each level under the group's mode.
    pub(crate) tiers: BTreeMap<u8, Router>,
    /// This group's own waiting visitors.
    pub(crate) queue: Queue,
    /// Other groups' visitors past their overflow time, eligible here too.
    pub(crate) overflow_in: Queue,
    /// The last hour's traffic, for the staffing advice.
    #[serde(default)]
    pub(crate) traffic: Traffic,
    /// The front desk's figures.
    #[serde(default)]
    pub bot: BotCounters,
}

impl Workgroup {
    pub(crate) fn new(id: WorkgroupId, settings: WorkgroupSettings) -> Self {
        Workgroup {
            id,
            settings,
            counters: WorkgroupCounters::default(),
            tiers: BTreeMap::new(),
            queue: Queue::default(),
            overflow_in: Queue::default(),
            traffic: Traffic::default(),
            bot: BotCounters::default(),
        }
    }

    /// Display name.
    pub fn name(&self) -> &str {
        self.settings.name.as_deref().unwrap_or(self.id.as_str())
    }

    /// Visitors queued in this group (not counting overflowed ones from elsewhere).
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Ready members.
    pub fn ready_len(&self) -> usize {
        self.tiers.values().map(Routing::len).sum()
    }

    pub(crate) fn has_ready(&self) -> bool {
        self.tiers.values().any(|t| !t.is_empty())
    }

    /// The next visitor this group's agents would serve: its own queue's head
    /// or an overflowed visitor, whichever key is smaller.
    pub(crate) fn front(&self) -> Option<(QueueKey, &SessionId)> {
        match (self.queue.front(), self.overflow_in.front()) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    /// A member became Ready (or changed while Ready) at `level`.
    pub(crate) fn insert(&mut self, level: u8, agent: Candidate<'_>) {
        let mode = self.settings.routing_mode;
        self.tiers
            .entry(level)
            .or_insert_with(|| Router::new(mode))
            .insert(agent);
    }

    /// A member at `level` is no longer Ready.
    pub(crate) fn remove(&mut self, level: u8, agent: &AgentId) {
        if let Some(t) = self.tiers.get_mut(&level) {
            t.remove(agent);
        }
    }

    /// Drops the Ready set, for a new routing mode; the caller re-inserts.
    pub(crate) fn reset_tiers(&mut self) {
        self.tiers.clear();
    }

    /// The agent, and its level, this group's mode chooses for `placing`.
    /// Under `recent` the visitor's last agent wins at any level.
    pub(crate) fn choose(&self, placing: Placing<'_>, rng: &mut Prng) -> Option<(u8, AgentId)> {
        if self.settings.routing_mode == RoutingMode::Recent {
            if let Some(last) = placing.last_agent {
                let tier = self
                    .tiers
                    .iter()
                    .find(|(_, t)| matches!(t, Router::Recent(rr) if rr.contains(last)));
                if let Some((level, _)) = tier {
                    return Some((*level, last.clone()));
                }
            }
        }
        self.tiers
            .iter()
            .rev()
            .find_map(|(level, t)| t.choose(placing, rng).map(|a| (*level, a)))
    }

    /// What [`choose`](Workgroup::choose) would pick, advancing nothing.
    pub(crate) fn peek(&self, placing: Placing<'_>, rng: &Prng) -> Option<AgentId> {
        self.choose(placing, &mut rng.clone()).map(|(_, a)| a)
    }

    /// `agent`, at `level`, was chosen: advance that level's cursor.
    pub(crate) fn picked(&mut self, level: u8, agent: &AgentId) {
        if let Some(t) = self.tiers.get_mut(&level) {
            t.picked(agent);
        }
    }
}

impl State {
    /// Adds a workgroup.
    pub(crate) fn create_workgroup(
        &mut self,
        id: WorkgroupId,
        settings: WorkgroupSettings,
    ) -> Result<Reply, CoreError> {
        crate::limits::check_id("workgroup_id", id.as_str())?;
        if self.groups.contains_key(&id) {
            return Err(CoreError::WorkgroupExists(id));
        }
        if self.groups.len() >= WORKGROUPS_MAX {
            return Err(CoreError::TooManyWorkgroups {
                max: WORKGROUPS_MAX,
            });
        }
        settings.validate(&id, |g| self.groups.contains_key(g))?;
        self.groups
            .insert(id.clone(), Workgroup::new(id.clone(), settings));
        self.rebuild_group(&id);
        self.forecasts.stale.insert(id.clone());
        Ok(Reply::Done)
    }

    /// Replaces a workgroup's settings, re-placing its waiting visitors under
    /// the new overflow rule and rebuilding its routing for a new mode.
    pub(crate) fn update_workgroup(
        &mut self,
        now: Timestamp,
        id: &WorkgroupId,
        settings: WorkgroupSettings,
    ) -> Result<Reply, CoreError> {
        if !self.groups.contains_key(id) {
            return Err(CoreError::WorkgroupNotFound(id.clone()));
        }
        settings.validate(id, |g| self.groups.contains_key(g))?;
        let stranded = self.sessions.values().any(|s| {
            &s.workgroup == id
                && s.status() == crate::SessionStatus::Bot
                && !settings.bot.as_ref().is_some_and(|b| b.fronts(s.channel))
        });
        if stranded {
            return Err(CoreError::InvalidInput {
                field: "bot",
                reason: "cannot stop fronting visitors who are with it now",
            });
        }
        let Some(g) = self.groups.get_mut(id) else {
            return Ok(Reply::Done);
        };
        let old = core::mem::replace(&mut g.settings, settings);
        let (mode_changed, overflow_changed) = (
            old.routing_mode != g.settings.routing_mode,
            old.overflow() != g.settings.overflow(),
        );
        if overflow_changed {
            let waiting: Vec<(QueueKey, SessionId)> =
                g.queue.iter().map(|(k, s)| (*k, s.clone())).collect();
            if let Some(overflow) = old.overflow() {
                for (key, sid) in &waiting {
                    let created = self.sessions.get(sid).map(|s| s.waiting_since());
                    if let Some(created) = created {
                        let at = created.saturating_add(overflow.after);
                        self.timers.cancel_at(Deadline::Overflow, at, sid);
                    }
                    if let Some(to) = self.groups.get_mut(&overflow.to) {
                        to.overflow_in.remove(*key);
                    }
                }
            }
            for (_, sid) in &waiting {
                self.place_overflow(now, sid);
            }
        }
        if mode_changed {
            self.rebuild_group(id);
        }
        self.dirty.insert(id.clone());
        self.forecasts.stale.insert(id.clone());
        // Keep the config's mode for `default` in step, so that a snapshot
        // and a reconfigure agree on it.
        if id.as_str() == DEFAULT_WORKGROUP {
            if let Some(g) = self.groups.get(id) {
                self.config.routing_mode = g.settings.routing_mode;
            }
        }
        Ok(Reply::Done)
    }
}
