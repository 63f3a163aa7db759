//! # switchboard-outbound
//!
//! Everything Switchboard sends to other systems, outside the engine thread
//! and outside the transport: webhook delivery from the outbox, and the bot
//! runner that makes the bot calls a committed turn asked for. Both reach
//! their receivers through [`connect`] (resolve, TLS, HTTP/1.1, signature).

pub mod bots;
pub mod connect;
pub mod webhooks;
