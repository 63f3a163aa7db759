//! Text chat: a conversation per session (the in-call panel, or a chat-only
//! session), direct messages between agents and a channel per workgroup.
//!
//! Who may speak where is the core's decision; sequence numbers, idempotent
//! retries, watermarks and typing are kept on the engine thread
//! ([`switchboard_app::chat`]), and message bodies go to the
//! store in the same transaction as the turn's journal records. A message is
//! acknowledged, and delivered to the other side, only once it is on disk.
//!
//! The same operations ([`Op`]) arrive from three transports: `chat_*` frames
//! on the `/room` WebSocket ([`frames`]), the HTTP routes ([`routes`]) and
//! socket.io ([`crate::socketio`]).

pub(crate) mod files;
pub(crate) mod frames;
pub(crate) mod routes;

pub(crate) use switchboard_app::chat::*;
