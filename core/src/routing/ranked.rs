//! Modes that pick the minimum of a per-agent key: least active, longest idle,
//! fastest response. One ordered set by (key, id), O(log n) each way.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::routing::{Candidate, Placing, Routing};
use crate::{AgentId, Prng, Timestamp};

/// Ready agents ordered by a key; the smallest wins, ties by id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranked<K: Ord> {
    order: BTreeSet<(K, AgentId)>,
    keys: BTreeMap<AgentId, K>,
}

impl<K: Ord + Copy> Ranked<K> {
    fn insert(&mut self, key: K, agent: &AgentId) {
        self.remove(agent);
        self.order.insert((key, agent.clone()));
        self.keys.insert(agent.clone(), key);
    }

    fn remove(&mut self, agent: &AgentId) {
        if let Some(key) = self.keys.remove(agent) {
            self.order.remove(&(key, agent.clone()));
        }
    }

    fn first(&self) -> Option<AgentId> {
        self.order.first().map(|(_, a)| a.clone())
    }
}

macro_rules! ranked_mode {
    ($(#[$doc:meta])* $name:ident, $key:ty, |$c:ident| $extract:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name(Ranked<$key>);

        impl Routing for $name {
            fn insert(&mut self, $c: Candidate<'_>) {
                self.0.insert($extract, $c.id);
            }
            fn remove(&mut self, agent: &AgentId) {
                self.0.remove(agent);
            }
            fn len(&self) -> usize {
                self.0.keys.len()
            }
            fn choose(&self, _: Placing<'_>, _: &mut Prng) -> Option<AgentId> {
                self.0.first()
            }
        }
    };
}

ranked_mode!(
    /// Fewest calls held right now (not lifetime counts).
    LeastActive, u32, |c| c.active
);
ranked_mode!(
    /// Free the longest since the end of their last call (the contact-center default).
    LongestIdle, Timestamp, |c| c.idle_since
);
ranked_mode!(
    /// Lowest moving average of measured ring-to-answer time.
    FastestResponse, u64, |c| c.response_ms
);
