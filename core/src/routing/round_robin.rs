//! Round robin: Ready agents in id order, continuing after the last one picked.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::ops::Bound;

use crate::routing::Routing;
use crate::{AgentId, Prng, Timestamp, VisitorId};

/// Round-robin routing with a persistent cursor. Ordering by id (as the seed
/// sorts agents by uid) makes the cycle stable when agents come and go: an
/// agent that returns to Ready takes its old place in the cycle. O(log n).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundRobin {
    ready: BTreeSet<AgentId>,
    cursor: Option<AgentId>,
}

impl RoundRobin {
    fn next_after_cursor(&self) -> Option<&AgentId> {
        let after = match &self.cursor {
            Some(c) => self
                .ready
                .range::<AgentId, _>((Bound::Excluded(c), Bound::Unbounded))
                .next(),
            None => None,
        };
        after.or_else(|| self.ready.first())
    }
}

impl Routing for RoundRobin {
    fn insert(&mut self, agent: &AgentId, _now: Timestamp) {
        self.ready.insert(agent.clone());
    }

    fn remove(&mut self, agent: &AgentId) {
        self.ready.remove(agent);
    }

    fn len(&self) -> usize {
        self.ready.len()
    }

    fn pick(&mut self, _visitor: &VisitorId, _rng: &mut Prng) -> Option<AgentId> {
        let next = self.next_after_cursor()?.clone();
        self.cursor = Some(next.clone());
        Some(next)
    }

    fn peek(&self, _visitor: &VisitorId) -> Option<AgentId> {
        self.next_after_cursor().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_in_id_order_and_keeps_its_place() {
        let mut rr = RoundRobin::default();
        let mut rng = Prng::new(1);
        let v: VisitorId = "v".into();
        for a in ["b", "a", "c"] {
            rr.insert(&a.into(), Timestamp::EPOCH);
        }
        let mut picks = Vec::new();
        for _ in 0..4 {
            picks.push(rr.pick(&v, &mut rng).map(|a| a.to_string()));
        }
        assert_eq!(
            picks,
            [Some("a"), Some("b"), Some("c"), Some("a")].map(|s| s.map(String::from))
        );
        // The cursor is at "a"; with "b" gone the next is "c", and peek agrees.
        rr.remove(&"b".into());
        assert_eq!(rr.peek(&v).as_ref().map(AgentId::as_str), Some("c"));
        assert_eq!(
            rr.pick(&v, &mut rng).as_ref().map(AgentId::as_str),
            Some("c")
        );
        rr.remove(&"a".into());
        rr.remove(&"c".into());
        assert_eq!(rr.pick(&v, &mut rng), None);
        assert!(rr.is_empty());
    }
}
