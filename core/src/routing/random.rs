//! Random and weighted-random routing from the center's seeded PRNG.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::routing::{Candidate, Placing, Routing};
use crate::{AgentId, Prng};

/// Uniformly random among Ready agents: a vector with swap-remove, O(log n).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Random {
    members: Vec<AgentId>,
    index: BTreeMap<AgentId, usize>,
}

impl Routing for Random {
    fn insert(&mut self, agent: Candidate<'_>) {
        if !self.index.contains_key(agent.id) {
            self.index.insert(agent.id.clone(), self.members.len());
            self.members.push(agent.id.clone());
        }
    }

    fn remove(&mut self, agent: &AgentId) {
        let Some(i) = self.index.remove(agent) else {
            return;
        };
        self.members.swap_remove(i);
        if let Some(moved) = self.members.get(i) {
            self.index.insert(moved.clone(), i);
        }
    }

    fn len(&self) -> usize {
        self.members.len()
    }

    fn choose(&self, _: Placing<'_>, rng: &mut Prng) -> Option<AgentId> {
        if self.members.is_empty() {
            return None;
        }
        let i = rng.below(self.members.len() as u64) as usize;
        self.members.get(i).cloned()
    }
}

/// Random in proportion to each agent's weight: a Fenwick tree over slots,
/// O(log n) to add, remove and sample.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightedRandom {
    /// Slot -> agent and weight; freed slots are reused.
    slots: Vec<Option<(AgentId, u64)>>,
    free: Vec<usize>,
    index: BTreeMap<AgentId, usize>,
    /// 1-based Fenwick tree of slot weights; its length is a power of two.
    tree: Vec<u64>,
}

impl WeightedRandom {
    fn add(&mut self, slot: usize, delta: i128) {
        let mut i = slot + 1;
        while i < self.tree.len() {
            self.tree[i] = (self.tree[i] as i128 + delta) as u64;
            i += i & i.wrapping_neg();
        }
    }

    fn total(&self) -> u64 {
        let mut sum = 0;
        let mut i = self.tree.len() - 1;
        while i > 0 {
            sum += self.tree[i];
            i -= i & i.wrapping_neg();
        }
        sum
    }

    /// Grows the tree to hold `slots` slots, rebuilding it (amortized O(1)).
    fn reserve(&mut self, slots: usize) {
        if slots < self.tree.len() {
            return;
        }
        let size = (slots + 1).next_power_of_two().max(16);
        self.tree = vec![0; size];
        let weights: Vec<(usize, u64)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|(_, w)| (i, *w)))
            .collect();
        for (i, w) in weights {
            self.add(i, i128::from(w));
        }
    }
}

impl Routing for WeightedRandom {
    fn insert(&mut self, agent: Candidate<'_>) {
        self.remove(agent.id);
        let weight = agent.weight.max(1);
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        self.reserve(self.slots.len());
        self.slots[slot] = Some((agent.id.clone(), weight));
        self.index.insert(agent.id.clone(), slot);
        self.add(slot, i128::from(weight));
    }

    fn remove(&mut self, agent: &AgentId) {
        let Some(slot) = self.index.remove(agent) else {
            return;
        };
        if let Some((_, w)) = self.slots[slot].take() {
            self.add(slot, -i128::from(w));
            self.free.push(slot);
        }
    }

    fn len(&self) -> usize {
        self.index.len()
    }

    fn choose(&self, _: Placing<'_>, rng: &mut Prng) -> Option<AgentId> {
        if self.index.is_empty() {
            return None;
        }
        // The slot whose cumulative weight first exceeds a uniform draw.
        let mut target = rng.below(self.total());
        let (mut pos, mut step) = (0usize, self.tree.len() / 2);
        while step > 0 {
            let next = pos + step;
            if next < self.tree.len() && self.tree[next] <= target {
                target -= self.tree[next];
                pos = next;
            }
            step /= 2;
        }
        self.slots
            .get(pos)
            .and_then(|s| s.as_ref())
            .map(|(a, _)| a.clone())
    }
}
