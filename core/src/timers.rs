//! Deadlines the core is waiting for, in firing order, cancellable by key.

use std::collections::BTreeMap;

use crate::{SessionId, Timestamp};

/// Identifies one armed timer; ties on the same deadline fire in arming order.
pub(crate) type TimerKey = (Timestamp, u64);

/// What to do when a deadline passes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The agent rung for this session did not answer in time.
    Ring(SessionId),
    /// The visitor has been queued for `queue_timeout_secs`.
    QueueTimeout(SessionId),
    /// The session has been open for `session_timeout_secs`.
    SessionTimeout(SessionId),
    /// Safety-net dispatch while visitors wait.
    DispatchTick,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Timers {
    armed: BTreeMap<TimerKey, Timer>,
    next_seq: u64,
}

impl Timers {
    pub(crate) fn arm(&mut self, at: Timestamp, timer: Timer) -> TimerKey {
        let key = (at, self.next_seq);
        self.next_seq += 1;
        self.armed.insert(key, timer);
        key
    }

    pub(crate) fn cancel(&mut self, key: TimerKey) {
        self.armed.remove(&key);
    }

    pub(crate) fn next_deadline(&self) -> Option<Timestamp> {
        self.armed.first_key_value().map(|((at, _), _)| *at)
    }

    /// Removes and returns the earliest timer due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Timestamp) -> Option<(Timestamp, Timer)> {
        match self.armed.first_entry() {
            Some(e) if e.key().0 <= now => {
                let ((at, _), timer) = e.remove_entry();
                Some((at, timer))
            }
            _ => None,
        }
    }

    pub(crate) fn is_armed(&self, key: TimerKey) -> bool {
        self.armed.contains_key(&key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_deadline_then_arming_order_and_skips_cancelled() {
        let mut t = Timers::default();
        let at = Timestamp::from_millis;
        t.arm(at(20), Timer::DispatchTick);
        let k = t.arm(at(10), Timer::Ring("x".into()));
        t.arm(at(10), Timer::QueueTimeout("y".into()));
        t.arm(at(10), Timer::SessionTimeout("z".into()));
        t.cancel(k);
        assert_eq!(t.next_deadline(), Some(at(10)));
        assert_eq!(
            t.pop_due(at(15)),
            Some((at(10), Timer::QueueTimeout("y".into())))
        );
        assert_eq!(
            t.pop_due(at(15)),
            Some((at(10), Timer::SessionTimeout("z".into())))
        );
        assert_eq!(t.pop_due(at(15)), None);
        assert_eq!(t.pop_due(at(20)), Some((at(20), Timer::DispatchTick)));
        assert_eq!(t.next_deadline(), None);
    }
}
