//! Accounts, sign-in, scoped visitor credentials, limits and the audit log,
//! end to end against the real binary.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const CS: &str = "/customer-service";

fn p(path: &str) -> String {
    format!("{CS}{path}")
}

#[test]
fn sign_in_sets_an_http_only_cookie_and_the_cookie_needs_our_origin() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    s.account("sam", "supervisor", None);
    let body = r#"{"username":"sam","password":"password-sam"}"#;
    let (status, head, text) = s.exchange("POST", &p("/auth/login"), Some(body.as_bytes()), "");
    assert_eq!(status, 200, "{text}");
    let set = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let token: Value = serde_json::from_str(&text).unwrap();
    let cookie = format!(
        "Cookie: sb_session={}\r\n",
        token["token"].as_str().unwrap()
    );

    let (status, _, me) = s.exchange("GET", &p("/auth/me"), None, &cookie);
    assert_eq!(status, 200);
    assert!(me.contains("\"supervisor\""), "{me}");
    // A cross-site form riding the cookie: refused, and nothing changes.
    let join = br#"{"visitor_id":"v1"}"#;
    let evil = format!("{cookie}Origin: https://evil.example\r\n");
    let (status, _, _) = s.exchange(
        "POST",
        &p("/sessions"),
        Some(br#"{"title":"t","customer_id":"c1"}"#),
        &evil,
    );
    assert_eq!(status, 403);
    let (status, _, _) = s.exchange(
        "POST",
        &p("/sessions"),
        Some(br#"{"title":"t","customer_id":"c1"}"#),
        &cookie,
    );
    assert_eq!(status, 403, "no Origin at all is refused too");
    assert_eq!(s.get(&p("/sessions"))["count"], 0, "nothing was created");
    let ours = format!("{cookie}Origin: http://{}\r\n", s.addr);
    let (status, _, _) = s.exchange("POST", &p("/queue/join"), Some(join), &ours);
    assert_eq!(status, 200);
    // Signing out revokes the token.
    let (status, _, _) = s.exchange("POST", &p("/auth/logout"), None, &ours);
    assert_eq!(status, 200);
    let (status, _, _) = s.exchange("GET", &p("/auth/me"), None, &cookie);
    assert_eq!(status, 401);
}

#[test]
fn repeated_failures_lock_the_account_with_retry_after() {
    let yaml = format!(
        "{TEST_SECURITY}  login: {{account_failures: 3, address_failures: 50, lockout_secs: 2, lockout_max_secs: 10}}\ncustomer_service:\n  max_queue_size: 10\n"
    );
    let s = Server::start(&yaml);
    s.account("ann", "agent", Some("agent_1"));
    let wrong = r#"{"username":"ann","password":"not-her-password"}"#;
    for _ in 0..3 {
        let (status, _) = s.call_as(None, "POST", &p("/auth/login"), Some(wrong));
        assert_eq!(status, 401);
    }
    let (status, head, _) = s.exchange(
        "POST",
        &p("/auth/login"),
        Some(br#"{"username":"ann","password":"password-ann"}"#),
        "",
    );
    assert_eq!(status, 429, "locked even with the right password");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 2"),
        "{head}"
    );
    // The lockout is the guesser's: from another address the owner signs in.
    let addr: std::net::SocketAddr = s.addr.parse().unwrap();
    let elsewhere = std::net::SocketAddr::from(([127, 0, 0, 2], 0));
    let (status, text) = login_from(elsewhere, addr, "ann", "password-ann");
    assert_eq!(status, 200, "{text}");
    sleep(Duration::from_millis(2100));
    assert_eq!(s.login("ann").0, 200, "the lockout ends");
    let audit = s.get(&p("/audit?action=login&actor=ann"));
    let outcomes: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "bad_credentials").count(),
        3,
        "{audit}"
    );
    assert!(
        outcomes.contains(&"throttled") && outcomes.contains(&"ok"),
        "{audit}"
    );
}

/// Signs in over a connection from `from` (another loopback address).
fn login_from(
    from: std::net::SocketAddr,
    to: std::net::SocketAddr,
    user: &str,
    password: &str,
) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stream = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(from).unwrap();
        socket.connect(to).await.unwrap().into_std().unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    let mut stream = stream;
    let body = format!(r#"{{"username":"{user}","password":"{password}"}}"#);
    let head = format!(
        "POST {CS}/auth/login HTTP/1.1\r\nHost: {to}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[test]
fn a_visitor_token_is_scoped_to_its_session_and_dies_with_it_except_for_rating() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    let x = s.account("xavier", "agent", Some("agent_x"));
    s.call_as(
        Some(&x),
        "POST",
        &p("/agents/register"),
        Some(r#"{"agent_id":"agent_x"}"#),
    );
    let (_, a) = s.call_as(
        None,
        "POST",
        &p("/queue/join"),
        Some(r#"{"visitor_id":"va"}"#),
    );
    let (_, b) = s.call_as(
        None,
        "POST",
        &p("/queue/join"),
        Some(r#"{"visitor_id":"vb"}"#),
    );
    let (ta, sa) = (
        a["token"].as_str().unwrap(),
        a["session_id"].as_str().unwrap(),
    );
    let sb = b["session_id"].as_str().unwrap();
    assert_eq!(
        s.call_as(Some(ta), "GET", &p(&format!("/sessions/{sa}")), None)
            .0,
        200
    );
    assert_eq!(
        s.call_as(Some(ta), "GET", &p(&format!("/sessions/{sb}")), None)
            .0,
        403
    );
    assert_eq!(
        s.call_as(Some(ta), "DELETE", &p(&format!("/sessions/{sb}")), None)
            .0,
        403
    );
    assert_eq!(
        s.call_as(Some(ta), "GET", &p("/queue/position/vb"), None).0,
        403
    );
    assert_eq!(
        s.call_as(
            Some(ta),
            "POST",
            &p("/queue/leave"),
            Some(r#"{"visitor_id":"vb"}"#)
        )
        .0,
        403
    );
    assert_eq!(
        s.get(&p("/queue/position/vb"))["position"],
        1,
        "B untouched"
    );
    assert_eq!(
        s.call_as(Some(ta), "GET", &p("/sessions"), None).0,
        403,
        "no listing"
    );
    // A's call: answered, then ended by the visitor.
    s.call_as(Some(&x), "POST", &p("/agents/agent_x/accept"), None);
    let (status, ended) = s.call_as(Some(ta), "DELETE", &p(&format!("/sessions/{sa}")), None);
    assert_eq!(
        (status, ended["ended_by"].as_str()),
        (200, Some("customer")),
        "{ended}"
    );
    assert_eq!(
        s.call_as(Some(ta), "GET", &p(&format!("/sessions/{sa}")), None)
            .0,
        403
    );
    let (status, rated) = s.call_as(
        Some(ta),
        "POST",
        &p(&format!("/sessions/{sa}/rate")),
        Some(r#"{"rating":4}"#),
    );
    assert_eq!((status, rated["rating"].as_u64()), (200, Some(4)));
    let (status, _) = s.call_as(
        Some(ta),
        "POST",
        &p(&format!("/sessions/{sa}/rate")),
        Some(r#"{"rating":5}"#),
    );
    assert_eq!(status, 409, "once");
}

#[test]
fn a_link_expires_and_can_be_revoked() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    let sid = s.join("v1");
    // Two seconds: expiry is counted in whole seconds, so a link lasts at
    // least one second less than it says (a 1 s link could be gone at once).
    let short = s.post(
        &p(&format!("/sessions/{sid}/link")),
        r#"{"expires_in_secs":2}"#,
    );
    let url = short["url"].as_str().unwrap();
    assert!(
        url.contains(&format!("?session={sid}&role=customer&token=sbv_")),
        "{url}"
    );
    assert!(
        short["qr_svg"].as_str().unwrap().starts_with("<?xml"),
        "a QR code"
    );
    let long = s.post(&p(&format!("/sessions/{sid}/link")), "");
    let (t1, t2) = (
        short["token"].as_str().unwrap(),
        long["token"].as_str().unwrap(),
    );
    let me = p(&format!("/sessions/{sid}"));
    assert_eq!(s.call_as(Some(t1), "GET", &me, None).0, 200);
    assert_eq!(s.call_as(Some(t2), "GET", &me, None).0, 200);
    sleep(Duration::from_millis(2100));
    assert_eq!(s.call_as(Some(t1), "GET", &me, None).0, 401, "expired");
    let link = long["link_id"].as_str().unwrap();
    s.call("DELETE", &p(&format!("/links/{link}")), None);
    assert_eq!(s.call_as(Some(t2), "GET", &me, None).0, 401, "revoked");
}

#[test]
fn a_websocket_claiming_another_agents_id_is_refused() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    let x = s.account("xena", "agent", Some("agent_x"));
    s.account("yuri", "agent", Some("agent_y"));
    s.register("agent_x");
    s.register("agent_y");
    assert_eq!(
        s.try_ws(Some(&x), "role=agent&agent_id=agent_y").err(),
        Some(403)
    );
    assert_eq!(
        s.try_ws(None, "role=agent&agent_id=agent_x").err(),
        Some(401)
    );
    assert_eq!(
        s.try_ws(Some("sbs_forged"), "role=agent&agent_id=agent_x")
            .err(),
        Some(401)
    );
    let mut own = s.try_ws(Some(&x), "role=agent").expect("its own console");
    assert_eq!(own.expect("joined")["role"], "agent");
    // A browser's ticket works once.
    let (_, t) = s.call_as(Some(&x), "POST", &p("/auth/ticket"), None);
    let ticket = t["ticket"].as_str().unwrap();
    let q = format!("role=agent&ticket={ticket}");
    assert!(s.try_ws(None, &q).is_ok());
    assert_eq!(s.try_ws(None, &q).err(), Some(401), "single use");
}

#[test]
fn changing_a_password_or_role_revokes_the_other_sign_ins_and_accounts_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    let mut s = Server::start_on(&db, &yaml("  max_queue_size: 10"));
    let first = s.account("carl", "supervisor", None);
    let second = s.login("carl").1["token"].as_str().unwrap().to_owned();
    let change = r#"{"old_password":"password-carl","new_password":"password-carl-2"}"#;
    let (status, _) = s.call_as(Some(&second), "POST", &p("/auth/password"), Some(change));
    assert_eq!(status, 200);
    assert_eq!(
        s.call_as(Some(&first), "GET", &p("/auth/me"), None).0,
        401,
        "the other sign-in is gone"
    );
    assert_eq!(
        s.call_as(Some(&second), "GET", &p("/auth/me"), None).0,
        200,
        "this one stays"
    );
    s.kill();
    let s = Server::start_on(&db, &yaml("  max_queue_size: 10"));
    assert_eq!(
        s.call_as(Some(&second), "GET", &p("/stats"), None).0,
        200,
        "sign-ins survive"
    );
    let (status, _) = s.call("PATCH", &p("/accounts/carl"), Some(r#"{"role":"agent"}"#));
    assert_eq!(status, 400, "an agent needs an agent_id");
    s.call("PATCH", &p("/accounts/carl"), Some(r#"{"disabled":true}"#));
    assert_eq!(s.call_as(Some(&second), "GET", &p("/stats"), None).0, 401);
    let (status, _) = s.call_as(
        None,
        "POST",
        &p("/auth/login"),
        Some(r#"{"username":"carl","password":"password-carl-2"}"#),
    );
    assert_eq!(status, 401, "disabled");
    let list = s.get(&p("/accounts"));
    assert!(
        !list.to_string().contains("argon2"),
        "hashes never leave: {list}"
    );
}

#[test]
fn staff_actions_are_audited_with_their_outcome() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    s.register("a1");
    s.register("a2");
    let sid = s.join("v1");
    s.post(&p("/agents/a1/accept"), "");
    s.post(
        &p(&format!("/sessions/{sid}/transfer")),
        r#"{"target_agent_id":"a2"}"#,
    );
    let (status, _) = s.call(
        "POST",
        &p(&format!("/sessions/{sid}/transfer")),
        Some(r#"{"target_agent_id":"nobody"}"#),
    );
    assert_eq!(status, 404);
    s.post(&p("/agents/a1/unavailable"), "");
    let log = s.get(&p("/audit?action=session.transfer"));
    let outcomes: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["agent_not_found", "ok"], "{log}");
    assert_eq!(log["entries"][1]["actor"], "admin-token");
    assert_eq!(log["entries"][1]["target"], sid.as_str());
    assert_eq!(s.get(&p("/audit?action=agent.unavailable"))["count"], 1);
}

#[test]
fn requests_past_the_rate_are_429_with_retry_after() {
    let yaml = "security:\n  per_address: {per_sec: 1, burst: 3}\n  argon2: {memory_kib: 64, iterations: 1, parallelism: 1}\ncustomer_service:\n  max_queue_size: 10\n";
    let s = Server::start(yaml);
    let statuses: Vec<u16> = (0..5)
        .map(|_| s.call_as(None, "GET", "/healthz", None).0)
        .collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    let (_, head, body) = s.exchange("GET", "/healthz", None, "");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 1"),
        "{head}"
    );
    assert!(body.contains("请求过频"), "{body}");
    assert_eq!(
        s.call("GET", "/healthz", None).0,
        200,
        "the admin's own budget"
    );
}

/// Whether the server closed `c` (EOF or reset) within `wait`.
fn closed(mut c: &TcpStream, wait: Duration) -> bool {
    c.set_read_timeout(Some(wait)).ok();
    let mut buf = [0u8; 512];
    loop {
        match c.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // a 408 or similar before closing
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

#[test]
fn slow_and_idle_connections_are_shed_while_traffic_flows() {
    let yaml = String::from(
        "security:\n  header_read_timeout_secs: 1\n  idle_timeout_secs: 2\n  connections_per_address: 120\n  per_credential: {per_sec: 0, burst: 0}\n  per_address: {per_sec: 0, burst: 0}\n  argon2: {memory_kib: 64, iterations: 1, parallelism: 1}\ncustomer_service:\n  max_queue_size: 10\n",
    );
    let s = Server::start(&yaml);
    let start = Instant::now();
    // 50 that send half a header, 50 that send nothing.
    let slow: Vec<TcpStream> = (0..50)
        .map(|_| {
            let mut c = TcpStream::connect(&s.addr).unwrap();
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            c
        })
        .collect();
    let idle: Vec<TcpStream> = (0..50)
        .map(|_| TcpStream::connect(&s.addr).unwrap())
        .collect();
    // The cap: past 120 from one address, new connections are closed at once.
    let over: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(&s.addr).unwrap())
        .collect();
    let shed = over
        .iter()
        .filter(|c| closed(c, Duration::from_millis(300)))
        .count();
    assert!(shed >= 20, "only {shed} of 40 over the cap were closed");
    drop(over);
    sleep(Duration::from_millis(200));
    // Normal traffic keeps flowing meanwhile.
    for _ in 0..20 {
        assert_eq!(s.call("GET", "/healthz", None).0, 200);
    }
    let all_closed = |conns: &Vec<TcpStream>| {
        conns
            .iter()
            .filter(|c| closed(c, Duration::from_secs(4)))
            .count()
    };
    assert_eq!(all_closed(&slow), 50, "slow headers closed");
    assert_eq!(all_closed(&idle), 50, "idle connections closed");
    assert!(start.elapsed() < Duration::from_secs(15));
    let metrics = s.raw("GET", "/metrics", None).1;
    let shed_line = metrics
        .lines()
        .find(|l| l.starts_with("switchboard_connections_shed_total"))
        .unwrap();
    assert!(!shed_line.ends_with(" 0"), "{shed_line}");
    assert_eq!(s.call("GET", "/healthz", None).0, 200);
}

/// Whether `ws` is told its credential went and is closed, within a second.
fn cut_off(ws: &mut Ws) -> bool {
    let closed = ws.closed_within(Duration::from_secs(1));
    closed
        && ws
            .seen
            .iter()
            .any(|f| f["type"] == "error" && f["error"]["code"] == "unauthorized")
}

#[test]
fn revocation_reaches_open_sockets_and_unused_tickets() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    // Disabling an account: its console is closed within a second, and a
    // ticket it had made no longer opens /room.
    let ann = s.account("ann", "agent", Some("agent_a"));
    s.register("agent_a");
    let mut console = s.try_ws(Some(&ann), "role=agent").expect("console");
    console.expect("joined");
    let (_, t) = s.call_as(Some(&ann), "POST", &p("/auth/ticket"), None);
    let ticket = t["ticket"].as_str().unwrap().to_owned();
    s.call("PATCH", &p("/accounts/ann"), Some(r#"{"disabled":true}"#));
    assert!(cut_off(&mut console), "saw {:?}", console.seen);
    assert_eq!(
        s.try_ws(None, &format!("role=agent&ticket={ticket}")).err(),
        Some(401)
    );

    // Signing out: the tickets of that sign-in die with it.
    let bob = s.account("bob", "agent", Some("agent_b"));
    s.register("agent_b");
    let (_, t) = s.call_as(Some(&bob), "POST", &p("/auth/ticket"), None);
    let ticket = t["ticket"].as_str().unwrap().to_owned();
    let mut console = s.try_ws(Some(&bob), "role=agent").expect("console");
    console.expect("joined");
    assert_eq!(
        s.call_as(Some(&bob), "POST", &p("/auth/logout"), None).0,
        200
    );
    assert!(cut_off(&mut console), "saw {:?}", console.seen);
    assert_eq!(
        s.try_ws(None, &format!("role=agent&ticket={ticket}")).err(),
        Some(401)
    );

    // A password changed from another sign-in: a supervisor's live view on
    // the old one stops streaming, and its old ticket is refused.
    let sam = s.account("sam", "supervisor", None);
    let other = s.login("sam").1["token"].as_str().unwrap().to_owned();
    let (_, t) = s.call_as(Some(&sam), "POST", &p("/auth/ticket"), None);
    let ticket = t["ticket"].as_str().unwrap().to_owned();
    let mut monitor = s.try_ws(Some(&sam), "role=monitor").expect("monitor");
    assert!(monitor.gets_within("stats", Duration::from_secs(2)));
    let change = r#"{"old_password":"password-sam","new_password":"password-sam-2"}"#;
    let (status, _) = s.call_as(Some(&other), "POST", &p("/auth/password"), Some(change));
    assert_eq!(status, 200);
    assert!(cut_off(&mut monitor), "saw {:?}", monitor.seen);
    assert_eq!(
        s.try_ws(None, &format!("role=monitor&ticket={ticket}"))
            .err(),
        Some(401)
    );

    // A revoked API token's socket goes too.
    let (_, tok) = s.call(
        "POST",
        &p("/tokens"),
        Some(r#"{"name":"bot","role":"supervisor"}"#),
    );
    let secret = tok["token"].as_str().unwrap().to_owned();
    let id = tok["id"].as_i64().unwrap();
    let mut monitor = s.try_ws(Some(&secret), "role=monitor").expect("monitor");
    assert!(monitor.gets_within("stats", Duration::from_secs(2)));
    let (status, _) = s.call("DELETE", &p(&format!("/tokens/{id}")), None);
    assert_eq!(status, 200);
    assert!(cut_off(&mut monitor), "saw {:?}", monitor.seen);
}

#[test]
fn a_visitor_signing_out_revokes_its_token_and_its_socket() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    let (_, v) = s.call_as(
        None,
        "POST",
        &p("/queue/join"),
        Some(r#"{"visitor_id":"v1"}"#),
    );
    let token = v["token"].as_str().unwrap().to_owned();
    let sid = v["session_id"].as_str().unwrap().to_owned();
    // Another visitor's public join: its token must survive v1's sign-out.
    let (_, w) = s.call_as(
        None,
        "POST",
        &p("/queue/join"),
        Some(r#"{"visitor_id":"v2"}"#),
    );
    let other = w["token"].as_str().unwrap().to_owned();
    let mut room = s
        .try_ws(
            Some(&token),
            &format!("role=customer&room_id=customer-service/{sid}"),
        )
        .expect("room");
    room.expect("joined");
    let session = p(&format!("/sessions/{sid}"));
    assert_eq!(s.call_as(Some(&token), "GET", &session, None).0, 200);
    let (status, out) = s.call_as(Some(&token), "POST", &p("/auth/logout"), None);
    assert_eq!((status, out["status"].as_str()), (200, Some("signed_out")));
    assert!(cut_off(&mut room), "saw {:?}", room.seen);
    assert_eq!(s.call_as(Some(&token), "GET", &session, None).0, 401);
    assert_eq!(
        s.call_as(Some(&token), "GET", &p("/auth/me"), None).0,
        401,
        "the token is dead everywhere"
    );
    assert_eq!(
        s.call_as(Some(&other), "GET", &p("/auth/me"), None).0,
        200,
        "other visitors keep theirs"
    );
    let audit = s.get(&p("/audit?action=logout"));
    assert!(
        audit.to_string().contains(&format!("visitor:{sid}")),
        "{audit}"
    );
}

#[test]
fn login_csrf_and_cross_origin_socketio_polling_are_refused() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    s.account("sam", "supervisor", None);
    let body = br#"{"username":"sam","password":"password-sam"}"#;
    // A cross-site form or `no-cors` fetch can only send these types.
    for kind in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let (status, head, text) = s.exchange_typed("POST", &p("/auth/login"), body, kind, "");
        assert_eq!(status, 415, "{kind}: {text}");
        assert!(!head.to_ascii_lowercase().contains("set-cookie"), "{head}");
    }
    let evil = "Origin: https://evil.example\r\n";
    let (status, head, _) = s.exchange("POST", &p("/auth/login"), Some(body), evil);
    assert_eq!(status, 403);
    assert!(!head.to_ascii_lowercase().contains("set-cookie"), "{head}");
    let ours = format!("Origin: http://{}\r\n", s.addr);
    let (status, _, text) = s.exchange("POST", &p("/auth/login"), Some(body), &ours);
    assert_eq!(status, 200, "{text}");
    let token: Value = serde_json::from_str(&text).unwrap();
    let cookie = format!(
        "Cookie: sb_session={}\r\n",
        token["token"].as_str().unwrap()
    );

    // socket.io's long-polling handshake riding the cookie.
    let poll = "/socket.io/?EIO=4&transport=polling";
    let (status, _, text) = s.exchange("GET", poll, None, &format!("{cookie}{evil}"));
    assert_eq!(status, 403, "{text}");
    let (status, _, text) = s.exchange(
        "GET",
        poll,
        None,
        &format!("{cookie}Sec-Fetch-Site: cross-site\r\n"),
    );
    assert_eq!(status, 403, "{text}");
    let (status, _, text) = s.exchange("GET", poll, None, &format!("{cookie}{ours}"));
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"sid\""), "{text}");
}
