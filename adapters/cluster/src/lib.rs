//! # switchboard-cluster
//!
//! The replicated control plane (`DESIGN.md`, "Where it goes past one
//! machine"): one ordered log in etcd, one writer at a time, fenced; every
//! node applies the log to its own center. This crate holds the etcd side
//! only and knows nothing of the engine: an entry is bytes, a role is
//! leader or follower. The binary joins the two.
//!
//! - [`etcd`]: a client of etcd's HTTP/JSON gateway.
//! - [`log`]: fenced appends and ordered reads.
//! - [`member`]: registration, leadership by lease, status.
//! - [`tail`]: following the log as it grows.
//! - [`testing`]: a real three-member etcd on loopback, for tests.

pub mod etcd;
mod keys;
pub mod log;
pub mod member;
pub mod tail;
pub mod testing;

pub use etcd::{Etcd, EtcdError};
pub use keys::Keys;
pub use log::{AppendError, Log, Term};
pub use member::{join, status, Joined, Leader, Role, Settings, Status};
pub use tail::tail;
