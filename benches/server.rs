//! Server benchmarks over loopback against the real `switchboard` binary
//! (release build), printing figures:
//!
//! 1. `queue/join` requests/s and p50/p99, next to a bare hyper hello-world
//!    driven by the same client in the same run (target: >= 50% of bare with
//!    durable journaling on);
//! 2. whole call flows (join -> accept -> end -> rate) per second, p50/p99;
//! 3. dispatch latency: visitor join sent -> `incoming_call` received on the
//!    agent's WebSocket, at 1,000 joins/s (target p99 < 5 ms);
//! 4. idle WebSocket memory per connection at 10,000 connections (target
//!    < 20 KiB each), from the server's RSS: the `/room` connection that
//!    carries chat;
//! 5. chat: message sent by a visitor -> delivered on the agent's
//!    WebSocket, and -> acknowledged (on disk) to the sender, at 1,000
//!    messages/s with the journal's durability on (target p99 < 5 ms);
//!
//! and first, the engine alone (no HTTP) driven in-process, with its thread's
//! CPU per command: where a request's cost is, HTTP or engine.
//!
//! `cargo bench --bench server` (add `-- quick` for a shorter run, or
//! `-- engine`, `-- throughput`, `-- dispatch`, `-- memory` or `-- chat` for one part; under
//! `cargo test` it runs as a short smoke test).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};

#[path = "support/procstat.rs"]
mod procstat;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The admin token the bench's servers accept.
const ADMIN: &str = "bench-admin-token-0123456789";

/// A WebSocket request to `url` carrying the admin token.
fn as_admin(url: String) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request().expect("ws url");
    let bearer = format!("Bearer {ADMIN}").parse().expect("header value");
    request.headers_mut().insert("authorization", bearer);
    request
}

struct Server {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(customer_service: &str) -> Server {
        // The bench presents the admin token on every request (the check runs
        // as for any caller) with no rate limit and room for its connections.
        let security = "security:\n  per_credential: {per_sec: 0, burst: 0}\n  connections_per_address: 30000\n  connections_max: 30000\n";
        Server::start_with(security, customer_service)
    }

    fn start_with(security: &str, customer_service: &str) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("bench.yaml");
        std::fs::write(
            &config,
            format!("{security}customer_service:\n{customer_service}\n"),
        )
        .expect("config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        child
            .args(["serve", "--config"])
            .arg(&config)
            .env("SWITCHBOARD_LISTEN", "127.0.0.1:0")
            .env("SWITCHBOARD_ADMIN_TOKEN", ADMIN)
            .env("SWITCHBOARD_MEDIA_BIND", "127.0.0.1:0")
            .env("SWITCHBOARD_DB", dir.path().join("bench.db"))
            .env("RUST_LOG", "error");
        Server::spawn(&mut child, dir)
    }

    fn hello() -> Server {
        let exe = std::env::current_exe().expect("bench exe");
        let mut cmd = Command::new(exe);
        cmd.arg("--hello-server");
        Server::spawn(&mut cmd, tempfile::tempdir().expect("tempdir"))
    }

    fn spawn(cmd: &mut Command, dir: tempfile::TempDir) -> Server {
        let mut child = cmd.stdout(Stdio::piped()).spawn().expect("spawn server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("banner");
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .unwrap_or_default()
            .to_owned();
        Server {
            child,
            addr,
            _dir: dir,
        }
    }

    /// CPU time the server process has used (user + system).
    fn cpu(&self) -> Duration {
        procstat::process_cpu(&self.child.id().to_string())
    }

    fn rss_kib(&self) -> u64 {
        procstat::rss_kib(&self.child.id().to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// User + system time of a `/proc/.../stat` line: after the parenthesised
/// command name, utime and stime are the 12th and 13th fields, in ticks of 10 ms.
/// A keep-alive HTTP/1.1 connection.
struct Http {
    stream: tokio::io::BufReader<TcpStream>,
    host: String,
}

impl Http {
    async fn connect(addr: &str) -> Http {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).ok();
        Http {
            stream: tokio::io::BufReader::new(stream),
            host: addr.to_owned(),
        }
    }

    async fn call(&mut self, method: &str, path: &str, body: &str) -> (u16, String) {
        self.call_as(ADMIN, method, path, body).await
    }

    /// Like `call`, with bearer `token` (a visitor's).
    async fn call_as(
        &mut self,
        token: &str,
        method: &str,
        path: &str,
        body: &str,
    ) -> (u16, String) {
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.stream
            .get_mut()
            .write_all(req.as_bytes())
            .await
            .expect("write");
        let mut line = String::new();
        self.stream.read_line(&mut line).await.expect("status line");
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut len = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.expect("header");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        self.stream.read_exact(&mut body).await.expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}

fn field(body: &str, key: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v[key].as_str().map(str::to_owned))
        .unwrap_or_default()
}

struct Figures {
    count: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    /// CPU the server used meanwhile: steadier than requests/s on a noisy
    /// machine where the client shares the cores.
    server_cpu: Duration,
    /// CPU this (client) process used meanwhile.
    client_cpu: Duration,
}

impl Figures {
    /// Latency samples over `elapsed`, without CPU figures.
    fn of(latencies: Vec<Duration>, elapsed: Duration) -> Figures {
        Figures {
            count: latencies.len(),
            elapsed,
            latencies,
            server_cpu: Duration::ZERO,
            client_cpu: Duration::ZERO,
        }
    }

    fn per_sec(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }

    fn pct(&mut self, p: f64) -> Duration {
        self.latencies.sort_unstable();
        let i = ((self.latencies.len() as f64 * p).ceil() as usize)
            .clamp(1, self.latencies.len().max(1))
            - 1;
        self.latencies.get(i).copied().unwrap_or_default()
    }

    /// Server CPU per operation, microseconds.
    fn server_us(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.count.max(1) as f64
    }

    fn line(&mut self, what: &str, unit: &str) -> String {
        format!(
            "{what:<34} {:>9.0} {unit}/s   p50 {:>7.2} ms   p99 {:>7.2} ms   CPU us/{unit}: server {:>5.1} client {:>5.1}   (n={})",
            self.per_sec(),
            self.pct(0.50).as_secs_f64() * 1e3,
            self.pct(0.99).as_secs_f64() * 1e3,
            self.server_us(),
            self.client_cpu.as_secs_f64() * 1e6 / self.count.max(1) as f64,
            self.count
        )
    }
}

/// Runs `conns` workers against `server` for `run`; each repeatedly does
/// `step(worker, i, http)` and the time of each step is one latency sample.
async fn drive<F, Fut>(server: &Server, conns: usize, run: Duration, step: F) -> Figures
where
    F: Fn(usize, usize, Http) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = Http> + Send,
{
    let cpu = server.cpu();
    let own = own_cpu();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..conns {
        let addr = server.addr.clone();
        tasks.push(tokio::spawn(async move {
            let mut http = Http::connect(&addr).await;
            let mut lat = Vec::new();
            let mut i = 0;
            while start.elapsed() < run {
                let t = Instant::now();
                http = step(w, i, http).await;
                lat.push(t.elapsed());
                i += 1;
            }
            lat
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("worker"));
    }
    Figures {
        count: latencies.len(),
        elapsed: start.elapsed(),
        latencies,
        server_cpu: server.cpu().saturating_sub(cpu),
        client_cpu: own_cpu().saturating_sub(own),
    }
}

const BIG: &str = "  max_queue_size: 2000000\n  max_sessions: 2000000\n  max_agents: 20000\n  ended_sessions_max: 100000";

async fn throughput(run: Duration) {
    let conns: usize = std::env::var("CONNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(32);
    let hello = Server::hello();
    let mut bare = drive(&hello, conns, run, |_, _, mut h| async move {
        h.call("GET", "/", "").await;
        h
    })
    .await;
    drop(hello);

    let server = Server::start(BIG);
    let mut join = drive(&server, conns, run, |w, i, mut h| async move {
        let body = format!(r#"{{"visitor_id":"w{w}_{i}"}}"#);
        let (status, _) = h.call("POST", "/customer-service/queue/join", &body).await;
        assert_eq!(status, 200);
        h
    })
    .await;
    drop(server);

    let agents = 16;
    let server = with_agents("a", agents).await;
    let mut flow = drive(&server, agents, run, |w, i, mut h| async move {
        let (_, j) = h
            .call(
                "POST",
                "/customer-service/queue/join",
                &format!(r#"{{"visitor_id":"f{w}_{i}"}}"#),
            )
            .await;
        let (agent, sid) = (field(&j, "agent_id"), field(&j, "session_id"));
        let (status, _) = h
            .call(
                "POST",
                &format!("/customer-service/agents/{agent}/accept"),
                "",
            )
            .await;
        assert_eq!(status, 200, "accept {agent}");
        h.call("DELETE", &format!("/customer-service/sessions/{sid}"), "")
            .await;
        h.call(
            "POST",
            &format!("/customer-service/sessions/{sid}/rate"),
            r#"{"rating":5}"#,
        )
        .await;
        h
    })
    .await;

    println!("{}", bare.line("bare hyper hello-world", "req"));
    println!("{}", join.line("switchboard POST queue/join", "req"));
    println!(
        "  join / bare = {:.0}%  (durable: one fsync per batch)",
        100.0 * join.per_sec() / bare.per_sec()
    );
    println!("{}", flow.line("whole call flow (4 requests)", "flow"));
}

/// A fresh server with `n` registered agents named `{prefix}000`, `{prefix}001`, ...
async fn with_agents(prefix: &str, n: usize) -> Server {
    let server = Server::start(BIG);
    let mut setup = Http::connect(&server.addr).await;
    for a in 0..n {
        let body = format!(r#"{{"agent_id":"{prefix}{a:03}"}}"#);
        setup
            .call("POST", "/customer-service/agents/register", &body)
            .await;
    }
    server
}

/// Consoles of agents `{prefix}000..`: each answers what it is rung for
/// and hangs up at once, timing `incoming_call` from the visitor's entry
/// in `sent` into `samples`.
async fn answering_consoles(
    server: &Server,
    prefix: &str,
    agents: usize,
    sent: &Arc<Mutex<HashMap<String, Instant>>>,
    samples: &Arc<Mutex<Vec<Duration>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut consoles = Vec::new();
    for a in 0..agents {
        let url = format!(
            "ws://{}/room?type=customer_service&role=agent&agent_id={prefix}{a:03}",
            server.addr
        );
        let (ws, _) = tokio_tungstenite::connect_async(as_admin(url))
            .await
            .expect("ws");
        let (sent, samples) = (sent.clone(), samples.clone());
        consoles.push(tokio::spawn(async move {
            let (mut tx, mut rx) = ws.split();
            while let Some(Ok(msg)) = rx.next().await {
                let Ok(text) = msg.to_text() else { continue };
                let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
                match v["type"].as_str() {
                    Some("incoming_call") => {
                        let at = Instant::now();
                        let visitor = v["visitor_id"].as_str().unwrap_or_default().to_owned();
                        if let Some(t0) = sent.lock().unwrap().remove(&visitor) {
                            samples.lock().unwrap().push(at - t0);
                        }
                        let accept = r#"{"type":"control","data":{"type":"AcceptCall"}}"#;
                        let _ = tx
                            .send(tokio_tungstenite::tungstenite::Message::text(accept))
                            .await;
                    }
                    Some("ack") if v["action"] == "AcceptCall" => {
                        let end = r#"{"type":"control","data":{"type":"EndCall"}}"#;
                        let _ = tx
                            .send(tokio_tungstenite::tungstenite::Message::text(end))
                            .await;
                    }
                    _ => {}
                }
            }
        }));
    }
    consoles
}

/// Waits for the senders, then a moment for the last answers, and takes
/// the latency samples.
async fn settle(
    senders: Vec<tokio::task::JoinHandle<()>>,
    samples: &Mutex<Vec<Duration>>,
    start: Instant,
) -> Figures {
    for s in senders {
        s.await.expect("sender");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    Figures::of(
        std::mem::take(&mut *samples.lock().unwrap()),
        start.elapsed(),
    )
}

async fn dispatch_latency(run: Duration) {
    let agents = 200;
    let server = with_agents("d", agents).await;
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let samples: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let consoles = answering_consoles(&server, "d", agents, &sent, &samples).await;
    // 8 senders at 125 joins/s each: 1,000 joins/s.
    let start = Instant::now();
    let mut senders = Vec::new();
    for s in 0..8 {
        let (addr, sent) = (server.addr.clone(), sent.clone());
        senders.push(tokio::spawn(async move {
            let mut http = Http::connect(&addr).await;
            let mut tick = tokio::time::interval(Duration::from_millis(8));
            let mut i = 0;
            while start.elapsed() < run {
                tick.tick().await;
                let visitor = format!("s{s}_{i}");
                sent.lock().unwrap().insert(visitor.clone(), Instant::now());
                http.call(
                    "POST",
                    "/customer-service/queue/join",
                    &format!(r#"{{"visitor_id":"{visitor}"}}"#),
                )
                .await;
                i += 1;
            }
        }));
    }
    let mut f = settle(senders, &samples, start).await;
    let max = f.latencies.iter().max().copied().unwrap_or_default();
    println!(
        "dispatch join -> incoming_call       {:>6.0} joins/s   p50 {:>6.2} ms   p99 {:>6.2} ms   max {:>6.2} ms   (n={})",
        f.per_sec(),
        f.pct(0.50).as_secs_f64() * 1e3,
        f.pct(0.99).as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        f.count
    );
    for c in consoles {
        c.abort();
    }
}

/// The built-in rule bot in front of `default`: a visitor who writes
/// `转人工` is handed over. Timed from sending that message to the agent's
/// `incoming_call` (the message kept, the bot's decision, the queue, the
/// ring), one visitor at a time from each of 8 senders.
async fn bot_handoff(run: Duration) {
    let agents = 50;
    let server = with_agents("b", agents).await;
    let bot = "bot:\n  kind: rules\n  dialog:\n    start: hi\n    nodes:\n      hi:\n        reply: 您好\n";
    let (status, body) = Http::connect(&server.addr)
        .await
        .call("PUT", "/customer-service/workgroups/default/bot", bot)
        .await;
    assert_eq!(status, 200, "{body}");
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let samples: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let consoles = answering_consoles(&server, "b", agents, &sent, &samples).await;
    let start = Instant::now();
    let mut senders = Vec::new();
    for s in 0..8 {
        let (addr, sent) = (server.addr.clone(), sent.clone());
        senders.push(tokio::spawn(async move {
            let mut http = Http::connect(&addr).await;
            let mut i = 0;
            while start.elapsed() < run {
                let visitor = format!("s{s}_{i}");
                let join = format!(r#"{{"visitor_id":"{visitor}","channel":"chat"}}"#);
                let (_, joined) = http
                    .call("POST", "/customer-service/queue/join", &join)
                    .await;
                let (sid, token) = (field(&joined, "session_id"), field(&joined, "token"));
                sent.lock().unwrap().insert(visitor.clone(), Instant::now());
                let path = format!("/customer-service/sessions/{sid}/messages");
                http.call_as(&token, "POST", &path, r#"{"text":"转人工"}"#)
                    .await;
                tokio::time::sleep(Duration::from_millis(10)).await;
                i += 1;
            }
        }));
    }
    let mut f = settle(senders, &samples, start).await;
    println!(
        "bot 转人工 -> incoming_call          {:>6.0} handoffs/s   p50 {:>6.2} ms   p99 {:>6.2} ms   (n={})",
        f.per_sec(),
        f.pct(0.50).as_secs_f64() * 1e3,
        f.pct(0.99).as_secs_f64() * 1e3,
        f.count
    );
    for c in consoles {
        c.abort();
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// A `/room` connection as the admin for `query`.
async fn room(addr: &str, query: &str) -> Ws {
    let url = format!("ws://{addr}/room?type=customer_service&{query}");
    let (ws, _) = tokio_tungstenite::connect_async(as_admin(url))
        .await
        .expect("ws");
    ws
}

async fn chat_latency(run: Duration) {
    use tokio_tungstenite::tungstenite::Message;
    let pairs = 50;
    let server = with_agents("c", pairs).await;
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let delivered: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let acked: Arc<Mutex<Vec<Duration>>> = Arc::default();
    // Agents answer what they are offered and time what visitors say.
    let mut tasks = Vec::new();
    for a in 0..pairs {
        let ws = room(&server.addr, &format!("role=agent&agent_id=c{a:03}")).await;
        let (sent, delivered) = (sent.clone(), delivered.clone());
        tasks.push(tokio::spawn(async move {
            let (mut tx, mut rx) = ws.split();
            while let Some(Ok(msg)) = rx.next().await {
                let at = Instant::now();
                let Ok(text) = msg.to_text() else { continue };
                let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
                match v["type"].as_str() {
                    Some("incoming_call") => {
                        let accept = r#"{"type":"control","data":{"type":"AcceptCall"}}"#;
                        let _ = tx.send(Message::text(accept)).await;
                    }
                    Some("chat_message") if v["message"]["from"]["role"] == "customer" => {
                        let id = v["message"]["client_id"].as_str().unwrap_or_default();
                        if let Some(t0) = sent.lock().unwrap().get(id) {
                            delivered.lock().unwrap().push(at - *t0);
                        }
                    }
                    _ => {}
                }
            }
        }));
    }
    let mut setup = Http::connect(&server.addr).await;
    let mut sessions = Vec::new();
    for v in 0..pairs {
        let body = format!(r#"{{"visitor_id":"cv{v}","channel":"chat"}}"#);
        let (_, reply) = setup
            .call("POST", "/customer-service/queue/join", &body)
            .await;
        sessions.push(field(&reply, "session_id"));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Each visitor says 20 messages a second: 1,000 messages/s in all.
    let start = Instant::now();
    let mut senders = Vec::new();
    for (v, sid) in sessions.into_iter().enumerate() {
        let ws = room(&server.addr, &format!("role=customer&visitor_id=cv{v}")).await;
        let (sent, acked) = (sent.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            let (mut tx, mut rx) = ws.split();
            let pending: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
            let waiting = pending.clone();
            let reader = tokio::spawn(async move {
                while let Some(Ok(msg)) = rx.next().await {
                    let at = Instant::now();
                    let Ok(text) = msg.to_text() else { continue };
                    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
                    if v["type"] == "ack" {
                        let id = v["result"]["message"]["client_id"].as_str().unwrap_or_default();
                        if let Some(t0) = waiting.lock().unwrap().remove(id) {
                            acked.lock().unwrap().push(at - t0);
                        }
                    }
                }
            });
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            let mut i = 0;
            while start.elapsed() < run {
                tick.tick().await;
                let id = format!("cv{v}-{i}");
                let frame = format!(
                    r#"{{"type":"chat_send","data":{{"session_id":"{sid}","text":"message {i}","client_id":"{id}"}}}}"#
                );
                let now = Instant::now();
                sent.lock().unwrap().insert(id.clone(), now);
                pending.lock().unwrap().insert(id, now);
                if tx.send(Message::text(frame)).await.is_err() {
                    break;
                }
                i += 1;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            reader.abort();
        }));
    }
    for s in senders {
        s.await.expect("sender");
    }
    // The senders stopped at `run`; what followed was draining.
    let elapsed = run;
    for (what, samples) in [("delivered", &delivered), ("acknowledged", &acked)] {
        let mut f = Figures::of(std::mem::take(&mut *samples.lock().unwrap()), elapsed);
        println!(
            "chat send -> {what:<12}         {:>6.0} msgs/s    p50 {:>6.2} ms   p99 {:>6.2} ms   (n={})",
            f.per_sec(),
            f.pct(0.50).as_secs_f64() * 1e3,
            f.pct(0.99).as_secs_f64() * 1e3,
            f.count
        );
    }
    for t in tasks {
        t.abort();
    }
}

async fn websocket_memory(conns: usize) {
    let server = Server::start(BIG);
    let mut setup = Http::connect(&server.addr).await;
    setup.call("GET", "/healthz", "").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.rss_kib();
    let mut sockets = Vec::with_capacity(conns);
    for batch in 0..conns.div_ceil(500) {
        let mut pending = Vec::new();
        for i in batch * 500..((batch + 1) * 500).min(conns) {
            let url = format!(
                "ws://{}/room?type=customer_service&role=customer&visitor_id=m{i}",
                server.addr
            );
            pending.push(tokio::spawn(async move {
                tokio_tungstenite::connect_async(as_admin(url)).await
            }));
        }
        for p in pending {
            match p.await.expect("task") {
                Ok((ws, _)) => sockets.push(ws),
                Err(e) => {
                    println!(
                        "websocket memory: stopped at {} connections: {e}",
                        sockets.len()
                    );
                    return;
                }
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, health) = setup.call("GET", "/healthz", "").await;
    let after = server.rss_kib();
    let per = (after.saturating_sub(before)) as f64 * 1024.0 / sockets.len() as f64;
    println!(
        "idle websockets: {} open (server counts {}), server RSS {} -> {} KiB: {:.1} KiB per connection",
        sockets.len(),
        serde_json::from_str::<serde_json::Value>(&health).map(|v| v["connections"].clone()).unwrap_or_default(),
        before,
        after,
        per / 1024.0
    );
}

/// CPU time used so far by this process.
fn own_cpu() -> Duration {
    procstat::process_cpu("self")
}

/// The engine without HTTP: `conns` tasks in this process each send one
/// `JoinQueue` at a time straight to [`Engine`], durable journal on. Separates
/// what the engine costs (core, journal, hand-off) from what HTTP costs.
async fn engine_alone(run: Duration) {
    use switchboard_app::{Answer, AnswerExt, Engine, EngineSettings};
    use switchboard_core::{Command, Config};
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        max_queue_size: 2_000_000,
        max_sessions: 2_000_000,
        ..Config::default()
    };
    let running = Engine::start(
        &dir.path().join("engine.db"),
        &config,
        EngineSettings::default(),
    )
    .expect("engine");
    let engine = running.engine;
    let conns = 32;
    // Linux keeps 15 bytes of a thread's name: "switchboard-engine" reads so.
    let cpu = procstat::thread_cpu("switchboard-eng");
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..conns {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while start.elapsed() < run {
                let command = Command::JoinQueue {
                    visitor_id: format!("e{w}_{n}").into(),
                    visitor_name: None,
                    preferred_skill: None,
                    priority: 0,
                    channel: Default::default(),
                    question: None,
                };
                let answer = engine
                    .apply(
                        command,
                        Box::new(|_, r| match r {
                            Ok(_) => Answer::ok(()),
                            Err(e) => Answer::refused(&e),
                        }),
                    )
                    .await;
                assert!(answer.is_ok());
                n += 1;
            }
            n
        }));
    }
    let mut count = 0;
    for t in tasks {
        count += t.await.expect("task");
    }
    let elapsed = start.elapsed();
    let cpu = procstat::thread_cpu("switchboard-eng").saturating_sub(cpu);
    let stats = engine
        .read(Box::new(|_, e| Answer::ok([e.commits, e.records])))
        .await;
    let [commits, records] = serde_json::from_str::<[f64; 2]>(stats.body()).unwrap_or_default();
    println!(
        "engine alone (no HTTP), join        {:>9.0} cmd/s   engine thread CPU {:>5.1} us/cmd   {:.1} records/commit",
        count as f64 / elapsed.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / count.max(1) as f64,
        records / commits.max(1.0)
    );
    engine.shutdown();
}

async fn hello_server() {
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    println!(
        "hello listening on http://{}",
        listener.local_addr().expect("addr")
    );
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        stream.set_nodelay(true).ok();
        tokio::spawn(async move {
            let service = service_fn(|_req| async {
                Ok::<_, std::convert::Infallible>(hyper::Response::new(http_body_util::Full::new(
                    hyper::body::Bytes::from_static(b"hello"),
                )))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A webhook receiver on loopback: answers 200 to every POST (keeping the
/// connection open) and notes when
/// each `session.created` arrived, by visitor id.
async fn receiver(arrived: Arc<Mutex<HashMap<String, Instant>>>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind receiver");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let arrived = arrived.clone();
            tokio::spawn(async move {
                // Keep-alive, as a production receiver would be.
                let mut conn = tokio::io::BufReader::new(stream);
                let mut line = String::new();
                loop {
                    let mut len = 0usize;
                    loop {
                        line.clear();
                        if conn.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if conn.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let now = Instant::now();
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    if let Some(visitor) = v["data"]["visitor_id"].as_str() {
                        arrived
                            .lock()
                            .expect("lock")
                            .insert(visitor.to_owned(), now);
                    }
                    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                    if conn.get_mut().write_all(ok).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// Webhooks: `queue/join` server CPU with and without one subscription to
/// `session.created` (alternating, side by side), and join -> event
/// delivered to a local receiver at 500 events/s.
async fn webhooks(run: Duration, events: usize) {
    let arrived: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let port = receiver(arrived.clone()).await;
    let subscribe =
        format!(r#"{{"url":"http://127.0.0.1:{port}/hook","events":["session.created"]}}"#);
    // At saturation the delivery worker's work grows with its own speed (it
    // delivers whatever it can), so the comparison runs at a paced 500
    // joins/s, which it keeps up with: server CPU per join, events delivered.
    let mut cpu = [Vec::new(), Vec::new()];
    for round in 0..3 {
        for (i, with) in [false, true].into_iter().enumerate() {
            let server = Server::start(BIG);
            let mut h = Http::connect(&server.addr).await;
            if with {
                let (status, body) = h
                    .call("POST", "/customer-service/webhooks", &subscribe)
                    .await;
                assert_eq!(status, 201, "{body}");
            }
            let joins = (run.as_millis() / 2) as usize;
            let before = server.cpu();
            let start = Instant::now();
            for n in 0..joins {
                tokio::time::sleep_until((start + Duration::from_micros(2_000 * n as u64)).into())
                    .await;
                let body = format!(r#"{{"visitor_id":"h{round}_{n}"}}"#);
                let (status, _) = h.call("POST", "/customer-service/queue/join", &body).await;
                assert_eq!(status, 200);
            }
            // Let the last deliveries land.
            tokio::time::sleep(Duration::from_millis(500)).await;
            cpu[i].push((server.cpu() - before).as_secs_f64() * 1e6 / joins as f64);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (without, with) = (median(&mut cpu[0]), median(&mut cpu[1]));
    println!(
        "queue/join at 500/s, server CPU: {without:.1} us/join without webhooks, {with:.1} us/join with one \
         subscription to session.created, its event delivered (median of 3 alternating runs)"
    );

    // Latency at 500 events/s, paced, over one keep-alive connection, to a
    // receiver of its own.
    let arrived: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let port = receiver(arrived.clone()).await;
    let subscribe =
        format!(r#"{{"url":"http://127.0.0.1:{port}/hook","events":["session.created"]}}"#);
    let server = Server::start(BIG);
    let mut h = Http::connect(&server.addr).await;
    let (status, body) = h
        .call("POST", "/customer-service/webhooks", &subscribe)
        .await;
    assert_eq!(status, 201, "{body}");
    let mut sent = HashMap::with_capacity(events);
    let start = Instant::now();
    for i in 0..events {
        let due = start + Duration::from_micros(2_000 * i as u64);
        tokio::time::sleep_until(due.into()).await;
        let visitor = format!("lat{i}");
        sent.insert(visitor.clone(), Instant::now());
        let (status, _) = h
            .call(
                "POST",
                "/customer-service/queue/join",
                &format!(r#"{{"visitor_id":"{visitor}"}}"#),
            )
            .await;
        assert_eq!(status, 200);
    }
    let until = Instant::now() + Duration::from_secs(10);
    while arrived.lock().expect("lock").len() < events && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let arrived = arrived.lock().expect("lock").clone();
    let mut lat: Vec<Duration> = sent
        .iter()
        .filter_map(|(v, t)| arrived.get(v).map(|a| a.saturating_duration_since(*t)))
        .collect();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len().max(1) - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or_default()
    };
    println!(
        "webhook join -> session.created at the receiver, {} events at {:.0}/s: p50 {:.2} ms, p99 {:.2} ms, delivered {}/{}",
        events,
        events as f64 / start.elapsed().as_secs_f64(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        lat.len(),
        events
    );
}

/// Sign-in latency at the default argon2id cost (19 MiB, 2 passes), and a
/// request with a sign-in token (digest lookup) next to the same request
/// with the configured admin token (a constant-time compare).
async fn sign_in_cost(logins: usize) {
    let server = Server::start("  max_queue_size: 10000");
    let mut http = Http::connect(&server.addr).await;
    let (status, body) = http
        .call(
            "POST",
            "/customer-service/accounts",
            r#"{"username":"bench","password":"bench-password","role":"supervisor"}"#,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let mut times = Vec::with_capacity(logins);
    let mut token = String::new();
    for _ in 0..logins {
        let started = Instant::now();
        let (status, body) = http
            .call(
                "POST",
                "/customer-service/auth/login",
                r#"{"username":"bench","password":"bench-password"}"#,
            )
            .await;
        times.push(started.elapsed());
        assert_eq!(status, 200, "{body}");
        token = field(&body, "token");
    }
    times.sort();
    println!(
        "sign-in (argon2id m=19456 KiB, t=2): median {:.1} ms, max {:.1} ms over {logins}",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
    // Alternating rounds of /healthz under each credential, CPU per request.
    let rounds = 5;
    let per_round = 2_000;
    let mut cpu = [Duration::ZERO; 2];
    for _ in 0..rounds {
        for (i, bearer) in [ADMIN, token.as_str()].into_iter().enumerate() {
            let stream = TcpStream::connect(&server.addr).await.expect("connect");
            stream.set_nodelay(true).ok();
            let mut conn = tokio::io::BufReader::new(stream);
            let before = server.cpu();
            for _ in 0..per_round {
                let req = format!(
                    "GET /customer-service/queue/status HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {bearer}\r\n\r\n"
                );
                conn.get_mut()
                    .write_all(req.as_bytes())
                    .await
                    .expect("write");
                let mut len = 0usize;
                let mut line = String::new();
                loop {
                    line.clear();
                    conn.read_line(&mut line).await.expect("header");
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                conn.read_exact(&mut body).await.expect("body");
            }
            cpu[i] += server.cpu() - before;
        }
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6 / (rounds * per_round) as f64;
    println!(
        "queue/status server CPU per request: admin token {:.1} us, sign-in token {:.1} us ({} alternating rounds of {per_round}; /proc ticks are 10 ms)",
        us(cpu[0]),
        us(cpu[1]),
        rounds
    );
}

/// Idle clients against the connection limits: `n` connections that send
/// nothing, from one address, with a cap of 512 per address and a 5 s
/// header timeout.
async fn idle_connections(n: usize) {
    let security = "security:\n  header_read_timeout_secs: 5\n  idle_timeout_secs: 60\n  connections_per_address: 512\n";
    let server = Server::start_with(security, "  max_queue_size: 10");
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        match TcpStream::connect(&server.addr).await {
            Ok(c) => conns.push(c),
            Err(_) => break,
        }
    }
    async fn open(conns: &mut [TcpStream]) -> usize {
        let mut count = 0;
        for c in conns.iter_mut() {
            let mut buf = [0u8; 64];
            match tokio::time::timeout(Duration::from_millis(2), c.read(&mut buf)).await {
                Err(_) => count += 1, // nothing to read: still open
                Ok(Ok(n)) if n > 0 => count += 1,
                Ok(_) => {}
            }
        }
        count
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = open(&mut conns).await;
    // Another client, from another loopback address, is still served.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.2:0".parse().expect("addr"))
        .expect("bind");
    let stream = socket
        .connect(server.addr.parse().expect("server addr"))
        .await
        .expect("connect from 127.0.0.2");
    let mut probe = Http {
        stream: tokio::io::BufReader::new(stream),
        host: server.addr.clone(),
    };
    let (status, _) = probe.call("GET", "/healthz", "").await;
    drop(probe);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after = open(&mut conns).await;
    println!(
        "idle connections: {} opened, {held} held after 0.5 s (cap 512 per address; the rest shed), \
         /healthz meanwhile {status}, {after} still open after the 5 s header timeout",
        conns.len()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if args.iter().any(|a| a == "--hello-server") {
        runtime.block_on(hello_server());
        return;
    }
    // Without `--bench` (that is, under `cargo test`), a short smoke run.
    let smoke = !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "quick");
    let run = if smoke {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(4)
    };
    // `-- throughput`, `-- dispatch` or `-- memory` runs only that part
    // (for profiling one phase); none named runs all three.
    let parts = [
        "engine",
        "throughput",
        "dispatch",
        "memory",
        "chat",
        "auth",
        "webhooks",
        "bot",
    ];
    let named: Vec<&str> = parts
        .into_iter()
        .filter(|p| args.iter().any(|a| a == p))
        .collect();
    let wants = |part: &str| named.is_empty() || named.contains(&part);
    runtime.block_on(async {
        if wants("engine") {
            engine_alone(run).await;
        }
        if wants("throughput") {
            throughput(run).await;
        }
        if wants("dispatch") {
            dispatch_latency(run).await;
        }
        if wants("memory") {
            websocket_memory(if smoke { 500 } else { 10_000 }).await;
        }
        if wants("chat") {
            chat_latency(run).await;
        }
        if wants("bot") {
            bot_handoff(run).await;
        }
        if wants("webhooks") {
            webhooks(run, if smoke { 50 } else { 2_000 }).await;
        }
        if wants("auth") {
            sign_in_cost(if smoke { 3 } else { 21 }).await;
            idle_connections(if smoke { 300 } else { 3_000 }).await;
        }
    });
}
