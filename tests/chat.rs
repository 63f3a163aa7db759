//! Text chat end to end through the real binary, over the `/room`
//! WebSocket and HTTP: both directions with statuses, typing, history after
//! reconnecting, idempotent retries, private notes, transfer, several chats
//! at once, internal messages, canned responses, closing, transcripts,
//! attachments, bad input, and a SIGKILL in the middle of a stream.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn server() -> Server {
    Server::start(&yaml("  accept_timeout_secs: 30\n"))
}

/// Sends `frame` and returns the ack's result, or the error frame's error
/// (`Err`), whichever comes first.
fn ask(ws: &mut Ws, frame: Value) -> Result<Value, Value> {
    ws.send(&frame.to_string());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(i) = ws
            .seen
            .iter()
            .position(|f| f["type"] == "ack" || f["type"] == "error")
        {
            let f = ws.seen.remove(i);
            return if f["type"] == "ack" {
                Ok(f["result"].clone())
            } else {
                Err(f["error"].clone())
            };
        }
        assert!(Instant::now() < deadline, "no answer to {frame}");
        ws.gets_within("ack", Duration::from_millis(20));
    }
}

fn send(ws: &mut Ws, session: &str, text: &str, client_id: &str) -> Result<Value, Value> {
    ask(
        ws,
        json!({ "type": "chat_send", "data": { "session_id": session, "text": text, "client_id": client_id } }),
    )
}

/// The next chat message from `sender` (every participant's connections get
/// every message, the sender's own too).
fn next_message(ws: &mut Ws, sender: &str) -> Value {
    loop {
        let m = ws.expect("chat_message")["message"].clone();
        if m["kind"] != "system" && m["from"]["id"] == sender {
            return m;
        }
    }
}

/// The next chat message from any visitor.
fn ws_any_visitor(ws: &mut Ws) -> Value {
    loop {
        let m = ws.expect("chat_message")["message"].clone();
        if m["from"]["role"] == "customer" {
            return m;
        }
    }
}

/// A visitor who joined for text chat: (session id, visitor token).
fn chat_join(s: &Server, visitor: &str) -> (String, String) {
    let body = json!({ "visitor_id": visitor, "visitor_name": format!("Visitor {visitor}"), "channel": "chat" });
    let (status, v) = s.call_as(
        None,
        "POST",
        "/customer-service/queue/join",
        Some(&body.to_string()),
    );
    assert_eq!(status, 200, "{v}");
    (
        v["session_id"].as_str().unwrap().to_owned(),
        v["token"].as_str().unwrap().to_owned(),
    )
}

/// Agent `id` with an account of its own, Ready, its console connected.
fn agent(s: &Server, id: &str) -> (String, Ws) {
    let token = s.account(id, "agent", Some(id));
    s.register(id);
    let mut ws = s.try_ws(Some(&token), "role=agent").expect("console");
    ws.expect("joined"); // admitted: events from here on reach it
    (token, ws)
}

fn accept(console: &mut Ws) -> Value {
    let offer = console.expect("incoming_call");
    ask(
        console,
        json!({ "type": "control", "data": { "type": "AcceptCall" } }),
    )
    .expect("accepted");
    offer
}

/// Whether no new `kind` frame arrives within `ms` (older ones, such as the
/// echo of one's own message, are dropped first).
fn nothing_new(ws: &mut Ws, kind: &str, ms: u64) -> bool {
    ws.seen.retain(|f| f["type"] != kind);
    !ws.gets_within(kind, Duration::from_millis(ms))
}

fn history(ws: &mut Ws, session: &str) -> Vec<Value> {
    let page = ask(
        ws,
        json!({ "type": "chat_history", "data": { "session_id": session } }),
    )
    .expect("history");
    page["messages"].as_array().cloned().unwrap_or_default()
}

fn texts(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["kind"] != "system")
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn visitor_and_agent_chat_both_ways_with_statuses_typing_history_retries_and_notes() {
    let s = server();
    let (_, mut console) = agent(&s, "a1");
    let (sid, vtoken) = chat_join(&s, "v1");
    let mut visitor = s.try_ws(Some(&vtoken), "role=customer").expect("visitor");
    let offer = accept(&mut console);
    assert_eq!(offer["channel"], "chat", "{offer}");
    assert_eq!(offer["session_id"], sid.as_str());

    // The stream opens with the system message of the answer.
    let joined = visitor.expect("chat_message")["message"].clone();
    assert_eq!(
        (joined["kind"].as_str(), joined["text"].as_str()),
        (Some("system"), Some("call_accepted"))
    );

    // Visitor -> agent; markup is data and arrives as the same text.
    let html = "<b>hello</b><script>alert(1)</script>";
    let sent = send(&mut visitor, &sid, html, "v-1").expect("sent");
    assert_eq!(sent["status"], "sent");
    assert_eq!(sent["duplicate"], false);
    let seq = sent["message"]["seq"].as_u64().unwrap();
    let got = next_message(&mut console, "v1");
    assert_eq!(got["text"], html);
    assert_eq!(got["seq"].as_u64(), Some(seq));
    assert_eq!(got["from"]["role"], "customer");

    // Delivered, then read, reach the visitor as statuses.
    let d = ask(
        &mut console,
        json!({ "type": "chat_receipt", "data": { "session_id": sid, "delivered": seq } }),
    )
    .unwrap();
    assert_eq!(d["delivered"].as_u64(), Some(seq));
    let status = visitor.expect("chat_status");
    assert_eq!(
        (status["reader"].as_str(), status["delivered"].as_u64()),
        (Some("agent"), Some(seq))
    );
    ask(
        &mut console,
        json!({ "type": "chat_receipt", "data": { "session_id": sid, "read": seq } }),
    )
    .unwrap();
    let status = visitor.expect("chat_status");
    assert_eq!(status["read"].as_u64(), Some(seq));

    // Agent -> visitor.
    send(&mut console, &sid, "Hi, how can I help?", "a-1").unwrap();
    assert_eq!(
        next_message(&mut visitor, "a1")["text"],
        "Hi, how can I help?"
    );

    // Typing is forwarded, then throttled.
    let t = ask(
        &mut visitor,
        json!({ "type": "chat_typing", "data": { "session_id": sid } }),
    )
    .unwrap();
    assert_eq!(t["forwarded"], true);
    let typing = console.expect("chat_typing");
    assert_eq!(typing["from"]["role"], "customer");
    assert!(typing["expires_in_ms"].as_u64().unwrap() > 0);
    let again = ask(
        &mut visitor,
        json!({ "type": "chat_typing", "data": { "session_id": sid } }),
    )
    .unwrap();
    assert_eq!(again["forwarded"], false);

    // A retry with the same client id is not stored or delivered twice.
    let retry = send(&mut visitor, &sid, html, "v-1").unwrap();
    assert_eq!(retry["duplicate"], true);
    assert_eq!(retry["message"]["seq"].as_u64(), Some(seq));
    assert!(nothing_new(&mut console, "chat_message", 300));

    // A private note never reaches the visitor, live or in history.
    let note = ask(&mut console, json!({ "type": "chat_send", "data": { "session_id": sid, "text": "VIP, be nice", "private": true } })).unwrap();
    assert_eq!(note["message"]["kind"], "note");
    assert!(nothing_new(&mut visitor, "chat_message", 300));
    let denied = ask(
        &mut visitor,
        json!({ "type": "chat_send", "data": { "session_id": sid, "text": "x", "private": true } }),
    );
    assert_eq!(denied.unwrap_err()["code"], "forbidden");

    // Reconnected, the visitor reads the history: in order, no note, no duplicate.
    drop(visitor);
    let mut visitor = s.try_ws(Some(&vtoken), "role=customer").expect("reconnect");
    let page = history(&mut visitor, &sid);
    assert_eq!(texts(&page), vec![html, "Hi, how can I help?"]);
    let seqs: Vec<u64> = page.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let staff_page = history(&mut console, &sid);
    assert_eq!(
        texts(&staff_page),
        vec![html, "Hi, how can I help?", "VIP, be nice"]
    );

    // Bad input: refused with a clear error, nothing stored, nothing delivered.
    let big = "x".repeat(5000);
    assert_eq!(
        send(&mut visitor, &sid, &big, "big").unwrap_err()["code"],
        "message_too_large"
    );
    assert_eq!(
        send(&mut visitor, "cs_unknown", "hi", "u").unwrap_err()["code"],
        "session_not_found"
    );
    let (_, other) = chat_join(&s, "v2");
    let mut stranger = s.try_ws(Some(&other), "role=customer").expect("v2");
    assert_eq!(
        send(&mut stranger, &sid, "let me in", "s").unwrap_err()["code"],
        "forbidden"
    );
    stranger.send(r#"{"type":"chat_send","data":{"text":5}}"#);
    assert_eq!(stranger.expect("error")["error"]["code"], "invalid_frame");
    assert!(nothing_new(&mut console, "chat_message", 300));
    assert_eq!(texts(&history(&mut visitor, &sid)).len(), 2);

    // The same over HTTP, with the visitor's token.
    let path = format!("/customer-service/sessions/{sid}/messages");
    let (status, v) = s.call_as(
        Some(&vtoken),
        "POST",
        &path,
        Some(&json!({ "text": "", "client_id": "e" }).to_string()),
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("invalid_input")),
        "{v}"
    );
    let (status, v) = s.call_as(
        Some(&vtoken),
        "GET",
        &format!("{path}?after=0&limit=1"),
        None,
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["messages"].as_array().unwrap().len(), 1);
    assert_eq!(v["has_more"], true);
}

#[test]
fn a_workgroup_can_hide_read_receipts_from_visitors() {
    let s = server();
    let (status, v) = s.call(
        "PATCH",
        "/customer-service/workgroups/default",
        Some(r#"{"read_receipts":false}"#),
    );
    assert_eq!(
        (status, v["read_receipts"].as_bool()),
        (200, Some(false)),
        "{v}"
    );
    let (_, mut console) = agent(&s, "a1");
    let (sid, vtoken) = chat_join(&s, "v1");
    let mut visitor = s.try_ws(Some(&vtoken), "role=customer").unwrap();
    accept(&mut console);
    let seq = send(&mut visitor, &sid, "hello", "v-1").unwrap()["message"]["seq"]
        .as_u64()
        .unwrap();
    ask(
        &mut console,
        json!({ "type": "chat_receipt", "data": { "session_id": sid, "delivered": seq } }),
    )
    .unwrap();
    let status = visitor.expect("chat_status");
    assert_eq!(
        (status["delivered"].as_u64(), status["read"].clone()),
        (Some(seq), Value::Null)
    );
    ask(
        &mut console,
        json!({ "type": "chat_receipt", "data": { "session_id": sid, "read": seq } }),
    )
    .unwrap();
    assert!(
        nothing_new(&mut visitor, "chat_status", 300),
        "a read the visitor may not see"
    );
    // The agent still sees the visitor's receipts.
    ask(
        &mut visitor,
        json!({ "type": "chat_receipt", "data": { "session_id": sid, "read": seq } }),
    )
    .unwrap();
    assert_eq!(console.expect("chat_status")["read"].as_u64(), Some(seq));
}

#[test]
fn after_a_transfer_the_new_agent_reads_the_history_and_the_old_one_is_refused() {
    let s = server();
    let (_, mut a1) = agent(&s, "a1");
    let (sid, vtoken) = chat_join(&s, "v1");
    let mut visitor = s.try_ws(Some(&vtoken), "role=customer").unwrap();
    accept(&mut a1);
    send(&mut visitor, &sid, "my order is late", "v-1").unwrap();
    send(&mut a1, &sid, "let me ask billing", "a1-1").unwrap();
    let (_, mut a2) = agent(&s, "a2");
    ask(&mut a1, json!({ "type": "control", "data": { "type": "TransferCall", "data": { "target_agent_id": "a2", "session_id": sid } } })).expect("transferred");

    let page = history(&mut a2, &sid);
    assert_eq!(texts(&page), vec!["my order is late", "let me ask billing"]);
    let kinds: Vec<&str> = page
        .iter()
        .filter(|m| m["kind"] == "system")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["call_accepted", "call_transferred"]);

    // The old agent is out: no reading, no writing, no live messages.
    let refused = ask(
        &mut a1,
        json!({ "type": "chat_history", "data": { "session_id": sid } }),
    );
    assert_eq!(refused.unwrap_err()["code"], "forbidden");
    assert_eq!(
        send(&mut a1, &sid, "still here", "a1-2").unwrap_err()["code"],
        "forbidden"
    );
    a1.seen.clear();
    visitor.seen.clear();
    send(&mut visitor, &sid, "hello?", "v-2").unwrap();
    assert_eq!(next_message(&mut a2, "v1")["text"], "hello?");
    assert!(nothing_new(&mut a1, "chat_message", 300));
    send(&mut a2, &sid, "billing here", "a2-1").unwrap();
    assert_eq!(next_message(&mut visitor, "a2")["text"], "billing here");
}

#[test]
fn an_agent_holds_three_chats_at_once_with_unread_counts() {
    let s = server();
    let (token, mut console) = agent(&s, "a1");
    s.call(
        "PUT",
        "/customer-service/agents/a1/capacity",
        Some(r#"{"max_concurrent":3}"#),
    );
    let mut visitors = Vec::new();
    for v in ["v1", "v2", "v3"] {
        let (sid, vtoken) = chat_join(&s, v);
        accept(&mut console);
        let ws = s.try_ws(Some(&vtoken), "role=customer").unwrap();
        visitors.push((sid, ws));
    }
    for (i, (sid, ws)) in visitors.iter_mut().enumerate() {
        for n in 0..=i {
            send(ws, sid, &format!("message {n}"), &format!("c{n}")).unwrap();
        }
    }
    let (status, list) = s.call_as(Some(&token), "GET", "/customer-service/chats", None);
    assert_eq!(status, 200, "{list}");
    let unread: Vec<(String, u64)> = list["chats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["session_id"].as_str().unwrap().to_owned(),
                c["unread"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = visitors
        .iter()
        .enumerate()
        .map(|(i, (sid, _))| (sid.clone(), i as u64 + 1))
        .collect();
    assert_eq!(unread, expected);
    // Messages from all three arrive on the one console, each in its conversation.
    let mut by_conv = std::collections::HashMap::new();
    for _ in 0..6 {
        let m = ws_any_visitor(&mut console);
        *by_conv
            .entry(m["conversation"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    assert_eq!(by_conv.len(), 3);
    // Reading one clears its count only.
    let (sid3, _) = &visitors[2];
    let last = history(&mut console, sid3).last().unwrap()["seq"]
        .as_u64()
        .unwrap();
    ask(
        &mut console,
        json!({ "type": "chat_receipt", "data": { "session_id": sid3, "read": last } }),
    )
    .unwrap();
    let list = ask(&mut console, json!({ "type": "chat_list" })).unwrap();
    let counts: Vec<u64> = list["chats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["unread"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, vec![1, 2, 0]);
}

#[test]
fn agents_message_each_other_and_their_workgroup_and_get_notifications() {
    let s = server();
    let (t1, mut a1) = agent(&s, "a1");
    let (_, mut a2) = agent(&s, "a2");
    let (_, mut a3) = agent(&s, "a3");
    s.post(
        "/customer-service/workgroups",
        r#"{"workgroup_id":"billing"}"#,
    );
    for a in ["a1", "a2"] {
        s.call(
            "PUT",
            &format!("/customer-service/agents/{a}/workgroups"),
            Some(r#"{"workgroups":[{"workgroup_id":"billing","level":1}]}"#),
        );
    }
    // Direct.
    let dm = ask(&mut a1, json!({ "type": "chat_send", "data": { "to_agent": "a2", "text": "can you take the next one?", "client_id": "d1" } })).unwrap();
    assert_eq!(dm["message"]["conversation"], "dm/a1/a2");
    assert_eq!(
        next_message(&mut a2, "a1")["text"],
        "can you take the next one?"
    );
    assert!(nothing_new(&mut a3, "chat_message", 200));
    // The workgroup's channel reaches its members only.
    let wg = ask(&mut a2, json!({ "type": "chat_send", "data": { "workgroup": "billing", "text": "refund policy changed" } })).unwrap();
    assert_eq!(wg["message"]["conversation"], "wg/billing");
    assert_eq!(next_message(&mut a1, "a2")["text"], "refund policy changed");
    assert!(nothing_new(&mut a3, "chat_message", 200));
    let outsider = ask(
        &mut a3,
        json!({ "type": "chat_send", "data": { "workgroup": "billing", "text": "hi" } }),
    );
    assert_eq!(outsider.unwrap_err()["code"], "forbidden");
    // Over HTTP, the history of the direct conversation.
    let (status, page) = s.call_as(
        Some(&t1),
        "GET",
        "/customer-service/internal/messages?to_agent=a2",
        None,
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        texts(page["messages"].as_array().unwrap()),
        vec!["can you take the next one?"]
    );
    // A supervisor's notification reaches the group's agents.
    let sent = s.post(
        "/customer-service/notifications",
        r#"{"text":"Queue is long, please go Ready","level":"warning","workgroup":"billing"}"#,
    );
    assert_eq!(sent["recipients"], 2);
    let n = a1.expect("system_notification");
    assert_eq!(
        (n["text"].as_str(), n["level"].as_str()),
        (Some("Queue is long, please go Ready"), Some("warning"))
    );
    a2.expect("system_notification");
    assert!(nothing_new(&mut a3, "system_notification", 200));
}

#[test]
fn canned_responses_closing_with_a_comment_and_the_transcript() {
    let s = server();
    let (token, mut console) = agent(&s, "a1");
    let (status, _) = s.call(
        "PUT",
        "/customer-service/canned-responses/thanks",
        Some(r#"{"text":"Thank you for contacting us!"}"#),
    );
    assert_eq!(status, 200);
    let (status, _) = s.call_as(
        Some(&token),
        "PUT",
        "/customer-service/canned-responses/x",
        Some(r#"{"text":"no"}"#),
    );
    assert_eq!(status, 403, "agents do not manage canned responses");
    let (sid, vtoken) = chat_join(&s, "v1");
    let mut visitor = s.try_ws(Some(&vtoken), "role=customer").unwrap();
    accept(&mut console);
    send(&mut visitor, &sid, "bye", "v-1").unwrap();
    let expanded = send(&mut console, &sid, "/thanks", "a-1").unwrap();
    assert_eq!(expanded["message"]["text"], "Thank you for contacting us!");

    let body = r#"{"comment":"refund issued","tags":["billing","refund"]}"#;
    let (status, v) = s.call_as(
        Some(&vtoken),
        "POST",
        &format!("/customer-service/sessions/{sid}/close"),
        Some(body),
    );
    assert_eq!(status, 403, "a visitor does not close with a comment: {v}");
    let (status, v) = s.call_as(
        Some(&token),
        "POST",
        &format!("/customer-service/sessions/{sid}/close"),
        Some(body),
    );
    assert_eq!(status, 200, "{v}");
    visitor.expect("call_ended");
    let ended = s.get(&format!("/customer-service/sessions/{sid}"));
    assert_eq!(ended["status"], "ended", "{ended}");

    let t = s.get(&format!("/customer-service/sessions/{sid}/transcript"));
    assert_eq!(t["closure"]["tags"], json!(["billing", "refund"]));
    assert_eq!(
        texts(t["messages"].as_array().unwrap()),
        vec!["bye", "Thank you for contacting us!"]
    );
    let (status, text) = s.raw(
        "GET",
        &format!("/customer-service/sessions/{sid}/transcript?format=text"),
        None,
    );
    assert_eq!(status, 200);
    assert!(
        text.contains("Visitor v1: bye") && text.contains("refund issued"),
        "{text}"
    );
    // The visitor's token, once the session ended, only rates.
    let (status, _) = s.call_as(
        Some(&vtoken),
        "GET",
        &format!("/customer-service/sessions/{sid}/messages"),
        None,
    );
    assert_eq!(status, 403);
}

#[test]
fn attachments_reach_participants_only_with_safe_headers() {
    let s = server();
    let (token, mut console) = agent(&s, "a1");
    let (sid, vtoken) = chat_join(&s, "v1");
    let mut visitor = s.try_ws(Some(&vtoken), "role=customer").unwrap();
    accept(&mut console);
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR fake";
    let path =
        format!("/customer-service/sessions/{sid}/attachments?name=shot.png&caption=see%20this");
    let auth = format!("Authorization: Bearer {vtoken}\r\n");
    let (status, _, body) = s.exchange_typed("POST", &path, png, "image/png", &auth);
    assert_eq!(status, 200, "{body}");
    let sent: Value = serde_json::from_str(&body).unwrap();
    let att = sent["message"]["attachment"].clone();
    assert_eq!(
        (att["name"].as_str(), att["size"].as_u64()),
        (Some("shot.png"), Some(png.len() as u64))
    );
    let live = next_message(&mut console, "v1");
    assert_eq!(live["attachment"]["id"], att["id"]);

    let url = format!(
        "/customer-service/sessions/{sid}/attachments/{}",
        att["id"].as_str().unwrap()
    );
    let agent_auth = format!("Authorization: Bearer {token}\r\n");
    let (status, head, _) = s.exchange("GET", &url, None, &agent_auth);
    assert_eq!(status, 200);
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("content-type: image/png")
            && head.contains("x-content-type-options: nosniff")
            && head.contains("sandbox"),
        "{head}"
    );
    // Not for another visitor, even with the right id.
    let (_, other) = chat_join(&s, "v2");
    let (status, _, _) = s.exchange(
        "GET",
        &url,
        None,
        &format!("Authorization: Bearer {other}\r\n"),
    );
    assert_eq!(status, 403);
    // HTML and lies about the type are refused; nothing is stored.
    let (status, _, body) = s.exchange_typed(
        "POST",
        &path,
        b"<html><script>alert(1)</script>",
        "text/html",
        &auth,
    );
    assert_eq!(status, 415, "{body}");
    let (status, _, body) =
        s.exchange_typed("POST", &path, b"<svg onload=alert(1)>", "image/png", &auth);
    assert_eq!(status, 415, "{body}");
    let big = vec![0u8; 10 * 1024 * 1024 + 1];
    let (status, _, _) = s.exchange_typed("POST", &path, &big, "image/png", &auth);
    assert_eq!(status, 413);
    assert_eq!(
        history(&mut visitor, &sid)
            .iter()
            .filter(|m| m["kind"] == "file")
            .count(),
        1
    );
}

#[test]
fn a_sigkill_during_a_stream_loses_no_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    let config = yaml("  accept_timeout_secs: 30\n");
    let mut s = Server::start_on(&db, &config);
    let (_, mut console) = agent(&s, "a1");
    let (sid, vtoken) = chat_join(&s, "v1");
    let mut visitor = s.try_ws(Some(&vtoken), "role=customer").unwrap();
    accept(&mut console);

    // SIGKILL from another thread, in the middle of the stream: once 20
    // messages are acknowledged (however fast this machine's disk is),
    // while the sender goes on.
    let pid = s.pid();
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = progress.clone();
    let killer = std::thread::spawn(move || {
        // Bounded: a server that stalls is killed anyway, and the test fails.
        let give_up = Instant::now() + Duration::from_secs(30);
        while seen.load(std::sync::atomic::Ordering::Relaxed) < 20 && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(50));
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    });
    let mut acked: Vec<(String, u64)> = Vec::new();
    for n in 0.. {
        let id = format!("m{n}");
        let frame = json!({ "type": "chat_send", "data": { "session_id": sid, "text": id, "client_id": id } });
        if visitor
            .socket
            .send(tungstenite::Message::text(frame.to_string()))
            .is_err()
        {
            break;
        }
        let Some(ack) = visitor.wait_for("ack", Duration::from_secs(2)) else {
            break; // killed: this one may or may not be stored, but was never acknowledged
        };
        acked.push((id, ack["result"]["message"]["seq"].as_u64().unwrap()));
        progress.store(acked.len(), std::sync::atomic::Ordering::Relaxed);
    }
    killer.join().unwrap();
    s.kill();
    drop(visitor);

    let s = Server::start_on(&db, &config);
    let (status, page) = s.call(
        "GET",
        &format!("/customer-service/sessions/{sid}/messages?limit=200"),
        None,
    );
    assert_eq!(status, 200, "{page}");
    let stored: Vec<(String, u64)> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "text")
        .map(|m| {
            (
                m["client_id"].as_str().unwrap().to_owned(),
                m["seq"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        acked.len() >= 20,
        "only {} acknowledged before the kill",
        acked.len()
    );
    assert!(stored.len() >= acked.len());
    assert_eq!(
        &stored[..acked.len()],
        &acked[..],
        "every acknowledged message, in order, once"
    );
}

/// A visitor flooding chat over `/room` meets the same per-credential rate
/// as over HTTP: refusals are `rate_limited` error frames, counted in
/// `/metrics`, and no more messages are stored than the rate allows.
#[test]
fn a_chat_flood_over_the_websocket_is_rate_limited_like_http() {
    let limited = TEST_SECURITY.replace(
        "per_address: {per_sec: 0, burst: 0}",
        "per_address: {per_sec: 2, burst: 20}",
    );
    let s = Server::start(&format!(
        "ws_grace_secs: 1\n{limited}customer_service:\n  accept_timeout_secs: 30\n"
    ));
    let (_, mut console) = agent(&s, "a1");
    let (sid, vtoken) = chat_join(&s, "v1");
    let mut visitor = s.try_ws(Some(&vtoken), "role=customer").expect("visitor");
    accept(&mut console);
    let started = Instant::now();
    let flood = 300;
    for i in 0..flood {
        visitor.send(
            &json!({ "type": "chat_send", "data": { "session_id": sid, "text": "x".repeat(4000), "client_id": format!("f{i}") } })
                .to_string(),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let answered = |ws: &Ws| {
        ws.seen
            .iter()
            .filter(|f| f["type"] == "ack" || f["type"] == "error")
            .count()
    };
    while answered(&visitor) < flood && Instant::now() < deadline {
        visitor.gets_within("none", Duration::from_millis(50));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let limited = visitor
        .seen
        .iter()
        .filter(|f| f["type"] == "error" && f["error"]["code"] == "rate_limited")
        .count();
    assert!(limited > 0, "the flood was never refused");
    // The bucket: a burst of 20, then 2 a second (the visitor's join and
    // ticket-free connect took none of it: they came over HTTP before).
    let allowed = 20 + (elapsed * 2.0).ceil() as usize + 1;
    let (status, page) = s.call(
        "GET",
        &format!("/customer-service/sessions/{sid}/messages?limit=500"),
        None,
    );
    assert_eq!(status, 200, "{page}");
    let stored = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["from"]["role"] == "customer")
        .count();
    assert!(
        stored <= allowed && stored + limited >= flood - 1,
        "stored {stored} (allowed {allowed}), refused {limited} of {flood}"
    );
    let (_, metrics) = s.raw("GET", "/metrics", None);
    let counted: u64 = metrics
        .lines()
        .find(|l| l.starts_with("switchboard_rate_limited_total{door=\"room\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .expect("the room door's counter");
    assert_eq!(counted as usize, limited, "{metrics}");
}
