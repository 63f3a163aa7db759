//! The bot front desk: a workgroup's bot answers its visitors first, and a
//! transfer controller decides when a human must take over (the seed's
//! `bot-to-agent-transfer-middleware`). The dialog state, the triggers and
//! their timers, and every handoff decision live here, on the core's clock,
//! so a journal replays them exactly; the external bot's HTTP call is an
//! adapter whose answer (or silence) comes back as a command.

mod desk;
mod dialog;
mod emotion;
mod flow;
mod settings;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use desk::{
    BotChat, BotCounters, BotOutcome, BotPhase, BotStats, Cause, Decision, HandoffContext,
    Histogram, Line, Parts, Voice, BUCKETS_MS, DECISIONS_MAX, TRANSCRIPT_MAX,
};
pub use dialog::{Action, Dialog, Node, Route};
pub use emotion::{Lexicon, Sentiment};
pub use settings::{BotFormat, BotKind, BotSettings, Handoff, Triggers, Weight, Weights};

use crate::limits::{check_text, NAME_MAX, TEXT_MAX};
use crate::CoreError;

/// What came back from the bot adapter for one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BotAnswer {
    /// The external bot answered.
    Said {
        /// What it says to the visitor, in order.
        #[serde(default)]
        messages: Vec<BotMessage>,
        /// It asks for a human.
        #[serde(default)]
        handoff: Option<HandoffAsk>,
        /// It considers the visitor's question answered.
        #[serde(default)]
        resolve: bool,
    },
    /// A business action finished.
    Action {
        /// Whether it succeeded.
        ok: bool,
        /// What it returned, as fields for the dialog.
        #[serde(default)]
        fields: BTreeMap<String, String>,
    },
    /// The external bot failed: unreachable, an error status, an unreadable answer.
    Failed {
        /// What went wrong, for the log.
        error: String,
    },
}

/// One message of the bot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotMessage {
    /// The text.
    pub text: String,
    /// Quick options (buttons).
    #[serde(default)]
    pub options: Vec<String>,
}

/// An external bot's request for a human, with what it learnt.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffAsk {
    /// Its reason, in its words.
    #[serde(default)]
    pub reason: Option<String>,
    /// Fields it collected.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Intents it detected.
    #[serde(default)]
    pub intents: Vec<String>,
}

/// What the visitor is told about a handoff; the pages word it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// "Connecting you to an agent…"
    Transferring,
    /// "All agents are busy; trying again shortly."
    Retrying,
    /// "Nobody could take you now: leave a message."
    Fallback,
    /// "Your message was passed on."
    TicketSaved,
    /// "OK, carrying on with the bot."
    Resumed,
}

const MESSAGES_MAX: usize = 16;

impl BotAnswer {
    /// Bounds on what an adapter may hand in.
    pub(crate) fn validate(&self) -> Result<(), CoreError> {
        let fields = |f: &BTreeMap<String, String>| {
            if f.len() > 64 {
                return Err(CoreError::InvalidInput {
                    field: "fields",
                    reason: "are at most 64",
                });
            }
            f.iter().try_for_each(|(k, v)| {
                check_text("fields", Some(k), true, NAME_MAX)?;
                check_text("fields", Some(v), false, TEXT_MAX)
            })
        };
        match self {
            BotAnswer::Said {
                messages, handoff, ..
            } => {
                if messages.len() > MESSAGES_MAX {
                    return Err(CoreError::InvalidInput {
                        field: "messages",
                        reason: "are at most 16",
                    });
                }
                for m in messages {
                    check_text("text", Some(&m.text), true, TEXT_MAX)?;
                    if m.options.len() > 16 {
                        return Err(CoreError::InvalidInput {
                            field: "options",
                            reason: "are at most 16",
                        });
                    }
                    for o in &m.options {
                        check_text("options", Some(o), true, NAME_MAX)?;
                    }
                }
                if let Some(h) = handoff {
                    check_text("reason", h.reason.as_deref(), false, TEXT_MAX)?;
                    fields(&h.fields)?;
                    if h.intents.len() > 16 {
                        return Err(CoreError::InvalidInput {
                            field: "intents",
                            reason: "are at most 16",
                        });
                    }
                    for i in &h.intents {
                        check_text("intents", Some(i), true, NAME_MAX)?;
                    }
                }
                Ok(())
            }
            BotAnswer::Action { fields: f, .. } => fields(f),
            BotAnswer::Failed { error } => check_text("error", Some(error), false, TEXT_MAX),
        }
    }
}
