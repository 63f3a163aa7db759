//! The rules that hold after every input, checked from scratch. Tests and the
//! simulator call this after every step; production never pays for it.

use crate::center::State;
use crate::queue::QueueKey;
use crate::routing::RoutingMode;
use crate::session::Stage;
use crate::timers::{Deadline, Lane};
use crate::workgroup::{DEFAULT_WORKGROUP, WORKGROUPS_MAX};
use crate::{AgentState, SessionId, SessionStatus};

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

impl State {
    pub(crate) fn check_invariants(&self) -> Result<(), String> {
        self.check_agents()?;
        self.check_sessions()?;
        self.check_workgroups()?;
        self.check_bounds()
    }

    /// Each agent's state follows from what it holds; it holds exactly the
    /// sessions that name it, never beyond its capacity.
    fn check_agents(&self) -> Result<(), String> {
        let mut by_state = [0usize; 5];
        for a in self.agents.values() {
            by_state[a.state.index()] += 1;
            ensure!(
                a.state == a.derived_state(),
                "agent {} is {} but what it holds makes it {}",
                a.id,
                a.state,
                a.derived_state()
            );
            ensure!(
                a.load() <= a.max_concurrent as usize,
                "agent {} holds {} sessions, capacity {}",
                a.id,
                a.load(),
                a.max_concurrent
            );
            if let Some(r) = a.resume {
                ensure!(
                    a.state == AgentState::Online,
                    "agent {} pauses while {}",
                    a.id,
                    a.state
                );
                ensure!(
                    self.timers.is_armed_agent(r.reason.lane(), r.timer),
                    "agent {} pauses with no timer",
                    a.id
                );
            }
            if let Some(sid) = &a.offer {
                ensure!(
                    self.agent_holds(a, sid, true),
                    "agent {} is offered {sid}, which does not ring it",
                    a.id
                );
            }
            for c in &a.calls {
                ensure!(
                    self.agent_holds(a, &c.session_id, false),
                    "agent {} is in {}, which is not Active with it",
                    a.id,
                    c.session_id
                );
            }
            for (key, sid) in a.held.iter() {
                let held_here = self.sessions.get(sid).is_some_and(|s| {
                    matches!(&s.stage, Stage::Held { key: k, agent, .. } if k == key && agent == &a.id)
                });
                ensure!(held_here, "agent {} holds {sid} in its line wrongly", a.id);
            }
            ensure!(
                a.held.is_empty() || (a.signed_in && a.available && a.state != AgentState::Ready),
                "agent {} is {} with visitors held for it",
                a.id,
                a.state
            );
            for g in a.workgroups.keys() {
                ensure!(
                    self.groups.contains_key(g),
                    "agent {} belongs to missing workgroup {g}",
                    a.id
                );
            }
        }
        ensure!(
            by_state == self.counts.agents,
            "agent counts {:?} != recount {by_state:?}",
            self.counts.agents
        );
        Ok(())
    }

    /// Each session's stage agrees with its queue, its agent and the timers.
    fn check_sessions(&self) -> Result<(), String> {
        let (mut queued, mut held, mut ringing, mut active, mut bot) = (0usize, 0, 0, 0, 0);
        for s in self.sessions.values() {
            let open = s.status() != SessionStatus::Ended;
            ensure!(
                (self.visitors.get(&s.customer_id) == Some(&s.id)) == open,
                "session {} ({}) disagrees with the visitor index",
                s.id,
                s.status()
            );
            ensure!(
                s.timeout_timer
                    .is_some_and(|t| self.timers.is_armed(Lane::Session, t))
                    == open,
                "session {} ({}) session-timeout timer is wrong",
                s.id,
                s.status()
            );
            self.check_desk(s)?;
            match &s.stage {
                Stage::Bot => {
                    bot += 1;
                    ensure!(
                        s.queue_timer.is_none(),
                        "session {} with the bot has a queue timeout",
                        s.id
                    );
                }
                Stage::Queued { key } => {
                    queued += 1;
                    ensure!(
                        self.groups
                            .get(&s.workgroup)
                            .is_some_and(|g| g.queue.contains(*key, &s.id)),
                        "session {} not in its workgroup's queue",
                        s.id
                    );
                    ensure!(
                        s.queue_timer
                            .is_some_and(|t| self.timers.is_armed(Lane::Queue, t)),
                        "queued session {} has no queue timeout",
                        s.id
                    );
                    ensure!(
                        self.overflow_placed(&s.id, *key),
                        "queued session {} is misplaced for overflow",
                        s.id
                    );
                }
                Stage::Held { key, agent, until } => {
                    held += 1;
                    ensure!(
                        self.agents
                            .get(agent)
                            .is_some_and(|a| a.held.contains(*key, &s.id)),
                        "session {} held for {agent}, not in its line",
                        s.id
                    );
                    ensure!(
                        self.timers.is_armed_at(Deadline::Hold, *until, &s.id),
                        "held session {} has no hold timer",
                        s.id
                    );
                    ensure!(
                        s.queue_timer
                            .is_some_and(|t| self.timers.is_armed(Lane::Queue, t)),
                        "held session {} has no queue timeout",
                        s.id
                    );
                }
                Stage::Ringing { agent, timer, .. } => {
                    ringing += 1;
                    ensure!(
                        self.timers.is_armed(Lane::Ring, *timer),
                        "session {} ring timer missing",
                        s.id
                    );
                    let a = self.agents.get(agent);
                    ensure!(
                        a.is_some_and(|a| a.offer.as_ref() == Some(&s.id)),
                        "session {} rings {agent}, which does not hold it",
                        s.id
                    );
                }
                Stage::Active { agent } => {
                    active += 1;
                    ensure!(
                        s.agent_id.as_ref() == Some(agent),
                        "session {} is with {agent} but names {:?} its agent",
                        s.id,
                        s.agent_id
                    );
                    let a = self.agents.get(agent);
                    ensure!(
                        a.is_some_and(|a| a.calls.iter().any(|c| c.session_id == s.id)),
                        "session {} is with {agent}, which does not hold it",
                        s.id
                    );
                    ensure!(
                        s.started_at.is_some(),
                        "active session {} never started",
                        s.id
                    );
                }
                Stage::Ended => ensure!(s.ended_at.is_some(), "ended session {} has no end", s.id),
            }
        }
        ensure!(
            queued == self.queued(),
            "{queued} sessions queued, queues hold {}",
            self.queued()
        );
        let waiting = queued + held + ringing;
        ensure!(
            waiting == self.counts.waiting && active == self.counts.active,
            "status counts waiting={} active={} != recount {waiting}/{active}",
            self.counts.waiting,
            self.counts.active,
        );
        ensure!(
            bot == self.counts.bot,
            "{} sessions counted with the bot, {bot} are",
            self.counts.bot
        );
        ensure!(
            self.visitors.len() == waiting + active + bot,
            "{} visitors indexed, {} sessions open",
            self.visitors.len(),
            waiting + active + bot
        );
        Ok(())
    }

    /// A session's front-desk conversation agrees with its stage: with the
    /// bot while talking, retrying or in the fallback; in the queue while
    /// handing over; over once the session is answered or ended, with an
    /// outcome at the end; its one deadline armed.
    fn check_desk(&self, s: &crate::Session) -> Result<(), String> {
        use crate::bot::BotPhase;
        let Some(b) = &s.bot else {
            ensure!(
                !matches!(s.stage, Stage::Bot),
                "session {} is with a bot it has no conversation with",
                s.id
            );
            return Ok(());
        };
        let fits = match (&s.stage, b.phase) {
            (Stage::Bot, BotPhase::Talking | BotPhase::Retrying | BotPhase::Fallback) => true,
            (
                Stage::Queued { .. } | Stage::Held { .. } | Stage::Ringing { .. },
                BotPhase::HandingOver,
            ) => true,
            (Stage::Active { .. }, BotPhase::Done) => b.outcome.is_some(),
            (Stage::Ended, BotPhase::Done) => b.outcome.is_some(),
            _ => false,
        };
        ensure!(
            fits,
            "session {} is {} while its bot conversation is {:?}",
            s.id,
            s.status(),
            b.phase
        );
        if let Some((at, _)) = b.due {
            ensure!(
                self.timers.is_armed_bot(at, &s.id),
                "session {}'s front-desk deadline is not armed",
                s.id
            );
        }
        Ok(())
    }

    /// Each workgroup's Ready set is exactly its Ready members; overflowed
    /// visitors are queued in a group that overflows there; and nobody waits
    /// where an agent is Ready (work conservation), except under manual
    /// routing, where agents pick from the queue themselves.
    fn check_workgroups(&self) -> Result<(), String> {
        ensure!(
            self.dirty.is_empty() && self.held_ready.is_empty(),
            "dispatch left groups or agents to look at"
        );
        ensure!(
            self.groups.contains_key(DEFAULT_WORKGROUP),
            "the default workgroup is missing"
        );
        for g in self.groups.values() {
            ensure!(
                g.settings
                    .overflow()
                    .is_none_or(|o| self.groups.contains_key(&o.to)),
                "workgroup {} overflows to a missing group",
                g.id
            );
            for (level, tier) in &g.tiers {
                ensure!(
                    tier.mode() == g.settings.routing_mode,
                    "workgroup {} level {level} routes by {:?}",
                    g.id,
                    tier.mode()
                );
            }
            let members = self
                .agents
                .values()
                .filter(|a| a.state == AgentState::Ready && a.workgroups.contains_key(&g.id))
                .count();
            ensure!(
                g.ready_len() == members,
                "workgroup {} routes among {} agents, {members} members are Ready",
                g.id,
                g.ready_len()
            );
            for (key, sid) in g.overflow_in.iter() {
                let from = self.sessions.get(sid).and_then(|s| {
                    let source = self.groups.get(&s.workgroup)?;
                    let to = source.settings.overflow()?.to;
                    source.queue.contains(*key, sid).then_some(to)
                });
                ensure!(
                    from.as_ref() == Some(&g.id),
                    "workgroup {} holds overflowed {sid}, which is not queued to overflow here",
                    g.id
                );
            }
            ensure!(
                g.front().is_none()
                    || !g.has_ready()
                    || g.settings.routing_mode == RoutingMode::Manual,
                "workgroup {}: {} waiting while {} members are Ready",
                g.id,
                g.queue.len() + g.overflow_in.len(),
                g.ready_len()
            );
        }
        Ok(())
    }

    fn check_bounds(&self) -> Result<(), String> {
        ensure!(
            self.counts.waiting <= self.config.max_queue_size,
            "{} waiting > max_queue_size {}",
            self.counts.waiting,
            self.config.max_queue_size
        );
        ensure!(
            self.counts.waiting + self.counts.active <= self.config.max_sessions,
            "open sessions exceed max_sessions"
        );
        ensure!(
            self.ended.len() <= self.config.ended_sessions_max,
            "more ended sessions held than ended_sessions_max"
        );
        ensure!(
            self.agents.len() <= self.config.max_agents,
            "more agents than max_agents"
        );
        ensure!(
            self.groups.len() <= WORKGROUPS_MAX,
            "more workgroups than the bound"
        );
        Ok(())
    }

    /// Whether queued session `sid` (at `key`) is where its group's overflow
    /// rule puts it now: eligible in the fallback group once due, else with
    /// its overflow timer armed.
    fn overflow_placed(&self, sid: &SessionId, key: QueueKey) -> bool {
        let Some(s) = self.sessions.get(sid) else {
            return false;
        };
        let Some(overflow) = self
            .groups
            .get(&s.workgroup)
            .and_then(|g| g.settings.overflow())
        else {
            return true;
        };
        let at = s.created_at.saturating_add(overflow.after);
        let eligible = self
            .groups
            .get(&overflow.to)
            .is_some_and(|g| g.overflow_in.contains(key, sid));
        matches!(s.stage, Stage::Queued { .. })
            && if self.now < at {
                !eligible && self.timers.is_armed_at(Deadline::Overflow, at, sid)
            } else {
                eligible
            }
    }
}
