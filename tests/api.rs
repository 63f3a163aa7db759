//! The seed's HTTP API, end to end against the real binary.

mod common;

use common::*;
use serde_json::Value;

const CS: &str = "/customer-service";

fn p(path: &str) -> String {
    format!("{CS}{path}")
}

#[test]
fn a_whole_call_over_http() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    s.post(
        &p("/agents/register"),
        r#"{"agent_id":"agent_001","agent_name":"客服小王"}"#,
    );
    let join = s.post(
        &p("/queue/join"),
        r#"{"visitor_id":"cust_001","visitor_name":"张三"}"#,
    );
    assert_eq!(join["status"], "assigned");
    assert_eq!(join["agent_id"], "agent_001");
    let sid = join["session_id"].as_str().unwrap().to_owned();
    assert_eq!(join["room_id"], format!("customer-service/{sid}"));

    let accepted = s.post(&p("/agents/agent_001/accept"), r#"{"media":"audio"}"#);
    assert_eq!(
        (accepted["status"].as_str(), accepted["media"].as_str()),
        (Some("active"), Some("audio"))
    );
    s.register("agent_002");
    let moved = s.post(
        &p(&format!("/sessions/{sid}/transfer")),
        r#"{"target_agent_id":"agent_002"}"#,
    );
    assert_eq!(moved["agent_id"], "agent_002");
    let (status, ended) = s.call("DELETE", &p(&format!("/sessions/{sid}")), None);
    assert_eq!((status, ended["status"].as_str()), (200, Some("ended")));
    let rated = s.post(
        &p(&format!("/sessions/{sid}/rate")),
        r#"{"rating":5,"comment":"服务很好"}"#,
    );
    assert_eq!(rated["rating"], 5);
    assert_eq!(
        s.get(&p(&format!("/sessions/{sid}/rating")))["comment"],
        "服务很好"
    );

    let ratings = s.get(&p("/stats/ratings"));
    assert_eq!(
        (ratings["total"].as_u64(), ratings["average"].as_f64()),
        (Some(1), Some(5.0))
    );
    assert_eq!(ratings["distribution"]["5"], 1);
    let stats = s.get(&p("/stats"));
    assert_eq!(stats["sessions"]["ended"], 1);
    assert_eq!(stats["totals"]["transfers"], 1);
    let trend = s.get(&p("/stats/trend?days=3"));
    assert_eq!(trend["trend"].as_array().map(Vec::len), Some(3));
    assert_eq!(trend["trend"][2]["created"], 1);
    let list = s.get(&p("/sessions"));
    assert_eq!(
        (
            list["count"].as_u64(),
            list["sessions"][0]["rating"]["rating"].as_u64()
        ),
        (Some(1), Some(5))
    );
}

#[test]
fn queue_join_position_leave_and_status() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    for v in ["v1", "v2", "v3"] {
        let j = s.post(&p("/queue/join"), &format!(r#"{{"visitor_id":"{v}"}}"#));
        assert_eq!(j["status"], "queued");
    }
    assert_eq!(s.get(&p("/queue/position/v3"))["position"], 3);
    let left = s.post(&p("/queue/leave"), r#"{"visitor_id":"v2"}"#);
    assert_eq!(left["status"], "left");
    assert_eq!(s.get(&p("/queue/position/v3"))["position"], 2);
    let status = s.get(&p("/queue/status"));
    assert_eq!(status["length"], 2);
    let order: Vec<&str> = status["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["visitor_id"].as_str())
        .collect();
    assert_eq!(order, ["v1", "v3"]);
    let (code, body) = s.call("GET", &p("/queue/position/v2"), None);
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (404, Some("visitor_not_found"))
    );
    // An agent becoming ready takes the head at once.
    s.register("a1");
    let v1 = s.get(&p("/queue/position/v1"));
    assert_eq!(
        (v1["position"].clone(), v1["agent_id"].as_str()),
        (Value::Null, Some("a1"))
    );
}

#[test]
fn queue_full_is_429() {
    let s = Server::start(&yaml("  max_queue_size: 2"));
    s.post(&p("/queue/join"), r#"{"visitor_id":"v1"}"#);
    s.post(&p("/queue/join"), r#"{"visitor_id":"v2"}"#);
    let (code, body) = s.call("POST", &p("/queue/join"), Some(r#"{"visitor_id":"v3"}"#));
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (429, Some("queue_full"))
    );
    assert_eq!(s.get(&p("/queue/status"))["length"], 2, "nothing changed");
}

#[test]
fn reject_and_ring_timeout_requeue_at_the_head() {
    let s = Server::start(&yaml("  accept_timeout_secs: 1"));
    s.register("a1");
    s.post(&p("/queue/join"), r#"{"visitor_id":"v1"}"#);
    s.post(&p("/queue/join"), r#"{"visitor_id":"v2"}"#);
    s.post(&p("/agents/a1/offline"), "");
    assert_eq!(
        s.get(&p("/queue/position/v1"))["position"],
        1,
        "back at the head"
    );
    s.register("a1");
    let agent = s.post(&p("/agents/a1/reject"), "");
    // a1 is the only agent: v1, back at the head, rings a1 again.
    assert_eq!(agent["status"], "ringing");
    assert_eq!(agent["stats"]["rejected"], 1);
    std::thread::sleep(std::time::Duration::from_millis(1_600));
    let a1 = s.get(&p("/agents"))["agents"][0].clone();
    assert!(a1["stats"]["timed_out"].as_u64() >= Some(1), "{a1}");
    assert_eq!(s.get(&p("/queue/position/v2"))["position"], 1);
    assert!(s.get(&p("/stats"))["totals"]["ring_timeouts"].as_u64() >= Some(1));
}

#[test]
fn every_400_case() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    for (method, path, body) in [
        ("POST", "/sessions", r#"{"customer_id":"c"}"#),
        ("POST", "/sessions", r#"{"title":"","customer_id":"c"}"#),
        ("POST", "/sessions", r#"{"title":5,"customer_id":"c"}"#),
        ("POST", "/sessions", "{not json"),
        ("POST", "/sessions", ""),
        ("POST", "/agents/register", r#"{}"#),
        ("POST", "/agents/register", r#"{"agent_id":""}"#),
        ("POST", "/queue/join", r#"{"visitor_name":"x"}"#),
        ("POST", "/queue/leave", r#"[]"#),
        ("POST", "/agents/a/accept", r#"{"media":"hologram"}"#),
        ("GET", "/stats/trend?days=0", ""),
        ("GET", "/stats/trend?days=x", ""),
    ] {
        let (code, b) = s.call(method, &p(path), Some(body));
        assert_eq!(code, 400, "{method} {path} {body}: {b}");
        assert!(
            b["error"]["code"].is_string() && b["error"]["message"].is_string(),
            "{b}"
        );
    }
    // Rating out of range, once there is a rateable session.
    s.register("a1");
    let sid = s.join("v1");
    s.post(&p("/agents/a1/accept"), "");
    s.call("DELETE", &p(&format!("/sessions/{sid}")), None);
    for r in ["0", "6", "-1", "300", "\"five\""] {
        let (code, _) = s.call(
            "POST",
            &p(&format!("/sessions/{sid}/rate")),
            Some(&format!(r#"{{"rating":{r}}}"#)),
        );
        assert_eq!(code, 400, "rating {r}");
    }
}

#[test]
fn every_404_case() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    for (method, path, body, code) in [
        ("GET", "/sessions/cs_nope", "", "session_not_found"),
        ("DELETE", "/sessions/cs_nope", "", "session_not_found"),
        (
            "POST",
            "/sessions/cs_nope/assign",
            r#"{"agent_id":"a"}"#,
            "session_not_found",
        ),
        (
            "POST",
            "/sessions/cs_nope/transfer",
            r#"{"target_agent_id":"a"}"#,
            "session_not_found",
        ),
        (
            "POST",
            "/sessions/cs_nope/rate",
            r#"{"rating":3}"#,
            "session_not_found",
        ),
        ("GET", "/sessions/cs_nope/rating", "", "session_not_found"),
        ("POST", "/agents/nobody/offline", "", "agent_not_found"),
        ("POST", "/agents/nobody/available", "", "agent_not_found"),
        ("POST", "/agents/nobody/accept", "", "agent_not_found"),
        ("POST", "/agents/nobody/reject", "", "agent_not_found"),
        (
            "POST",
            "/queue/leave",
            r#"{"visitor_id":"nobody"}"#,
            "visitor_not_found",
        ),
        ("GET", "/queue/position/nobody", "", "visitor_not_found"),
        ("GET", "/no/such/route", "", "route_not_found"),
    ] {
        let (status, b) = s.call(method, &p(path), Some(body));
        assert_eq!(
            (status, b["error"]["code"].as_str()),
            (404, Some(code)),
            "{method} {path}"
        );
    }
}

#[test]
fn every_409_case() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    s.register("a1");
    s.register("a2");
    s.post(&p("/agents/a2/unavailable"), "");
    let sid = s.join("v1");
    let conflict = |method: &str, path: String, body: &str, code: &str| {
        let (status, b) = s.call(method, &p(&path), Some(body));
        assert_eq!(
            (status, b["error"]["code"].as_str()),
            (409, Some(code)),
            "{method} {path}: {b}"
        );
    };
    // a1 is ringing.
    conflict(
        "POST",
        "/agents/a1/available".into(),
        "",
        "agent_state_conflict",
    );
    conflict(
        "POST",
        "/agents/register".into(),
        r#"{"agent_id":"a1"}"#,
        "agent_state_conflict",
    );
    conflict(
        "POST",
        "/agents/a2/accept".into(),
        "",
        "agent_state_conflict",
    );
    conflict(
        "POST",
        "/agents/a2/reject".into(),
        "",
        "agent_state_conflict",
    );
    conflict(
        "POST",
        format!("/sessions/{sid}/assign"),
        r#"{"agent_id":"a2"}"#,
        "agent_state_conflict",
    );
    conflict(
        "POST",
        format!("/sessions/{sid}/transfer"),
        r#"{"target_agent_id":"a2"}"#,
        "session_state_conflict",
    );
    conflict(
        "POST",
        "/queue/join".into(),
        r#"{"visitor_id":"v1"}"#,
        "visitor_busy",
    );
    s.post(&p("/agents/a1/accept"), "");
    conflict(
        "POST",
        format!("/sessions/{sid}/transfer"),
        r#"{"target_agent_id":"a2"}"#,
        "agent_state_conflict",
    );
    conflict(
        "POST",
        format!("/sessions/{sid}/transfer"),
        r#"{"target_agent_id":"a1"}"#,
        "transfer_to_self",
    );
    conflict(
        "POST",
        format!("/sessions/{sid}/rate"),
        r#"{"rating":4}"#,
        "session_state_conflict",
    );
    conflict(
        "POST",
        "/queue/leave".into(),
        r#"{"visitor_id":"v1"}"#,
        "session_state_conflict",
    );
    s.call("DELETE", &p(&format!("/sessions/{sid}")), None);
    conflict(
        "DELETE",
        format!("/sessions/{sid}"),
        "",
        "session_state_conflict",
    );
    s.post(&p(&format!("/sessions/{sid}/rate")), r#"{"rating":4}"#);
    conflict(
        "POST",
        format!("/sessions/{sid}/rate"),
        r#"{"rating":5}"#,
        "already_rated",
    );
}

#[test]
fn oversized_bodies_are_413_and_wrong_methods_405() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    let big = format!(r#"{{"visitor_id":"{}"}}"#, "x".repeat(70_000));
    let (code, body) = s.raw("POST", &p("/queue/join"), Some(big.as_bytes()));
    assert_eq!(code, 413, "{body}");
    assert!(body.contains("payload_too_large"));
    let (code, b) = s.call("PUT", &p("/stats"), None);
    assert_eq!(
        (code, b["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
}

#[test]
fn health_and_metrics() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    assert_eq!(s.get("/healthz")["status"], "ok");
    s.post(&p("/queue/join"), r#"{"visitor_id":"v1"}"#);
    let (code, text) = s.raw("GET", "/metrics", None);
    assert_eq!(code, 200);
    for needle in [
        "switchboard_queue_length 1",
        "switchboard_sessions{status=\"waiting\"} 1",
        "switchboard_agents{state=\"ready\"} 0",
        "switchboard_ring_timeouts_total 0",
        "switchboard_http_request_duration_seconds_bucket{le=\"+Inf\"}",
        "switchboard_journal_records_total",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
}

#[test]
fn routing_mode_from_config_and_routing_state_for_display() {
    let s = Server::start(&yaml("  routing_mode: longest_idle"));
    // b registers first, so it has been idle longer than a.
    s.register("b_idle_longest");
    std::thread::sleep(std::time::Duration::from_millis(20));
    s.register("a_idle_shorter");
    let routing = s.get(&p("/routing"));
    assert_eq!(routing["routing_mode"], "longest_idle");
    // Display advances nothing: asking twice gives the same answer.
    assert_eq!(routing["next_agent_id"], "b_idle_longest");
    assert_eq!(s.get(&p("/routing"))["next_agent_id"], "b_idle_longest");
    // Round robin would ring a_* (lowest id); longest idle rings b_*.
    let join = s.post(&p("/queue/join"), r#"{"visitor_id":"v1"}"#);
    assert_eq!(join["agent_id"], "b_idle_longest");
    let sid = join["session_id"].as_str().unwrap().to_owned();
    s.post(&p("/agents/b_idle_longest/accept"), "");
    s.call("DELETE", &p(&format!("/sessions/{sid}")), None);
    // b just finished a call: now a has been idle longer.
    assert_eq!(
        s.post(&p("/queue/join"), r#"{"visitor_id":"v2"}"#)["agent_id"],
        "a_idle_shorter"
    );
}

#[test]
fn agent_weights_are_validated() {
    let s = Server::start(&yaml("  routing_mode: weighted_random"));
    s.register("a1");
    let (code, agent) = s.call("PUT", &p("/agents/a1/weight"), Some(r#"{"weight":7}"#));
    assert_eq!((code, agent["weight"].as_u64()), (200, Some(7)));
    for bad in [
        r#"{"weight":0}"#,
        r#"{"weight":1001}"#,
        r#"{"weight":-3}"#,
        r#"{}"#,
    ] {
        let (code, _) = s.call("PUT", &p("/agents/a1/weight"), Some(bad));
        assert_eq!(code, 400, "{bad}");
    }
    let (code, body) = s.call("PUT", &p("/agents/nobody/weight"), Some(r#"{"weight":2}"#));
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (404, Some("agent_not_found"))
    );
}

#[test]
fn a_priority_visitor_is_queued_ahead() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    s.post(&p("/queue/join"), r#"{"visitor_id":"v1"}"#);
    let vip = s.post(&p("/queue/join"), r#"{"visitor_id":"vip","priority":9}"#);
    assert_eq!(
        (vip["status"].as_str(), vip["position"].as_u64()),
        (Some("queued"), Some(1))
    );
    assert_eq!(s.get(&p("/queue/position/v1"))["position"], 2);
    let (code, _) = s.call(
        "POST",
        &p("/queue/join"),
        Some(r#"{"visitor_id":"x","priority":10}"#),
    );
    assert_eq!(code, 400);
}

/// A join with an idempotency key: (status, session id, whether replayed).
fn keyed_join(s: &Server, visitor: &str, key: &str) -> (u16, String, bool) {
    let body = format!(r#"{{"visitor_id":"{visitor}"}}"#);
    let headers = format!("Authorization: Bearer {ADMIN}\r\nIdempotency-Key: {key}\r\n");
    let (status, head, text) = s.exchange(
        "POST",
        "/customer-service/queue/join",
        Some(body.as_bytes()),
        &headers,
    );
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let sid = v["session_id"].as_str().unwrap_or_default().to_owned();
    (status, sid, head.contains("idempotent-replayed: true"))
}

#[test]
fn a_retried_write_with_its_idempotency_key_is_applied_once_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sb.db");
    let mut s = Server::start_on(&db, &yaml(""));
    let (status, first, replayed) = keyed_join(&s, "v1", "k-1");
    assert_eq!((status, replayed), (200, false));
    // The same request again: the first answer, nothing applied twice.
    let (status, again, replayed) = keyed_join(&s, "v1", "k-1");
    assert_eq!(
        (status, again.as_str(), replayed),
        (200, first.as_str(), true)
    );
    // Another request under the same key is another request.
    let (status, other, _) = keyed_join(&s, "v2", "k-1");
    assert_eq!(status, 200);
    assert_ne!(other, first);
    // The key's answer is durable: after a crash the retry still finds it.
    s.kill();
    let s = Server::start_on(&db, &yaml(""));
    let (status, after, replayed) = keyed_join(&s, "v1", "k-1");
    assert_eq!(
        (status, after.as_str(), replayed),
        (200, first.as_str(), true)
    );
    assert_eq!(s.get("/customer-service/stats")["queue"]["length"], 2);
    // A key that is no header value is refused, and changes nothing.
    let (status, _, _) = keyed_join(&s, "v3", &"x".repeat(300));
    assert_eq!(status, 400);
}
