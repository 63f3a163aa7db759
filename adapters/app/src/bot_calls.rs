//! The bot calls a turn asks for: what the bot hears, built from the state
//! the core's `bot_ask` or `bot_action` event was emitted in. The engine
//! leaves them in an [`Inbox`] once the turn is committed; the outbound
//! runner (`switchboard-outbound`) makes the requests and hands each answer
//! back as a `BotReply` command.
//!
//! Two wire formats for the external bot:
//! - **native**: `POST {session_id, visitor_id, workgroup_id, turn, text,
//!   context}` signed like our webhooks;
//! - **rasa**: Rasa's REST channel, `POST {sender, message, metadata}`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use switchboard_core::bot::{BotFormat, BotKind, BotSettings};
use switchboard_core::{Center, EventKind, SessionId};
use tokio::sync::mpsc;

/// Grace beyond the core's timeout before the adapter gives up on a request.
const GRACE: Duration = Duration::from_millis(500);

/// One request to make.
#[derive(Debug)]
pub struct BotCall {
    /// The session the bot serves.
    pub session_id: SessionId,
    /// The core's turn number, handed back with the answer.
    pub turn: u32,
    /// How long the answer is worth waiting for.
    pub timeout: Duration,
    /// What to send.
    pub request: Request,
}

/// A request to the bot or to a business system.
#[derive(Debug)]
pub enum Request {
    /// The external bot, with the visitor's words.
    Ask {
        /// Where.
        url: String,
        /// Signs the request when set.
        secret: Option<String>,
        /// The wire format.
        format: BotFormat,
        /// The body, in that format.
        body: Value,
    },
    /// A business action.
    Action {
        /// Where, with the fields filled in.
        url: String,
        /// The fields as a JSON body (POST), or none (GET).
        post: Option<Value>,
    },
}

/// Where the engine leaves bot calls, until the outbound runner takes them.
pub type Inbox = Arc<Mutex<Option<mpsc::UnboundedReceiver<BotCall>>>>;

/// The request a core event asks for, built from the state it was emitted
/// in; None if the event is not for the bot adapter.
pub(crate) fn call_for(center: &Center, event: &EventKind) -> Option<BotCall> {
    let (session_id, workgroup_id, turn) = match event {
        EventKind::BotAsk {
            session_id,
            workgroup_id,
            turn,
            ..
        }
        | EventKind::BotAction {
            session_id,
            workgroup_id,
            turn,
            ..
        } => (session_id, workgroup_id, *turn),
        _ => return None,
    };
    let settings: &BotSettings = center
        .workgroup(workgroup_id.as_str())?
        .settings
        .bot
        .as_ref()?;
    let session = center.session(session_id.as_str())?;
    let timeout = Duration::from_millis(settings.triggers.bot_timeout_ms.into()) + GRACE;
    let request = match (event, &settings.bot) {
        (
            EventKind::BotAsk { text, .. },
            BotKind::Webhook {
                url,
                secret,
                format,
            },
        ) => {
            let body = match format {
                BotFormat::Native => json!({
                    "session_id": session_id,
                    "visitor_id": session.customer_id,
                    "workgroup_id": workgroup_id,
                    "turn": turn,
                    "text": text,
                    "context": session.bot.as_ref().map(|b| json!({
                        "rounds": b.rounds,
                        "emotion": b.emotion,
                        "intents": b.intents,
                        "fields": b.fields,
                        "transcript": b.transcript,
                    })),
                }),
                BotFormat::Rasa => json!({
                    "sender": session.customer_id,
                    "message": text,
                    "metadata": { "session_id": session_id, "workgroup_id": workgroup_id },
                }),
            };
            Request::Ask {
                url: url.clone(),
                secret: secret.clone(),
                format: *format,
                body,
            }
        }
        (EventKind::BotAction { action, fields, .. }, BotKind::Rules { dialog }) => {
            let spec = dialog.actions.get(action)?;
            let mut url = spec.url.clone();
            for (k, v) in fields {
                url = url.replace(&format!("{{{k}}}"), &encode(v));
            }
            Request::Action {
                url,
                post: (spec.method == "POST").then(|| json!(fields)),
            }
        }
        _ => return None,
    };
    Some(BotCall {
        session_id: session_id.clone(),
        turn,
        timeout,
        request,
    })
}

/// Percent-encodes a field for a URL path or query.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_percent_encoded_in_action_urls() {
        assert_eq!(encode("订单 1/2"), "%E8%AE%A2%E5%8D%95%201%2F2");
    }
}
