//! What the clients were told: every success reply, kept to hold the server
//! to it at the end, and counts for the report. Shared by every client task
//! (turmoil runs them all on one thread).

use std::collections::{BTreeMap, BTreeSet};

/// The clients' record of acknowledged outcomes.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Visitor → the session a join reply gave it.
    pub joined: BTreeMap<String, String>,
    /// Sessions whose visitor asked to leave (acknowledged or not).
    pub leave_asked: BTreeSet<String>,
    /// Sessions a leave reply acknowledged.
    pub left: BTreeSet<String>,
    /// (agent, session) pairs an accept reply acknowledged.
    pub accepted: Vec<(String, String)>,
    /// Sessions an end reply acknowledged.
    pub ended: BTreeSet<String>,
    /// Visitors whose task finished (their session ended, as they saw it).
    pub visitors_done: usize,
    /// Visitors who saw their call answered.
    pub visitors_answered: usize,
    /// What went wrong as a client saw it (e.g. a session that vanished).
    pub anomalies: Vec<String>,
    /// Requests sent.
    pub requests: u64,
    /// Requests without an answer (timeout, reset): their effect is unknown.
    pub unanswered: u64,
    /// Offers an agent rejected on purpose.
    pub rejected: u64,
    /// Offers an agent let ring out on purpose.
    pub ignored: u64,
    /// WebSocket connections an agent (re)opened.
    pub ws_connects: u64,
}
