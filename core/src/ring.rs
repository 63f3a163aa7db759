//! Two-phase assignment: a visitor leaves the queue, an agent is rung, and the
//! call starts only when the agent answers. Also dispatch, which decides when
//! to ring.

use core::time::Duration;

use crate::agent::{Call, ResumeReason};
use crate::center::{Outbox, State};
use crate::queue::QueueKey;
use crate::routing::{Placing, RoutingMode};
use crate::session::Stage;
use crate::timers::{Deadline, Lane};
use crate::{
    AgentId, AgentState, CoreError, EndReason, EventKind, Media, Party, Recipient, Reply,
    SessionId, Timestamp, VisitorId, WorkgroupId,
};

impl State {
    /// Rings agents for queued visitors while a workgroup has both. Called
    /// after every input, so a Ready agent and a waiting visitor meet at once.
    /// Only groups marked dirty (an agent became Ready, a visitor arrived)
    /// are looked at; among them, the visitor with the smallest queue key is
    /// served first.
    pub(crate) fn dispatch(&mut self, out: &mut Outbox, now: Timestamp) {
        // Agents back to Ready first serve the visitors held for them.
        while let Some(agent) = self.held_ready.pop_first() {
            let next = self
                .agents
                .get(&agent)
                .filter(|a| a.state == AgentState::Ready)
                .and_then(|a| a.held.front().map(|(_, id)| id.clone()));
            if let Some(id) = next {
                self.unqueue(&id);
                self.offer(out, now, &id, &agent);
            }
        }
        while let Some(group) = self.next_dirty() {
            let Some(g) = self.groups.get(&group) else {
                continue;
            };
            let Some((_, id)) = g.front() else {
                continue;
            };
            let id = id.clone();
            let Some(visitor) = self.sessions.get(&id).map(|s| s.customer_id.clone()) else {
                // Unreachable while the invariants hold.
                self.dirty.remove(&group);
                continue;
            };
            let placing = Placing {
                visitor: &visitor,
                last_agent: self.last_agent.get(&visitor).map(|(a, _)| a),
            };
            let Some((level, agent)) = g.choose(placing, &mut self.rng) else {
                self.dirty.remove(&group);
                continue;
            };
            if let Some(g) = self.groups.get_mut(&group) {
                g.picked(level, &agent);
            }
            self.unqueue(&id);
            self.offer(out, now, &id, &agent);
        }
    }

    /// The dirty group whose next visitor has the smallest key, among those
    /// that could ring someone; forgets the ones that cannot.
    fn next_dirty(&mut self) -> Option<WorkgroupId> {
        let mut best: Option<(QueueKey, WorkgroupId)> = None;
        let groups = &self.groups;
        self.dirty.retain(|id| {
            let Some(g) = groups.get(id) else {
                return false;
            };
            let front = g.front().map(|(key, _)| key);
            match front {
                Some(key) if g.has_ready() && g.settings.routing_mode != RoutingMode::Manual => {
                    if best.as_ref().is_none_or(|(b, _)| key < *b) {
                        best = Some((key, id.clone()));
                    }
                    true
                }
                _ => false,
            }
        });
        best.map(|(_, id)| id)
    }

    /// Takes a queued session out of its queue, and out of its overflow
    /// group's, cancelling any overflow timer; or a held one out of its
    /// agent's line, cancelling the hold.
    pub(crate) fn unqueue(&mut self, id: &SessionId) {
        let Some(s) = self.sessions.get(id) else {
            return;
        };
        let key = match &s.stage {
            Stage::Queued { key } => *key,
            Stage::Held { key, agent, until } => {
                self.timers.cancel_at(Deadline::Hold, *until, id);
                if let Some(a) = self.agents.get_mut(agent) {
                    a.held.remove(*key);
                }
                return;
            }
            _ => return,
        };
        let Some(g) = self.groups.get_mut(&s.workgroup) else {
            return;
        };
        g.queue.remove(key);
        if let Some(overflow) = g.settings.overflow() {
            let at = s.waiting_since().saturating_add(overflow.after);
            self.timers.cancel_at(Deadline::Overflow, at, id);
            if let Some(to) = self.groups.get_mut(&overflow.to) {
                to.overflow_in.remove(key);
            }
        }
    }

    /// Puts a Waiting session in its group's queue (at the head after a
    /// reject or ring timeout) and tells the visitor their place. Returns
    /// that place.
    pub(crate) fn enqueue(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &SessionId,
        at_head: bool,
    ) -> usize {
        let Some(s) = self.sessions.get_mut(id) else {
            return 0;
        };
        let key = if at_head {
            self.keys.head()
        } else {
            self.keys
                .tail(s.virtual_arrival(self.config.priority_aging_secs))
        };
        s.stage = Stage::Queued { key };
        let (customer, group) = (s.customer_id.clone(), s.workgroup.clone());
        let Some(g) = self.groups.get_mut(&group) else {
            return 0;
        };
        g.queue.insert(key, id.clone());
        let position = g.queue.position(key);
        if g.has_ready() {
            self.dirty.insert(group.clone());
        }
        self.place_overflow(now, id);
        out.push(
            Recipient::Visitor(customer),
            EventKind::Queued {
                session_id: id.clone(),
                position,
            },
        );
        position
    }

    /// Under `recent` routing with `recent_wait_secs`, the last agent a new
    /// visitor of `group` should wait for: a member, signed in and wanting
    /// calls, but not Ready now (busy, rung or wrapping up).
    pub(crate) fn hold_for(
        &self,
        group: &WorkgroupId,
        visitor: &VisitorId,
        any_mode: bool,
    ) -> Option<AgentId> {
        let g = self.groups.get(group)?;
        let recent = any_mode || g.settings.routing_mode == RoutingMode::Recent;
        if self.config.recent_wait().is_zero() || !recent {
            return None;
        }
        let (last, _) = self.last_agent.get(visitor)?;
        let a = self.agents.get(last)?;
        let waits = a.workgroups.contains_key(group)
            && a.signed_in
            && a.available
            && a.state != AgentState::Ready;
        waits.then(|| last.clone())
    }

    /// Puts new session `id` in `agent`'s line for up to `recent_wait_secs`,
    /// keeping the place it would have had in its group's queue. Returns its
    /// place in the agent's line.
    pub(crate) fn hold(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &SessionId,
        agent: &AgentId,
    ) -> usize {
        let (Some(s), Some(a)) = (self.sessions.get_mut(id), self.agents.get_mut(agent)) else {
            return 0;
        };
        let key = self
            .keys
            .tail(s.virtual_arrival(self.config.priority_aging_secs));
        let until = now.saturating_add(self.config.recent_wait());
        s.stage = Stage::Held {
            key,
            agent: agent.clone(),
            until,
        };
        self.timers.arm_at(Deadline::Hold, until, id.clone());
        a.held.insert(key, id.clone());
        let position = a.held.position(key);
        out.push(
            Recipient::Visitor(s.customer_id.clone()),
            EventKind::Queued {
                session_id: id.clone(),
                position,
            },
        );
        position
    }

    /// Moves held session `id` from its agent's line into its group's queue,
    /// at the place it has held all along.
    pub(crate) fn release_hold(&mut self, now: Timestamp, id: &SessionId) {
        let Some(Stage::Held { key, .. }) = self.sessions.get(id).map(|s| &s.stage) else {
            return;
        };
        let key = *key;
        self.unqueue(id);
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        s.stage = Stage::Queued { key };
        let group = s.workgroup.clone();
        if let Some(g) = self.groups.get_mut(&group) {
            g.queue.insert(key, id.clone());
            if g.has_ready() {
                self.dirty.insert(group);
            }
        }
        self.place_overflow(now, id);
    }

    /// Makes queued session `id` eligible in its group's overflow group if it
    /// has waited long enough, else arms the timer for when it will have.
    pub(crate) fn place_overflow(&mut self, now: Timestamp, id: &SessionId) {
        let Some(s) = self.sessions.get(id) else {
            return;
        };
        let Stage::Queued { key } = s.stage else {
            return;
        };
        let Some(overflow) = self
            .groups
            .get(&s.workgroup)
            .and_then(|g| g.settings.overflow())
        else {
            return;
        };
        let at = s.waiting_since().saturating_add(overflow.after);
        if now < at {
            self.timers.arm_at(Deadline::Overflow, at, id.clone());
        } else if let Some(to) = self.groups.get_mut(&overflow.to) {
            to.overflow_in.insert(key, id.clone());
            if to.has_ready() {
                self.dirty.insert(overflow.to);
            }
        }
    }

    /// Rings `agent` (Ready) for session `id` (Waiting, not queued).
    pub(crate) fn offer(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &SessionId,
        agent: &AgentId,
    ) {
        let (Some(a), Some(s)) = (self.agents.get_mut(agent), self.sessions.get_mut(id)) else {
            return;
        };
        let timeout = self.config.accept_timeout();
        let timer = self
            .timers
            .arm(Lane::Ring, now.saturating_add(timeout), id.clone());
        a.offer = Some(id.clone());
        a.stats.offered += 1;
        s.stage = Stage::Ringing {
            agent: agent.clone(),
            timer,
            since: now,
        };
        out.push(
            Recipient::Agent(agent.clone()),
            EventKind::IncomingCall {
                session_id: id.clone(),
                room_id: id.room_id(),
                visitor_id: s.customer_id.clone(),
                visitor_name: s.visitor_name().to_owned(),
                timeout_secs: timeout.as_secs(),
                channel: s.channel,
                context: s.bot.as_ref().and_then(|b| b.handoff.clone()).map(Box::new),
            },
        );
        out.push(
            Recipient::Visitor(s.customer_id.clone()),
            EventKind::AgentAssignment {
                session_id: id.clone(),
                agent_id: agent.clone(),
                agent_name: a.name.clone(),
            },
        );
        self.settle(agent, now);
        self.bot_rung(now, id);
    }

    /// Cancels the ring of session `id`: the agent is freed and the visitor
    /// goes back to the head of the queue, or, if they have already waited
    /// `queue_timeout_secs` since joining, is timed out.
    pub(crate) fn withdraw_offer(&mut self, out: &mut Outbox, now: Timestamp, id: &SessionId) {
        let Some(s) = self.sessions.get(id) else {
            return;
        };
        let Stage::Ringing { agent, timer, .. } = &s.stage else {
            return;
        };
        let (agent, timer) = (agent.clone(), *timer);
        let overdue = now >= s.queue_deadline(self.config.queue_timeout());
        self.timers.cancel(Lane::Ring, timer);
        self.release_agent(now, &agent, id);
        #[cfg(feature = "fault-injection")]
        if self.fault == Some(crate::Fault::DropRequeue) {
            return;
        }
        if overdue {
            self.queue_timeout(out, now, id);
        } else {
            self.enqueue(out, now, id, true);
        }
    }

    /// The Ringing agent answers: the session becomes Active, the agent Busy.
    pub(crate) fn accept_call(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        agent: &AgentId,
        media: Media,
    ) -> Result<Reply, CoreError> {
        let a = self
            .agents
            .get_mut(agent)
            .ok_or_else(|| CoreError::AgentNotFound(agent.clone()))?;
        let ringing = match (&a.state, &a.offer) {
            (AgentState::Ringing, Some(id)) => self.sessions.get_mut(id),
            _ => None,
        };
        let Some(s) = ringing else {
            return Err(CoreError::AgentState {
                agent: agent.clone(),
                state: a.state,
                expected: "ringing",
            });
        };
        let Stage::Ringing { timer, since, .. } = s.stage else {
            return Err(CoreError::SessionState {
                session: s.id.clone(),
                status: s.status(),
                expected: "waiting for this agent",
            });
        };
        s.stage = Stage::Active {
            agent: agent.clone(),
        };
        s.agent_id = Some(agent.clone());
        s.media = Some(media);
        s.started_at = Some(now);
        self.timers.cancel(Lane::Ring, timer);
        if let Some(t) = s.queue_timer.take() {
            self.timers.cancel(Lane::Queue, t);
        }
        a.offer = None;
        a.calls.push(Call {
            session_id: s.id.clone(),
            since: now,
        });
        let ring_ms = now.as_millis().saturating_sub(since.as_millis());
        a.no_answer = 0;
        a.stats.answered += 1;
        a.stats.ring_to_accept_ms_total += ring_ms;
        a.record_response(ring_ms);
        self.counts.waiting -= 1;
        self.counts.active += 1;
        self.totals.answered += 1;
        let (id, customer) = (s.id.clone(), s.customer_id.clone());
        let waited = now.saturating_since(s.waiting_since());
        if let Some(g) = self.groups.get_mut(&s.workgroup) {
            let c = &mut g.counters;
            c.answered += 1;
            c.wait_ms_total += waited.as_millis() as u64;
            g.traffic.answered(now, waited.as_millis() as u64);
            if waited <= Duration::from_secs(g.settings.service_level_secs) {
                c.answered_in_time += 1;
            }
        }
        self.settle(agent, now);
        self.day_mut(now).answered += 1;
        self.remember_agent(&customer, agent);
        self.bot_answered(now, &id);
        let accepted = EventKind::CallAccepted {
            session_id: id.clone(),
            agent_id: agent.clone(),
            media,
        };
        out.push(Recipient::Agent(agent.clone()), accepted.clone());
        out.push(Recipient::Visitor(customer), accepted);
        Ok(Reply::Accepted { session_id: id })
    }

    /// The Ringing agent declines: Ready again, the visitor back at the head.
    pub(crate) fn reject_call(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        agent: &AgentId,
    ) -> Result<Reply, CoreError> {
        let a = self.expect_agent_state(agent, &[AgentState::Ringing], "ringing")?;
        let id = a.offer.clone();
        if let Some(a) = self.agents.get_mut(agent) {
            a.stats.rejected += 1;
            a.no_answer = 0;
        }
        self.totals.rejects += 1;
        if let Some(id) = id {
            self.withdraw_offer(out, now, &id);
        }
        if !self.config.reject_delay().is_zero() {
            self.pause(now, agent, ResumeReason::RejectDelay);
        }
        Ok(Reply::Done)
    }

    /// The ring of session `id` lapsed at `now`.
    pub(crate) fn ring_timeout(&mut self, out: &mut Outbox, now: Timestamp, id: &SessionId) {
        let Some(Stage::Ringing { agent, .. }) = self.sessions.get(id).map(|s| &s.stage) else {
            return;
        };
        let agent = agent.clone();
        let mut missed = 0;
        if let Some(a) = self.agents.get_mut(&agent) {
            a.stats.timed_out += 1;
            a.no_answer += 1;
            missed = a.no_answer;
        }
        self.totals.ring_timeouts += 1;
        out.push(
            Recipient::Agent(agent.clone()),
            EventKind::RingTimeout {
                session_id: id.clone(),
            },
        );
        self.withdraw_offer(out, now, id);
        let max = self.config.max_no_answer;
        if max > 0 && missed >= max {
            // Not there: stop offering calls until the agent comes back.
            if let Some(a) = self.agents.get_mut(&agent) {
                a.set_away(now, Some(crate::agent::NO_ANSWER_REASON.to_owned()));
            }
            self.settle(&agent, now);
            out.push(
                Recipient::Agent(agent.clone()),
                EventKind::AgentNoAnswer {
                    agent_id: agent,
                    missed,
                },
            );
        }
    }
}

impl State {
    /// Ends a visitor's wait after `queue_timeout_secs`, telling them why.
    /// A visitor the bot handed over is taken back by the bot instead: the
    /// attempt failed.
    pub(crate) fn queue_timeout(&mut self, out: &mut Outbox, now: Timestamp, id: &SessionId) {
        if self.attempt_times_out(id) {
            // A withdrawn ring leaves the session between places.
            if self.sessions.get(id).is_some_and(|s| !s.is_queued()) {
                self.enqueue(out, now, id, true);
            }
            self.attempt_failed(out, now, id);
            return;
        }
        let Some(s) = self.sessions.get(id) else {
            return;
        };
        out.push(
            Recipient::Visitor(s.customer_id.clone()),
            EventKind::QueueTimeout {
                session_id: id.clone(),
            },
        );
        self.finish(out, now, id, EndReason::QueueTimeout, Party::System);
    }

    /// Rings a chosen Ready agent for a Waiting session (manual assignment):
    /// a queued visitor leaves the queue; one being rung elsewhere is taken
    /// from that agent, who becomes Ready.
    pub(crate) fn assign_session(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &SessionId,
        agent: &AgentId,
    ) -> Result<Reply, CoreError> {
        let s = self.session(id)?;
        let ringing = match &s.stage {
            Stage::Queued { .. } | Stage::Held { .. } => None,
            Stage::Ringing {
                agent: a, timer, ..
            } => Some((a.clone(), *timer)),
            _ => {
                return Err(CoreError::SessionState {
                    session: id.clone(),
                    status: s.status(),
                    expected: "waiting",
                })
            }
        };
        self.expect_agent_state(agent, &[AgentState::Ready], "ready")?;
        match ringing {
            None => self.unqueue(id),
            Some((previous, timer)) => {
                self.timers.cancel(Lane::Ring, timer);
                self.release_agent(now, &previous, id);
            }
        }
        self.offer(out, now, id, agent);
        // The agent learns it was chosen by hand, besides being rung.
        let agent_name = self
            .agent(agent)
            .map(|a| a.name.clone())
            .unwrap_or_default();
        out.push(
            Recipient::Agent(agent.clone()),
            EventKind::AgentAssignment {
                session_id: id.clone(),
                agent_id: agent.clone(),
                agent_name,
            },
        );
        Ok(Reply::Assigned {
            session_id: id.clone(),
            agent_id: agent.clone(),
        })
    }
}
