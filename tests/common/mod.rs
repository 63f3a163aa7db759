//! Drives the real `switchboard` binary: starts it on a free port with a
//! temporary journal, talks HTTP over a plain TCP socket and WebSocket with
//! tungstenite, and kills it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The admin token every test server accepts (`SWITCHBOARD_ADMIN_TOKEN`).
pub const ADMIN: &str = "test-admin-token-0123456789";

pub struct Server {
    child: Child,
    pub addr: String,
    pub db: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// A server on a fresh journal, with `yaml` as its config file.
    pub fn start(yaml: &str) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("switchboard.db");
        let mut s = Server::start_on(&db, yaml);
        s._dir = Some(dir);
        s
    }

    /// A server on the journal at `db` (kept by the caller).
    pub fn start_on(db: &Path, yaml: &str) -> Server {
        Server::start_with(db, yaml, &[])
    }

    /// A server on the journal at `db` with more environment (`env` wins).
    pub fn start_with(db: &Path, yaml: &str, env: &[(&str, &str)]) -> Server {
        let config = db.with_extension("yaml");
        std::fs::write(&config, yaml).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["serve", "--config"])
            .arg(&config)
            .env("SWITCHBOARD_LISTEN", "127.0.0.1:0")
            .env("SWITCHBOARD_ADMIN_TOKEN", ADMIN)
            // The media plane on a free loopback port: tests run servers side by side.
            .env("SWITCHBOARD_MEDIA_BIND", "127.0.0.1:0")
            .env("SWITCHBOARD_ADMIN_PASSWORD", "admin-password-1")
            .env("SWITCHBOARD_DB", db)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn switchboard");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read banner");
        let addr = line
            .trim()
            .rsplit("://")
            .next()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        Server {
            child,
            addr,
            db: db.to_owned(),
            _dir: None,
        }
    }

    /// Sends one request as the admin; returns the status and the JSON body (Null if none).
    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        self.call_as(Some(ADMIN), method, path, body)
    }

    /// Sends one request with bearer `token` (none: anonymous).
    pub fn call_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> (u16, Value) {
        let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n"));
        let (status, _, text) = self.exchange(
            method,
            path,
            body.map(str::as_bytes),
            auth.as_deref().unwrap_or(""),
        );
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Like `call`, but None when the server does not answer (killed).
    pub fn try_call(addr: &str, method: &str, path: &str, body: &str) -> Option<(u16, Value)> {
        let mut s = TcpStream::connect(addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(head.as_bytes()).ok()?;
        let mut response = Vec::new();
        s.read_to_end(&mut response).ok()?;
        let text = String::from_utf8_lossy(&response);
        let status = text.split_whitespace().nth(1)?.parse().ok()?;
        let body = text.split_once("\r\n\r\n")?.1;
        Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
    }

    pub fn get(&self, path: &str) -> Value {
        let (status, body) = self.call("GET", path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    pub fn post(&self, path: &str, body: &str) -> Value {
        let (status, v) = self.call("POST", path, Some(body));
        assert!(
            status == 200 || status == 201,
            "POST {path} {body}: {status} {v}"
        );
        v
    }

    /// Creates an account as the admin (password `password-{user}`) and
    /// signs it in; returns its token.
    pub fn account(&self, user: &str, role: &str, agent: Option<&str>) -> String {
        let agent = agent
            .map(|a| format!(r#","agent_id":"{a}""#))
            .unwrap_or_default();
        let body = format!(
            r#"{{"username":"{user}","password":"password-{user}","role":"{role}"{agent}}}"#
        );
        self.post("/customer-service/accounts", &body);
        self.login(user).1["token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// Signs `user` in with the password `account` gave it.
    pub fn login(&self, user: &str) -> (u16, Value) {
        let body = format!(r#"{{"username":"{user}","password":"password-{user}"}}"#);
        self.call_as(None, "POST", "/customer-service/auth/login", Some(&body))
    }

    /// Registers agent `id` (Ready).
    pub fn register(&self, id: &str) {
        let body = format!(r#"{{"agent_id":"{id}"}}"#);
        self.post("/customer-service/agents/register", &body);
    }

    /// Queues visitor `id`; returns the new session's id.
    pub fn join(&self, id: &str) -> String {
        let body = format!(r#"{{"visitor_id":"{id}"}}"#);
        let reply = self.post("/customer-service/queue/join", &body);
        reply["session_id"].as_str().expect("session_id").to_owned()
    }

    /// Raw request as the admin; the body text as is.
    pub fn raw(&self, method: &str, path: &str, body: Option<&[u8]>) -> (u16, String) {
        let auth = format!("Authorization: Bearer {ADMIN}\r\n");
        let (status, _, body) = self.exchange(method, path, body, &auth);
        (status, body)
    }

    /// One request with a body of content type `kind`.
    pub fn exchange_typed(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        kind: &str,
        headers: &str,
    ) -> (u16, String, String) {
        self.send(
            method,
            path,
            body,
            &format!("{headers}Content-Type: {kind}\r\n"),
        )
    }

    /// One request with `headers` (each line ending in CRLF) added; the
    /// status, the response head and the body text.
    pub fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &str,
    ) -> (u16, String, String) {
        let headers = format!("{headers}Content-Type: application/json\r\n");
        self.send(method, path, body.unwrap_or_default(), &headers)
    }

    fn send(&self, method: &str, path: &str, body: &[u8], headers: &str) -> (u16, String, String) {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        s.write_all(head.as_bytes()).expect("write head");
        // The server may answer (413) before reading a large body.
        let _ = s.write_all(body);
        let mut response = Vec::new();
        let _ = s.read_to_end(&mut response);
        let text = String::from_utf8_lossy(&response);
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no status in {text:?}"));
        let (head, body) = text
            .split_once("\r\n\r\n")
            .map(|(h, b)| (h.to_owned(), b.to_owned()))
            .unwrap_or_default();
        (status, head, body)
    }

    /// Connects a WebSocket as the admin with `query` (after `/room?type=customer_service&`).
    pub fn ws(&self, query: &str) -> Ws {
        self.try_ws(Some(ADMIN), query).expect("ws connect")
    }

    /// Connects a WebSocket with bearer `token`; the HTTP status if refused.
    pub fn try_ws(&self, token: Option<&str>, query: &str) -> Result<Ws, u16> {
        use tungstenite::client::IntoClientRequest;
        let url = format!("ws://{}/room?type=customer_service&{query}", self.addr);
        let mut request = url.into_client_request().expect("ws url");
        if let Some(t) = token {
            let value = format!("Bearer {t}").parse().expect("header");
            request.headers_mut().insert("authorization", value);
        }
        let socket = match tungstenite::connect(request) {
            Ok((socket, _)) => socket,
            Err(tungstenite::Error::Http(r)) => return Err(r.status().as_u16()),
            Err(e) => panic!("ws connect: {e}"),
        };
        if let tungstenite::stream::MaybeTlsStream::Plain(s) = socket.get_ref() {
            s.set_read_timeout(Some(Duration::from_millis(10))).ok();
            s.set_nodelay(true).ok();
        }
        Ok(Ws {
            socket,
            seen: Vec::new(),
        })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().expect("wait")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Ws {
    pub socket: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>,
    /// Frames read but not yet asked for.
    pub seen: Vec<Value>,
}

impl Ws {
    pub fn send(&mut self, frame: &str) {
        self.socket
            .send(tungstenite::Message::text(frame))
            .expect("ws send");
    }

    /// Reads frames for up to `wait`; returns whether the socket is still open.
    fn pump(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            match self.socket.read() {
                Ok(tungstenite::Message::Text(t)) => self
                    .seen
                    .push(serde_json::from_str(t.as_str()).expect("JSON frame")),
                Ok(tungstenite::Message::Close(_)) => return false,
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// The first frame of `kind` (by its "type"), waiting up to 5 s.
    pub fn expect(&mut self, kind: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(i) = self.seen.iter().position(|f| f["type"] == kind) {
                return self.seen.remove(i);
            }
            assert!(
                Instant::now() < deadline,
                "no {kind} frame; saw {:?}",
                self.seen
            );
            if !self.pump(Duration::from_millis(100))
                && !self.seen.iter().any(|f| f["type"] == kind)
            {
                panic!("socket closed before a {kind} frame; saw {:?}", self.seen);
            }
        }
    }

    /// The first frame of `kind`, if one arrives within `wait` (none if the
    /// socket closes first).
    pub fn wait_for(&mut self, kind: &str, wait: Duration) -> Option<Value> {
        let deadline = Instant::now() + wait;
        loop {
            let open = self.pump(Duration::from_millis(10));
            if let Some(i) = self.seen.iter().position(|f| f["type"] == kind) {
                return Some(self.seen.remove(i));
            }
            if !open || Instant::now() >= deadline {
                return None;
            }
        }
    }

    /// Whether a `kind` frame arrives within `wait`.
    pub fn gets_within(&mut self, kind: &str, wait: Duration) -> bool {
        self.pump(wait);
        self.seen.iter().any(|f| f["type"] == kind)
    }

    /// Whether the server closed the socket within `wait`.
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        !self.pump(wait)
    }
}

/// Security settings for tests: cheap password hashing, no rate limits.
pub const TEST_SECURITY: &str = "security:\n  argon2: {memory_kib: 256, iterations: 1, parallelism: 1}\n  per_credential: {per_sec: 0, burst: 0}\n  per_address: {per_sec: 0, burst: 0}\n  public_join: {per_sec: 0, burst: 0}\n";

/// A config file with the seed's keys; tests shorten timeouts through it.
pub fn yaml(customer_service: &str) -> String {
    format!("ws_grace_secs: 1\n{TEST_SECURITY}customer_service:\n{customer_service}\n")
}

// ---- a webhook receiver ----

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Got {
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Got {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// How the receiver answers its n-th request.
pub type Script = Arc<dyn Fn(usize) -> Option<u16> + Send + Sync>;

/// A real HTTP receiver on a loopback port; `script(n)` is the status of the
/// n-th request (None: never answer).
pub struct Receiver {
    pub port: u16,
    pub got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    pub fn start(script: Script) -> Receiver {
        Receiver::on(TcpListener::bind("127.0.0.1:0").unwrap(), script)
    }

    pub fn on(listener: TcpListener, script: Script) -> Receiver {
        let port = listener.local_addr().unwrap().port();
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let sink = got.clone();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { continue };
                let sink = sink.clone();
                let status = script(n);
                std::thread::spawn(move || serve(stream, status, &sink));
            }
        });
        Receiver { port, got }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Waits until `done` holds of what arrived (up to `wait`).
    pub fn wait(&self, wait: Duration, done: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        let until = Instant::now() + wait;
        loop {
            let got = self.got.lock().unwrap().clone();
            if done(&got) || Instant::now() > until {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn serve(stream: TcpStream, status: Option<u16>, sink: &Mutex<Vec<Got>>) {
    let mut reader = BufReader::new(stream);
    let mut headers = HashMap::new();
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(':') {
            headers.insert(k.to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    sink.lock().unwrap().push(Got {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    match status {
        Some(code) => {
            let reply =
                format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = reader.get_mut().write_all(reply.as_bytes());
        }
        None => std::thread::sleep(Duration::from_secs(60)),
    }
}

/// A receiver that takes everything.
pub fn ok_always() -> Script {
    Arc::new(|_| Some(200))
}
