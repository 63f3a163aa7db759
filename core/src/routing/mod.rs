//! Which Ready agent gets the next visitor. Each mode keeps its own index of
//! eligible agents, fed as agents become Ready or stop being Ready, so that a
//! decision is O(log n) or better in the number of Ready agents — never a scan.
//!
//! | mode | rule | index |
//! |---|---|---|
//! | `round_robin` | next agent id after the last one picked (the seed's default) | ordered set + cursor |
//! | `least_active` | fewest calls held right now; ties by id | ordered set by (active, id) |
//! | `longest_idle` | free the longest since their last call | ordered set by (idle since, id) |
//! | `fastest_response` | lowest moving average of ring-to-answer time; new agents start at a neutral 5 s | ordered set |
//! | `random` | uniform, from the center's seeded PRNG | vector + index |
//! | `weighted_random` | in proportion to weight × average rating (3 stars until rated) | Fenwick tree |
//! | `consistent_hash` | the visitor's point on a ring of 100 virtual nodes per agent | ordered map |
//! | `recent` | the agent who last served this visitor, if Ready; else round robin | ordered set |
//! | `manual` | nobody: agents pick from the queue themselves | ordered set (for display) |

mod consistent_hash;
mod random;
mod ranked;
mod round_robin;

pub use consistent_hash::ConsistentHash;
pub use random::{Random, WeightedRandom};
pub use ranked::{FastestResponse, LeastActive, LongestIdle};
pub use round_robin::RoundRobin;

use serde::{Deserialize, Serialize};

use crate::{AgentId, Prng, Timestamp, VisitorId};

/// What a router may weigh about a Ready agent.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// The agent.
    pub id: &'a AgentId,
    /// When it last became free.
    pub idle_since: Timestamp,
    /// Calls it holds now.
    pub active: u32,
    /// Moving average of its ring-to-answer time, in ms.
    pub response_ms: u64,
    /// Its relative share of calls (weight × rating), at least 1.
    pub weight: u64,
}

/// What a router may weigh about the visitor to place.
#[derive(Clone, Copy, Debug)]
pub struct Placing<'a> {
    /// The visitor.
    pub visitor: &'a VisitorId,
    /// The agent who served this visitor last, if remembered.
    pub last_agent: Option<&'a AgentId>,
}

/// A routing strategy over the set of Ready agents.
pub trait Routing {
    /// `agent` became Ready and may be picked.
    fn insert(&mut self, agent: Candidate<'_>);
    /// `agent` is no longer Ready.
    fn remove(&mut self, agent: &AgentId);
    /// How many agents are in the set.
    fn len(&self) -> usize;
    /// Whether the set is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The agent this mode chooses for `placing`, drawing on `rng` if random.
    fn choose(&self, placing: Placing<'_>, rng: &mut Prng) -> Option<AgentId>;
    /// `agent` was chosen: advance any cursor.
    fn picked(&mut self, _agent: &AgentId) {}

    /// Chooses and advances. The agent stays in the set until removed (when
    /// it starts ringing).
    fn pick(&mut self, placing: Placing<'_>, rng: &mut Prng) -> Option<AgentId> {
        let agent = self.choose(placing, rng)?;
        self.picked(&agent);
        Some(agent)
    }

    /// What [`pick`](Routing::pick) would choose now, advancing nothing (not
    /// even the PRNG): for display in the back office.
    fn peek(&self, placing: Placing<'_>, rng: &Prng) -> Option<AgentId> {
        self.choose(placing, &mut rng.clone())
    }
}

/// The routing modes a contact center can select.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutingMode {
    /// Next agent id after the last one picked.
    #[default]
    RoundRobin,
    /// Fewest calls held right now.
    LeastActive,
    /// Free the longest since their last call.
    LongestIdle,
    /// Lowest moving average of ring-to-answer time.
    FastestResponse,
    /// Uniformly at random.
    Random,
    /// At random in proportion to weight × rating.
    WeightedRandom,
    /// Same visitor, same agent, while the Ready set is unchanged.
    ConsistentHash,
    /// The agent who served this visitor last, if Ready.
    Recent,
    /// No automatic dispatch.
    Manual,
}

impl RoutingMode {
    /// Every mode.
    pub const ALL: [RoutingMode; 9] = [
        RoutingMode::RoundRobin,
        RoutingMode::LeastActive,
        RoutingMode::LongestIdle,
        RoutingMode::FastestResponse,
        RoutingMode::Random,
        RoutingMode::WeightedRandom,
        RoutingMode::ConsistentHash,
        RoutingMode::Recent,
        RoutingMode::Manual,
    ];
}

/// The router of one queue: the selected mode and its state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Router {
    /// See [`RoutingMode::RoundRobin`].
    RoundRobin(RoundRobin),
    /// See [`RoutingMode::LeastActive`].
    LeastActive(LeastActive),
    /// See [`RoutingMode::LongestIdle`].
    LongestIdle(LongestIdle),
    /// See [`RoutingMode::FastestResponse`].
    FastestResponse(FastestResponse),
    /// See [`RoutingMode::Random`].
    Random(Random),
    /// See [`RoutingMode::WeightedRandom`].
    WeightedRandom(WeightedRandom),
    /// See [`RoutingMode::ConsistentHash`].
    ConsistentHash(ConsistentHash),
    /// See [`RoutingMode::Recent`]: round robin, preferring the last agent.
    Recent(RoundRobin),
    /// See [`RoutingMode::Manual`]: keeps the Ready set, never picks.
    Manual(RoundRobin),
}

impl Router {
    /// An empty router for `mode`.
    pub fn new(mode: RoutingMode) -> Self {
        match mode {
            RoutingMode::RoundRobin => Router::RoundRobin(RoundRobin::default()),
            RoutingMode::LeastActive => Router::LeastActive(LeastActive::default()),
            RoutingMode::LongestIdle => Router::LongestIdle(LongestIdle::default()),
            RoutingMode::FastestResponse => Router::FastestResponse(FastestResponse::default()),
            RoutingMode::Random => Router::Random(Random::default()),
            RoutingMode::WeightedRandom => Router::WeightedRandom(WeightedRandom::default()),
            RoutingMode::ConsistentHash => Router::ConsistentHash(ConsistentHash::default()),
            RoutingMode::Recent => Router::Recent(RoundRobin::default()),
            RoutingMode::Manual => Router::Manual(RoundRobin::default()),
        }
    }

    /// The mode this router implements.
    pub fn mode(&self) -> RoutingMode {
        match self {
            Router::RoundRobin(_) => RoutingMode::RoundRobin,
            Router::LeastActive(_) => RoutingMode::LeastActive,
            Router::LongestIdle(_) => RoutingMode::LongestIdle,
            Router::FastestResponse(_) => RoutingMode::FastestResponse,
            Router::Random(_) => RoutingMode::Random,
            Router::WeightedRandom(_) => RoutingMode::WeightedRandom,
            Router::ConsistentHash(_) => RoutingMode::ConsistentHash,
            Router::Recent(_) => RoutingMode::Recent,
            Router::Manual(_) => RoutingMode::Manual,
        }
    }

    fn inner(&self) -> &dyn Routing {
        match self {
            Router::RoundRobin(r) | Router::Recent(r) | Router::Manual(r) => r,
            Router::LeastActive(r) => r,
            Router::LongestIdle(r) => r,
            Router::FastestResponse(r) => r,
            Router::Random(r) => r,
            Router::WeightedRandom(r) => r,
            Router::ConsistentHash(r) => r,
        }
    }

    fn inner_mut(&mut self) -> &mut dyn Routing {
        match self {
            Router::RoundRobin(r) | Router::Recent(r) | Router::Manual(r) => r,
            Router::LeastActive(r) => r,
            Router::LongestIdle(r) => r,
            Router::FastestResponse(r) => r,
            Router::Random(r) => r,
            Router::WeightedRandom(r) => r,
            Router::ConsistentHash(r) => r,
        }
    }
}

impl Routing for Router {
    fn insert(&mut self, agent: Candidate<'_>) {
        self.inner_mut().insert(agent)
    }
    fn remove(&mut self, agent: &AgentId) {
        self.inner_mut().remove(agent)
    }
    fn len(&self) -> usize {
        self.inner().len()
    }
    fn choose(&self, placing: Placing<'_>, rng: &mut Prng) -> Option<AgentId> {
        match self {
            Router::Manual(_) => None,
            Router::Recent(rr) => match placing.last_agent {
                Some(last) if rr.contains(last) => Some(last.clone()),
                _ => rr.choose(placing, rng),
            },
            other => other.inner().choose(placing, rng),
        }
    }
    fn picked(&mut self, agent: &AgentId) {
        self.inner_mut().picked(agent)
    }
}
