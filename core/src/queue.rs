//! The visitor queue: FIFO with re-queue at the head, O(log n) removal from
//! anywhere (leave, timeout, manual assignment).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Bound;

use crate::SessionId;

/// A place in the queue; key order is queue order. Re-queued visitors (band
/// 0, newest first) go before everyone; the rest (band 1) are ordered by
/// *virtual arrival*, the time they joined less a credit for priority, then
/// by arrival order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct QueueKey {
    band: u8,
    at: i64,
    seq: i64,
}

/// Hands out queue keys. Shared by every workgroup's queue, so keys are
/// unique and comparable across groups (overflow merges two queues).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeyGen {
    next_tail: i64,
    next_head: i64,
}

impl KeyGen {
    /// A place by virtual arrival time `at` (ms).
    pub(crate) fn tail(&mut self, at: i64) -> QueueKey {
        let key = QueueKey {
            band: 1,
            at,
            seq: self.next_tail,
        };
        self.next_tail += 1;
        key
    }

    /// A place in front of everyone (after a reject or ring timeout).
    pub(crate) fn head(&mut self) -> QueueKey {
        self.next_head -= 1;
        QueueKey {
            band: 0,
            at: self.next_head,
            seq: 0,
        }
    }
}

/// Waiting visitors in key order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "QueueRepr", into = "QueueRepr")]
pub(crate) struct Queue {
    entries: BTreeMap<QueueKey, SessionId>,
}

/// The queue as stored in snapshots: entries as a list, since their keys are
/// not strings.
#[derive(Serialize, Deserialize)]
struct QueueRepr(Vec<(QueueKey, SessionId)>);

impl From<Queue> for QueueRepr {
    fn from(q: Queue) -> Self {
        QueueRepr(q.entries.into_iter().collect())
    }
}

impl From<QueueRepr> for Queue {
    fn from(r: QueueRepr) -> Self {
        Queue {
            entries: r.0.into_iter().collect(),
        }
    }
}

impl Queue {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn insert(&mut self, key: QueueKey, id: SessionId) {
        self.entries.insert(key, id);
    }

    pub(crate) fn front(&self) -> Option<(QueueKey, &SessionId)> {
        self.entries.first_key_value().map(|(k, v)| (*k, v))
    }

    pub(crate) fn remove(&mut self, key: QueueKey) -> Option<SessionId> {
        self.entries.remove(&key)
    }

    /// 1-based position of the entry at `key`, counted from whichever end
    /// is nearer: O(min(position, length - position)), so a join at the tail
    /// or a re-queue at the head is O(log n) however long the queue.
    pub(crate) fn position(&self, key: QueueKey) -> usize {
        let mut before = self.entries.range(..key);
        let mut after = self.entries.range((Bound::Excluded(key), Bound::Unbounded));
        let mut n = 0;
        loop {
            match (before.next_back(), after.next()) {
                (None, _) => return n + 1,
                (_, None) => return self.entries.len() - n,
                _ => n += 1,
            }
        }
    }

    pub(crate) fn contains(&self, key: QueueKey, id: &SessionId) -> bool {
        self.entries.get(&key) == Some(id)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&QueueKey, &SessionId)> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(q: &Queue) -> Vec<&str> {
        q.iter().map(|(_, id)| id.as_str()).collect()
    }

    #[test]
    fn fifo_with_head_requeue_and_removal() {
        let (mut q, mut keys) = (Queue::default(), KeyGen::default());
        let push = |q: &mut Queue, key: QueueKey, id: &str| {
            q.insert(key, id.into());
            key
        };
        let a = push(&mut q, keys.tail(0), "a");
        let b = push(&mut q, keys.tail(0), "b");
        let c = push(&mut q, keys.head(), "c");
        assert_eq!(ids(&q), ["c", "a", "b"]);
        assert_eq!(q.position(c), 1);
        assert_eq!(q.position(b), 3);
        assert_eq!(q.remove(a), Some("a".into()));
        assert_eq!(q.position(b), 2);
        let d = push(&mut q, keys.head(), "d");
        assert_eq!(ids(&q), ["d", "c", "b"]);
        assert_eq!(q.front().map(|(k, _)| k), Some(d));
        assert!(q.contains(b, &"b".into()));
        assert!(!q.contains(a, &"a".into()));
    }

    #[test]
    fn earlier_virtual_arrival_goes_first_and_ties_keep_arrival_order() {
        let (mut q, mut keys) = (Queue::default(), KeyGen::default());
        q.insert(keys.tail(100), "late".into());
        q.insert(keys.tail(50), "vip".into());
        q.insert(keys.tail(100), "later".into());
        assert_eq!(ids(&q), ["vip", "late", "later"]);
    }

    #[test]
    fn position_counts_from_either_end() {
        let (mut q, mut keys) = (Queue::default(), KeyGen::default());
        let all: Vec<QueueKey> = (0..9)
            .map(|i| {
                let key = keys.tail(i);
                q.insert(key, format!("s{i}").as_str().into());
                key
            })
            .collect();
        for (i, key) in all.iter().enumerate() {
            assert_eq!(q.position(*key), i + 1);
        }
    }
}
