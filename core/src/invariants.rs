//! The rules that hold after every input, checked from scratch. Tests and the
//! simulator call this after every step; production never pays for it.

use crate::center::State;
use crate::routing::Routing;
use crate::session::Stage;
use crate::timers::Lane;
use crate::{AgentState, SessionStatus};

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

impl State {
    pub(crate) fn check_invariants(&self) -> Result<(), String> {
        // Agents: Ringing/Busy iff holding exactly the session that names them.
        let mut by_state = [0usize; 5];
        for a in self.agents.values() {
            by_state[a.state.index()] += 1;
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
            match (a.state, &a.session) {
                (AgentState::Ringing | AgentState::Busy, Some(sid)) => ensure!(
                    self.agent_holds(a, sid),
                    "agent {} is {} but session {sid} does not name it",
                    a.id,
                    a.state
                ),
                (AgentState::Ringing | AgentState::Busy, None) => {
                    return Err(format!("agent {} is {} with no session", a.id, a.state))
                }
                (_, Some(sid)) => {
                    return Err(format!("agent {} is {} but holds {sid}", a.id, a.state))
                }
                (_, None) => {}
            }
        }
        ensure!(
            by_state == self.counts.agents,
            "agent counts {:?} != recount {by_state:?}",
            self.counts.agents
        );
        ensure!(
            self.router.len() == by_state[AgentState::Ready.index()],
            "router holds {} agents, {} are Ready",
            self.router.len(),
            by_state[AgentState::Ready.index()]
        );

        // Sessions: each stage agrees with the queue, the agents and the timers.
        let (mut queued, mut ringing, mut active) = (0usize, 0usize, 0usize);
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
            match &s.stage {
                Stage::Queued { key } => {
                    queued += 1;
                    ensure!(
                        self.queue.contains(*key, &s.id),
                        "session {} not in queue",
                        s.id
                    );
                    ensure!(
                        s.queue_timer
                            .is_some_and(|t| self.timers.is_armed(Lane::Queue, t)),
                        "queued session {} has no queue timeout",
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
                        a.is_some_and(
                            |a| a.state == AgentState::Ringing && a.session.as_ref() == Some(&s.id)
                        ),
                        "session {} rings {agent}, which does not hold it",
                        s.id
                    );
                }
                Stage::Active { agent } => {
                    active += 1;
                    let a = self.agents.get(agent);
                    ensure!(
                        a.is_some_and(
                            |a| a.state == AgentState::Busy && a.session.as_ref() == Some(&s.id)
                        ),
                        "session {} is with {agent}, which is not Busy on it",
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
            queued == self.queue.len(),
            "{queued} sessions queued, queue holds {}",
            self.queue.len()
        );
        ensure!(
            queued + ringing == self.counts.waiting && active == self.counts.active,
            "status counts waiting={} active={} != recount {}/{active}",
            self.counts.waiting,
            self.counts.active,
            queued + ringing
        );
        ensure!(
            self.visitors.len() == queued + ringing + active,
            "{} visitors indexed, {} sessions open",
            self.visitors.len(),
            queued + ringing + active
        );

        // Bounds.
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

        // Work conservation: nobody queues while an agent is Ready (except
        // under manual routing, where agents pick from the queue themselves).
        ensure!(
            self.queue.is_empty()
                || self.router.is_empty()
                || self.router.mode() == crate::routing::RoutingMode::Manual,
            "{} queued while {} agents are Ready",
            self.queue.len(),
            self.router.len()
        );
        Ok(())
    }
}
