//! A node of a cluster: joins the engine (which knows only "follow this
//! entry" and "lead through this appender") to the etcd side (the log, the
//! lease, the tail). Every node tails the log into its engine; the node
//! whose campaign won catches up to the head, then leads; a lost lease or
//! a refused append puts it back to following.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use switchboard_app::replica::{Appending, Replicator};
use switchboard_app::{AnswerExt, Engine};
use switchboard_cluster::etcd::{Compare, Op};
use switchboard_cluster::member::Handle;
use switchboard_cluster::{Etcd, Keys, Log, Role, Term};
use switchboard_core::Config;
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
}

fn default_ttl() -> i64 {
    3
}

fn default_prefix() -> String {
    "switchboard".to_owned()
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
            let answer = follower.follow(seq, entry).await;
            if !answer.is_ok() {
                tracing::error!(seq, answer = %answer.body(), "cannot apply the log");
                return;
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
