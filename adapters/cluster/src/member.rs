//! A node's membership: registered under its id with a lease of its own, it
//! campaigns for the `leader` key (created only if absent, attached to the
//! lease), keeps the lease alive, and says through a watch channel whether it
//! leads. A lease that lapses (the node paused, partitioned or dead) deletes
//! its keys, so the others campaign; the lapsed node's next append is
//! refused by the log's fence, whatever it believes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::etcd::{prefix_end, Compare, EtcdError, Op};
use crate::log::{leader_name, parse_seq, Log, Term};

/// Who a node is and how long its lease lasts.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Unique among the live nodes.
    pub node: String,
    /// The URL the other nodes and clients reach it at.
    pub advertise: String,
    /// Seconds a lease outlives its last renewal: how long a dead leader
    /// holds the log before another takes over.
    pub ttl_secs: i64,
}

/// The node that leads, as the others see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leader {
    /// Its id.
    pub node: String,
    /// Its advertised URL.
    pub url: String,
}

/// What this node is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Applies the log; `leader` leads (None: an election is under way, or
    /// this node cannot reach etcd).
    Follower {
        /// The leader, if known.
        leader: Option<Leader>,
    },
    /// Appends to the log under this term.
    Leader(Term),
}

/// Why a node could not join.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// etcd is older than the 3.4 this was built and tested against.
    #[error("etcd {0} is older than 3.4")]
    TooOld(String),
    /// Another live node has this id.
    #[error("node id {0:?} is already alive in this cluster (at {1})")]
    Duplicate(String, String),
    /// etcd failed.
    #[error(transparent)]
    Etcd(#[from] EtcdError),
}

/// A joined node: its role, and how to leave.
pub struct Joined {
    /// The role now, and every change.
    pub role: watch::Receiver<Role>,
    /// Controls of the running membership.
    pub handle: Arc<Handle>,
}

/// Controls of a running membership.
#[derive(Default)]
pub struct Handle {
    leave: Notify,
    left: Notify,
    applied: AtomicU64,
}

impl Handle {
    /// Leaves the cluster: the lease is revoked, so if this node led,
    /// another takes over at once rather than after the lease's TTL.
    /// Returns once the lease is gone (or etcd could not be told).
    pub async fn leave(&self) {
        let left = self.left.notified();
        self.leave.notify_one();
        left.await;
    }

    /// How far this node has applied the log (reported to the others).
    pub fn applied(&self, seq: u64) {
        self.applied.store(seq, Ordering::Relaxed);
    }
}

/// How often a follower looks for a vacant `leader` key.
const POLL: Duration = Duration::from_millis(250);

/// Registers `settings.node` and starts campaigning.
pub async fn join(log: Log, settings: Settings) -> Result<Joined, JoinError> {
    let version = log.etcd().version().await?;
    if !at_least_3_4(&version) {
        return Err(JoinError::TooOld(version));
    }
    // A node restarted after a crash finds its previous lease still alive
    // for up to a TTL: wait that out before calling the id taken.
    let patience = Instant::now() + Duration::from_secs(settings.ttl_secs.max(1) as u64 * 2);
    let lease = loop {
        match register(&log, &settings).await {
            Err(JoinError::Duplicate(..)) if Instant::now() < patience => {
                tokio::time::sleep(POLL).await;
            }
            other => break other?,
        }
    };
    let (tx, role) = watch::channel(Role::Follower { leader: None });
    let handle = Arc::new(Handle::default());
    tokio::spawn(campaign(log, settings, lease, tx, handle.clone()));
    Ok(Joined { role, handle })
}

/// A new lease, and the node's key on it (refused if another holds the id).
async fn register(log: &Log, s: &Settings) -> Result<i64, JoinError> {
    let lease = log.etcd().grant(s.ttl_secs).await?;
    let key = log.keys().node(&s.node);
    let outcome = log
        .etcd()
        .txn(
            &[Compare::Created(key.clone(), 0)],
            &[Op::Put(
                key.clone(),
                s.advertise.clone().into_bytes(),
                lease,
            )],
            &[Op::Get(key)],
        )
        .await?;
    if !outcome.succeeded {
        let _ = log.etcd().revoke(lease).await;
        let at = outcome.read.into_iter().flatten().next();
        let url = at.map(|kv| String::from_utf8_lossy(&kv.value).into_owned());
        return Err(JoinError::Duplicate(
            s.node.clone(),
            url.unwrap_or_default(),
        ));
    }
    Ok(lease)
}

async fn campaign(
    log: Log,
    s: Settings,
    mut lease: i64,
    role: watch::Sender<Role>,
    handle: Arc<Handle>,
) {
    let renew = Duration::from_millis((s.ttl_secs.max(1) as u64) * 1000 / 3);
    let ttl = Duration::from_secs(s.ttl_secs.max(1) as u64);
    let mut renewed = Instant::now();
    let mut next_renewal = Instant::now() + renew;
    let mut reported = u64::MAX;
    let leader_key = log.keys().leader();
    let me = format!("{} {}", s.node, s.advertise);
    loop {
        // Campaign, or learn who leads.
        let leading = matches!(*role.borrow(), Role::Leader(_));
        if !leading {
            let outcome = log
                .etcd()
                .txn(
                    &[Compare::Created(leader_key.clone(), 0)],
                    &[Op::Put(leader_key.clone(), me.clone().into_bytes(), lease)],
                    &[Op::Get(leader_key.clone())],
                )
                .await;
            let next = match outcome {
                Ok(o) if o.succeeded => {
                    tracing::info!(node = %s.node, term = o.revision, "elected leader");
                    Role::Leader(Term {
                        node: s.node.clone(),
                        revision: o.revision,
                    })
                }
                // Still ours (this node stepped down while etcd was out of
                // reach, and its lease outlived that): the same term.
                Ok(o) if o.read.iter().flatten().any(|kv| kv.lease == lease) => {
                    let revision = o.read.iter().flatten().map(|kv| kv.create_revision).sum();
                    tracing::info!(node = %s.node, term = revision, "leading again");
                    Role::Leader(Term {
                        node: s.node.clone(),
                        revision,
                    })
                }
                Ok(o) => Role::Follower {
                    leader: o.read.into_iter().flatten().next().map(|kv| {
                        let text = String::from_utf8_lossy(&kv.value).into_owned();
                        Leader {
                            node: leader_name(&kv.value),
                            url: text.split(' ').nth(1).unwrap_or_default().to_owned(),
                        }
                    }),
                },
                Err(_) => Role::Follower { leader: None },
            };
            role.send_if_modified(|r| {
                let changed = *r != next;
                *r = next;
                changed
            });
        }
        tokio::select! {
            () = handle.leave.notified() => {
                let _ = log.etcd().revoke(lease).await;
                let _ = role.send(Role::Follower { leader: None });
                handle.left.notify_waiters();
                return;
            }
            () = tokio::time::sleep(POLL) => {}
        }
        if Instant::now() < next_renewal {
            continue;
        }
        next_renewal = Instant::now() + renew;
        let applied = handle.applied.load(Ordering::Relaxed);
        if applied != reported {
            let key = log.keys().applied(&s.node);
            let value = applied.to_string().into_bytes();
            if log
                .etcd()
                .txn(&[], &[Op::Put(key, value, lease)], &[])
                .await
                .is_ok()
            {
                reported = applied;
            }
        }
        match log.etcd().keep_alive(lease).await {
            Ok(left) if left > 0 => renewed = Instant::now(),
            Ok(_) => {
                // The lease lapsed (this node was paused or cut off): its
                // keys are gone. Step down, and come back as a new member.
                tracing::warn!(node = %s.node, "lease lapsed: stepping down");
                let _ = role.send(Role::Follower { leader: None });
                reported = u64::MAX;
                match register(&log, &s).await {
                    Ok(l) => {
                        lease = l;
                        renewed = Instant::now();
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot register again yet"),
                }
            }
            Err(e) => {
                if renewed.elapsed() >= ttl {
                    // Nobody can tell this node it still leads.
                    role.send_if_modified(|r| {
                        let was = matches!(r, Role::Leader(_));
                        if was {
                            tracing::warn!(error = %e, "etcd unreachable past the lease: stepping down");
                            *r = Role::Follower { leader: None };
                        }
                        was
                    });
                }
            }
        }
    }
}

/// Whether an etcd version string is 3.4 or later.
fn at_least_3_4(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) >= (3, 4)
}

/// The cluster as etcd holds it: for `switchboard cluster status`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Status {
    /// The leading node, if any.
    pub leader: Option<String>,
    /// The log's last sequence.
    pub head: u64,
    /// The oldest entry kept (0: none); older ones were trimmed.
    pub first: u64,
    /// Live nodes: id, URL, applied sequence, and lag behind the head.
    pub nodes: Vec<NodeStatus>,
    /// The etcd database size in bytes (as one member reports it).
    pub etcd_db_bytes: i64,
}

/// One live node.
#[derive(Clone, Debug, serde::Serialize)]
pub struct NodeStatus {
    /// Its id.
    pub node: String,
    /// Its advertised URL.
    pub url: String,
    /// How far it reported having applied the log.
    pub applied: u64,
    /// Entries it is behind the head.
    pub lag: u64,
}

/// The least entry any live node reports having applied (None: no report).
pub async fn slowest(log: &Log) -> Result<Option<u64>, EtcdError> {
    let keys = log.keys();
    let (applied, _) = log
        .etcd()
        .range(
            &keys.applied_all(),
            Some(&prefix_end(&keys.applied_all())),
            0,
        )
        .await?;
    Ok(applied.iter().map(|kv| parse_seq(&kv.value)).min())
}

/// Reads the cluster's status from etcd.
pub async fn status(log: &Log) -> Result<Status, EtcdError> {
    let etcd = log.etcd();
    let keys = log.keys();
    let head = log.head().await?;
    let leader = etcd
        .get(&keys.leader())
        .await?
        .map(|kv| leader_name(&kv.value));
    let (nodes, _) = etcd
        .range(&keys.nodes(), Some(&prefix_end(&keys.nodes())), 0)
        .await?;
    let (applied, _) = etcd
        .range(
            &keys.applied_all(),
            Some(&prefix_end(&keys.applied_all())),
            0,
        )
        .await?;
    let nodes = nodes
        .into_iter()
        .map(|kv| {
            let node = keys.id_of(&kv.key).to_owned();
            let applied = applied
                .iter()
                .find(|a| keys.id_of(&a.key) == node)
                .map_or(0, |a| parse_seq(&a.value));
            NodeStatus {
                url: String::from_utf8_lossy(&kv.value).into_owned(),
                lag: head.saturating_sub(applied),
                node,
                applied,
            }
        })
        .collect();
    Ok(Status {
        leader,
        head,
        first: log.first().await?.unwrap_or(0),
        nodes,
        etcd_db_bytes: etcd.db_size().await?,
    })
}

#[cfg(test)]
mod tests {
    use super::at_least_3_4;

    #[test]
    fn versions_before_3_4_are_refused() {
        assert!(at_least_3_4("3.4.23"));
        assert!(at_least_3_4("3.5.0"));
        assert!(at_least_3_4("4.0.0"));
        assert!(!at_least_3_4("3.3.25"));
        assert!(!at_least_3_4("2.3.8"));
        assert!(!at_least_3_4("garbage"));
    }
}
