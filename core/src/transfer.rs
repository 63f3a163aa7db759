//! Transfer: an Active call moves to another Ready agent while the visitor
//! stays connected.

use crate::agent::Call;
use crate::center::{Outbox, State};
use crate::session::Stage;
use crate::{AgentId, AgentState, CoreError, EventKind, Recipient, Reply, SessionId, Timestamp};

impl State {
    /// Hands session `id` from its agent to `target` (Ready). On failure the
    /// holding agent is told with `transfer_failed` and nothing changes.
    pub(crate) fn transfer(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &SessionId,
        target: &AgentId,
    ) -> Result<Reply, CoreError> {
        let s = self.session(id)?;
        let Stage::Active { agent: from } = &s.stage else {
            return Err(CoreError::SessionState {
                session: id.clone(),
                status: s.status(),
                expected: "active",
            });
        };
        let (from, customer) = (from.clone(), s.customer_id.clone());
        let refusal = match self.agent(target) {
            Err(e) => Err(e),
            Ok(_) if *target == from => Err(CoreError::TransferToSelf(target.clone())),
            Ok(_) => self
                .expect_agent_state(target, &[AgentState::Ready], "ready")
                .map(|_| ()),
        };
        if let Err(e) = refusal {
            out.push(
                Recipient::Agent(from),
                EventKind::TransferFailed {
                    session_id: id.clone(),
                    target_agent_id: target.clone(),
                    reason: e.to_string(),
                },
            );
            return Err(e);
        }

        if let Some(s) = self.sessions.get_mut(id) {
            s.stage = Stage::Active {
                agent: target.clone(),
            };
            s.agent_id = Some(target.clone());
            s.transfers += 1;
        }
        self.totals.transfers += 1;
        self.remember_agent(&customer, target);
        self.release_agent(now, &from, id);
        if let Some(t) = self.agents.get_mut(target) {
            t.calls.push(Call {
                session_id: id.clone(),
                since: now,
            });
            t.stats.transferred_in += 1;
        }
        self.settle(target, now);
        let moved = EventKind::CallTransferred {
            session_id: id.clone(),
            from_agent_id: from.clone(),
            to_agent_id: target.clone(),
        };
        out.push(Recipient::Agent(from), moved.clone());
        out.push(Recipient::Agent(target.clone()), moved.clone());
        out.push(Recipient::Visitor(customer), moved);
        Ok(Reply::Done)
    }
}
