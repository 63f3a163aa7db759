//! Three Switchboard nodes on a real three-member etcd: the leader is
//! SIGKILLed under load, again and again; every acknowledged join is then
//! on every node exactly once, the nodes' figures are equal, and the time
//! from each kill to the next acknowledged write is printed.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use switchboard_cluster::testing::{free_port, EtcdCluster};

const CS: &str = "/customer-service";
const NODES: usize = 3;
const KILLS: usize = 3;

struct Cluster {
    dir: tempfile::TempDir,
    urls: String,
    ports: Vec<u16>,
    nodes: Vec<Option<Server>>,
    /// More of the `cluster:` section.
    more: String,
}

impl Cluster {
    /// Three nodes on `etcd`, none started.
    fn new(etcd: &EtcdCluster, more: &str) -> Cluster {
        Cluster {
            dir: tempfile::tempdir().expect("tempdir"),
            urls: etcd.urls().join(","),
            ports: (0..NODES).map(|_| free_port()).collect(),
            nodes: (0..NODES).map(|_| None).collect(),
            more: more.to_owned(),
        }
    }

    /// Three nodes on `etcd` with a 2 s lease, started.
    fn start(etcd: &EtcdCluster) -> Cluster {
        let mut c = Cluster::new(etcd, ", lease_ttl_secs: 2");
        for i in 0..NODES {
            c.boot(i);
        }
        c
    }

    /// Starts node `i` on its journal (fresh, or the one it had).
    fn boot(&mut self, i: usize) {
        let listen = format!("127.0.0.1:{}", self.ports[i]);
        let advertise = format!("http://{listen}");
        let node = format!("n{i}");
        let yaml = format!(
            "{}cluster: {{etcd: [{}], node_id: x, advertise: x{}}}\n",
            yaml("  max_queue_size: 100000\n  max_sessions: 100000"),
            self.urls,
            self.more
        );
        let db = self.dir.path().join(format!("{node}.db"));
        let env = [
            ("SWITCHBOARD_ETCD", self.urls.as_str()),
            ("SWITCHBOARD_NODE_ID", node.as_str()),
            ("SWITCHBOARD_ADVERTISE", advertise.as_str()),
            ("SWITCHBOARD_LISTEN", listen.as_str()),
        ];
        self.nodes[i] = Some(Server::start_with(&db, &yaml, &env));
    }

    fn addr(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.ports[i])
    }

    fn health(&self, i: usize) -> Option<Value> {
        match Server::try_call(&self.addr(i), "GET", "/healthz", "") {
            Some((200, v)) => Some(v),
            _ => None,
        }
    }

    /// Waits until every node has applied the same entry; which.
    fn converge(&self) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let seen: Vec<Option<u64>> = (0..NODES)
                .map(|i| self.health(i).and_then(|h| h["applied_log"].as_u64()))
                .collect();
            if seen.iter().all(|s| s.is_some() && *s == seen[0]) {
                return seen[0].unwrap_or(0);
            }
            assert!(
                Instant::now() < deadline,
                "nodes did not converge: {seen:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The node that says it leads, waiting for one.
    fn leader(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            for i in 0..NODES {
                if self.nodes[i].is_some() && self.health(i).is_some_and(|h| h["role"] == "leader")
                {
                    return i;
                }
            }
            assert!(Instant::now() < deadline, "no leader in 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// What the clients were told.
#[derive(Default)]
struct Ledger {
    /// Session ids whose join was answered 200.
    acknowledged: BTreeSet<String>,
    /// Visitors whose join got no answer at all (may or may not be in).
    unanswered: BTreeSet<String>,
    /// The last acknowledged join: when it was sent, and answered.
    last_ack: Option<(Instant, Instant)>,
    /// Answers other than 200 and 503 (none expected).
    odd: Vec<String>,
}

/// Joins visitors through node `i` until told to stop (a follower forwards
/// them to the leader); a 503 (`not_leader` during an election,
/// `leader_unreachable`, `log_unavailable`) is not an answer.
fn worker(addr: String, w: usize, stop: Arc<AtomicBool>, ledger: Arc<Mutex<Ledger>>) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let visitor = format!("w{w}v{n}");
        n += 1;
        let body = format!(r#"{{"visitor_id":"{visitor}"}}"#);
        let sent = Instant::now();
        match Server::try_call(&addr, "POST", &format!("{CS}/queue/join"), &body) {
            None => {
                ledger.lock().unwrap().unanswered.insert(visitor);
                std::thread::sleep(Duration::from_millis(20));
            }
            Some((200, v)) => {
                let mut l = ledger.lock().unwrap();
                l.acknowledged
                    .insert(v["session_id"].as_str().unwrap_or_default().to_owned());
                l.last_ack = Some((sent, Instant::now()));
            }
            Some((503, _)) => std::thread::sleep(Duration::from_millis(20)),
            Some((status, v)) => ledger
                .lock()
                .unwrap()
                .odd
                .push(format!("{visitor}: {status} {v}")),
        }
    }
}

#[test]
fn killing_the_leader_under_load_loses_and_duplicates_nothing() {
    let etcd = EtcdCluster::start(3);
    let mut cluster = Cluster::start(&etcd);
    let first = cluster.leader();
    eprintln!("n{first} leads");
    // A write sent to a follower is forwarded, and answered by the leader.
    let follower = (first + 1) % NODES;
    let via = cluster.nodes[follower].as_ref().expect("running");
    let body = br#"{"visitor_id":"via-follower"}"#;
    let (status, head, text) = via.exchange("POST", &format!("{CS}/queue/join"), Some(body), "");
    assert_eq!(status, 200, "a join through follower n{follower}: {text}");
    let v: Value = serde_json::from_str(&text).expect("json");
    let sid = v["session_id"].as_str().unwrap_or_default().to_owned();
    // ... which names the log entry that holds it, and the follower answered
    // only once it had applied that entry: a read there sees the write.
    let seq: u64 = head
        .lines()
        .find_map(|l| l.strip_prefix("x-switchboard-log-seq: "))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no log sequence in {head}"));
    let applied = cluster
        .health(follower)
        .and_then(|h| h["applied_log"].as_u64());
    assert!(
        applied >= Some(seq),
        "answered at {applied:?} before applying {seq}"
    );
    let (status, _) = via.call("GET", &format!("{CS}/sessions/{sid}"), None);
    assert_eq!(
        status, 200,
        "the follower does not show its own client's write"
    );

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..NODES * 2)
        .map(|w| {
            let (addr, stop, ledger) = (cluster.addr(w % NODES), stop.clone(), ledger.clone());
            std::thread::spawn(move || worker(addr, w, stop, ledger))
        })
        .collect();

    let mut failovers = Vec::new();
    for round in 0..KILLS {
        std::thread::sleep(Duration::from_millis(1500));
        let leader = cluster.leader();
        let before = ledger.lock().unwrap().acknowledged.len();
        assert!(
            before > 0,
            "round {round}: nothing acknowledged before the kill"
        );
        let killed_at = Instant::now();
        cluster.nodes[leader].as_mut().expect("running").kill();
        cluster.nodes[leader] = None;
        // The next acknowledged write, on whichever node leads now.
        let deadline = killed_at + Duration::from_secs(20);
        let took = loop {
            let last = ledger.lock().unwrap().last_ack;
            if let Some((_, answered)) = last.filter(|(sent, _)| *sent > killed_at) {
                break answered - killed_at;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: no write acknowledged 20 s after the kill"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        eprintln!("round {round}: killed n{leader}; next acknowledged write after {took:?}");
        failovers.push(took);
        cluster.boot(leader);
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("worker");
    }

    let mut ledger = ledger.lock().unwrap();
    ledger.acknowledged.insert(sid);
    assert!(
        ledger.odd.is_empty(),
        "unexpected answers: {:?}",
        ledger.odd
    );
    // Every node catches up to the same entry.
    let applied = cluster.converge();
    // The same center everywhere: the figures, and every acknowledged session.
    let stats: Vec<Value> = (0..NODES)
        .map(|i| {
            cluster.nodes[i]
                .as_ref()
                .expect("running")
                .get(&format!("{CS}/stats"))
        })
        .collect();
    for (i, s) in stats.iter().enumerate() {
        assert_eq!(
            s["sessions"], stats[0]["sessions"],
            "n{i}'s sessions differ"
        );
        assert_eq!(
            s["queue"]["length"], stats[0]["queue"]["length"],
            "n{i}'s queue differs"
        );
    }
    // Byte for byte: each node's journal rebuilds the same center.
    let snapshot = |i: usize| {
        let db = cluster.dir.path().join(format!("n{i}.db"));
        let (center, _) = switchboard_store::Store::load(&db).expect("journal loads");
        serde_json::to_string(&center.snapshot()).expect("snapshot")
    };
    let first_snapshot = snapshot(0);
    for i in 1..NODES {
        assert!(
            snapshot(i) == first_snapshot,
            "n{i}'s center differs from n0's"
        );
    }
    let waiting = stats[0]["sessions"]["waiting"].as_u64().unwrap_or(0) as usize;
    let acknowledged = ledger.acknowledged.len();
    // Each acknowledged join is there once; an unanswered one may be too.
    assert!(
        waiting >= acknowledged && waiting <= acknowledged + ledger.unanswered.len(),
        "{waiting} waiting for {acknowledged} acknowledged joins and {} unanswered",
        ledger.unanswered.len()
    );
    for i in 0..NODES {
        let node = cluster.nodes[i].as_ref().expect("running");
        for sid in ledger.acknowledged.iter().step_by(7) {
            let (status, v) = node.call("GET", &format!("{CS}/sessions/{sid}"), None);
            assert_eq!(status, 200, "n{i} lacks acknowledged session {sid}: {v}");
        }
    }
    failovers.sort();
    eprintln!(
        "{acknowledged} joins acknowledged over {KILLS} leader kills, log at {applied}; failover (kill to next acknowledged write) p50 {:?}, max {:?}",
        failovers[failovers.len() / 2],
        failovers[failovers.len() - 1]
    );
}

/// Sends `sig` to node `i`'s process.
fn signal(cluster: &Cluster, i: usize, sig: &str) {
    let pid = cluster.nodes[i].as_ref().expect("running").pid();
    let status = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {sig} {pid}");
}

#[test]
fn a_paused_leader_is_fenced_when_it_wakes_and_acknowledges_nothing() {
    let etcd = EtcdCluster::start(3);
    let cluster = Cluster::start(&etcd);
    let old = cluster.leader();
    let join = |i: usize, visitor: &str| {
        let body = format!(r#"{{"visitor_id":"{visitor}"}}"#);
        Server::try_call(&cluster.addr(i), "POST", &format!("{CS}/queue/join"), &body)
    };
    assert_eq!(join(old, "before").map(|r| r.0), Some(200));

    // Paused past its lease: the others elect a new leader, which writes.
    signal(&cluster, old, "-STOP");
    let addr = cluster.addr(old);
    let body = r#"{"visitor_id":"while-paused"}"#;
    let in_flight = std::thread::spawn(move || {
        Server::try_call(&addr, "POST", &format!("{CS}/queue/join"), body)
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let new = loop {
        let other = (0..NODES)
            .filter(|i| *i != old)
            .find(|i| cluster.health(*i).is_some_and(|h| h["role"] == "leader"));
        if let Some(i) = other {
            break i;
        }
        assert!(
            Instant::now() < deadline,
            "no new leader while n{old} is paused"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(join(new, "after").map(|r| r.0), Some(200));

    signal(&cluster, old, "-CONT");
    // It wakes believing it leads. The request it held is either refused
    // (its engine's append is fenced) or, if it learned of the new leader
    // first, forwarded there and acknowledged by it: never acknowledged by
    // the deposed leader alone.
    let answer = in_flight.join().expect("request thread");
    let status = answer.as_ref().map(|r| r.0);
    assert!(matches!(status, None | Some(503) | Some(200)), "{answer:?}");
    let acknowledged = 2 + u64::from(status == Some(200));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let h = cluster.health(old);
        let leader_applied = cluster.health(new).and_then(|h| h["applied_log"].as_u64());
        if h.as_ref()
            .is_some_and(|h| h["role"] == "follower" && h["applied_log"].as_u64() == leader_applied)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "n{old} did not rejoin as a follower: {h:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Every node: exactly the acknowledged joins.
    for i in 0..NODES {
        let node = cluster.nodes[i].as_ref().expect("running");
        let stats = node.get(&format!("{CS}/stats"));
        assert_eq!(stats["queue"]["length"], acknowledged, "n{i}: {stats}");
    }
}

/// Joins `visitor` through node `i`: the status, if answered.
fn join(cluster: &Cluster, i: usize, visitor: &str) -> Option<u16> {
    let body = format!(r#"{{"visitor_id":"{visitor}"}}"#);
    Server::try_call(&cluster.addr(i), "POST", &format!("{CS}/queue/join"), &body).map(|r| r.0)
}

/// Joins through node `i` until one is acknowledged, up to `wait`.
fn join_within(cluster: &Cluster, i: usize, visitor: &str, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    let mut n = 0;
    while Instant::now() < deadline {
        n += 1;
        if join(cluster, i, &format!("{visitor}-{n}")) == Some(200) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn etcd_losing_one_member_goes_on_and_losing_two_refuses_writes_until_one_returns() {
    let mut etcd = EtcdCluster::start(3);
    let cluster = Cluster::start(&etcd);
    let leader = cluster.leader();
    let follower = (leader + 1) % NODES;
    assert_eq!(join(&cluster, leader, "all-up"), Some(200));

    etcd.kill(0);
    assert!(
        join_within(&cluster, follower, "one-down", Duration::from_secs(10)),
        "no write with one etcd member down"
    );

    etcd.kill(1);
    // No quorum: writes are refused (503, never a false 200), reads go on.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 0;
    loop {
        n += 1;
        let status = join(&cluster, follower, &format!("no-quorum-{n}"));
        if status == Some(503) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "writes still answered without quorum: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Reads go on, marked stale once etcd has been silent past the lease.
    let node = cluster.nodes[follower].as_ref().expect("running");
    std::thread::sleep(Duration::from_secs(3));
    let (status, head, _) = node.exchange(
        "GET",
        &format!("{CS}/stats"),
        None,
        &format!("Authorization: Bearer {ADMIN}\r\n"),
    );
    assert_eq!(status, 200);
    assert!(head.contains("x-switchboard-stale: true"), "{head}");
    assert_eq!(
        cluster.health(follower).map(|h| h["stale"].clone()),
        Some(Value::Bool(true))
    );

    etcd.restart(1);
    etcd.wait_healthy();
    assert!(
        join_within(&cluster, follower, "back", Duration::from_secs(30)),
        "writes did not resume"
    );
    assert_eq!(
        cluster.health(follower).map(|h| h["stale"].clone()),
        Some(Value::Bool(false))
    );
    // The nodes agree on everything acknowledged.
    cluster.converge();
    let lengths: Vec<Value> = (0..NODES)
        .map(|i| {
            cluster.nodes[i]
                .as_ref()
                .expect("running")
                .get(&format!("{CS}/stats"))["queue"]["length"]
                .clone()
        })
        .collect();
    assert!(lengths.iter().all(|l| *l == lengths[0]), "{lengths:?}");
    // all-up, one-down and back at least; a refused one may have landed.
    assert!(lengths[0].as_u64().unwrap_or(0) >= 3, "{lengths:?}");
}

#[test]
fn a_visitor_on_a_follower_and_an_agent_on_the_leader_chat_both_ways() {
    let etcd = EtcdCluster::start(1);
    let cluster = Cluster::start(&etcd);
    let l = cluster.leader();
    let f = (l + 1) % NODES;
    let (leader, follower) = (
        cluster.nodes[l].as_ref().expect("running"),
        cluster.nodes[f].as_ref().expect("running"),
    );
    // The agent signs in and works on the leader.
    let token = leader.account("a1", "agent", Some("a1"));
    leader.register("a1");
    let mut console = leader.try_ws(Some(&token), "role=agent").expect("console");
    console.expect("joined");

    // The visitor arrives through the follower: its join is forwarded, its
    // token (signed with the cluster's key) is good here, and its
    // connection stays here.
    let body = r#"{"visitor_id":"v1","visitor_name":"Visitor","channel":"chat"}"#;
    let (status, v) = follower.call_as(None, "POST", &format!("{CS}/queue/join"), Some(body));
    assert_eq!(status, 200, "{v}");
    let sid = v["session_id"].as_str().expect("session").to_owned();
    let vtoken = v["token"].as_str().expect("token").to_owned();
    // Read after one's own write: the follower answered the join once it
    // had applied it, so it admits the visitor at once.
    let mut visitor = follower
        .try_ws(Some(&vtoken), "role=customer")
        .expect("the visitor's connection on the follower");

    console.expect("incoming_call");
    console.send(r#"{"type":"control","data":{"type":"AcceptCall"}}"#);
    console.expect("ack");
    let said = format!(
        r#"{{"type":"chat_send","data":{{"session_id":"{sid}","text":"hello from the leader","client_id":"a-1"}}}}"#
    );
    console.send(&said);
    let heard = loop {
        let m = visitor.expect("chat_message")["message"].clone();
        if m["kind"] != "system" {
            break m;
        }
    };
    assert_eq!(heard["text"], "hello from the leader", "{heard}");

    // The visitor answers over HTTP on the follower: forwarded, delivered.
    let body = r#"{"text":"hello from the follower","client_id":"v-1"}"#;
    let (status, v) = follower.call_as(
        Some(&vtoken),
        "POST",
        &format!("{CS}/sessions/{sid}/messages"),
        Some(body),
    );
    assert_eq!(status, 200, "{v}");
    let got = loop {
        let m = console.expect("chat_message")["message"].clone();
        if m["from"]["role"] == "customer" {
            break m;
        }
    };
    assert_eq!(got["text"], "hello from the follower", "{got}");

    // And over its WebSocket on the follower: the frame is answered by the
    // leader, the message delivered on the leader's side.
    let said = format!(
        r#"{{"type":"chat_send","data":{{"session_id":"{sid}","text":"over the socket","client_id":"v-2"}}}}"#
    );
    visitor.send(&said);
    let ack = visitor.expect("ack");
    assert_eq!(ack["result"]["status"], "sent", "{ack}");
    let got = loop {
        let m = console.expect("chat_message")["message"].clone();
        if m["from"]["role"] == "customer" {
            break m;
        }
    };
    assert_eq!(got["text"], "over the socket", "{got}");

    // The follower reads the conversation from its own copy of the log.
    let (status, history) = follower.call_as(
        Some(&vtoken),
        "GET",
        &format!("{CS}/sessions/{sid}/messages"),
        None,
    );
    assert_eq!(status, 200, "{history}");
    let texts: Vec<&str> = history["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["kind"] != "system")
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "hello from the leader",
            "hello from the follower",
            "over the socket"
        ],
        "{history}"
    );
    let (status, chats) = follower.call_as(Some(&token), "GET", &format!("{CS}/chats"), None);
    assert_eq!(status, 200, "{chats}");
    assert_eq!(chats["chats"][0]["session_id"], sid.as_str(), "{chats}");

    // The leader's frame route exists only for its followers.
    let forged = r#"{"caller":{"Staff":{"name":"x","role":"admin","agent_id":null,"credential":null}},"address":"127.0.0.1","identity":{"Agent":"a1"},"room":null,"text":"{}"}"#;
    let (status, _, _) = leader.exchange(
        "POST",
        "/internal/cluster/frame",
        Some(forged.as_bytes()),
        "x-switchboard-forwarded: n9\r\nx-switchboard-cluster-secret: guess\r\n",
    );
    assert_eq!(status, 404);
}

#[test]
fn staff_sign_in_on_any_node_and_are_known_on_every_node() {
    let etcd = EtcdCluster::start(1);
    let cluster = Cluster::start(&etcd);
    let l = cluster.leader();
    let (f1, f2) = ((l + 1) % NODES, (l + 2) % NODES);
    let node = |i: usize| cluster.nodes[i].as_ref().expect("running");

    // The admin makes an account through one follower, the agent signs in
    // through the other: both changes go through the log.
    node(f1).post(
        &format!("{CS}/accounts"),
        r#"{"username":"a1","password":"password-a1","role":"agent","agent_id":"a1"}"#,
    );
    let (status, v) = node(f2).login("a1");
    assert_eq!(status, 200, "sign-in through a follower: {v}");
    let token = v["token"].as_str().expect("token").to_owned();
    // Known at once where it signed in (read after one's own write) ...
    let me = |i: usize| {
        node(i)
            .call_as(Some(&token), "GET", &format!("{CS}/auth/me"), None)
            .0
    };
    assert_eq!(
        me(f2),
        200,
        "the follower it signed in through does not know it"
    );
    // ... and everywhere once the nodes converge; the agent works on any node.
    cluster.converge();
    assert_eq!((me(l), me(f1)), (200, 200));
    node(f2).register("a1");
    let mut console = node(f1)
        .try_ws(Some(&token), "role=agent")
        .expect("console on f1");
    console.expect("joined");

    // Every node holds the same directory.
    let accounts: Vec<Value> = (0..NODES)
        .map(|i| node(i).get(&format!("{CS}/accounts")))
        .collect();
    assert!(accounts.iter().all(|a| *a == accounts[0]), "{accounts:?}");

    // Signing out through the leader ends the sign-in on every node.
    let (status, _) = node(l).call_as(Some(&token), "POST", &format!("{CS}/auth/logout"), None);
    assert_eq!(status, 200);
    cluster.converge();
    assert_eq!((me(l), me(f1), me(f2)), (401, 401, 401));
}

#[test]
fn the_log_is_trimmed_and_a_new_node_starts_from_a_peers_snapshot() {
    let etcd = EtcdCluster::start(1);
    let mut cluster = Cluster::new(
        &etcd,
        ", lease_ttl_secs: 2, log_keep: 5, trim_every_secs: 1",
    );
    cluster.boot(0);
    cluster.boot(1);
    let leader = cluster.leader();
    for n in 0..40 {
        assert_eq!(join(&cluster, leader, &format!("early-{n}")), Some(200));
    }
    // The leader trims below the slowest live node (n2 is not one yet).
    let client =
        switchboard_cluster::Etcd::new(&etcd.urls(), Duration::from_secs(2)).expect("etcd");
    let log = switchboard_cluster::Log::new(
        std::sync::Arc::new(client),
        switchboard_cluster::Keys::new("switchboard"),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = loop {
        let first = runtime.block_on(log.first()).expect("first").unwrap_or(0);
        if first > 10 {
            break first;
        }
        assert!(
            Instant::now() < deadline,
            "the log was not trimmed: first entry {first}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // A node that never saw the early entries starts from a peer's copy,
    // then follows the log, and ends equal to the others.
    cluster.boot(2);
    assert_eq!(join(&cluster, 2, "late"), Some(200));
    cluster.converge();
    let snapshot = |i: usize| {
        let db = cluster.dir.path().join(format!("n{i}.db"));
        let (center, _) = switchboard_store::Store::load(&db).expect("journal loads");
        serde_json::to_string(&center.snapshot()).expect("snapshot")
    };
    let n0 = snapshot(0);
    assert!(
        snapshot(1) == n0 && snapshot(2) == n0,
        "a node's center differs (log trimmed below {first})"
    );
    let stats = cluster.nodes[2]
        .as_ref()
        .expect("running")
        .get(&format!("{CS}/stats"));
    assert_eq!(stats["queue"]["length"], 41, "{stats}");
}

#[test]
fn a_leader_stopped_with_sigterm_hands_over_at_once() {
    let etcd = EtcdCluster::start(1);
    // A lease of 10 s: a handover by lapse would take that long.
    let mut cluster = Cluster::new(&etcd, ", lease_ttl_secs: 10");
    for i in 0..NODES {
        cluster.boot(i);
    }
    let leader = cluster.leader();
    let other = (leader + 1) % NODES;
    assert_eq!(join(&cluster, other, "before"), Some(200));
    let stopped_at = Instant::now();
    let status = cluster.nodes[leader].as_mut().expect("running").terminate();
    assert!(status.success(), "a clean exit on SIGTERM: {status:?}");
    cluster.nodes[leader] = None;
    assert!(
        join_within(&cluster, other, "after", Duration::from_secs(5)),
        "no write within 5 s of the leader's SIGTERM"
    );
    let took = stopped_at.elapsed();
    eprintln!("SIGTERM of the leader -> next acknowledged write: {took:?} (lease 10 s)");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn a_forwarded_request_keeps_its_clients_address() {
    let etcd = EtcdCluster::start(1);
    let cluster = Cluster::start(&etcd);
    let l = cluster.leader();
    let f = (l + 1) % NODES;
    // A sign-in from 127.0.0.2 through the follower, with a wrong password.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let status = runtime.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind("127.0.0.2:0".parse().expect("addr")).expect("bind 127.0.0.2");
        let mut s = socket.connect(cluster.addr(f).parse().expect("addr")).await.expect("connect");
        let body = r#"{"username":"admin","password":"not-the-password"}"#;
        let request = format!(
            "POST {CS}/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(request.as_bytes()).await.expect("write");
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.expect("read");
        answer.split_whitespace().nth(1).map(str::to_owned)
    });
    assert_eq!(status.as_deref(), Some("401"));
    // The leader audited it with the client's address, not the follower's.
    cluster.converge();
    let audit = cluster.nodes[l]
        .as_ref()
        .expect("running")
        .get(&format!("{CS}/audit?action=login"));
    let entries = audit["entries"].as_array().cloned().unwrap_or_default();
    let failed = entries
        .iter()
        .find(|e| e["outcome"] == "bad_credentials")
        .unwrap_or_else(|| panic!("no failed sign-in audited: {audit}"));
    assert_eq!(failed["address"], "127.0.0.2", "{failed}");
}

#[test]
fn a_write_retried_with_its_key_after_a_failover_is_not_applied_twice() {
    let etcd = EtcdCluster::start(1);
    let mut cluster = Cluster::start(&etcd);
    let leader = cluster.leader();
    let other = (leader + 1) % NODES;
    let keyed = |cluster: &Cluster, i: usize| {
        let node = cluster.nodes[i].as_ref().expect("running");
        let headers = format!("Authorization: Bearer {ADMIN}\r\nIdempotency-Key: join-v1\r\n");
        let (status, head, text) = node.exchange(
            "POST",
            &format!("{CS}/queue/join"),
            Some(br#"{"visitor_id":"v1"}"#),
            &headers,
        );
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        (
            status,
            v["session_id"].clone(),
            head.contains("idempotent-replayed: true"),
        )
    };
    let (status, first, _) = keyed(&cluster, leader);
    assert_eq!(status, 200);
    // The client's answer was lost, say, and the leader died: it retries
    // on another node, which forwards to the new leader.
    cluster.nodes[leader].as_mut().expect("running").kill();
    cluster.nodes[leader] = None;
    let deadline = Instant::now() + Duration::from_secs(20);
    let (again, replayed) = loop {
        match keyed(&cluster, other) {
            (200, sid, replayed) => break (sid, replayed),
            _ => assert!(Instant::now() < deadline, "no answer after the failover"),
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!((again, replayed), (first, true));
    let stats = cluster.nodes[other]
        .as_ref()
        .expect("running")
        .get(&format!("{CS}/stats"));
    assert_eq!(stats["queue"]["length"], 1, "{stats}");
}
