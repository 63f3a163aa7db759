//! Counters kept as things happen, so that statistics cost O(1) to read, and
//! the views built from them.

use serde::{Deserialize, Serialize};

use crate::center::State;
use crate::workgroup::WorkgroupCounters;
use crate::{AgentId, CoreError, EndReason, Timestamp, WorkgroupId};

/// Days of history the daily trend keeps and can be asked for.
pub const TREND_DAYS_MAX: u32 = 366;

/// Lifetime totals of what the center did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Sessions created (queue joins and back-office sessions).
    pub created: u64,
    /// Calls answered.
    pub answered: u64,
    /// Answered calls that ended normally.
    pub completed: u64,
    /// Sessions ended unanswered by the visitor or the back office.
    pub abandoned: u64,
    /// Visitors removed after `queue_timeout_secs`.
    pub queue_timeouts: u64,
    /// Sessions ended after `session_timeout_secs`.
    pub session_timeouts: u64,
    /// Calls ended because the agent signed out.
    pub agent_offline_ends: u64,
    /// Offers that lapsed unanswered.
    pub ring_timeouts: u64,
    /// Offers declined.
    pub rejects: u64,
    /// Calls transferred.
    pub transfers: u64,
    /// Conversations the bot alone served, closed by the visitor.
    #[serde(default)]
    pub bot_resolved: u64,
    /// Messages left for staff when no agent could be reached.
    #[serde(default)]
    pub tickets: u64,
}

impl Totals {
    pub(crate) fn count_end(&mut self, reason: EndReason) {
        let counter = match reason {
            EndReason::Completed => &mut self.completed,
            EndReason::Left | EndReason::Cancelled => &mut self.abandoned,
            EndReason::QueueTimeout => &mut self.queue_timeouts,
            EndReason::SessionTimeout => &mut self.session_timeouts,
            EndReason::AgentOffline => &mut self.agent_offline_ends,
            EndReason::Resolved => &mut self.bot_resolved,
            EndReason::Ticket => &mut self.tickets,
        };
        *counter += 1;
    }
}

/// Ratings so far: the seed's total, average and 1-5 distribution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingStats {
    /// How many ratings.
    pub total: u64,
    /// Sum of stars, for the average.
    pub sum: u64,
    /// `distribution[i]` is the number of `i + 1`-star ratings.
    pub distribution: [u64; 5],
}

impl RatingStats {
    pub(crate) fn add(&mut self, rating: u8) {
        self.total += 1;
        self.sum += u64::from(rating);
        self.distribution[usize::from(rating - 1)] += 1;
    }

    /// Mean stars, 0 when nothing is rated yet.
    pub fn average(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }
}

/// What happened on one UTC day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    /// Sessions created.
    pub created: u64,
    /// Calls answered.
    pub answered: u64,
    /// Answered calls that ended.
    pub completed: u64,
}

/// One row of the daily trend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayTrend {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    /// That day's counts.
    #[serde(flatten)]
    pub counts: DayCounts,
}

/// Open and past sessions by status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCounts {
    /// Ever created.
    pub total: u64,
    /// Waiting now (queued or being rung).
    pub waiting: usize,
    /// Active now.
    pub active: usize,
    /// With a bot now.
    #[serde(default)]
    pub bot: usize,
    /// Ended so far.
    pub ended: u64,
}

/// Registered agents by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentCounts {
    /// Registered agents.
    pub total: usize,
    /// Signed out.
    pub offline: usize,
    /// Signed in, not Ready.
    pub online: usize,
    /// Ready for a call.
    pub ready: usize,
    /// Being rung.
    pub ringing: usize,
    /// On a call.
    pub busy: usize,
}

/// The queue right now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    /// Visitors queued (not counting those being rung).
    pub length: usize,
    /// `max_queue_size`.
    pub max: usize,
    /// How long the longest-waiting queued visitor has waited, in ms.
    pub longest_wait_ms: u64,
}

/// Everything the seed's `/stats` shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Sessions by status.
    pub sessions: SessionCounts,
    /// Agents by state.
    pub agents: AgentCounts,
    /// The queue.
    pub queue: QueueStats,
    /// Ratings.
    pub ratings: RatingStats,
    /// Lifetime totals.
    pub totals: Totals,
}

/// One workgroup right now, and its service so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkgroupStats {
    /// The workgroup.
    pub workgroup_id: WorkgroupId,
    /// Its routing mode.
    pub routing_mode: crate::routing::RoutingMode,
    /// Its own visitors queued now.
    pub waiting: usize,
    /// Other groups' visitors now eligible here (overflowed).
    pub overflowed_in: usize,
    /// How long its longest-waiting queued visitor has waited, in ms.
    pub longest_wait_ms: u64,
    /// Members Ready now.
    pub ready_agents: usize,
    /// The agent it would ring next, advancing nothing.
    pub next_agent_id: Option<AgentId>,
    /// Share of visitors answered within `service_level_secs`, among those
    /// answered or abandoned; None before any.
    pub service_level: Option<f64>,
    /// The threshold, in seconds.
    pub service_level_secs: u64,
    /// Mean join-to-answer time of answered visitors, in ms.
    pub average_answer_ms: Option<u64>,
    /// Lifetime counters.
    #[serde(flatten)]
    pub counters: WorkgroupCounters,
}

/// Per-state counters kept in step by every transition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Counts {
    pub(crate) waiting: usize,
    pub(crate) active: usize,
    pub(crate) agents: [usize; 5],
    /// Sessions with a bot.
    #[serde(default)]
    pub(crate) bot: usize,
}

impl State {
    pub(crate) fn day_mut(&mut self, now: Timestamp) -> &mut DayCounts {
        let day = now.day();
        let oldest_kept = day.saturating_sub(u64::from(TREND_DAYS_MAX));
        while let Some(entry) = self.trend.first_entry() {
            if *entry.key() >= oldest_kept {
                break;
            }
            entry.remove();
        }
        self.trend.entry(day).or_default()
    }

    pub(crate) fn stats(&self) -> Stats {
        let a = &self.counts.agents;
        let longest_wait_ms = self
            .groups
            .values()
            .flat_map(|g| g.queue.iter())
            .filter_map(|(_, id)| self.sessions.get(id))
            .map(|s| self.now.saturating_since(s.waiting_since()).as_millis() as u64)
            .max()
            .unwrap_or(0);
        let open = self.counts.waiting + self.counts.active + self.counts.bot;
        Stats {
            sessions: SessionCounts {
                total: self.totals.created,
                waiting: self.counts.waiting,
                active: self.counts.active,
                bot: self.counts.bot,
                ended: self.totals.created - open as u64,
            },
            agents: AgentCounts {
                total: self.agents.len(),
                offline: a[0],
                online: a[1],
                ready: a[2],
                ringing: a[3],
                busy: a[4],
            },
            queue: QueueStats {
                length: self.queued(),
                max: self.config.max_queue_size,
                longest_wait_ms,
            },
            ratings: self.ratings,
            totals: self.totals,
        }
    }

    /// One workgroup's figures. Longest wait costs O(its queue): a read for
    /// the back office, never on the dispatch path.
    pub(crate) fn workgroup_stats(&self, id: &str) -> Result<WorkgroupStats, CoreError> {
        let g = self
            .groups
            .get(id)
            .ok_or_else(|| CoreError::WorkgroupNotFound(WorkgroupId::from(id)))?;
        let c = g.counters;
        let longest_wait_ms = g
            .queue
            .iter()
            .filter_map(|(_, sid)| self.sessions.get(sid))
            .map(|s| self.now.saturating_since(s.waiting_since()).as_millis() as u64)
            .max()
            .unwrap_or(0);
        let settled = c.answered + c.abandoned;
        Ok(WorkgroupStats {
            workgroup_id: g.id.clone(),
            routing_mode: g.settings.routing_mode,
            waiting: g.queue.len(),
            overflowed_in: g.overflow_in.len(),
            longest_wait_ms,
            ready_agents: g.ready_len(),
            next_agent_id: self.next_agent_in(g),
            service_level: (settled > 0).then(|| c.answered_in_time as f64 / settled as f64),
            service_level_secs: g.settings.service_level_secs,
            average_answer_ms: c.wait_ms_total.checked_div(c.answered),
            counters: c,
        })
    }

    /// The last `days` UTC days up to today, oldest first, zero-filled.
    pub(crate) fn trend(&self, days: u32) -> Result<Vec<DayTrend>, CoreError> {
        if days == 0 || days > TREND_DAYS_MAX {
            return Err(CoreError::InvalidInput {
                field: "days",
                reason: "must be from 1 to 366",
            });
        }
        let today = self.now.day();
        let first = today.saturating_sub(u64::from(days) - 1);
        Ok((first..=today)
            .map(|day| DayTrend {
                date: Timestamp::date_of_day(day),
                counts: self.trend.get(&day).copied().unwrap_or_default(),
            })
            .collect())
    }
}
