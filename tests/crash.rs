//! Crash safety: SIGKILL the server in the middle of a stream of requests,
//! restart it on the same file, and check that every request that got a
//! success reply is reflected and nothing the clients never asked for is.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::Value;
use switchboard_core::Prng;

const CS: &str = "/customer-service";
const AGENTS: [&str; 3] = ["agent_1", "agent_2", "agent_3"];

/// What the clients were told, and what may or may not have happened.
#[derive(Default)]
struct Ledger {
    /// Session id -> visitor, for joins answered 200.
    joined: BTreeMap<String, String>,
    /// Per worker, its visitors in the order their joins were answered.
    join_order: BTreeMap<usize, Vec<String>>,
    /// Visitors whose join got no answer.
    maybe_joined: BTreeSet<String>,
    accepted: BTreeSet<String>,
    ended: BTreeSet<String>,
    rated: BTreeMap<String, u64>,
}

fn worker(addr: String, w: usize, round: usize, ledger: Arc<Mutex<Ledger>>) {
    let mut n = 0;
    loop {
        let ok = match n % 4 {
            0 => {
                let visitor = format!("r{round}w{w}v{n}");
                let body = format!(r#"{{"visitor_id":"{visitor}"}}"#);
                match Server::try_call(&addr, "POST", &format!("{CS}/queue/join"), &body) {
                    None => {
                        ledger.lock().unwrap().maybe_joined.insert(visitor);
                        false
                    }
                    Some((200, v)) => {
                        let sid = v["session_id"].as_str().unwrap_or_default().to_owned();
                        let mut l = ledger.lock().unwrap();
                        l.joined.insert(sid, visitor.clone());
                        l.join_order.entry(w).or_default().push(visitor);
                        true
                    }
                    Some(_) => true,
                }
            }
            1 => {
                let agent = AGENTS[(n / 4 + w) % AGENTS.len()];
                match Server::try_call(&addr, "POST", &format!("{CS}/agents/{agent}/accept"), "") {
                    None => false,
                    Some((200, v)) => {
                        let sid = v["session_id"].as_str().unwrap_or_default().to_owned();
                        ledger.lock().unwrap().accepted.insert(sid);
                        true
                    }
                    Some(_) => true,
                }
            }
            2 => {
                let target = {
                    let l = ledger.lock().unwrap();
                    l.accepted.iter().find(|s| !l.ended.contains(*s)).cloned()
                };
                match target {
                    None => true,
                    Some(sid) => {
                        match Server::try_call(&addr, "DELETE", &format!("{CS}/sessions/{sid}"), "")
                        {
                            None => false,
                            Some((200, _)) => {
                                ledger.lock().unwrap().ended.insert(sid);
                                true
                            }
                            Some(_) => true,
                        }
                    }
                }
            }
            _ => {
                let target = {
                    let l = ledger.lock().unwrap();
                    l.ended.iter().find(|s| !l.rated.contains_key(*s)).cloned()
                };
                match target {
                    None => true,
                    Some(sid) => {
                        let stars = 1 + (n as u64 % 5);
                        let body = format!(r#"{{"rating":{stars}}}"#);
                        match Server::try_call(
                            &addr,
                            "POST",
                            &format!("{CS}/sessions/{sid}/rate"),
                            &body,
                        ) {
                            None => false,
                            Some((200, _)) => {
                                ledger.lock().unwrap().rated.insert(sid, stars);
                                true
                            }
                            Some(_) => true,
                        }
                    }
                }
            }
        };
        if !ok {
            return; // the server is gone
        }
        n += 1;
    }
}

fn check(s: &Server, ledger: &Ledger) {
    let sessions = s.get(&format!("{CS}/sessions"));
    let by_id: BTreeMap<&str, &Value> = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["session_id"].as_str().unwrap(), v))
        .collect();
    for (sid, visitor) in &ledger.joined {
        let s = by_id
            .get(sid.as_str())
            .unwrap_or_else(|| panic!("acknowledged join {sid} lost"));
        assert_eq!(s["customer_id"], visitor.as_str());
    }
    for (sid, s) in &by_id {
        let visitor = s["customer_id"].as_str().unwrap();
        assert!(
            ledger.joined.contains_key(*sid) || ledger.maybe_joined.contains(visitor),
            "session {sid} of {visitor} was never asked for"
        );
    }
    for sid in &ledger.accepted {
        assert!(
            !by_id[sid.as_str()]["started_at"].is_null(),
            "acknowledged accept of {sid} lost"
        );
    }
    for sid in &ledger.ended {
        assert_eq!(
            by_id[sid.as_str()]["status"],
            "ended",
            "acknowledged end of {sid} lost"
        );
    }
    for (sid, stars) in &ledger.rated {
        assert_eq!(
            by_id[sid.as_str()]["rating"]["rating"].as_u64(),
            Some(*stars),
            "rating of {sid} lost"
        );
    }
    for a in AGENTS {
        assert!(s.get(&format!("{CS}/agents"))["agents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["agent_id"] == a));
    }
    // Each worker's queued visitors are still in the order it was told.
    let queued: Vec<String> = s.get(&format!("{CS}/queue/status"))["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["visitor_id"].as_str().unwrap().to_owned())
        .collect();
    for order in ledger.join_order.values() {
        let mine: Vec<&String> = queued.iter().filter(|v| order.contains(v)).collect();
        let expected: Vec<&String> = order.iter().filter(|v| queued.contains(v)).collect();
        assert_eq!(mine, expected, "queue order changed across the crash");
    }
}

#[test]
fn sigkill_mid_stream_loses_no_acknowledged_request() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let config = yaml("  max_queue_size: 500\n  max_sessions: 5000");
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut rng = Prng::new(2026);
    let mut server = Server::start_on(&db, &config);
    for a in AGENTS {
        server.post(
            &format!("{CS}/agents/register"),
            &format!(r#"{{"agent_id":"{a}"}}"#),
        );
    }
    for round in 0..3 {
        let workers: Vec<_> = (0..3)
            .map(|w| {
                let (addr, ledger) = (server.addr.clone(), ledger.clone());
                std::thread::spawn(move || worker(addr, w, round, ledger))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(150 + rng.below(500)));
        server.kill();
        for w in workers {
            w.join().unwrap();
        }
        server = Server::start_on(&db, &config);
        let l = ledger.lock().unwrap();
        assert!(
            l.joined.len() > 3 * (round + 1),
            "round {round}: too little traffic to test anything"
        );
        check(&server, &l);
    }
    let l = ledger.lock().unwrap();
    assert!(!l.accepted.is_empty() && !l.ended.is_empty() && !l.rated.is_empty());
}
