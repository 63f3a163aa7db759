//! The replicated control plane's figures: a real three-member etcd and
//! three `switchboard` nodes (the release binary under `cargo bench`),
//! printing
//!
//! 1. `queue/join` throughput and p50/p99 through the leader and through a
//!    follower (forwarded), against one node alone on SQLite, in the same run
//!    with the same clients;
//! 2. failover: the leader SIGKILLed under joins sent to every node, the
//!    time from the kill to the next acknowledged join, p50/p99 over the kills;
//! 3. etcd's database size after the run, and each node's CPU and memory.
//!
//! `cargo bench --bench cluster` (`-- quick` for a shorter run, `-- kills=N`
//! for N kills, 20 by default); under `cargo test` a smoke run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard_cluster::testing::{free_port, EtcdCluster};

#[path = "support/procstat.rs"]
#[allow(dead_code, reason = "per-thread CPU is the server bench's")]
mod procstat;

const ADMIN: &str = "bench-admin-token-0123456789";
const NODES: usize = 3;

/// A running `switchboard` process.
struct Node {
    child: Child,
    addr: String,
}

impl Node {
    /// Starts one on `db` with `env` (a cluster's, or none: alone).
    fn start(db: &Path, port: u16, env: &[(&str, String)]) -> Node {
        let config = db.with_extension("yaml");
        let yaml = "security:\n  per_credential: {per_sec: 0, burst: 0}\n  per_address: {per_sec: 0, burst: 0}\n  public_join: {per_sec: 0, burst: 0}\ncustomer_service:\n  max_queue_size: 1000000\n  max_sessions: 1000000\n";
        std::fs::write(&config, yaml).expect("config");
        let addr = format!("127.0.0.1:{port}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["serve", "--config"])
            .arg(&config)
            .env("SWITCHBOARD_LISTEN", &addr)
            .env("SWITCHBOARD_DB", db)
            .env("SWITCHBOARD_ADMIN_TOKEN", ADMIN)
            .env("SWITCHBOARD_ADMIN_PASSWORD", "bench-password-1")
            .env("SWITCHBOARD_MEDIA_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "error")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn switchboard");
        let mut banner = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut banner)
            .expect("banner");
        assert!(banner.contains("listening"), "no banner: {banner:?}");
        Node { child, addr }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A keep-alive HTTP/1.1 connection that sends one request at a time.
struct Client {
    reader: BufReader<TcpStream>,
    addr: String,
}

impl Client {
    fn connect(addr: &str) -> Option<Client> {
        let s = TcpStream::connect(addr).ok()?;
        s.set_nodelay(true).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        Some(Client {
            reader: BufReader::new(s),
            addr: addr.to_owned(),
        })
    }

    /// The status, or None if the connection failed.
    fn request(&mut self, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        self.reader.get_mut().write_all(head.as_bytes()).ok()?;
        let mut line = String::new();
        self.reader.read_line(&mut line).ok()?;
        let status = line.split_whitespace().nth(1)?.parse().ok()?;
        let mut length = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line).ok()?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().ok()?;
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).ok()?;
        Some((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// Acknowledged joins per second, p50 and p99.
type Figures = (f64, Duration, Duration);

/// Joins from `clients` connections to `addrs` (round robin) for `run`.
fn joins(addrs: &[String], clients: usize, run: Duration) -> Figures {
    static VISITOR: AtomicU64 = AtomicU64::new(0);
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let until = Instant::now() + run;
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let addr = addrs[c % addrs.len()].clone();
            let latencies = latencies.clone();
            std::thread::spawn(move || {
                let mut client = Client::connect(&addr).expect("connect");
                let mut mine = Vec::new();
                while Instant::now() < until {
                    let v = VISITOR.fetch_add(1, Ordering::Relaxed);
                    let body = format!(r#"{{"visitor_id":"b{v}"}}"#);
                    let sent = Instant::now();
                    match client.request("POST", "/customer-service/queue/join", &body) {
                        Some((200, _)) => mine.push(sent.elapsed()),
                        Some(_) => {}
                        None => break,
                    }
                }
                latencies.lock().expect("lock").extend(mine);
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client");
    }
    let mut l = latencies.lock().expect("lock").clone();
    l.sort();
    let at = |q: f64| l.get(((l.len() as f64 * q) as usize).min(l.len().saturating_sub(1)));
    (
        l.len() as f64 / run.as_secs_f64(),
        at(0.5).copied().unwrap_or_default(),
        at(0.99).copied().unwrap_or_default(),
    )
}

/// A node's `/healthz`.
fn health(addr: &str) -> Option<serde_json::Value> {
    let (status, body) = Client::connect(addr)?.request("GET", "/healthz", "")?;
    (status == 200).then(|| serde_json::from_str(&body).ok())?
}

struct Cluster {
    dir: tempfile::TempDir,
    urls: String,
    ports: Vec<u16>,
    nodes: Vec<Option<Node>>,
}

impl Cluster {
    fn boot(&mut self, i: usize) {
        let env = [
            ("SWITCHBOARD_ETCD", self.urls.clone()),
            ("SWITCHBOARD_NODE_ID", format!("n{i}")),
            (
                "SWITCHBOARD_ADVERTISE",
                format!("http://127.0.0.1:{}", self.ports[i]),
            ),
        ];
        let db = self.dir.path().join(format!("n{i}.db"));
        self.nodes[i] = Some(Node::start(&db, self.ports[i], &env));
    }

    fn addr(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.ports[i])
    }

    /// The leading node, waiting for one.
    fn leader(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found = (0..NODES).find(|i| {
                self.nodes[*i].is_some()
                    && health(&self.addr(*i)).is_some_and(|h| h["role"] == "leader")
            });
            if let Some(i) = found {
                return i;
            }
            assert!(Instant::now() < deadline, "no leader");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until every node applied the same entry.
    fn converge(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let seen: Vec<_> = (0..NODES)
                .map(|i| health(&self.addr(i)).map(|h| h["applied_log"].clone()))
                .collect();
            if seen.iter().all(|s| s.is_some() && *s == seen[0]) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the nodes did not converge");
    }
}

/// Kills the leader under load `kills` times: each time from the kill to
/// the next join acknowledged by any node.
fn failovers(cluster: &mut Cluster, kills: usize) -> Vec<Duration> {
    let mut took = Vec::new();
    for _ in 0..kills {
        let leader = cluster.leader();
        let stop = Arc::new(AtomicBool::new(false));
        let first_ack: Arc<Mutex<Option<Instant>>> = Arc::default();
        let killed_at = Arc::new(Mutex::new(None::<Instant>));
        let load: Vec<_> = (0..NODES)
            .filter(|i| *i != leader)
            .map(|i| {
                let (addr, stop, first_ack, killed_at) = (
                    cluster.addr(i),
                    stop.clone(),
                    first_ack.clone(),
                    killed_at.clone(),
                );
                std::thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let Some(mut client) = Client::connect(&addr) else {
                            std::thread::sleep(Duration::from_millis(5));
                            continue;
                        };
                        n += 1;
                        let sent = Instant::now();
                        let body = format!(r#"{{"visitor_id":"f{i}-{n}-{}"}}"#, std::process::id());
                        let ok = matches!(
                            client.request("POST", "/customer-service/queue/join", &body),
                            Some((200, _))
                        );
                        let killed = *killed_at.lock().expect("lock");
                        if ok && killed.is_some_and(|k| sent > k) {
                            first_ack
                                .lock()
                                .expect("lock")
                                .get_or_insert(Instant::now());
                        }
                        if !ok {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        *killed_at.lock().expect("lock") = Some(Instant::now());
        cluster.nodes[leader] = None; // SIGKILL on drop
        let deadline = Instant::now() + Duration::from_secs(30);
        while first_ack.lock().expect("lock").is_none() {
            assert!(Instant::now() < deadline, "no write after a leader kill");
            std::thread::sleep(Duration::from_millis(5));
        }
        stop.store(true, Ordering::Relaxed);
        for t in load {
            t.join().expect("load");
        }
        let (Some(killed), Some(acked)) = (
            *killed_at.lock().expect("lock"),
            *first_ack.lock().expect("lock"),
        ) else {
            unreachable!("both set above")
        };
        took.push(acked - killed);
        cluster.boot(leader);
        cluster.converge();
    }
    took.sort();
    took
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let smoke = !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "quick");
    let kills = args
        .iter()
        .find_map(|a| a.strip_prefix("kills="))
        .and_then(|k| k.parse().ok())
        .unwrap_or(if smoke { 1 } else { 20 });
    let run = if smoke {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(4)
    };
    let clients = 8;

    let etcd = EtcdCluster::start(3);
    let mut cluster = Cluster {
        dir: tempfile::tempdir().expect("tempdir"),
        urls: etcd.urls().join(","),
        ports: (0..NODES).map(|_| free_port()).collect(),
        nodes: (0..NODES).map(|_| None).collect(),
    };
    for i in 0..NODES {
        cluster.boot(i);
    }
    let alone_dir = tempfile::tempdir().expect("tempdir");
    let alone = Node::start(&alone_dir.path().join("alone.db"), free_port(), &[]);

    let leader = cluster.leader();
    let follower = (leader + 1) % NODES;
    // Alternating, so that the machine's drift is shared.
    let mut rows: Vec<(&str, Vec<Figures>)> = vec![
        ("alone (SQLite)", vec![]),
        ("leader", vec![]),
        ("follower", vec![]),
    ];
    for _ in 0..if smoke { 1 } else { 3 } {
        rows[0]
            .1
            .push(joins(std::slice::from_ref(&alone.addr), clients, run));
        rows[1].1.push(joins(&[cluster.addr(leader)], clients, run));
        rows[2]
            .1
            .push(joins(&[cluster.addr(follower)], clients, run));
    }
    println!(
        "queue/join, {clients} keep-alive clients, median of {} runs:",
        rows[0].1.len()
    );
    for (name, runs) in &mut rows {
        runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (rate, p50, p99) = runs[runs.len() / 2];
        println!("  {name:<16} {rate:>8.0} joins/s   p50 {p50:>10.2?}   p99 {p99:>10.2?}");
    }
    cluster.converge();

    let took = failovers(&mut cluster, kills);
    let q = |p: f64| took[((took.len() as f64 * p) as usize).min(took.len() - 1)];
    println!(
        "failover (SIGKILL of the leader -> next acknowledged join), {} kills, lease TTL 3 s: p50 {:.2?}, p99 {:.2?}, min {:.2?}",
        took.len(),
        q(0.5),
        q(0.99),
        took[0]
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let db = runtime.block_on(async {
        let client =
            switchboard_cluster::Etcd::new(&etcd.urls(), Duration::from_secs(2)).expect("etcd");
        client.db_size().await.expect("etcd status")
    });
    println!("etcd database: {} KiB", db / 1024);
    for (i, node) in cluster.nodes.iter().enumerate() {
        if let Some(node) = node {
            let pid = node.pid();
            println!(
                "  n{i}: CPU {:.2?}, RSS {} KiB",
                procstat::process_cpu(&pid),
                procstat::rss_kib(&pid)
            );
        }
    }
}
