//! The engine's place in a cluster. A single server journals its turns
//! itself; in a cluster one node leads and appends each turn to the
//! replicated log (through a [`Replicator`], which the cluster crate
//! implements) before anything is answered, and the others follow: they
//! take no commands and apply the log's entries as they come.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use switchboard_core::Recipient;
use switchboard_store::Turn;

/// Appends a turn to the replicated log, fenced: `after` is the last entry
/// this node applied, and the append holds only if it is still the head
/// and this node still leads.
pub trait Replicator: Send + Sync {
    /// The entry's sequence, or why it was not appended (the engine then
    /// answers the turn's requests with 503 and steps down).
    fn append(&self, after: u64, entry: Vec<u8>) -> Appending<'_>;
}

/// What [`Replicator::append`] returns.
pub type Appending<'a> = Pin<Box<dyn Future<Output = Result<u64, String>> + Send + 'a>>;

/// What the engine is.
#[derive(Clone)]
pub(crate) enum Role {
    /// Not in a cluster: the journal is the record.
    Single,
    /// Applies the log; refuses commands.
    Follower,
    /// Appends each turn to the log.
    Leader(Arc<dyn Replicator>),
}

impl Role {
    /// `single`, `follower` or `leader`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Role::Single => "single",
            Role::Follower => "follower",
            Role::Leader(_) => "leader",
        }
    }
}

/// One entry of the log: a turn's durable writes, and the frames the
/// leader sent that no event makes (chat messages, typing, notifications),
/// so that each follower sends them to its own connections.
#[derive(Serialize, Deserialize)]
pub(crate) struct Entry {
    #[serde(flatten)]
    pub(crate) turn: Turn,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) frames: Vec<(Recipient, String)>,
}
