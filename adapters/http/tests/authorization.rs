//! The authorization matrix: every route x {anonymous, visitor of A, visitor
//! of B, agent X (holding A), agent Y (holding B), supervisor, admin,
//! tampered token, expired token}, each on a fresh server, expecting allow
//! (anything but 401/403) or the exact 401/403. The expectations come from
//! the rule table (`ROUTES`) plus the live facts of the fixture; the same
//! matrix run against a server whose table has one rule weakened must fail.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use switchboard_app::{Engine, EngineSettings};
use switchboard_core::Config;
use switchboard_http::auth::access::{Access, Route, ROUTES};
use switchboard_http::auth::{Argon2Cost, Rate, Role, Security};
use switchboard_http::listener::{self, Limits};
use switchboard_http::Auth;

const ADMIN_TOKEN: &str = "matrix-admin-token-0123456789";
const PASSWORD: &str = "password-1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anonymous,
    VisitorA,
    VisitorB,
    AgentX,
    AgentY,
    Supervisor,
    Admin,
    Tampered,
    Expired,
}

const EVERYONE: [Who; 9] = [
    Who::Anonymous,
    Who::VisitorA,
    Who::VisitorB,
    Who::AgentX,
    Who::AgentY,
    Who::Supervisor,
    Who::Admin,
    Who::Tampered,
    Who::Expired,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Allow,
    Unauthenticated,
    Forbidden,
}

/// What the rules say `who` gets on `route`, in this fixture: X holds A and
/// Y holds B, both active.
fn expect(route: &Route, who: Who) -> Expect {
    use Expect::*;
    match who {
        Who::Tampered | Who::Expired => return Unauthenticated,
        Who::Anonymous if route.access == Access::Public => return Allow,
        Who::Anonymous => return Unauthenticated,
        _ => {}
    }
    let role = match who {
        Who::AgentX | Who::AgentY => Some(Role::Agent),
        Who::Supervisor => Some(Role::Supervisor),
        Who::Admin => Some(Role::Admin),
        _ => None,
    };
    let at_least = |min: Role| role.is_some_and(|r| r >= min);
    let allowed = match (route.method, route.path) {
        // The WebSocket asks to join A's room as its visitor.
        ("GET", "/room") => matches!(who, Who::VisitorA | Who::Admin),
        // Bodies name agent X: only X itself, or an admin (register) / supervisor (assign).
        ("POST", "/customer-service/agents/register") => matches!(who, Who::AgentX | Who::Admin),
        ("POST", "/customer-service/sessions/{id}/assign") => {
            who == Who::AgentX || at_least(Role::Supervisor)
        }
        // A visitor's history: the agent serving them (X serves A), or a
        // supervisor; the live check refuses the other agents.
        ("GET", "/customer-service/customers/{id}") => {
            who == Who::AgentX || at_least(Role::Supervisor)
        }
        // A direct message is from one agent to another: staff who are not
        // agents are refused by the live check.
        ("POST", "/customer-service/internal/messages") => matches!(who, Who::AgentX | Who::AgentY),
        _ => match route.access {
            Access::Public | Access::Signed => true,
            Access::Staff(min) => at_least(min),
            Access::OwnAgent(min) => who == Who::AgentX || at_least(min),
            Access::Session(min) => matches!(who, Who::VisitorA | Who::AgentX) || at_least(min),
            Access::Held(min) => who == Who::AgentX || at_least(min),
            Access::Rate => matches!(who, Who::VisitorA | Who::Admin),
            Access::VisitorOr(min) => who == Who::VisitorA || at_least(min),
            Access::Participant => matches!(who, Who::VisitorA | Who::AgentX),
        },
    };
    if allowed {
        Allow
    } else {
        Forbidden
    }
}

/// A concrete request for `route` in the fixture.
fn request(route: &Route, f: &Fixture) -> (String, Option<String>) {
    let path = route
        .path
        .replace("{username}", "nobody")
        .replace("{visitor_id}", "visitor_a")
        .replace("{file}", "agent_x-m1.webm")
        .replace("{event}", "evt_1");
    let path = if path.contains("/sessions/{id}") {
        path.replace("{id}", &f.session_a)
    } else if path.contains("/agents/{id}") {
        path.replace("{id}", "agent_x")
    } else if path.contains("/workgroups/{id}") {
        path.replace("{id}", "default")
    } else if path.contains("/customers/{id}") {
        path.replace("{id}", "visitor_a")
    } else {
        path.replace("{id}", "1")
    };
    let path = if path == "/room" {
        format!(
            "/room?type=customer_service&role=customer&room_id=customer-service/{}",
            f.session_a
        )
    } else {
        path
    };
    let body = match (route.method, route.path) {
        ("POST", "/customer-service/auth/login") => {
            format!(r#"{{"username":"sup","password":"{PASSWORD}"}}"#)
        }
        ("POST", "/customer-service/auth/password") => {
            format!(r#"{{"old_password":"{PASSWORD}","new_password":"{PASSWORD}"}}"#)
        }
        ("POST", "/customer-service/accounts") => {
            r#"{"username":"new_user","password":"password-2","role":"supervisor"}"#.into()
        }
        ("POST", "/customer-service/tokens") => r#"{"name":"t1"}"#.into(),
        ("POST", "/customer-service/sessions") => r#"{"title":"t","customer_id":"c9"}"#.into(),
        ("POST", "/customer-service/sessions/{id}/assign") => r#"{"agent_id":"agent_x"}"#.into(),
        ("POST", "/customer-service/sessions/{id}/transfer") => {
            r#"{"target_agent_id":"agent_y"}"#.into()
        }
        ("POST", "/customer-service/sessions/{id}/rate") => r#"{"rating":5}"#.into(),
        ("POST", "/customer-service/agents/register") => r#"{"agent_id":"agent_x"}"#.into(),
        ("PUT", "/customer-service/agents/{id}/weight") => r#"{"weight":5}"#.into(),
        ("PUT", "/customer-service/agents/{id}/workgroups") => {
            r#"{"workgroups":[{"workgroup_id":"default"}]}"#.into()
        }
        ("PUT", "/customer-service/agents/{id}/capacity") => r#"{"max_concurrent":1}"#.into(),
        ("POST", "/customer-service/workgroups") => r#"{"workgroup_id":"g2"}"#.into(),
        ("PATCH", _) => r#"{"name":"x"}"#.into(),
        ("POST", "/customer-service/queue/join") => r#"{"visitor_id":"visitor_new"}"#.into(),
        ("POST", "/customer-service/queue/leave") => r#"{"visitor_id":"visitor_a"}"#.into(),
        ("POST", "/customer-service/sessions/{id}/messages") => r#"{"text":"hi"}"#.into(),
        ("POST", "/customer-service/sessions/{id}/receipts") => r#"{"read":0}"#.into(),
        ("POST", "/customer-service/sessions/{id}/close") => r#"{"comment":"done"}"#.into(),
        ("POST", "/customer-service/sessions/{id}/attachments") => "plain text".into(),
        ("POST", "/customer-service/internal/messages") => {
            r#"{"to_agent":"agent_y","text":"hi"}"#.into()
        }
        ("PUT", "/customer-service/canned-responses/{id}") => r#"{"text":"thanks"}"#.into(),
        ("POST", "/customer-service/notifications") => r#"{"text":"hi"}"#.into(),
        _ => String::new(),
    };
    (path, (!body.is_empty()).then_some(body))
}

struct Fixture {
    addr: String,
    session_a: String,
    session_b: String,
    tokens: Vec<(Who, Option<String>)>,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let body = body.unwrap_or("");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("write");
    let mut response = Vec::new();
    let _ = s.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let json = text
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

fn ok(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> Value {
    let (status, v) = http(addr, method, path, token, Some(body));
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {v}"
    );
    v
}

/// What the planted files hold: no answer may ever contain it.
const PLANTED: &str = "PLANTED-SECRET-7f3a";

/// Files a path trick would reach: one beside the journal, and one where a
/// recording of a session named by the trick would be, if paths were joined.
fn plant(root: &std::path::Path, record_dir: &std::path::Path) {
    for dir in [
        root.join("x"),
        record_dir.join("x"),
        record_dir.join("cs_planted"),
    ] {
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("agent_x-m1.webm"), PLANTED).expect("plant");
    }
    std::fs::write(root.join("agent_x-m1.webm"), PLANTED).expect("plant");
}

/// A server on a fresh journal with the given rule table, and the callers'
/// credentials: X holds session A, Y holds session B, both answered.
fn fixture(routes: &'static [Route]) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("switchboard.db");
    let off = Rate {
        per_sec: 0.0,
        burst: 0,
    };
    let security = Security {
        admin_token: Some(ADMIN_TOKEN.into()),
        admin_password: Some(PASSWORD.into()),
        argon2: Argon2Cost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        per_address: off,
        per_credential: off,
        public_join: off,
        ..Security::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let running =
        Engine::start(&db, &Config::default(), EngineSettings::default()).expect("engine");
    let auth = Arc::new(Auth::open(&db, security.clone()).expect("auth"));
    let record_dir = dir.path().join("recordings");
    plant(dir.path(), &record_dir);
    let media = switchboard_media::Media::start(switchboard_media::MediaConfig {
        record_dir: Some(record_dir),
        ..switchboard_media::MediaConfig::default()
    })
    .expect("media plane");
    let extras = switchboard_http::Extras {
        media: Some(media),
        ..switchboard_http::Extras::default()
    };
    let router = switchboard_http::router_with(running.engine, auth.clone(), extras, routes);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    runtime.spawn(listener::serve(
        listener,
        router,
        Limits::from(&security),
        None,
        auth.conns(),
        std::future::pending(),
    ));
    let admin = Some(ADMIN_TOKEN);
    let cs = "/customer-service";
    for (user, role, agent) in [
        ("x", "agent", Some("agent_x")),
        ("y", "agent", Some("agent_y")),
        ("sup", "supervisor", None),
    ] {
        let agent = agent
            .map(|a| format!(r#","agent_id":"{a}""#))
            .unwrap_or_default();
        let body =
            format!(r#"{{"username":"{user}","password":"{PASSWORD}","role":"{role}"{agent}}}"#);
        ok(&addr, "POST", &format!("{cs}/accounts"), admin, &body);
    }
    let login = |user: &str| -> String {
        let body = format!(r#"{{"username":"{user}","password":"{PASSWORD}"}}"#);
        let v = ok(&addr, "POST", &format!("{cs}/auth/login"), None, &body);
        v["token"].as_str().expect("token").to_owned()
    };
    let (x, y, sup, adm) = (login("x"), login("y"), login("sup"), login("admin"));
    ok(
        &addr,
        "POST",
        &format!("{cs}/agents/register"),
        Some(&x),
        r#"{"agent_id":"agent_x"}"#,
    );
    let a = ok(
        &addr,
        "POST",
        &format!("{cs}/queue/join"),
        None,
        r#"{"visitor_id":"visitor_a"}"#,
    );
    ok(
        &addr,
        "POST",
        &format!("{cs}/agents/agent_x/accept"),
        Some(&x),
        "",
    );
    ok(
        &addr,
        "POST",
        &format!("{cs}/agents/register"),
        Some(&y),
        r#"{"agent_id":"agent_y"}"#,
    );
    let b = ok(
        &addr,
        "POST",
        &format!("{cs}/queue/join"),
        None,
        r#"{"visitor_id":"visitor_b"}"#,
    );
    ok(
        &addr,
        "POST",
        &format!("{cs}/agents/agent_y/accept"),
        Some(&y),
        "",
    );
    let visitor_a = a["token"].as_str().expect("visitor token").to_owned();
    let session_a = a["session_id"].as_str().expect("session").to_owned();
    // A's token with its signature's last character changed.
    let mut tampered = visitor_a.clone();
    let last = tampered.pop().expect("non-empty");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let expired = auth
        .visitor_token(&session_a.as_str().into(), "join", Duration::ZERO)
        .0;
    let tokens = vec![
        (Who::Anonymous, None),
        (Who::VisitorA, Some(visitor_a)),
        (Who::VisitorB, b["token"].as_str().map(str::to_owned)),
        (Who::AgentX, Some(x)),
        (Who::AgentY, Some(y)),
        (Who::Supervisor, Some(sup)),
        (Who::Admin, Some(adm)),
        (Who::Tampered, Some(tampered)),
        (Who::Expired, Some(expired)),
    ];
    Fixture {
        addr,
        session_a,
        session_b: b["session_id"].as_str().expect("session").to_owned(),
        tokens,
        _runtime: runtime,
        _dir: dir,
    }
}

/// Runs every caller on `route` of a fresh server built with `routes`
/// (refused callers first, so that an allowed change cannot mask them);
/// returns the cells that disagree with the expectation.
fn run_route(route: &Route, routes: &'static [Route]) -> Vec<String> {
    let f = fixture(routes);
    let (path, body) = request(route, &f);
    let mut order: Vec<Who> = EVERYONE.to_vec();
    order.sort_by_key(|w| {
        (
            expect(route, *w) == Expect::Allow,
            !matches!(w, Who::VisitorA | Who::VisitorB),
        )
    });
    let mut wrong = Vec::new();
    for who in order {
        let token = f
            .tokens
            .iter()
            .find(|(w, _)| *w == who)
            .and_then(|(_, t)| t.clone());
        let (status, v) = http(
            &f.addr,
            route.method,
            &path,
            token.as_deref(),
            body.as_deref(),
        );
        let got = match status {
            401 => Expect::Unauthenticated,
            403 => Expect::Forbidden,
            0 => panic!("{} {path}: no answer", route.method),
            _ => Expect::Allow,
        };
        let want = expect(route, who);
        if got != want {
            wrong.push(format!(
                "{} {} as {who:?}: want {want:?}, got {status} {v}",
                route.method, route.path
            ));
        }
    }
    wrong
}

#[test]
fn every_route_admits_exactly_whom_its_rule_names() {
    let wrong: Vec<String> = ROUTES.iter().flat_map(|r| run_route(r, ROUTES)).collect();
    assert!(
        wrong.is_empty(),
        "{} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The same matrix notices a weakened rule: the statistics opened to anyone signed in.
#[test]
fn the_matrix_fails_when_a_rule_is_removed() {
    static WEAK: std::sync::OnceLock<Vec<Route>> = std::sync::OnceLock::new();
    let weak = WEAK.get_or_init(|| {
        ROUTES
            .iter()
            .map(|r| match (r.method, r.path) {
                ("GET", "/customer-service/stats") => Route {
                    access: Access::Signed,
                    ..*r
                },
                _ => *r,
            })
            .collect()
    });
    let route = ROUTES
        .iter()
        .find(|r| r.method == "GET" && r.path == "/customer-service/stats")
        .expect("the route");
    let wrong = run_route(route, weak.as_slice());
    assert!(
        wrong.iter().any(|w| w.contains("VisitorB")) && wrong.iter().any(|w| w.contains("AgentX")),
        "visitors and agents reading the statistics went unnoticed: {wrong:?}"
    );
}

/// Values a path parameter must never be taken as, percent-encoded as an
/// attacker would send them: `{a}` is session A's id.
const TRICKS: &[&str] = &[
    ".",
    "..",
    "%2E%2E",
    ".%2F{a}",
    "{a}%2F",
    "{a}%2F..%2Fcs_planted",
    "..%2Fx",
    "..%2F..%2Fx",
    "%2Ftmp",
    "{root}",
    "%5C..%5Cx",
    "..%5Cx",
    "{a}%00",
    "%00",
    "x%0D%0ASet-Cookie:%20a=b",
    "{long}",
];

/// Ids that are fine names but no session's id: tried where a session's id goes.
const SESSION_TRICKS: &[&str] = &["{a}.webm", "cs_A", "agent_x", "cs_", "{a}-1"];

/// Every route with a path parameter, each parameter in turn replaced by each
/// trick, for every caller: 404 before any check (never 2xx, never the
/// planted file). Generated from the same table as the matrix.
#[test]
fn malformed_path_parameters_are_404_for_everyone_and_reach_no_file() {
    let f = fixture(ROUTES);
    let root = f._dir.path().to_string_lossy().replace('/', "%2F");
    let long = "a".repeat(300);
    let mut wrong = Vec::new();
    let mut tried = 0;
    for route in ROUTES.iter().filter(|r| r.path.contains('{')) {
        let (good, body) = request(route, &f);
        let template: Vec<&str> = route.path.split('/').collect();
        let path: Vec<&str> = good.split('?').next().unwrap_or("").split('/').collect();
        for (i, t) in template
            .iter()
            .enumerate()
            .filter(|(_, t)| t.starts_with('{'))
        {
            let session = *t == "{id}" && template[i - 1] == "sessions";
            let extra: &[&str] = if session { SESSION_TRICKS } else { &[] };
            for trick in TRICKS.iter().chain(extra) {
                let value = trick
                    .replace("{a}", &f.session_a)
                    .replace("{root}", &root)
                    .replace("{long}", &long);
                let mut bad = path.clone();
                bad[i] = &value;
                let bad = bad.join("/");
                for (who, token) in &f.tokens {
                    tried += 1;
                    let (status, v) = http(
                        &f.addr,
                        route.method,
                        &bad,
                        token.as_deref(),
                        body.as_deref(),
                    );
                    if status != 404 || v.to_string().contains(PLANTED) {
                        wrong.push(format!("{} {bad} as {who:?}: {status} {v}", route.method));
                    }
                }
            }
        }
    }
    assert!(tried > 1000, "only {tried} requests");
    assert!(
        wrong.is_empty(),
        "{} of {tried} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Well-formed ids of what is not the caller's: the recordings of session B
/// are 403 for agent X and visitor A, and an unknown session is 404 (the
/// live rule refuses it instead of letting the handler look).
#[test]
fn another_sessions_recordings_are_refused_and_unknown_sessions_are_404() {
    let f = fixture(ROUTES);
    let token = |who: Who| {
        f.tokens
            .iter()
            .find(|(w, _)| *w == who)
            .and_then(|(_, t)| t.clone())
    };
    for path in [
        format!("/customer-service/sessions/{}/recordings", f.session_b),
        format!(
            "/customer-service/sessions/{}/recordings/agent_y-m1.webm",
            f.session_b
        ),
        format!(
            "/customer-service/sessions/{}/attachments/att_aaaaaaaaaaaaaaaaaaaaaaaa",
            f.session_b
        ),
    ] {
        for who in [Who::AgentX, Who::VisitorA] {
            let (status, v) = http(&f.addr, "GET", &path, token(who).as_deref(), None);
            assert_eq!(status, 403, "{path} as {who:?}: {v}");
        }
    }
    for path in [
        "/customer-service/sessions/cs_planted/recordings",
        "/customer-service/sessions/cs_planted/recordings/agent_x-m1.webm",
    ] {
        let (status, v) = http(&f.addr, "GET", path, token(Who::AgentX).as_deref(), None);
        assert_eq!(status, 404, "{path}: {v}");
        assert!(!v.to_string().contains(PLANTED));
        // Even an admin finds only what the store lists: the planted file is no recording.
        let (status, v) = http(&f.addr, "GET", path, token(Who::Admin).as_deref(), None);
        assert!(!v.to_string().contains(PLANTED), "{path}: {status} {v}");
        assert!(
            status == 404 || v["recordings"] == serde_json::json!([]),
            "{path}: {status} {v}"
        );
    }
}
