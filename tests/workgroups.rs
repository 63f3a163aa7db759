//! Workgroups, skill levels, capacity and per-group routing, end to end
//! against the real binary, including a restart on the same journal.

mod common;

use common::*;

const CS: &str = "/customer-service";

fn p(path: &str) -> String {
    format!("{CS}{path}")
}

#[test]
fn workgroups_route_visitors_to_their_own_agents_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    let mut s = Server::start_on(&db, &yaml("  max_queue_size: 10"));

    let (status, created) = s.call(
        "POST",
        &p("/workgroups"),
        Some(r#"{"workgroup_id":"billing","name":"账单","routing_mode":"longest_idle"}"#),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (created["workgroup_id"].as_str(), created["name"].as_str()),
        (Some("billing"), Some("账单"))
    );
    assert_eq!(created["routing_mode"], "longest_idle");
    assert_eq!(created["service_level_secs"], 20);
    let (status, dup) = s.call(
        "POST",
        &p("/workgroups"),
        Some(r#"{"workgroup_id":"billing"}"#),
    );
    assert_eq!(
        (status, dup["error"]["code"].as_str()),
        (409, Some("workgroup_exists"))
    );
    let (status, typo) = s.call(
        "POST",
        &p("/workgroups"),
        Some(r#"{"workgroup_id":"vip","routing_mod":"random"}"#),
    );
    assert_eq!(status, 400, "unknown fields are refused: {typo}");
    let (status, _) = s.call(
        "POST",
        &p("/workgroups"),
        Some(r#"{"workgroup_id":"vip","overflow_after_secs":30,"overflow_to":"billing"}"#),
    );
    assert_eq!(status, 201);

    s.register("agent_a");
    s.register("agent_b");
    let (status, agent) = s.call(
        "PUT",
        &p("/agents/agent_b/workgroups"),
        Some(r#"{"workgroups":[{"workgroup_id":"billing","level":5}]}"#),
    );
    assert_eq!(status, 200, "{agent}");
    assert_eq!(agent["workgroups"][0]["workgroup_id"], "billing");
    assert_eq!(agent["workgroups"][0]["level"], 5);
    let (status, bad) = s.call(
        "PUT",
        &p("/agents/agent_b/workgroups"),
        Some(r#"{"workgroups":[{"workgroup_id":"nope"}]}"#),
    );
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (404, Some("workgroup_not_found"))
    );

    let join = s.post(
        &p("/queue/join"),
        r#"{"visitor_id":"v1","preferred_skill":"billing"}"#,
    );
    assert_eq!(
        (join["status"].as_str(), join["agent_id"].as_str()),
        (Some("assigned"), Some("agent_b"))
    );
    let join = s.post(&p("/queue/join"), r#"{"visitor_id":"v2"}"#);
    assert_eq!(join["agent_id"], "agent_a", "the default group's agent");
    let (status, unknown) = s.call(
        "POST",
        &p("/queue/join"),
        Some(r#"{"visitor_id":"v3","preferred_skill":"nope"}"#),
    );
    assert_eq!(
        (status, unknown["error"]["code"].as_str()),
        (404, Some("workgroup_not_found"))
    );
    let session = s.get(&p(&format!(
        "/sessions/{}",
        join["session_id"].as_str().unwrap()
    )));
    assert_eq!(session["workgroup_id"], "default");

    // Runtime change: billing goes manual; its next visitor waits.
    let (status, patched) = s.call(
        "PATCH",
        &p("/workgroups/billing"),
        Some(r#"{"routing_mode":"manual","service_level_secs":30}"#),
    );
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (patched["routing_mode"].as_str(), patched["name"].as_str()),
        (Some("manual"), Some("账单")),
        "a patch keeps what it does not name"
    );
    let (status, _) = s.call(
        "PATCH",
        &p("/workgroups/billing"),
        Some(r#"{"routing_mode":"sideways"}"#),
    );
    assert_eq!(status, 400);
    let (status, _) = s.call("PATCH", &p("/workgroups/ghost"), Some(r#"{}"#));
    assert_eq!(status, 404);

    let routing = s.get(&p("/routing"));
    let groups = routing["workgroups"].as_array().unwrap();
    let billing = groups
        .iter()
        .find(|g| g["workgroup_id"] == "billing")
        .unwrap();
    assert_eq!(billing["routing_mode"], "manual");
    assert_eq!(
        routing["routing_mode"], "round_robin",
        "the default group's"
    );

    let list = s.get(&p("/workgroups"));
    assert_eq!(list["count"], 3);
    let billing = s.get(&p("/workgroups/billing"));
    assert_eq!(
        (
            billing["offered"].as_u64(),
            billing["service_level_secs"].as_u64()
        ),
        (Some(1), Some(30))
    );

    // Everything above was journaled: a SIGKILL and restart keeps it.
    s.kill();
    let s = Server::start_on(&db, &yaml("  max_queue_size: 10"));
    let billing = s.get(&p("/workgroups/billing"));
    assert_eq!(billing["routing_mode"], "manual");
    let vip = s.get(&p("/workgroups/vip"));
    assert_eq!(
        (
            vip["overflow_to"].as_str(),
            vip["overflow_after_secs"].as_u64()
        ),
        (Some("billing"), Some(30))
    );
    let agents = s.get(&p("/agents"));
    let b = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent_id"] == "agent_b")
        .unwrap()
        .clone();
    assert_eq!(b["workgroups"][0]["level"], 5);
    assert_eq!(b["status"], "ringing");
}

#[test]
fn an_agent_with_capacity_two_takes_a_second_call() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    s.register("agent_a");
    let (status, agent) = s.call(
        "PUT",
        &p("/agents/agent_a/capacity"),
        Some(r#"{"max_concurrent":2}"#),
    );
    assert_eq!((status, agent["max_concurrent"].as_u64()), (200, Some(2)));
    let (status, _) = s.call(
        "PUT",
        &p("/agents/agent_a/capacity"),
        Some(r#"{"max_concurrent":0}"#),
    );
    assert_eq!(status, 400);

    s.join("v1");
    s.post(&p("/agents/agent_a/accept"), r#"{"media":"video"}"#);
    let a = s.get(&p("/agents")).clone();
    assert_eq!(
        a["agents"][0]["status"], "ready",
        "one call of two: still Ready"
    );
    let join = s.post(&p("/queue/join"), r#"{"visitor_id":"v2"}"#);
    assert_eq!(join["agent_id"], "agent_a");
    s.post(&p("/agents/agent_a/accept"), r#"{"media":"video"}"#);
    let a = s.get(&p("/agents"));
    assert_eq!(a["agents"][0]["status"], "busy");
    assert_eq!(a["agents"][0]["sessions"].as_array().map(Vec::len), Some(2));
    let join = s.post(&p("/queue/join"), r#"{"visitor_id":"v3"}"#);
    assert_eq!(join["status"], "queued", "at capacity");
}

#[test]
fn each_group_serves_its_staffing_advice_and_target() {
    let s = Server::start(&yaml(""));
    let (status, _) = s.call(
        "POST",
        &p("/workgroups"),
        Some(r#"{"workgroup_id":"billing","service_level_percent":90,"service_level_secs":30}"#),
    );
    assert_eq!(status, 201);
    for bad in ["0", "100", "\"80\""] {
        let body = format!(r#"{{"service_level_percent":{bad}}}"#);
        let (status, err) = s.call("PATCH", &p("/workgroups/billing"), Some(&body));
        assert_eq!(status, 400, "{bad}: {err}");
    }
    s.register("agent_a");
    s.register("agent_b");
    s.call(
        "PUT",
        &p("/agents/agent_b/workgroups"),
        Some(r#"{"workgroups":[{"workgroup_id":"billing"}]}"#),
    );
    s.join("v1");
    // The engine recomputes at its next turn; this read is that turn.
    let (status, f) = s.call("GET", &p("/workgroups/billing/forecast"), None);
    assert_eq!(status, 200, "{f}");
    assert_eq!(f["workgroup_id"], "billing");
    assert_eq!(f["agents_signed_in"], 1, "agent_b only: {f}");
    assert_eq!(f["service_level_target"], 0.9);
    assert_eq!(f["service_level_secs"], 30);
    assert_eq!(f["aht_secs"], 180.0, "no call measured yet: the default");
    assert!(
        f["arrivals_per_hour"].is_null(),
        "no complete minute yet: {f}"
    );
    let list = s.get(&p("/workgroups"));
    let default = list["workgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["workgroup_id"] == "default")
        .unwrap()
        .clone();
    assert_eq!(default["service_level_percent"], 80);
    assert_eq!(
        default["forecast"]["agents_signed_in"], 1,
        "agent_a: {default}"
    );
    let (status, err) = s.call("GET", &p("/workgroups/nope/forecast"), None);
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (404, Some("workgroup_not_found"))
    );
    let metrics = s.raw("GET", "/metrics", None).1;
    assert!(
        metrics.contains("switchboard_forecast_agents_signed_in{workgroup=\"billing\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("switchboard_forecast_handle_seconds{workgroup=\"default\"} 180"));
}
