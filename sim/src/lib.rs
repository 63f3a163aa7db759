//! # switchboard-sim
//!
//! Runs a whole contact center for days of virtual time in seconds, over the
//! real `switchboard-core` (no re-implementation of its rules), and answers
//! the first question a support manager asks: how many agents do I need?
//!
//! - [`des`]: the discrete-event simulation.
//! - [`erlang`]: Erlang C and Erlang A (the core's, re-exported).
//! - [`staff`]: the capacity planner, analytic and simulated side by side.
//! - [`scenario`]: scenario files, and the report's summary and plots.
//! - [`journal`]: a run written as a real journal.
//! - [`whatif`]: a journal's real traffic replayed with other settings.
//! - [`net`]: the real server adapters over a simulated network with faults.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod des;
pub mod dist;
pub mod journal;
pub use switchboard_core::erlang;
pub mod net;
pub mod scenario;
pub mod staff;
pub mod whatif;
