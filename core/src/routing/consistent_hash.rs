//! Consistent hashing: the same visitor goes to the same agent while the Ready
//! set is unchanged, and one agent joining or leaving moves only about 1/n of
//! visitors. A ring of virtual nodes, not `hash % n`.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hash, Hasher};

use foldhash::quality::FixedState;
use serde::{Deserialize, Serialize};

use crate::routing::{Candidate, Placing, Routing};
use crate::{AgentId, Prng};

/// Points per agent on the ring: enough that load spreads within a few percent.
pub const VIRTUAL_NODES: u32 = 100;

/// A fixed seed, so that the ring is the same on every run and every machine.
const RING_SEED: u64 = 0x5357_4954_4348_424f;

fn point<T: Hash + ?Sized>(value: &T, replica: u32) -> u64 {
    let mut h = FixedState::with_seed(RING_SEED).build_hasher();
    value.hash(&mut h);
    replica.hash(&mut h);
    h.finish()
}

/// A hash ring of Ready agents. O(V log n) to add or remove an agent,
/// O(log n) to place a visitor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistentHash {
    ring: BTreeSet<(u64, AgentId)>,
    members: usize,
}

impl Routing for ConsistentHash {
    fn insert(&mut self, agent: Candidate<'_>) {
        let mut added = false;
        for r in 0..VIRTUAL_NODES {
            added |= self
                .ring
                .insert((point(agent.id.as_str(), r), agent.id.clone()));
        }
        self.members += usize::from(added);
    }

    fn remove(&mut self, agent: &AgentId) {
        let mut removed = false;
        for r in 0..VIRTUAL_NODES {
            removed |= self.ring.remove(&(point(agent.as_str(), r), agent.clone()));
        }
        self.members -= usize::from(removed);
    }

    fn len(&self) -> usize {
        self.members
    }

    fn choose(&self, placing: Placing<'_>, _: &mut Prng) -> Option<AgentId> {
        let h = point(placing.visitor.as_str(), 0);
        let lowest = AgentId::from("");
        self.ring
            .range((h, lowest)..)
            .next()
            .or_else(|| self.ring.first())
            .map(|(_, a)| a.clone())
    }
}
