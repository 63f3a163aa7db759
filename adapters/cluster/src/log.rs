//! The ordered log in etcd: `log/{seq}` entries and a `head` key naming the
//! last one. An append is one transaction that holds only while its writer
//! still leads (the `leader` key was created by its campaign and still
//! exists, which its lease guarantees) and the head is the one it last
//! saw; a deposed or lagging writer's append fails, whatever its clock says.

use std::sync::Arc;

use crate::etcd::{prefix_end, Compare, Etcd, EtcdError, Op};
use crate::keys::Keys;

/// The right to append: a leadership won by `node`, identified by the
/// revision that created the `leader` key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    /// The leading node.
    pub node: String,
    /// The `leader` key's create revision.
    pub revision: i64,
}

/// Why an append did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Someone else leads now, or the log moved on: this writer must step
    /// down and rebuild from the log.
    #[error("fenced: the log's head is {head} and the leader is {leader:?}")]
    Fenced {
        /// The head now.
        head: u64,
        /// Who leads now (None: nobody, an election is under way).
        leader: Option<String>,
    },
    /// etcd could not be asked, and reading back did not show the entry.
    #[error(transparent)]
    Etcd(#[from] EtcdError),
}

/// The log of one cluster.
#[derive(Clone)]
pub struct Log {
    etcd: Arc<Etcd>,
    keys: Keys,
}

impl Log {
    /// The log under `keys` in `etcd`.
    pub fn new(etcd: Arc<Etcd>, keys: Keys) -> Log {
        Log { etcd, keys }
    }

    /// The etcd client underneath.
    pub fn etcd(&self) -> &Arc<Etcd> {
        &self.etcd
    }

    /// The key layout.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The sequence of the last entry (0: empty).
    pub async fn head(&self) -> Result<u64, EtcdError> {
        Ok(self.head_and_revision().await?.0)
    }

    /// The head, and the store revision it was read at.
    pub async fn head_and_revision(&self) -> Result<(u64, i64), EtcdError> {
        let (kvs, revision) = self.etcd.range(&self.keys.head(), None, 1).await?;
        Ok((kvs.first().map_or(0, |kv| parse_seq(&kv.value)), revision))
    }

    /// The sequence of the oldest entry still kept (None: empty). A node
    /// that has applied less than the entry before it starts from a peer's
    /// snapshot.
    pub async fn first(&self) -> Result<Option<u64>, EtcdError> {
        let end = prefix_end(&self.keys.entries());
        let (kvs, _) = self.etcd.range(&self.keys.entries(), Some(&end), 1).await?;
        Ok(kvs.first().and_then(|kv| self.keys.seq_of(&kv.key)))
    }

    /// Up to `max` entries after `after`, in order.
    pub async fn read(&self, after: u64, max: i64) -> Result<Vec<(u64, Vec<u8>)>, EtcdError> {
        let from = self.keys.entry(after + 1);
        let end = prefix_end(&self.keys.entries());
        let (kvs, _) = self.etcd.range(&from, Some(&end), max).await?;
        let mut out = Vec::with_capacity(kvs.len());
        for (expected, kv) in (after + 1..).zip(kvs) {
            let seq = self.keys.seq_of(&kv.key).ok_or_else(|| {
                EtcdError::Bad(format!(
                    "not a log key: {}",
                    String::from_utf8_lossy(&kv.key)
                ))
            })?;
            if seq != expected {
                // Compacted below `after + 1`, or a hole: the caller starts
                // over from a snapshot.
                return Err(EtcdError::Bad(format!(
                    "log entry {expected} is missing (found {seq})"
                )));
            }
            out.push((seq, kv.value));
        }
        Ok(out)
    }

    /// Appends `entry` after `after` as `term`'s leader: its sequence.
    pub async fn append(&self, term: &Term, after: u64, entry: &[u8]) -> Result<u64, AppendError> {
        let seq = after + 1;
        let head = self.keys.head();
        let head_is = if after == 0 {
            Compare::Created(head.clone(), 0)
        } else {
            Compare::Value(head.clone(), after.to_string().into_bytes())
        };
        let compare = [Compare::Created(self.keys.leader(), term.revision), head_is];
        let then = [
            Op::Put(self.keys.entry(seq), entry.to_vec(), 0),
            Op::Put(head.clone(), seq.to_string().into_bytes(), 0),
        ];
        let otherwise = [Op::Get(self.keys.leader()), Op::Get(head)];
        match self.etcd.txn(&compare, &then, &otherwise).await {
            Ok(outcome) if outcome.succeeded => Ok(seq),
            Ok(outcome) => {
                let leader = outcome.read.first().cloned().flatten();
                let head = outcome.read.get(1).cloned().flatten();
                Err(AppendError::Fenced {
                    head: head.map_or(0, |kv| parse_seq(&kv.value)),
                    leader: leader.map(|kv| leader_name(&kv.value)),
                })
            }
            Err(EtcdError::Unavailable { reason, sent: true }) => {
                // The transaction may have committed before its answer was
                // lost: the entry at `seq`, byte for byte, says it did.
                match self.etcd.get(&self.keys.entry(seq)).await {
                    Ok(Some(kv)) if kv.value == entry => Ok(seq),
                    _ => Err(AppendError::Etcd(EtcdError::Unavailable {
                        reason,
                        sent: true,
                    })),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes the entries up to `upto` (a snapshot covers them) and
    /// compacts etcd's history below the current revision.
    pub async fn trim(&self, upto: u64) -> Result<i64, EtcdError> {
        let deleted = self
            .etcd
            .delete(&self.keys.entries(), &self.keys.entry(upto + 1))
            .await?;
        let (_, revision) = self.head_and_revision().await?;
        self.etcd.compact(revision).await?;
        Ok(deleted)
    }
}

/// A sequence number stored as decimal text (0 if unreadable).
pub fn parse_seq(value: &[u8]) -> u64 {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The node named by a `leader` value (`{node} {url}`).
pub fn leader_name(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    text.split(' ').next().unwrap_or_default().to_owned()
}
