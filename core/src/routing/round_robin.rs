//! Round robin: Ready agents in id order, continuing after the last one picked.

use std::collections::BTreeSet;
use std::ops::Bound;

use serde::{Deserialize, Serialize};

use crate::routing::{Candidate, Placing, Routing};
use crate::{AgentId, Prng};

/// Round-robin routing with a persistent cursor. Ordering by id (as the seed
/// sorts agents by uid) makes the cycle stable when agents come and go: an
/// agent that returns to Ready takes its old place in the cycle. O(log n).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundRobin {
    ready: BTreeSet<AgentId>,
    cursor: Option<AgentId>,
}

impl RoundRobin {
    /// Whether `agent` is in the Ready set.
    pub fn contains(&self, agent: &AgentId) -> bool {
        self.ready.contains(agent)
    }
}

impl Routing for RoundRobin {
    fn insert(&mut self, agent: Candidate<'_>) {
        self.ready.insert(agent.id.clone());
    }

    fn remove(&mut self, agent: &AgentId) {
        self.ready.remove(agent);
    }

    fn len(&self) -> usize {
        self.ready.len()
    }

    fn choose(&self, _: Placing<'_>, _: &mut Prng) -> Option<AgentId> {
        let after = self.cursor.as_ref().and_then(|c| {
            self.ready
                .range::<AgentId, _>((Bound::Excluded(c), Bound::Unbounded))
                .next()
        });
        after.or_else(|| self.ready.first()).cloned()
    }

    fn picked(&mut self, agent: &AgentId) {
        self.cursor = Some(agent.clone());
    }
}
