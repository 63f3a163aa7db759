//! The visitor queue: FIFO with re-queue at the head, O(log n) removal from
//! anywhere (leave, timeout, manual assignment).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::SessionId;

/// A place in the queue. Keys grow at the tail and shrink at the head, so key
/// order is queue order.
pub(crate) type QueueKey = i64;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Queue {
    entries: BTreeMap<QueueKey, SessionId>,
    next_tail: QueueKey,
    next_head: QueueKey,
}

impl Queue {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn push_back(&mut self, id: SessionId) -> QueueKey {
        let key = self.next_tail;
        self.next_tail += 1;
        self.entries.insert(key, id);
        key
    }

    /// Puts a visitor back in front of everyone (after a reject or ring timeout).
    pub(crate) fn push_front(&mut self, id: SessionId) -> QueueKey {
        self.next_head -= 1;
        let key = self.next_head;
        self.entries.insert(key, id);
        key
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
