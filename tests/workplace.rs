//! What the agent's workplace and the back office ask of the server,
//! through the real binary: display names, Not-ready reasons, a visitor's
//! question as the session's title, the ring's deadline for a console
//! opened mid-ring, a visitor's history for the agent serving them (and
//! nobody else), and the wrap-up's notes and tags after a call ended.

mod common;

use common::*;
use serde_json::{json, Value};

const SERVICE: &str =
    "  accept_timeout_secs: 30\n  not_ready_reasons: [lunch, training, coaching]\n";

fn as_(s: &Server, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    s.call_as(Some(token), method, path, body.as_deref())
}

/// A queued visitor with a question; returns the session and its token.
fn join_asking(s: &Server, visitor: &str, question: &str) -> (String, String) {
    let reply = s.post(
        "/customer-service/queue/join",
        &json!({ "visitor_id": visitor, "visitor_name": format!("Visitor {visitor}"), "question": question }).to_string(),
    );
    (
        reply["session_id"].as_str().unwrap().to_owned(),
        reply["token"].as_str().unwrap().to_owned(),
    )
}

fn agent(s: &Server, id: &str) -> Value {
    let list = s.get("/customer-service/agents");
    list["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent_id"] == id)
        .cloned()
        .expect("the agent")
}

#[test]
fn an_account_has_a_display_name_that_the_console_and_the_api_show() {
    let s = Server::start(&yaml(SERVICE));
    let body = json!({ "username": "ann", "password": "password-ann", "role": "agent", "agent_id": "a1", "display_name": "  Ann Lee  " });
    let (status, made) = s.call(
        "POST",
        "/customer-service/accounts",
        Some(&body.to_string()),
    );
    assert_eq!(
        (status, made["display_name"].as_str()),
        (201, Some("Ann Lee")),
        "{made}"
    );
    let token = s.login("ann").1["token"].as_str().unwrap().to_owned();
    let (_, me) = as_(&s, &token, "GET", "/customer-service/auth/me", None);
    assert_eq!(me["display_name"], "Ann Lee", "{me}");
    let long = "x".repeat(switchboard_core::NAME_MAX + 1);
    let (status, refused) = s.call(
        "PATCH",
        "/customer-service/accounts/ann",
        Some(&json!({ "display_name": long }).to_string()),
    );
    assert_eq!(status, 400, "{refused}");
    let (_, list) = s.call("GET", "/customer-service/accounts", None);
    let ann = |l: &Value| {
        l["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["username"] == "ann")
            .cloned()
            .unwrap()
    };
    assert_eq!(
        ann(&list)["display_name"],
        "Ann Lee",
        "a refusal changes nothing"
    );
    let (status, _) = s.call(
        "PATCH",
        "/customer-service/accounts/ann",
        Some(r#"{"display_name":"Ann L."}"#),
    );
    assert_eq!(status, 200);
    let (_, me) = as_(&s, &token, "GET", "/customer-service/auth/me", None);
    assert_eq!(
        me["display_name"], "Ann L.",
        "a name change keeps the sign-in"
    );
    // An API token named like the account is not the account.
    let made = s.post(
        "/customer-service/tokens",
        r#"{"name":"ann","role":"supervisor"}"#,
    );
    let api_token = made["token"].as_str().expect("token").to_owned();
    let (_, me) = as_(&s, &api_token, "GET", "/customer-service/auth/me", None);
    assert_eq!(
        (&me["name"], &me["display_name"]),
        (&json!("ann"), &Value::Null),
        "{me}"
    );
    let (status, _) = s.call(
        "PATCH",
        "/customer-service/accounts/ann",
        Some(r#"{"display_name":""}"#),
    );
    assert_eq!(status, 200);
    let (_, list) = s.call("GET", "/customer-service/accounts", None);
    assert_eq!(ann(&list)["display_name"], Value::Null, "empty: none");
}

#[test]
fn not_ready_takes_one_of_the_centers_reasons() {
    let s = Server::start(&yaml(SERVICE));
    let token = s.account("ann", "agent", Some("a1"));
    let (status, _) = as_(
        &s,
        &token,
        "POST",
        "/customer-service/agents/register",
        Some(json!({ "agent_id": "a1", "agent_name": "Ann" })),
    );
    assert_eq!(status, 200);
    let (_, list) = s.call("GET", "/customer-service/agents", None);
    assert_eq!(
        list["not_ready_reasons"],
        json!(["lunch", "training", "coaching"])
    );
    let (status, a) = as_(
        &s,
        &token,
        "POST",
        "/customer-service/agents/a1/unavailable",
        Some(json!({ "reason": "training" })),
    );
    assert_eq!(
        (status, &a["status"], &a["not_ready"]["reason"]),
        (200, &json!("online"), &json!("training")),
        "{a}"
    );
    let (status, refused) = as_(
        &s,
        &token,
        "POST",
        "/customer-service/agents/a1/unavailable",
        Some(json!({ "reason": "break" })),
    );
    assert_eq!(status, 400, "not this center's reason: {refused}");
    assert_eq!(
        agent(&s, "a1")["not_ready"]["reason"],
        "training",
        "unchanged by the refusal"
    );
    // No body: the first reason; a supervisor forcing it, the same.
    let (status, a) = s.call("POST", "/customer-service/agents/a1/unavailable", None);
    assert_eq!(
        (status, &a["not_ready"]["reason"]),
        (200, &json!("lunch")),
        "{a}"
    );
    let (_, a) = as_(
        &s,
        &token,
        "POST",
        "/customer-service/agents/a1/available",
        None,
    );
    assert_eq!(
        (&a["status"], &a["not_ready"]),
        (&json!("ready"), &Value::Null)
    );
    let time = &a["stats"]["not_ready_ms"];
    assert!(
        time["training"].is_u64() && time["lunch"].is_u64(),
        "time per reason: {a}"
    );
}

#[test]
fn a_visitors_question_titles_the_session_and_a_ring_says_when_it_lapses() {
    let s = Server::start(&yaml(SERVICE));
    let (sid, _) = join_asking(&s, "v1", "Where is my parcel?\nOrdered last week.");
    let v = s.get(&format!("/customer-service/sessions/{sid}"));
    assert_eq!(v["title"], "Where is my parcel?");
    assert_eq!(v["description"], "Where is my parcel?\nOrdered last week.");
    assert_eq!(v["arrival"], "entry");
    assert_eq!(v["ringing_until"], Value::Null, "nobody rung yet");
    s.register("a1");
    let v = s.get(&format!("/customer-service/sessions/{sid}"));
    assert_eq!(v["ringing_agent_id"], "a1");
    let rung = v["ringing_until"]
        .as_str()
        .expect("the deadline while ringing");
    let created = s.post(
        "/customer-service/sessions",
        r#"{"title":"Refund","customer_id":"c9"}"#,
    );
    assert_eq!(created["arrival"], "link", "{created}");
    // The deadline is the offer's: 30 s after it was made.
    let list = s.get("/customer-service/sessions");
    let same = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["session_id"] == sid.as_str())
        .unwrap();
    assert_eq!(same["ringing_until"].as_str(), Some(rung));
}

#[test]
fn the_agent_serving_a_visitor_sees_their_history_and_notes_and_nobody_else_does() {
    let s = Server::start(&yaml(SERVICE));
    let a1 = s.account("ann", "agent", Some("a1"));
    let a2 = s.account("bob", "agent", Some("a2"));
    as_(
        &s,
        &a1,
        "POST",
        "/customer-service/agents/register",
        Some(json!({ "agent_id": "a1" })),
    );
    let (first, v1_token) = join_asking(&s, "v1", "My order is late");
    let (status, _) = as_(
        &s,
        &a1,
        "POST",
        "/customer-service/agents/a1/accept",
        Some(json!({ "media": "audio" })),
    );
    assert_eq!(status, 200);
    let (status, _) = as_(
        &s,
        &a1,
        "POST",
        &format!("/customer-service/sessions/{first}/messages"),
        Some(json!({ "text": "Prefers email", "private": true })),
    );
    assert_eq!(status, 200);
    let (status, _) = as_(
        &s,
        &a1,
        "DELETE",
        &format!("/customer-service/sessions/{first}"),
        None,
    );
    assert_eq!(status, 200);
    // After the call: the wrap-up's notes and tags, by the agent who had it.
    let wrap = json!({ "comment": "Refund promised", "tags": ["refund", "late"] });
    let (status, closure) = as_(
        &s,
        &a1,
        "POST",
        &format!("/customer-service/sessions/{first}/close"),
        Some(wrap.clone()),
    );
    assert_eq!(
        (status, &closure["tags"]),
        (200, &json!(["refund", "late"])),
        "{closure}"
    );
    let (status, _) = as_(
        &s,
        &a2,
        "POST",
        &format!("/customer-service/sessions/{first}/close"),
        Some(wrap),
    );
    assert_eq!(status, 403, "another agent records no wrap-up");
    let t = s.get(&format!("/customer-service/sessions/{first}/transcript"));
    assert_eq!(t["closure"]["comment"], "Refund promised");

    // v1 comes back and a2 answers: a2 sees the first visit and its note.
    as_(
        &s,
        &a1,
        "POST",
        "/customer-service/agents/a1/unavailable",
        None,
    );
    as_(
        &s,
        &a2,
        "POST",
        "/customer-service/agents/register",
        Some(json!({ "agent_id": "a2" })),
    );
    let (second, _) = join_asking(&s, "v1", "Still no parcel");
    as_(
        &s,
        &a2,
        "POST",
        "/customer-service/agents/a2/accept",
        Some(json!({ "media": "audio" })),
    );
    let (status, h) = as_(&s, &a2, "GET", "/customer-service/customers/v1", None);
    assert_eq!(status, 200, "{h}");
    let ids: Vec<&str> = h["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(
        ids.contains(&first.as_str()) && ids.contains(&second.as_str()),
        "{ids:?}"
    );
    assert_eq!(h["customer_name"], "Visitor v1");
    let notes: Vec<&str> = h["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["Prefers email"]);
    let (status, old) = as_(
        &s,
        &a2,
        "GET",
        &format!("/customer-service/sessions/{first}/transcript"),
        None,
    );
    assert_eq!(status, 200, "the earlier transcript, a click away: {old}");
    // a1 no longer serves v1; the visitor's own credential is not staff.
    let (status, _) = as_(&s, &a1, "GET", "/customer-service/customers/v1", None);
    assert_eq!(status, 403);
    let (status, _) = as_(&s, &v1_token, "GET", "/customer-service/customers/v1", None);
    assert_eq!(status, 403);
    let (status, all) = s.call("GET", "/customer-service/customers/v1", None);
    assert_eq!((status, all["session_count"].as_u64()), (200, Some(2)));
    let (status, none) = s.call("GET", "/customer-service/customers/nobody", None);
    assert_eq!(
        (status, none["sessions"].as_array().map(Vec::len)),
        (200, Some(0))
    );
}
