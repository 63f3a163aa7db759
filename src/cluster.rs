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
use tokio::sync::{mpsc, Notify};

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

/// The cluster's seed, agreed with the other nodes: the first node to ask
/// sets it (with its settings), the others must bring the same settings,
/// or the centers they build from the log would differ.
pub async fn agree(log: &Log, config: &Config, seed: u64) -> Result<u64, String> {
    let settings = serde_json::to_vec(config).map_err(|e| e.to_string())?;
    let seed_key = log.keys().seed();
    let config_key = log.keys().settings();
    let outcome = log
        .etcd()
        .txn(
            &[Compare::Created(seed_key.clone(), 0)],
            &[
                Op::Put(seed_key.clone(), seed.to_string().into_bytes(), 0),
                Op::Put(config_key.clone(), settings.clone(), 0),
            ],
            &[Op::Get(seed_key), Op::Get(config_key)],
        )
        .await
        .map_err(|e| e.to_string())?;
    if outcome.succeeded {
        return Ok(seed);
    }
    let mut read = outcome.read.into_iter();
    let theirs_seed = read.next().flatten().ok_or("the cluster has no seed")?;
    let theirs = read.next().flatten().ok_or("the cluster has no settings")?;
    let ours: serde_json::Value = serde_json::from_slice(&settings).map_err(|e| e.to_string())?;
    let theirs_value: serde_json::Value =
        serde_json::from_slice(&theirs.value).map_err(|e| e.to_string())?;
    if ours != theirs_value {
        return Err(
            "customer_service settings differ from the cluster's: every node needs the same".into(),
        );
    }
    Ok(switchboard_cluster::log::parse_seq(&theirs_seed.value))
}

/// Joins the cluster and runs this node's part: the tail into the engine,
/// and leadership when won. Returns the membership (to leave on shutdown).
pub async fn run(
    log: Log,
    settings: &ClusterSettings,
    engine: Engine,
    applied: u64,
) -> Result<Arc<Handle>, String> {
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
    tokio::spawn(lead_when_elected(log, engine, joined.role));
    Ok(handle)
}

/// Follows the membership's role: on winning, catches up to the log's head
/// and leads; on losing (or after a refused append, while still elected),
/// steps down and, if still elected, catches up and leads again.
async fn lead_when_elected(log: Log, engine: Engine, mut role: tokio::sync::watch::Receiver<Role>) {
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

/// Waits until the engine has applied the whole log, then hands it the
/// appender.
async fn take_over(
    log: &Log,
    engine: &Engine,
    term: Term,
    refused: Arc<Notify>,
) -> Result<(), String> {
    let head = log.head().await.map_err(|e| e.to_string())?;
    loop {
        let applied = engine
            .read(Box::new(|_, stats| {
                switchboard_app::Answer::ok(stats.applied_log)
            }))
            .await;
        let applied: u64 = serde_json::from_str(applied.body()).unwrap_or(0);
        if applied >= head {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
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
