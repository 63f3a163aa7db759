//! The end-of-run checks: the server's final state, read back from its
//! journal, against its own invariants and against everything the clients
//! were told.

use std::collections::BTreeMap;

use switchboard_core::{AgentId, Center, Session, SessionStatus, Timestamp};

use super::ledger::Ledger;

/// Every violation found; empty when the run is correct.
pub fn check(center: &Center, ledger: &Ledger) -> Vec<String> {
    let mut bad = Vec::new();
    if let Err(e) = center.check_invariants() {
        bad.push(format!("invariant broken: {e}"));
    }
    let sessions: BTreeMap<&str, &Session> = center
        .sessions()
        .into_iter()
        .map(|s| (s.id.as_str(), s))
        .collect();
    acknowledged(&sessions, ledger, &mut bad);
    served(&sessions, ledger, &mut bad);
    single_booked(&sessions, &mut bad);
    for a in center.agents() {
        if a.load() > 0 || a.offer.is_some() {
            bad.push(format!(
                "agent {} still holds a call after every visitor left",
                a.id
            ));
        }
    }
    bad.extend(ledger.anomalies.iter().map(|a| format!("client saw: {a}")));
    bad
}

/// Every success reply is reflected in the final state.
fn acknowledged(sessions: &BTreeMap<&str, &Session>, ledger: &Ledger, bad: &mut Vec<String>) {
    for (visitor, id) in &ledger.joined {
        match sessions.get(id.as_str()) {
            None => bad.push(format!(
                "visitor {visitor} lost: acknowledged session {id} is gone"
            )),
            Some(s) if s.customer_id.as_str() != visitor => bad.push(format!(
                "session {id} belongs to {}, not {visitor}",
                s.customer_id
            )),
            Some(_) => {}
        }
    }
    for (agent, id) in &ledger.accepted {
        let answered_by = sessions
            .get(id.as_str())
            .filter(|s| s.started_at.is_some())
            .and_then(|s| s.agent_id.as_ref());
        if answered_by.map(AgentId::as_str) != Some(agent.as_str()) {
            bad.push(format!(
                "accept of {id} by {agent} acknowledged, but the session shows {answered_by:?}"
            ));
        }
    }
    for id in &ledger.ended {
        if sessions.get(id.as_str()).map(|s| s.status()) != Some(SessionStatus::Ended) {
            bad.push(format!("end of {id} acknowledged, but it is not ended"));
        }
    }
    for id in &ledger.left {
        let answered = sessions.get(id.as_str()).map(|s| s.started_at.is_some());
        if answered != Some(false) {
            bad.push(format!(
                "leave of {id} acknowledged, but it was answered or is gone"
            ));
        }
    }
}

/// Liveness, checked after healing: every session is over, and every visitor
/// who did not ask to leave was answered.
fn served(sessions: &BTreeMap<&str, &Session>, ledger: &Ledger, bad: &mut Vec<String>) {
    for (id, s) in sessions {
        if s.status() != SessionStatus::Ended {
            bad.push(format!(
                "visitor {} still {} in session {id} after healing",
                s.customer_id,
                s.status()
            ));
        } else if s.started_at.is_none() && !ledger.leave_asked.contains(*id) {
            bad.push(format!(
                "visitor {} never served: session {id} ended {:?}",
                s.customer_id, s.end_reason
            ));
        }
    }
}

/// No agent was on two calls at once (every agent takes one at a time here).
fn single_booked(sessions: &BTreeMap<&str, &Session>, bad: &mut Vec<String>) {
    let mut calls: BTreeMap<&AgentId, Vec<(Timestamp, Timestamp, &str)>> = BTreeMap::new();
    for (id, s) in sessions {
        if let (Some(agent), Some(start)) = (&s.agent_id, s.started_at) {
            let end = s.ended_at.unwrap_or(Timestamp::from_millis(u64::MAX));
            calls.entry(agent).or_default().push((start, end, id));
        }
    }
    for (agent, mut list) in calls {
        list.sort();
        for pair in list.windows(2) {
            if pair[1].0 < pair[0].1 {
                bad.push(format!(
                    "agent {agent} double-booked: {} and {} overlap",
                    pair[0].2, pair[1].2
                ));
            }
        }
    }
}
