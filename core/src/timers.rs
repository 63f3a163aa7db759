//! Deadlines the core is waiting for.
//!
//! Every timer of one kind lasts the same configured time and the core's time
//! never runs backwards, so within a kind arming order is firing order. Each
//! kind is therefore a FIFO lane: arm, cancel and pop are all O(1), whatever
//! the number of sessions. A lane is a doubly linked list in a slab, so a
//! cancelled timer frees its slot at once and memory stays bounded by the
//! timers actually armed.
//!
//! Overflow deadlines differ per workgroup, and holds for `recent` routing
//! are re-armed from their start when their length changes, so both are kept
//! in ordered sets instead: O(log n).

use std::collections::BTreeSet;

use crate::{AgentId, SessionId, Timestamp};
use serde::{Deserialize, Serialize};

/// The kinds of timer, in the order they fire when deadlines tie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lane {
    /// The agent rung for a session did not answer within `accept_timeout_secs`.
    Ring = 0,
    /// A visitor has waited `queue_timeout_secs` since joining.
    Queue = 1,
    /// A session has been open for `session_timeout_secs`.
    Session = 2,
}

const LANES: [Lane; 3] = [Lane::Ring, Lane::Queue, Lane::Session];

/// Kinds of agent timer, firing after the session lanes when deadlines tie.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum AgentLane {
    /// An agent's after-call work (`wrap_up_secs`) is over.
    WrapUp = 0,
    /// An agent's pause after rejecting (`reject_delay_secs`) is over.
    RejectDelay = 1,
}

const AGENT_LANES: [AgentLane; 2] = [AgentLane::WrapUp, AgentLane::RejectDelay];

/// Kinds of deadline kept in ordered sets, firing after the session lanes
/// and before the agent lanes when deadlines tie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// A queued visitor may now be served by their group's overflow group.
    Overflow = 0,
    /// A visitor held for their last agent (`recent_wait_secs`) stops waiting
    /// for them and joins their group's queue.
    Hold = 1,
}

const DEADLINES: [Deadline; 2] = [Deadline::Overflow, Deadline::Hold];

/// Handle of one armed timer. Stale handles (fired or cancelled) are harmless:
/// the generation no longer matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TimerKey {
    slot: u32,
    generation: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Node<T> {
    at: Timestamp,
    subject: T,
    generation: u32,
    armed: bool,
    prev: Option<u32>,
    next: Option<u32>,
}

/// One FIFO lane of timers about subjects of type `T`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Fifo<T> {
    nodes: Vec<Node<T>>,
    free: Vec<u32>,
    head: Option<u32>,
    tail: Option<u32>,
}

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo {
            nodes: Vec::new(),
            free: Vec::new(),
            head: None,
            tail: None,
        }
    }
}

impl<T: Clone> Fifo<T> {
    fn push_back(&mut self, at: Timestamp, subject: T) -> TimerKey {
        debug_assert!(
            self.tail.is_none_or(|t| self.nodes[t as usize].at <= at),
            "lane deadlines must not decrease"
        );
        let node = Node {
            at,
            subject,
            generation: 0,
            armed: true,
            prev: self.tail,
            next: None,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                let n = &mut self.nodes[slot as usize];
                let generation = n.generation.wrapping_add(1);
                *n = Node { generation, ..node };
                slot
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        match self.tail {
            Some(t) => self.nodes[t as usize].next = Some(slot),
            None => self.head = Some(slot),
        }
        self.tail = Some(slot);
        TimerKey {
            slot,
            generation: self.nodes[slot as usize].generation,
        }
    }

    fn is_armed(&self, key: TimerKey) -> bool {
        self.nodes
            .get(key.slot as usize)
            .is_some_and(|n| n.armed && n.generation == key.generation)
    }

    fn cancel(&mut self, key: TimerKey) {
        if !self.is_armed(key) {
            return;
        }
        let (prev, next) = {
            let n = &mut self.nodes[key.slot as usize];
            n.armed = false;
            (n.prev.take(), n.next.take())
        };
        match prev {
            Some(p) => self.nodes[p as usize].next = next,
            None => self.head = next,
        }
        match next {
            Some(n) => self.nodes[n as usize].prev = prev,
            None => self.tail = prev,
        }
        self.free.push(key.slot);
    }

    fn front(&self) -> Option<(Timestamp, TimerKey)> {
        let slot = self.head?;
        let n = &self.nodes[slot as usize];
        Some((
            n.at,
            TimerKey {
                slot,
                generation: n.generation,
            },
        ))
    }

    fn subject(&self, key: TimerKey) -> T {
        self.nodes[key.slot as usize].subject.clone()
    }
}

/// What fell due: the kind, its deadline and the session it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    Timer(Lane, Timestamp, SessionId),
    Agent(AgentLane, Timestamp, AgentId),
    /// A deadline of a [`Deadline`] kind about a session.
    At(Deadline, Timestamp, SessionId),
    /// A front-desk deadline (silence, bot answer, handoff attempt, retry).
    Bot(Timestamp, SessionId),
    /// The safety-net dispatch tick.
    Tick(Timestamp),
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Timers {
    lanes: [Fifo<SessionId>; 3],
    agent_lanes: [Fifo<AgentId>; 2],
    sets: [BTreeSet<(Timestamp, SessionId)>; 2],
    tick: Option<Timestamp>,
    /// Front-desk deadlines: at most one per session, each its own length.
    #[serde(default)]
    bot: BTreeSet<(Timestamp, SessionId)>,
}

impl Timers {
    /// Arms a timer of `lane` for `session` at `at`, which must not be before
    /// the lane's latest deadline.
    pub(crate) fn arm(&mut self, lane: Lane, at: Timestamp, session: SessionId) -> TimerKey {
        self.lanes[lane as usize].push_back(at, session)
    }

    pub(crate) fn cancel(&mut self, lane: Lane, key: TimerKey) {
        self.lanes[lane as usize].cancel(key);
    }

    pub(crate) fn is_armed(&self, lane: Lane, key: TimerKey) -> bool {
        self.lanes[lane as usize].is_armed(key)
    }

    /// Arms an agent timer; `at` must not be before the lane's latest deadline.
    pub(crate) fn arm_agent(&mut self, lane: AgentLane, at: Timestamp, agent: AgentId) -> TimerKey {
        self.agent_lanes[lane as usize].push_back(at, agent)
    }

    pub(crate) fn is_armed_agent(&self, lane: AgentLane, key: TimerKey) -> bool {
        self.agent_lanes[lane as usize].is_armed(key)
    }

    /// Arms a `kind` deadline for `session` at `at`, any time.
    pub(crate) fn arm_at(&mut self, kind: Deadline, at: Timestamp, session: SessionId) {
        self.sets[kind as usize].insert((at, session));
    }

    /// Cancels the `kind` deadline of `session` armed at `at`, if armed.
    pub(crate) fn cancel_at(&mut self, kind: Deadline, at: Timestamp, session: &SessionId) {
        self.sets[kind as usize].remove(&(at, session.clone()));
    }

    pub(crate) fn is_armed_at(&self, kind: Deadline, at: Timestamp, session: &SessionId) -> bool {
        self.sets[kind as usize].contains(&(at, session.clone()))
    }

    /// Arms session `session`'s front-desk deadline at `at`.
    pub(crate) fn arm_bot(&mut self, at: Timestamp, session: SessionId) {
        self.bot.insert((at, session));
    }

    /// Cancels session `session`'s front-desk deadline armed at `at`.
    pub(crate) fn cancel_bot(&mut self, at: Timestamp, session: &SessionId) {
        self.bot.remove(&(at, session.clone()));
    }

    pub(crate) fn is_armed_bot(&self, at: Timestamp, session: &SessionId) -> bool {
        self.bot.contains(&(at, session.clone()))
    }

    /// Drops every lane timer and hold (overflows and the tick stay: no
    /// configured duration sets them), to re-arm them afresh.
    pub(crate) fn clear_lanes(&mut self) {
        self.lanes = Default::default();
        self.agent_lanes = Default::default();
        self.sets[Deadline::Hold as usize].clear();
    }

    /// Arms the dispatch tick at `at` unless it is armed already.
    pub(crate) fn arm_tick(&mut self, at: Timestamp) {
        self.tick.get_or_insert(at);
    }

    pub(crate) fn tick_armed(&self) -> bool {
        self.tick.is_some()
    }

    pub(crate) fn next_deadline(&self) -> Option<Timestamp> {
        let lanes = self
            .lanes
            .iter()
            .filter_map(|l| l.front().map(|(at, _)| at));
        let agents = self
            .agent_lanes
            .iter()
            .filter_map(|l| l.front().map(|(at, _)| at));
        let sets = self
            .sets
            .iter()
            .filter_map(|s| s.first().map(|(at, _)| *at));
        let bot = self.bot.first().map(|(at, _)| *at);
        lanes
            .chain(agents)
            .chain(sets)
            .chain(self.tick)
            .chain(bot)
            .min()
    }

    /// Removes and returns the earliest timer due at or before `now`; on equal
    /// deadlines ring, queue, session, overflow, hold, wrap-up, reject-delay,
    /// the tick, then the front desk.
    pub(crate) fn pop_due(&mut self, now: Timestamp) -> Option<Due> {
        let session = LANES
            .iter()
            .filter_map(|&l| {
                self.lanes[l as usize]
                    .front()
                    .map(|(at, key)| (at, l as u8, key))
            })
            .min_by_key(|(at, rank, _)| (*at, *rank));
        let agent = AGENT_LANES
            .iter()
            .filter_map(|&l| {
                let front = self.agent_lanes[l as usize].front();
                front.map(|(at, key)| (at, 5 + l as u8, key))
            })
            .min_by_key(|(at, rank, _)| (*at, *rank));
        let tick = self.tick.map(|at| (at, 7u8));
        let bot = self.bot.first().map(|(at, _)| (*at, 8u8));
        let set = DEADLINES
            .iter()
            .filter_map(|&d| {
                self.sets[d as usize]
                    .first()
                    .map(|(at, _)| (*at, 3 + d as u8))
            })
            .min();
        let (at, rank) = [
            session.map(|(at, r, _)| (at, r)),
            set,
            agent.map(|(at, r, _)| (at, r)),
            tick,
            bot,
        ]
        .into_iter()
        .flatten()
        .min()?;
        if at > now {
            return None;
        }
        match (rank, session, agent) {
            (8, _, _) => {
                let (at, session) = self.bot.pop_first()?;
                Some(Due::Bot(at, session))
            }
            (7, _, _) => {
                self.tick = None;
                Some(Due::Tick(at))
            }
            (3 | 4, _, _) => {
                let kind = DEADLINES[usize::from(rank - 3)];
                let (at, session) = self.sets[kind as usize].pop_first()?;
                Some(Due::At(kind, at, session))
            }
            (5.., _, Some((at, _, key))) => {
                let lane = AGENT_LANES[usize::from(rank - 5)];
                let fifo = &mut self.agent_lanes[lane as usize];
                let agent = fifo.subject(key);
                fifo.cancel(key);
                Some(Due::Agent(lane, at, agent))
            }
            (_, Some((at, _, key)), _) => {
                let lane = LANES[usize::from(rank)];
                let fifo = &mut self.lanes[lane as usize];
                let session = fifo.subject(key);
                fifo.cancel(key);
                Some(Due::Timer(lane, at, session))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn fires_in_deadline_order_across_lanes_and_skips_cancelled() {
        let mut t = Timers::default();
        t.arm_tick(at(20));
        let k = t.arm(Lane::Ring, at(10), "x".into());
        t.arm(Lane::Session, at(10), "z".into());
        t.arm(Lane::Queue, at(10), "y".into());
        t.arm(Lane::Queue, at(30), "w".into());
        t.cancel(Lane::Ring, k);
        assert!(!t.is_armed(Lane::Ring, k));
        assert_eq!(t.next_deadline(), Some(at(10)));
        assert_eq!(
            t.pop_due(at(15)),
            Some(Due::Timer(Lane::Queue, at(10), "y".into()))
        );
        assert_eq!(
            t.pop_due(at(15)),
            Some(Due::Timer(Lane::Session, at(10), "z".into()))
        );
        assert_eq!(t.pop_due(at(15)), None);
        assert_eq!(t.pop_due(at(40)), Some(Due::Tick(at(20))));
        assert!(!t.tick_armed());
        assert_eq!(
            t.pop_due(at(40)),
            Some(Due::Timer(Lane::Queue, at(30), "w".into()))
        );
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn stale_keys_never_cancel_a_reused_slot() {
        let mut t = Timers::default();
        let old = t.arm(Lane::Ring, at(1), "a".into());
        assert!(t.pop_due(at(1)).is_some());
        let new = t.arm(Lane::Ring, at(2), "b".into());
        // `old` fired; cancelling it must not touch `new`, which reuses its slot.
        t.cancel(Lane::Ring, old);
        assert!(t.is_armed(Lane::Ring, new));
        assert_eq!(
            t.pop_due(at(5)),
            Some(Due::Timer(Lane::Ring, at(2), "b".into()))
        );
    }

    #[test]
    fn cancelling_from_the_middle_keeps_order_and_reuses_memory() {
        let mut t = Timers::default();
        let keys: Vec<_> = (0..5)
            .map(|i| t.arm(Lane::Session, at(i), format!("s{i}").into()))
            .collect();
        t.cancel(Lane::Session, keys[2]);
        t.cancel(Lane::Session, keys[0]);
        t.cancel(Lane::Session, keys[4]);
        let mut fired = Vec::new();
        while let Some(Due::Timer(_, _, s)) = t.pop_due(at(100)) {
            fired.push(s.to_string());
        }
        assert_eq!(fired, ["s1", "s3"]);
        for i in 0..5 {
            t.arm(Lane::Session, at(200 + i), "again".into());
        }
        assert_eq!(
            t.lanes[Lane::Session as usize].nodes.len(),
            5,
            "slots reused"
        );
    }
}
