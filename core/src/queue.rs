//! The visitor queue: FIFO with re-queue at the head, O(log n) removal from
//! anywhere (leave, timeout, manual assignment).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "QueueRepr", into = "QueueRepr")]
pub(crate) struct Queue {
    entries: BTreeMap<QueueKey, SessionId>,
    next_tail: i64,
    next_head: i64,
}

/// The queue as stored in snapshots: entries as a list, since their keys are
/// not strings.
#[derive(Serialize, Deserialize)]
struct QueueRepr {
    entries: Vec<(QueueKey, SessionId)>,
    next_tail: i64,
    next_head: i64,
}

impl From<Queue> for QueueRepr {
    fn from(q: Queue) -> Self {
        QueueRepr {
            entries: q.entries.into_iter().collect(),
            next_tail: q.next_tail,
            next_head: q.next_head,
        }
    }
}

impl From<QueueRepr> for Queue {
    fn from(r: QueueRepr) -> Self {
        Queue {
            entries: r.entries.into_iter().collect(),
            next_tail: r.next_tail,
            next_head: r.next_head,
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

    /// Queues a visitor by virtual arrival time `at` (ms).
    pub(crate) fn insert(&mut self, id: SessionId, at: i64) -> QueueKey {
        let key = QueueKey {
            band: 1,
            at,
            seq: self.next_tail,
        };
        self.next_tail += 1;
        self.entries.insert(key, id);
        key
    }

    /// Puts a visitor back in front of everyone (after a reject or ring timeout).
    pub(crate) fn push_front(&mut self, id: SessionId) -> QueueKey {
        self.next_head -= 1;
        let key = QueueKey {
            band: 0,
            at: self.next_head,
            seq: 0,
        };
        self.entries.insert(key, id);
        key
    }

    #[cfg(test)]
    fn push_back(&mut self, id: SessionId) -> QueueKey {
        self.insert(id, 0)
    }

    pub(crate) fn front(&self) -> Option<(QueueKey, &SessionId)> {
        self.entries.first_key_value().map(|(k, v)| (*k, v))
    }

    pub(crate) fn remove(&mut self, key: QueueKey) -> Option<SessionId> {
        self.entries.remove(&key)
    }

    /// 1-based position of the entry at `key`. Costs O(position): a read for
    /// visitors polling their place, never on the dispatch path.
    pub(crate) fn position(&self, key: QueueKey) -> usize {
        self.entries.range(..key).count() + 1
    }

    pub(crate) fn contains(&self, key: QueueKey, id: &SessionId) -> bool {
        self.entries.get(&key) == Some(id)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &SessionId> {
        self.entries.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(q: &Queue) -> Vec<&str> {
        q.iter().map(SessionId::as_str).collect()
    }

    #[test]
    fn fifo_with_head_requeue_and_removal() {
        let mut q = Queue::default();
        let a = q.push_back("a".into());
        let b = q.push_back("b".into());
        let c = q.push_front("c".into());
        assert_eq!(ids(&q), ["c", "a", "b"]);
        assert_eq!(q.position(c), 1);
        assert_eq!(q.position(b), 3);
        assert_eq!(q.remove(a), Some("a".into()));
        assert_eq!(q.position(b), 2);
        let d = q.push_front("d".into());
        assert_eq!(ids(&q), ["d", "c", "b"]);
        assert_eq!(q.front().map(|(k, _)| k), Some(d));
        assert!(q.contains(b, &"b".into()));
        assert!(!q.contains(a, &"a".into()));
    }
}
