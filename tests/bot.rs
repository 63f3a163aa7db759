//! The bot front desk through the real binary: an external bot process
//! speaking Rasa's REST format hands a chat over with its context, which
//! reaches the agent's WebSocket in `incoming_call`; a bot that errs or is
//! too slow hands over too; the built-in rule bot's settings go in as YAML.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const CS: &str = "/customer-service";

/// The Rasa-compatible bot (`tests/bots/rasa.mjs`), killed on drop, and
/// the messages it was asked about.
struct Bot(Child, u16, Arc<Mutex<Vec<String>>>);

impl Bot {
    fn start() -> Bot {
        let mut child = Command::new("node")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bots/rasa.mjs"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs the bot");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("port");
        let port = line.trim().parse().expect("a port");
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = heard.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if let Some(m) = line.strip_prefix("heard ") {
                    sink.lock().expect("heard").push(m.to_owned());
                }
            }
        });
        Bot(child, port, heard)
    }

    fn heard(&self) -> Vec<String> {
        self.2.lock().expect("heard").clone()
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

/// `PUT /workgroups/default/bot` with `body` (YAML or JSON) as the admin.
fn put_bot(s: &Server, body: &str) -> (u16, Value) {
    s.call_as(
        Some(ADMIN),
        "PUT",
        &format!("{CS}/workgroups/default/bot"),
        Some(body),
    )
}

fn server_with_bot(bot: &Bot, timeout_ms: u32) -> Server {
    let s = Server::start(&yaml("  accept_timeout_secs: 30\n"));
    let settings = format!(
        "bot:\n  kind: webhook\n  format: rasa\n  url: http://127.0.0.1:{}/webhooks/rest/webhook\n  secret: s3cret\ntriggers:\n  bot_timeout_ms: {timeout_ms}\n",
        bot.1
    );
    let (status, v) = put_bot(&s, &settings);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["settings"]["bot"]["secret_set"], true);
    assert!(
        v["settings"]["bot"].get("secret").is_none(),
        "the secret is never shown: {v}"
    );
    s
}

fn agent(s: &Server, id: &str) -> Ws {
    let token = s.account(id, "agent", Some(id));
    s.register(id);
    let mut ws = s.try_ws(Some(&token), "role=agent").expect("console");
    ws.expect("joined");
    ws
}

/// A chat visitor: (session, token); the join says the bot has them.
fn chat_join(s: &Server, visitor: &str) -> (String, String) {
    let body = json!({ "visitor_id": visitor, "channel": "chat" }).to_string();
    let (status, v) = s.call_as(None, "POST", &format!("{CS}/queue/join"), Some(&body));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "bot", "{v}");
    (
        v["session_id"].as_str().unwrap().to_owned(),
        v["token"].as_str().unwrap().to_owned(),
    )
}

fn say(s: &Server, sid: &str, token: &str, text: &str) {
    let body = json!({ "text": text }).to_string();
    let (status, v) = s.call_as(
        Some(token),
        "POST",
        &format!("{CS}/sessions/{sid}/messages"),
        Some(&body),
    );
    assert_eq!(status, 200, "{v}");
}

/// The bot's messages in the session's history, as the visitor reads them.
fn bot_lines(s: &Server, sid: &str, token: &str) -> Vec<String> {
    let (_, v) = s.call_as(
        Some(token),
        "GET",
        &format!("{CS}/sessions/{sid}/messages"),
        None,
    );
    v["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["kind"] == "bot")
        .filter_map(|m| m["text"].as_str().map(str::to_owned))
        .collect()
}

fn wait_for(mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_rasa_bot_answers_then_hands_over_with_its_context() {
    let bot = Bot::start();
    let s = server_with_bot(&bot, 3000);
    let mut console = agent(&s, "a1");
    let (sid, token) = chat_join(&s, "v1");
    say(&s, &sid, &token, "hello");
    wait_for(|| bot_lines(&s, &sid, &token) == ["Hi! What is your order number?"]);
    assert!(
        !console.gets_within("incoming_call", Duration::from_millis(200)),
        "not yet"
    );

    say(&s, &sid, &token, "it is 88123456");
    let ring = console.expect("incoming_call");
    assert_eq!(ring["session_id"], sid.as_str());
    let ctx = &ring["context"];
    assert_eq!(ctx["reason"], "bot_handoff", "{ring}");
    assert_eq!(ctx["bot_reason"], "order_issue");
    assert_eq!(ctx["fields"]["order_no"], "88123456");
    let lines: Vec<&str> = ctx["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            "hello",
            "Hi! What is your order number?",
            "it is 88123456",
            "Order 88123456 needs a person, one moment."
        ]
    );
    // The session carries the context for the console, not for the visitor.
    let detail = s.get(&format!("{CS}/sessions/{sid}"));
    assert_eq!(
        detail["bot_detail"]["handoff"]["fields"]["order_no"],
        "88123456"
    );
    let (_, mine) = s.call_as(Some(&token), "GET", &format!("{CS}/sessions/{sid}"), None);
    assert!(mine.get("bot_detail").is_none(), "{mine}");
    assert_eq!(mine["bot"]["phase"], "handing_over");

    console.send(&json!({ "type": "control", "data": { "type": "AcceptCall" } }).to_string());
    console.expect("call_accepted");
    let stats = s.get(&format!("{CS}/workgroups/default/bot"))["stats"].clone();
    assert_eq!(stats["handed_over"], 1, "{stats}");
    assert_eq!(stats["reasons"]["bot_handoff"], 1);
    let (_, metrics) = s.raw("GET", "/metrics", None);
    assert!(
        metrics.contains("switchboard_bot_handed_over_total{workgroup=\"default\"} 1"),
        "{metrics}"
    );
}

#[test]
fn a_bot_that_errs_or_is_too_slow_hands_over() {
    let bot = Bot::start();
    let s = server_with_bot(&bot, 1000);
    let mut console = agent(&s, "a1");
    let (sid, token) = chat_join(&s, "v1");
    say(&s, &sid, &token, "crash please");
    let ring = console.expect("incoming_call");
    assert_eq!(ring["context"]["reason"], "bot_error");
    s.call("DELETE", &format!("{CS}/sessions/{sid}"), None);

    let (sid, token) = chat_join(&s, "v2");
    let asked = std::time::Instant::now();
    say(&s, &sid, &token, "slow please");
    let ring = console
        .wait_for("incoming_call", Duration::from_secs(5))
        .expect("rung");
    assert_eq!(ring["context"]["reason"], "bot_timeout");
    assert!(
        asked.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        asked.elapsed()
    );
    // The answer that comes after the timeout is dropped.
    std::thread::sleep(Duration::from_millis(4500));
    assert!(bot_lines(&s, &sid, &token).is_empty());
}

#[test]
fn the_rule_bot_from_yaml_hands_over_on_an_explicit_keyword_and_bad_yaml_is_refused() {
    let s = Server::start(&yaml("  accept_timeout_secs: 30\n"));
    let settings = "\
bot:
  kind: rules
  dialog:
    start: hi
    nodes:
      hi:
        reply: 您好，请问有什么可以帮您？
        options: [查订单]
triggers:
  explicit_keywords: [转人工, human]
";
    let path = format!("{CS}/workgroups/default/bot");
    let (status, v) = put_bot(&s, "bot: {kind: rules}");
    assert_eq!(status, 400, "{v}");
    let (status, v) = put_bot(&s, &settings.replace("start: hi", "start: nowhere"));
    assert_eq!(status, 400, "{v}");
    let (status, _) = put_bot(&s, settings);
    assert_eq!(status, 200);
    let mut console = agent(&s, "a1");
    let (sid, token) = chat_join(&s, "v1");
    assert_eq!(bot_lines(&s, &sid, &token), ["您好，请问有什么可以帮您？"]);
    // A message resent with its client_id is kept once and heard once.
    let path_messages = format!("{CS}/sessions/{sid}/messages");
    let once = json!({ "text": "hello?", "client_id": "c1" }).to_string();
    for _ in 0..2 {
        let (status, v) = s.call_as(Some(&token), "POST", &path_messages, Some(&once));
        assert_eq!(status, 200, "{v}");
    }
    assert_eq!(
        bot_lines(&s, &sid, &token).len(),
        2,
        "one answer, to one message"
    );
    say(&s, &sid, &token, "我要转人工");
    let ring = console.expect("incoming_call");
    assert_eq!(ring["context"]["reason"], "explicit_keyword");
    let v: Value = s.get(&format!("{CS}/workgroups/default"));
    assert_eq!(v["bot_stats"]["handoffs"], 1, "{v}");
    // The bot cannot be removed while a visitor is with it; otherwise it can.
    let (sid2, _) = chat_join(&s, "v2");
    let (status, _) = s.call_as(Some(ADMIN), "DELETE", &path, None);
    assert_eq!(status, 400);
    s.call("DELETE", &format!("{CS}/sessions/{sid2}"), None);
    let (status, v) = s.call_as(Some(ADMIN), "DELETE", &path, None);
    assert_eq!((status, &v["settings"]), (200, &Value::Null));
}

#[test]
fn the_native_format_is_signed_and_an_unreadable_answer_hands_over() {
    use hmac::{Hmac, Mac};
    // A receiver that answers 200 with no body: not a bot answer.
    let r = Receiver::start(ok_always());
    let s = Server::start(&yaml("  accept_timeout_secs: 30\n"));
    let settings =
        json!({ "bot": { "kind": "webhook", "url": r.url(), "secret": "k3y" } }).to_string();
    let (status, v) = put_bot(&s, &settings);
    assert_eq!(status, 200, "{v}");
    let mut console = agent(&s, "a1");
    let (sid, token) = chat_join(&s, "v1");
    say(&s, &sid, &token, "hello there");
    let ring = console.expect("incoming_call");
    assert_eq!(ring["context"]["reason"], "bot_error");
    let got = r.wait(Duration::from_secs(5), |g| !g.is_empty());
    let req = &got[0];
    let body = req.json();
    assert_eq!(
        (
            body["session_id"].as_str(),
            body["text"].as_str(),
            body["turn"].as_u64()
        ),
        (Some(sid.as_str()), Some("hello there"), Some(1))
    );
    assert_eq!(body["context"]["transcript"][0]["text"], "hello there");
    let ts = &req.headers["x-switchboard-timestamp"];
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"k3y").unwrap();
    mac.update(format!("{ts}.{}", req.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        req.headers["x-switchboard-signature"],
        format!("v1={expected}")
    );
}

#[test]
fn a_visitor_who_disconnects_from_the_bot_has_left_after_the_grace() {
    let s = Server::start(&yaml("  accept_timeout_secs: 30\n"));
    let (status, _) = put_bot(
        &s,
        "bot: {kind: rules, dialog: {start: hi, nodes: {hi: {reply: hello}}}}",
    );
    assert_eq!(status, 200);
    let (sid, token) = chat_join(&s, "v1");
    let ws = s
        .try_ws(
            Some(&token),
            &format!("role=customer&room_id=customer-service/{sid}"),
        )
        .expect("visitor connects");
    drop(ws);
    wait_for(|| {
        let (_, v) = s.call("GET", &format!("{CS}/sessions/{sid}"), None);
        v["status"] == "ended"
    });
    let v = s.get(&format!("{CS}/sessions/{sid}"));
    assert_eq!(
        (v["end_reason"].as_str(), v["bot"]["outcome"].as_str()),
        (Some("left"), Some("left")),
        "{v}"
    );
}

#[test]
fn a_message_the_journal_could_not_keep_is_never_sent_to_the_bot() {
    let bot = Bot::start();
    let s = server_with_bot(&bot, 5000);
    let (sid, token) = chat_join(&s, "v1");
    say(&s, &sid, &token, "hello");
    wait_for(|| bot.heard().iter().any(|m| m == "hello"));
    // Another process holds the journal's write lock: the next turn's
    // commit fails (after SQLite's busy wait) and the engine stops.
    let lock = rusqlite::Connection::open(&s.db).expect("open the journal");
    lock.execute_batch("BEGIN EXCLUSIVE").expect("lock it");
    let body = json!({ "text": "order 12345678" }).to_string();
    let (status, v) = s.call_as(
        Some(&token),
        "POST",
        &format!("{CS}/sessions/{sid}/messages"),
        Some(&body),
    );
    assert_ne!(status, 200, "a message the journal did not keep: {v}");
    drop(lock);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        bot.heard(),
        vec!["hello".to_owned()],
        "the bot is never asked about a message that was not kept"
    );
}
