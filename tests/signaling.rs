//! WebSocket signaling end to end: the seed's control frames and S->C events.

mod common;

use std::time::Duration;

use common::*;

const CS: &str = "/customer-service";

fn p(path: &str) -> String {
    format!("{CS}{path}")
}

fn control(action: &str, data: &str) -> String {
    format!(r#"{{"type":"control","data":{{"type":"{action}","data":{data}}}}}"#)
}

#[test]
fn ring_accept_transfer_end_over_websocket() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    s.register("agent_001");
    s.register("agent_002");
    s.post(&p("/agents/agent_002/unavailable"), "");
    let mut a1 = s.ws("role=agent&agent_id=agent_001");
    assert_eq!(a1.expect("joined")["role"], "agent");
    let mut a2 = s.ws("role=agent&agent_id=agent_002");
    a2.expect("joined");

    let join = s.post(
        &p("/queue/join"),
        r#"{"visitor_id":"cust_001","visitor_name":"张三"}"#,
    );
    let sid = join["session_id"].as_str().unwrap().to_owned();
    let incoming = a1.expect("incoming_call");
    assert_eq!(incoming["visitor_name"], "张三");
    assert_eq!(incoming["timeout_secs"], 30);
    assert_eq!(incoming["session_id"], sid.as_str());

    let room = format!("customer-service/{sid}");
    let mut visitor = s.ws(&format!("role=customer&visitor_id=cust_001&room_id={room}"));
    assert_eq!(visitor.expect("joined")["room_id"], room.as_str());

    a1.send(r#"{"type":"control","data":{"type":"AcceptCall"}}"#);
    assert_eq!(a1.expect("ack")["action"], "AcceptCall");
    assert_eq!(a1.expect("call_accepted")["agent_id"], "agent_001");
    assert_eq!(visitor.expect("call_accepted")["session_id"], sid.as_str());
    let mut a1_room = s.ws(&format!("role=agent&agent_id=agent_001&room_id={room}"));
    a1_room.expect("joined");

    s.post(&p("/agents/agent_002/available"), "");
    a1.send(&control(
        "TransferCall",
        r#"{"target_agent_id":"agent_002"}"#,
    ));
    assert_eq!(a1.expect("ack")["action"], "TransferCall");
    for ws in [&mut a1, &mut a2, &mut visitor] {
        let t = ws.expect("call_transferred");
        assert_eq!(
            (t["from_agent_id"].as_str(), t["to_agent_id"].as_str()),
            (Some("agent_001"), Some("agent_002"))
        );
    }
    // The new agent can now take the room place the old one left.
    let mut a2_room = s.ws(&format!("role=agent&agent_id=agent_002&room_id={room}"));
    a2_room.expect("joined");

    a2_room.send(&control("MuteUser", r#"{"target":"customer"}"#));
    a2_room.expect("ack");
    assert_eq!(visitor.expect("mute_user")["target"], "customer");

    visitor.send(r#"{"type":"control","data":{"type":"EndCall"}}"#);
    visitor.expect("ack");
    let ended = a2.expect("call_ended");
    assert_eq!(
        (ended["reason"].as_str(), ended["ended_by"].as_str()),
        (Some("completed"), Some("customer"))
    );
    visitor.expect("call_ended");

    s.post(&p(&format!("/sessions/{sid}/rate")), r#"{"rating":4}"#);
    let stats = s.get(&p("/stats"));
    assert_eq!(
        (
            stats["totals"]["transfers"].as_u64(),
            stats["ratings"]["total"].as_u64()
        ),
        (Some(1), Some(1))
    );
}

#[test]
fn a_third_participant_is_refused() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    s.register("a1");
    s.register("a3");
    let sid = s.join("v1");
    s.post(&p("/agents/a1/accept"), "");
    let room = format!("customer-service/{sid}");
    let mut v = s.ws(&format!("role=customer&visitor_id=v1&room_id={room}"));
    v.expect("joined");
    let mut a = s.ws(&format!("role=agent&agent_id=a1&room_id={room}"));
    a.expect("joined");
    for who in [
        "role=agent&agent_id=a3",
        "role=customer&visitor_id=intruder",
    ] {
        let mut third = s.ws(&format!("{who}&room_id={room}"));
        let err = third.expect("error");
        assert_eq!(err["error"]["code"], "room_full", "{who}");
        assert!(
            third.closed_within(Duration::from_secs(2)),
            "{who} not disconnected"
        );
    }
    // A stranger to a room with a free place is refused as such.
    let sid2 = s.join("v2");
    let mut stranger = s.ws(&format!(
        "role=customer&visitor_id=v9&room_id=customer-service/{sid2}"
    ));
    assert_eq!(stranger.expect("error")["error"]["code"], "forbidden");
}

#[test]
fn malformed_or_unauthorized_frames_get_error_frames_and_change_nothing() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    s.register("a1");
    let sid = s.join("v1");
    let before = s.get(&p("/stats"));
    let mut v = s.ws(&format!(
        "role=customer&visitor_id=v1&room_id=customer-service/{sid}"
    ));
    v.expect("joined");
    for frame in [
        "not json",
        r#"{"type":"control"}"#,
        r#"{"type":"control","data":{"type":"Teleport"}}"#,
        r#"{"type":"control","data":{"type":"TransferCall"}}"#,
    ] {
        v.send(frame);
        assert_eq!(
            v.expect("error")["error"]["code"],
            "invalid_frame",
            "{frame}"
        );
    }
    for action in ["AcceptCall", "RejectCall", "TransferCall"] {
        v.send(&control(action, r#"{"target_agent_id":"a1"}"#));
        let e = v.expect("error");
        assert_eq!(
            (e["action"].as_str(), e["error"]["code"].as_str()),
            (Some(action), Some("forbidden"))
        );
    }
    // Another visitor cannot end v1's call by naming it.
    let mut other = s.ws("role=customer&visitor_id=v2");
    other.expect("joined");
    other.send(&control("EndCall", &format!(r#"{{"session_id":"{sid}"}}"#)));
    assert_eq!(other.expect("error")["error"]["code"], "forbidden");
    // The agent accepting while not ringing is the core's 409.
    let mut a = s.ws("role=agent&agent_id=a1");
    a.expect("joined");
    a.send(&control("AcceptCall", "{}"));
    a.expect("ack");
    a.send(&control("AcceptCall", "{}"));
    assert_eq!(a.expect("error")["error"]["code"], "agent_state_conflict");
    let after = s.get(&p("/stats"));
    assert_eq!(before["sessions"]["total"], after["sessions"]["total"]);
    assert_eq!(
        after["sessions"]["active"], 1,
        "only the agent's accept changed anything"
    );
    a.send(r#"{"type":"ping"}"#);
    a.expect("pong");
}

#[test]
fn ring_timeout_reaches_the_agent() {
    let s = Server::start(&yaml("  accept_timeout_secs: 1"));
    s.register("a1");
    let mut a = s.ws("role=agent&agent_id=a1");
    a.expect("joined");
    s.post(&p("/queue/join"), r#"{"visitor_id":"v1"}"#);
    a.expect("incoming_call");
    a.expect("ring_timeout");
    // Re-queued at the head and, a1 being the only agent, rung again.
    a.expect("incoming_call");
}

#[test]
fn a_dropped_participant_resumes_within_grace_and_ends_the_call_after_it() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    s.register("a1");
    let sid = s.join("v1");
    s.post(&p("/agents/a1/accept"), "");
    let room = format!("role=customer&visitor_id=v1&room_id=customer-service/{sid}");
    let mut v = s.ws(&room);
    v.expect("joined");
    let mut a = s.ws(&format!(
        "role=agent&agent_id=a1&room_id=customer-service/{sid}"
    ));
    a.expect("joined");
    drop(v);
    std::thread::sleep(Duration::from_millis(200));
    // Within grace (1 s here) the place is held: a stranger finds the room full...
    let mut intruder = s.ws(&format!(
        "role=customer&visitor_id=v9&room_id=customer-service/{sid}"
    ));
    assert_eq!(intruder.expect("error")["error"]["code"], "room_full");
    // ...and the visitor takes it back.
    let mut v = s.ws(&room);
    v.expect("joined");
    assert_eq!(s.get(&p(&format!("/sessions/{sid}")))["status"], "active");
    // Gone for longer than the grace: the call ends, by the customer.
    drop(v);
    let ended = a.expect("call_ended");
    assert_eq!(ended["ended_by"], "customer");
    assert_eq!(s.get(&p(&format!("/sessions/{sid}")))["status"], "ended");
}

#[test]
fn bad_connection_queries_are_400() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    for q in [
        "/room?role=agent&agent_id=a1",
        "/room?type=customer_service&role=boss",
        "/room?type=customer_service&role=agent",
        "/room?type=customer_service&role=customer&visitor_id=v&room_id=lobby/1",
    ] {
        let (code, body) = s.call("GET", q, None);
        assert_eq!(
            (code, body["error"]["code"].as_str()),
            (400, Some("invalid_input")),
            "{q}"
        );
    }
    // An unregistered agent is refused after the upgrade, with a reason.
    let mut ghost = s.ws("role=agent&agent_id=ghost");
    assert_eq!(ghost.expect("error")["error"]["code"], "agent_not_found");
}
