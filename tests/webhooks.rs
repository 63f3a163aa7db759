//! Webhooks against the real binary and a real HTTP receiver on loopback:
//! signed, in order per session, retried with the same key, surviving a
//! SIGKILL, and a hanging receiver delays nobody.

mod common;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

const CS: &str = "/customer-service";

fn subscribe(s: &Server, url: &str, events: &[&str]) -> (i64, String) {
    let body = serde_json::json!({ "url": url, "events": events }).to_string();
    let v = s.post(&format!("{CS}/webhooks"), &body);
    (
        v["id"].as_i64().unwrap(),
        v["secret"].as_str().unwrap().to_owned(),
    )
}

fn config(extra: &str) -> String {
    format!("ws_grace_secs: 1\n{TEST_SECURITY}webhooks:\n  backoff_ms: 100\n  backoff_max_ms: 400\n  timeout_ms: 1500\n{extra}customer_service:\n  max_queue_size: 100\n")
}

/// A whole call: join, ring, accept, end, rate.
fn a_call(s: &Server, visitor: &str) -> String {
    let sid = s.join(visitor);
    s.post(&format!("{CS}/agents/a1/accept"), "");
    s.call("DELETE", &format!("{CS}/sessions/{sid}"), None);
    s.post(&format!("{CS}/sessions/{sid}/rate"), r#"{"rating":5}"#);
    sid
}

fn events_of(got: &[Got], sid: &str) -> Vec<String> {
    got.iter()
        .map(Got::json)
        .filter(|v| v["sessionId"] == sid)
        .filter_map(|v| v["event"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn events_arrive_signed_and_in_order_per_session() {
    let s = Server::start(&config(""));
    let r = Receiver::start(ok_always());
    let (_, secret) = subscribe(&s, &r.url(), switchboard_app::hooks::EVENTS);
    s.register("a1");
    let sid = a_call(&s, "v1");
    let got = r.wait(Duration::from_secs(10), |g| events_of(g, &sid).len() >= 5);
    assert_eq!(
        events_of(&got, &sid),
        [
            "session.created",
            "session.assigned",
            "call.accepted",
            "call.ended",
            "rating.submitted"
        ]
    );
    let mut keys = std::collections::HashSet::new();
    for g in &got {
        let ts = &g.headers["x-switchboard-timestamp"];
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{ts}.{}", g.body).as_bytes());
        let want: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(g.headers["x-switchboard-signature"], format!("v1={want}"));
        let v = g.json();
        assert_eq!(
            g.headers["idempotency-key"],
            v["idempotencyKey"].as_str().unwrap()
        );
        assert!(
            keys.insert(v["idempotencyKey"].as_str().unwrap().to_owned()),
            "one key per event"
        );
    }
    let status = got
        .iter()
        .map(Got::json)
        .find(|v| v["event"] == "agent.status_changed");
    assert_eq!(
        status.map(|v| v["data"]["state"].clone()),
        Some(Value::from("ready"))
    );
}

#[test]
fn a_failed_delivery_is_retried_with_the_same_key_and_logged() {
    let s = Server::start(&config(""));
    let r = Receiver::start(Arc::new(|n| Some(if n == 0 { 500 } else { 200 })));
    let (id, _) = subscribe(&s, &r.url(), &["session.created"]);
    let sid = s.join("v1");
    let got = r.wait(Duration::from_secs(10), |g| g.len() >= 2);
    assert_eq!(got.len(), 2, "one failure, one retry");
    assert_eq!(
        got[0].headers["idempotency-key"],
        got[1].headers["idempotency-key"]
    );
    assert_eq!(got[1].json()["sessionId"], sid.as_str());
    let log = s.get(&format!("{CS}/webhooks/{id}/deliveries"));
    let statuses: Vec<u64> = log["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["status"].as_u64())
        .collect();
    assert_eq!(statuses, [200, 500], "newest first: {log}");
    // An admin can send it again.
    let key = got[0].headers["idempotency-key"].clone();
    s.post(&format!("{CS}/webhooks/{id}/events/{key}/redeliver"), "");
    let again = r.wait(Duration::from_secs(10), |g| g.len() >= 3);
    assert_eq!(again[2].headers["idempotency-key"], key);
}

#[test]
fn undelivered_events_survive_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    // A port nobody listens on yet: deliveries fail until the receiver comes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut s = Server::start_on(&db, &config(""));
    subscribe(&s, &url, switchboard_app::hooks::EVENTS);
    s.register("a1");
    let sessions: Vec<String> = (0..5).map(|i| a_call(&s, &format!("v{i}"))).collect();
    s.kill();
    let r = Receiver::on(TcpListener::bind(("127.0.0.1", port)).unwrap(), ok_always());
    let _s = Server::start_on(&db, &config(""));
    let got = r.wait(Duration::from_secs(20), |g| {
        sessions.iter().all(|sid| events_of(g, sid).len() >= 5)
    });
    for sid in &sessions {
        let mut seen = events_of(&got, sid);
        seen.dedup();
        assert_eq!(
            seen,
            [
                "session.created",
                "session.assigned",
                "call.accepted",
                "call.ended",
                "rating.submitted"
            ],
            "{sid}"
        );
    }
    // Duplicates, if any, are retries: same key, same body.
    let mut bodies: HashMap<String, String> = HashMap::new();
    for g in &got {
        let key = g.headers["idempotency-key"].clone();
        if let Some(before) = bodies.insert(key, g.body.clone()) {
            assert_eq!(before, g.body);
        }
    }
}

#[test]
fn a_hanging_receiver_delays_neither_calls_nor_other_subscribers() {
    let s = Server::start(&config(""));
    let hang = Receiver::start(Arc::new(|_| None));
    let fine = Receiver::start(ok_always());
    subscribe(&s, &hang.url(), &["session.created"]);
    subscribe(&s, &fine.url(), &["session.created"]);
    let mut slowest = Duration::ZERO;
    for i in 0..10 {
        let t = Instant::now();
        s.join(&format!("v{i}"));
        slowest = slowest.max(t.elapsed());
    }
    assert!(
        slowest < Duration::from_millis(500),
        "a join took {slowest:?}"
    );
    let t = Instant::now();
    let got = fine.wait(Duration::from_secs(5), |g| g.len() >= 10);
    assert_eq!(got.len(), 10, "the other subscriber got every event");
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "promptly: {:?}",
        t.elapsed()
    );
    assert!(
        !hang.got.lock().unwrap().is_empty(),
        "the hanging one was tried"
    );
}

#[test]
fn bad_subscriptions_are_refused_and_change_nothing() {
    let s = Server::start(&config(""));
    for body in [
        r#"{"url":"ftp://example.com/x","events":["call.ended"]}"#,
        r#"{"url":"http://127.0.0.1:9/x","events":["call.exploded"]}"#,
        r#"{"url":"http://127.0.0.1:9/x","events":[]}"#,
        r#"{"url":"http://127.0.0.1:9/x"}"#,
    ] {
        let (status, v) = s.call("POST", &format!("{CS}/webhooks"), Some(body));
        assert_eq!(status, 400, "{body}: {v}");
    }
    assert_eq!(s.get(&format!("{CS}/webhooks"))["count"], 0);
    let (id, secret) = subscribe(&s, "http://127.0.0.1:9/x", &["call.ended"]);
    assert!(secret.starts_with("whsec_"));
    let listed = s.get(&format!("{CS}/webhooks"));
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown once"
    );
    let (status, _) = s.call(
        "PATCH",
        &format!("{CS}/webhooks/{id}"),
        Some(r#"{"events":["nope"]}"#),
    );
    assert_eq!(status, 400);
    assert_eq!(
        s.get(&format!("{CS}/webhooks"))["webhooks"][0]["events"][0],
        "call.ended"
    );
}
