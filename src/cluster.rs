//! A node of a cluster: joins the engine (which knows only "follow this
//! entry" and "lead through this appender") to the etcd side (the log, the
//! lease, the tail). Every node tails the log into its engine; the node
//! whose campaign won catches up to the head, then leads; a lost lease or
//! a refused append puts it back to following.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use switchboard_app::replica::{Appending, Replicator};
use switchboard_app::{AnswerExt, Engine};
use switchboard_cluster::etcd::{Compare, Op};
use switchboard_cluster::member::Handle;
use switchboard_cluster::{Etcd, Keys, Log, Role, Term};
use switchboard_core::Config;
use switchboard_store::Store;
use tokio::sync::{mpsc, watch, Notify};

/// The `cluster:` section: with it, this node is one of several sharing a
/// log in etcd; without it, the server is alone on its journal.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// etcd's client URLs (`SWITCHBOARD_ETCD`, comma-separated).
    pub etcd: Vec<String>,
    /// This node's id, unique among live nodes (`SWITCHBOARD_NODE_ID`).
    pub node_id: String,
    /// The URL the other nodes reach this one at (`SWITCHBOARD_ADVERTISE`).
    pub advertise: String,
    /// Seconds a leader's lease outlives its last renewal: the longest a
    /// dead leader holds the log.
    #[serde(default = "default_ttl")]
    pub lease_ttl_secs: i64,
    /// Key prefix in etcd (several clusters may share one).
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Entries the leader keeps in etcd below the slowest live node's: the
    /// rest are trimmed (a node further behind starts from a peer's copy).
    #[serde(default = "default_keep")]
    pub log_keep: u64,
    /// How often the leader trims the log.
    #[serde(default = "default_trim_every")]
    pub trim_every_secs: u64,
}

fn default_keep() -> u64 {
    10_000
}

fn default_trim_every() -> u64 {
    10
}

fn default_ttl() -> i64 {
    3
}

fn default_prefix() -> String {
    "switchboard".to_owned()
}

/// While this node leads, trims the log every `every` to `keep` entries
/// below the slowest live node, so that etcd's size stays bounded.
pub async fn trim_while_leading(
    log: Log,
    leading: watch::Receiver<bool>,
    keep: u64,
    every: Duration,
) {
    let mut trimmed = 0;
    loop {
        tokio::time::sleep(every).await;
        if !*leading.borrow() {
            continue;
        }
        let slowest = match switchboard_cluster::member::slowest(&log).await {
            Ok(Some(s)) => s,
            Ok(None) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read the nodes' progress");
                continue;
            }
        };
        let upto = slowest.saturating_sub(keep);
        if upto <= trimmed {
            continue;
        }
        match log.trim(upto).await {
            Ok(deleted) => {
                trimmed = upto;
                tracing::info!(upto, deleted, "log trimmed");
            }
            Err(e) => tracing::warn!(error = %e, "cannot trim the log"),
        }
    }
}

/// Before the engine opens: if the log was trimmed past what this node's
/// journal holds (a new node, or one down for long), replaces the journal
/// with a copy from a live peer that has applied enough.
pub async fn catch_up_from_snapshot(
    log: &Log,
    settings: &ClusterSettings,
    db: &Path,
    secret: &str,
) -> Result<(), String> {
    let applied = Store::applied_log_of(db).map_err(|e| e.to_string())?;
    let first = log.first().await.map_err(|e| e.to_string())?;
    let Some(first) = first.filter(|first| *first > applied + 1) else {
        return Ok(());
    };
    let status = switchboard_cluster::status(log)
        .await
        .map_err(|e| e.to_string())?;
    let peers = status
        .nodes
        .iter()
        .filter(|n| n.node != settings.node_id && n.applied + 1 >= first);
    for peer in peers {
        let (url, secret) = (peer.url.clone(), secret.to_owned());
        let fetched = tokio::task::spawn_blocking(move || fetch_snapshot(&url, &secret)).await;
        let bytes = match fetched.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(peer = %peer.node, error = %e, "no snapshot from this peer");
                continue;
            }
        };
        let part = db.with_extension("snapshot");
        std::fs::write(&part, bytes).map_err(|e| format!("{}: {e}", part.display()))?;
        let holds = Store::applied_log_of(&part).map_err(|e| e.to_string())?;
        if holds + 1 < first {
            tracing::warn!(peer = %peer.node, holds, first, "the peer's snapshot is too old");
            continue;
        }
        for stale in ["db-wal", "db-shm"].map(|ext| db.with_extension(ext)) {
            let _ = std::fs::remove_file(stale);
        }
        std::fs::rename(&part, db).map_err(|e| format!("{}: {e}", db.display()))?;
        tracing::info!(peer = %peer.node, applied = holds, "started from a peer's snapshot");
        return Ok(());
    }
    Err(format!(
        "the log starts at entry {first}, this journal holds up to {applied}, and no live peer gave a copy"
    ))
}

/// GETs a peer's journal copy (a plain HTTP/1.0 exchange on loopback or the
/// cluster's network, under the cluster's secret).
fn fetch_snapshot(url: &str, secret: &str) -> Result<Vec<u8>, String> {
    use std::io::{Read, Write};
    let authority = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// peers"))?
        .trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(authority).map_err(|e| format!("{url}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {authority}\r\n{}: {secret}\r\n{}: snapshot\r\n\r\n",
        switchboard_http::forward::SNAPSHOT_PATH,
        switchboard_http::forward::SECRET,
        switchboard_http::forward::FORWARDED,
    );
    s.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    s.read_to_end(&mut response).map_err(|e| e.to_string())?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no answer")?;
    let head = String::from_utf8_lossy(&response[..split]);
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(head.lines().next().unwrap_or_default().to_owned());
    }
    Ok(response[split + 4..].to_vec())
}

/// How long one etcd request may take.
const ETCD_TIMEOUT: Duration = Duration::from_secs(2);

/// The cluster's log, as this node's settings name it.
pub fn log(settings: &ClusterSettings) -> Result<Log, String> {
    let etcd = Etcd::new(&settings.etcd, ETCD_TIMEOUT).map_err(|e| e.to_string())?;
    Ok(Log::new(Arc::new(etcd), Keys::new(&settings.prefix)))
}

/// What every node of a cluster shares, fixed by the first node to start.
pub struct Shared {
    /// The centers' seed.
    pub seed: u64,
    /// The key visitors' tokens are signed with.
    pub auth_secret: String,
    /// What a node forwarding a WebSocket frame proves itself with.
    pub cluster_secret: String,
}

/// Agrees with the other nodes on the seed and the signing key: the first
/// node to ask sets them (with its settings); the others must bring the same
/// settings, or the centers they build from the log would differ.
pub async fn agree(log: &Log, config: &Config, fresh: Shared) -> Result<Shared, String> {
    let settings = serde_json::to_vec(config).map_err(|e| e.to_string())?;
    let keys = log.keys();
    let outcome = log
        .etcd()
        .txn(
            &[Compare::Created(keys.seed(), 0)],
            &[
                Op::Put(keys.seed(), fresh.seed.to_string().into_bytes(), 0),
                Op::Put(
                    keys.auth_secret(),
                    fresh.auth_secret.clone().into_bytes(),
                    0,
                ),
                Op::Put(
                    keys.cluster_secret(),
                    fresh.cluster_secret.clone().into_bytes(),
                    0,
                ),
                Op::Put(keys.settings(), settings.clone(), 0),
            ],
            &[
                Op::Get(keys.seed()),
                Op::Get(keys.auth_secret()),
                Op::Get(keys.cluster_secret()),
                Op::Get(keys.settings()),
            ],
        )
        .await
        .map_err(|e| e.to_string())?;
    if outcome.succeeded {
        return Ok(fresh);
    }
    let mut read = outcome.read.into_iter().map(|kv| kv.map(|kv| kv.value));
    let mut next = |what: &str| {
        read.next()
            .flatten()
            .ok_or(format!("the cluster has no {what}"))
    };
    let seed = switchboard_cluster::log::parse_seq(&next("seed")?);
    let auth_secret = String::from_utf8_lossy(&next("signing key")?).into_owned();
    let cluster_secret = String::from_utf8_lossy(&next("cluster secret")?).into_owned();
    let theirs: serde_json::Value =
        serde_json::from_slice(&next("settings")?).map_err(|e| e.to_string())?;
    let ours: serde_json::Value = serde_json::from_slice(&settings).map_err(|e| e.to_string())?;
    if ours != theirs {
        return Err(
            "customer_service settings differ from the cluster's: every node needs the same".into(),
        );
    }
    Ok(Shared {
        seed,
        auth_secret,
        cluster_secret,
    })
}

/// A running node's part in the cluster.
pub struct Node {
    /// The membership (to leave on shutdown).
    pub member: Arc<Handle>,
    /// The leader's URL while this node follows (where writes are forwarded).
    pub leader: watch::Receiver<Option<String>>,
    /// Whether this node leads (the effects that must happen once run only then).
    pub leading: watch::Receiver<bool>,
}

/// Joins the cluster and runs this node's part: the tail into the engine,
/// and leadership when won.
pub async fn run(
    log: Log,
    settings: &ClusterSettings,
    engine: Engine,
    applied: u64,
) -> Result<Node, String> {
    let member = switchboard_cluster::Settings {
        node: settings.node_id.clone(),
        advertise: settings.advertise.clone(),
        ttl_secs: settings.lease_ttl_secs,
    };
    let joined = switchboard_cluster::join(log.clone(), member)
        .await
        .map_err(|e| e.to_string())?;
    let handle = joined.handle.clone();
    let (tx, mut rx) = mpsc::channel(1024);
    tokio::spawn(switchboard_cluster::tail(log.clone(), applied, tx));
    let follower = engine.clone();
    let reported = handle.clone();
    tokio::spawn(async move {
        while let Some((seq, entry)) = rx.recv().await {
            loop {
                let answer = follower.follow(seq, entry.clone()).await;
                if answer.is_ok() {
                    break;
                }
                // A leader that meets another's entry steps down at the end
                // of its turn (the entry may share a turn whose append
                // failed): it is applied once the node follows. Only an
                // engine that stopped (it could not apply or write) ends this.
                let code = answer.error_detail().map(|e| e["code"].clone());
                if code.as_ref().and_then(|c| c.as_str()) == Some("unavailable") {
                    tracing::error!(seq, answer = %answer.body(), "cannot apply the log");
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            reported.applied(seq);
        }
    });
    let (leader_tx, leader) = watch::channel(None);
    let (leading_tx, leading) = watch::channel(false);
    let role = joined.role.clone();
    tokio::spawn(tell_roles(role, leader_tx, leading_tx));
    tokio::spawn(lead_when_elected(log, engine, joined.role));
    Ok(Node {
        member: handle,
        leader,
        leading,
    })
}

/// Keeps the leader's URL and "this node leads" up to date for the HTTP
/// layer (forwarding) and the webhook delivery worker.
async fn tell_roles(
    mut role: watch::Receiver<Role>,
    leader: watch::Sender<Option<String>>,
    leading: watch::Sender<bool>,
) {
    loop {
        let now = role.borrow_and_update().clone();
        let url = match &now {
            Role::Follower { leader: Some(l) } => Some(l.url.clone()),
            _ => None,
        };
        leader.send_replace(url);
        leading.send_replace(matches!(now, Role::Leader(_)));
        if role.changed().await.is_err() {
            return;
        }
    }
}

/// Follows the membership's role: on winning, catches up to the log's head
/// and leads; on losing (or after a refused append, while still elected),
/// steps down and, if still elected, catches up and leads again.
async fn lead_when_elected(log: Log, engine: Engine, mut role: watch::Receiver<Role>) {
    let refused = Arc::new(Notify::new());
    loop {
        let now = role.borrow_and_update().clone();
        match now {
            Role::Leader(term) => {
                if let Err(e) = take_over(&log, &engine, term, refused.clone()).await {
                    tracing::warn!(error = %e, "cannot lead yet");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            }
            Role::Follower { .. } => engine.step_down(),
        }
        tokio::select! {
            changed = role.changed() => if changed.is_err() { return },
            () = refused.notified() => {}
        }
    }
}

/// Makes the cluster's first `admin` (once: the directory is the log's),
/// as soon as this node leads and its engine takes writes.
pub async fn bootstrap_when_leading(
    auth: Arc<switchboard_http::Auth>,
    mut leading: watch::Receiver<bool>,
) {
    loop {
        if leading.wait_for(|l| *l).await.is_err() {
            return;
        }
        let a = auth.clone();
        match tokio::task::spawn_blocking(move || a.bootstrap()).await {
            Ok(Ok(())) => return,
            // Elected, but still catching up: again shortly.
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Waits until the engine has applied the whole log, then hands it the
/// appender.
async fn take_over(
    log: &Log,
    engine: &Engine,
    term: Term,
    refused: Arc<Notify>,
) -> Result<(), String> {
    // A node that was paused or cut off may still believe it was elected
    // until its next renewal: the `leader` key says whether it still is.
    let holder = log
        .etcd()
        .get(&log.keys().leader())
        .await
        .map_err(|e| e.to_string())?;
    if holder.map(|kv| kv.create_revision) != Some(term.revision) {
        return Err("no longer elected".into());
    }
    let head = log.head().await.map_err(|e| e.to_string())?;
    engine
        .applied_log()
        .wait_for(|applied| *applied >= head)
        .await
        .map_err(|e| e.to_string())?;
    let appender = Arc::new(Appender {
        log: log.clone(),
        term,
        refused,
        runtime: tokio::runtime::Handle::current(),
    });
    let answer = engine.lead(appender).await;
    if answer.is_ok() {
        Ok(())
    } else {
        Err(answer.body().clone())
    }
}

/// Appends for the engine under one term; a refusal wakes the leadership
/// loop (the engine steps down by itself).
struct Appender {
    log: Log,
    term: Term,
    refused: Arc<Notify>,
    /// The server's runtime: the engine's own has timers only, no sockets.
    runtime: tokio::runtime::Handle,
}

impl Replicator for Appender {
    fn append(&self, after: u64, entry: Vec<u8>) -> Appending<'_> {
        let (log, term) = (self.log.clone(), self.term.clone());
        let appending = self
            .runtime
            .spawn(async move { log.append(&term, after, &entry).await });
        Box::pin(async move {
            let appended = match appending.await {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            appended.inspect_err(|_| self.refused.notify_one())
        })
    }
}
