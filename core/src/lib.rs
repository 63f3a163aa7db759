//! # switchboard-core
//!
//! The pure heart of Switchboard, an open-source contact center: sessions,
//! agents, the visitor queue, two-phase ringing, routing, transfer and
//! ratings, as deterministic state machines. No I/O, no threads, no clock:
//! time is an input and randomness comes from a seed.
//!
//! The run loop, in the style of str0m and quinn-proto:
//!
//! ```
//! use switchboard_core::{Center, Channel, Command, Config, Media, Timestamp};
//!
//! let mut center = Center::new(Config::default(), 42).unwrap();
//! let t0 = Timestamp::from_millis(1_700_000_000_000);
//!
//! center.apply(t0, Command::RegisterAgent { agent_id: "agent_001".into(), agent_name: None })?;
//! let reply = center.apply(t0, Command::JoinQueue {
//!     visitor_id: "cust_001".into(),
//!     visitor_name: Some("Zhang San".into()),
//!     preferred_skill: None,
//!     priority: 0,
//!     channel: Channel::Video,
//!     question: None,
//! })?;
//! // A Ready agent existed, so the visitor skipped the queue and the agent is ringing.
//! assert!(matches!(reply, switchboard_core::Reply::Assigned { .. }));
//!
//! // Deliver what happened: `incoming_call` to the agent, `agent_assignment` to the visitor.
//! while let Some(event) = center.poll_event() {
//!     println!("{:?} <- {:?}", event.to, event.event);
//! }
//!
//! // Nobody answers: at the ring deadline the offer lapses and the visitor is re-queued,
//! // then (the agent being Ready again) rung straight back through.
//! let deadline = center.poll_timeout().unwrap();
//! center.handle_timeout(deadline);
//! center.apply(deadline, Command::AcceptCall { agent_id: "agent_001".into(), media: Media::Video })?;
//! assert_eq!(center.stats().sessions.active, 1);
//! # Ok::<(), switchboard_core::CoreError>(())
//! ```
//!
//! Each concept lives in its own module: [`Session`] (`session.rs`),
//! [`Agent`] (`agent.rs`), the queue (`queue.rs`), ringing and dispatch
//! (`ring.rs`), transfer (`transfer.rs`), [`routing`], statistics
//! ([`Stats`], `stats.rs`) and time ([`Clock`], [`Timestamp`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod agent;
pub mod bot;
mod center;
mod chat;
mod clock;
mod command;
mod config;
pub mod erlang;
mod error;
mod event;
#[cfg(feature = "fault-injection")]
mod fault;
mod forecast;
mod ids;
mod invariants;
mod limits;
mod prng;
mod queue;
mod ring;
pub mod routing;
mod session;
mod stats;
mod time;
mod timers;
mod transfer;
mod workgroup;

pub use agent::{
    Agent, AgentCallStats, AgentState, Away, Call, Resume, ResumeReason, CONCURRENT_MAX,
    NO_ANSWER_REASON,
};
pub use center::{Center, RestoreError, Snapshot, SnapshotRef, VisitorStatus};
pub use chat::{Channel, ChatAccess, ChatRefusal, Chatter, Closer, Speaker};
pub use clock::{Clock, ManualClock};
pub use command::{Command, Media, Party, Reply};
pub use config::{Config, ConfigError, NOT_READY_REASONS_MAX};
pub use error::{CoreError, ErrorKind};
pub use event::{Event, EventKind, Recipient};
#[cfg(feature = "fault-injection")]
pub use fault::Fault;
pub use forecast::{servers_needed, Forecast, HANDLE_MINUTES, RATE_MINUTES, SETTLED_CALLS};
pub use ids::{
    is_name, AgentId, RoomId, SessionId, VisitorId, WorkgroupId, ID_MAX, NAME_PATTERN, ROOM_PREFIX,
};
pub use limits::{too_long, NAME_MAX, TEXT_MAX};
pub use prng::Prng;
pub use session::{AgentPart, Arrival, EndReason, Rating, Session, SessionStatus, PRIORITY_MAX};
pub use stats::{
    AgentCounts, DayCounts, DayTrend, QueueStats, RatingStats, SessionCounts, Stats, Totals,
    WorkgroupStats, TREND_DAYS_MAX,
};
pub use time::Timestamp;
pub use workgroup::{
    joined_workgroup, Membership, Workgroup, WorkgroupCounters, WorkgroupSettings,
    DEFAULT_WORKGROUP, MEMBERSHIPS_MAX, SKILL_LEVEL_MAX, WORKGROUPS_MAX,
};
