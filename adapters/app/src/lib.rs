//! # switchboard-app
//!
//! The application layer between the transports and the core: an [`Engine`]
//! thread that alone owns the center, the journal and the connections' hub,
//! and applies each turn's commands, commits them, and only then tells its
//! listeners. No web framework, no sockets: the HTTP crate carries requests
//! in and answers out; the outbound crate makes the calls a turn asks for.
//!
//! What follows each commit:
//! - in the turn (same transaction): webhook outbox rows ([`hooks`]), chat
//!   messages and their system notes ([`chat`]);
//! - after the commit: answers, hub delivery, the media plane
//!   ([`engine::CallObserver`]) and bot calls ([`bot_calls`]).

#![allow(
    clippy::result_large_err,
    reason = "a refusal is the Answer the transport sends: it is moved once, on the error path"
)]

pub mod answer;
pub mod bot_calls;
pub mod chat;
pub mod clock;
pub mod engine;
pub mod hooks;
pub mod hub;
pub mod replica;
pub mod views;

pub use answer::{Answer, AnswerExt};
pub use clock::SystemClock;
pub use engine::{Engine, EngineSettings, EngineStats, Running};
