//! Which Ready agent gets the next visitor. Each mode keeps its own index of
//! eligible agents, fed as agents become Ready or stop being Ready, so a
//! decision never scans all agents.

mod round_robin;

pub use round_robin::RoundRobin;

use serde::{Deserialize, Serialize};

use crate::{AgentId, Prng, Timestamp, VisitorId};

/// A routing strategy over the set of Ready agents.
pub trait Routing {
    /// `agent` became Ready at `now` and may be picked.
    fn insert(&mut self, agent: &AgentId, now: Timestamp);
    /// `agent` is no longer Ready.
    fn remove(&mut self, agent: &AgentId);
    /// How many agents may be picked.
    fn len(&self) -> usize;
    /// Whether no agent may be picked.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Chooses the agent for `visitor`, advancing any cursor. The agent stays
    /// in the set until the caller removes it (when it starts ringing).
    fn pick(&mut self, visitor: &VisitorId, rng: &mut Prng) -> Option<AgentId>;
    /// The agent [`pick`](Routing::pick) would choose now, advancing nothing,
    /// for display in the back office.
    fn peek(&self, visitor: &VisitorId) -> Option<AgentId>;
}

/// The routing modes a contact center can select.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutingMode {
    /// The seed's default: Ready agents in id order, a persistent cursor.
    #[default]
    RoundRobin,
}

/// The router of one queue: the selected mode and its state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Router {
    /// See [`RoutingMode::RoundRobin`].
    RoundRobin(RoundRobin),
}

impl Router {
    /// An empty router for `mode`.
    pub fn new(mode: RoutingMode) -> Self {
        match mode {
            RoutingMode::RoundRobin => Router::RoundRobin(RoundRobin::default()),
        }
    }

    fn inner(&self) -> &dyn Routing {
        match self {
            Router::RoundRobin(r) => r,
        }
    }

    fn inner_mut(&mut self) -> &mut dyn Routing {
        match self {
            Router::RoundRobin(r) => r,
        }
    }
}

impl Routing for Router {
    fn insert(&mut self, agent: &AgentId, now: Timestamp) {
        self.inner_mut().insert(agent, now)
    }
    fn remove(&mut self, agent: &AgentId) {
        self.inner_mut().remove(agent)
    }
    fn len(&self) -> usize {
        self.inner().len()
    }
    fn pick(&mut self, visitor: &VisitorId, rng: &mut Prng) -> Option<AgentId> {
        self.inner_mut().pick(visitor, rng)
    }
    fn peek(&self, visitor: &VisitorId) -> Option<AgentId> {
        self.inner().peek(visitor)
    }
}
