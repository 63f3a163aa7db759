//! A workgroup's front desk, as configured: which bot answers, what makes it
//! hand over, and how the handoff runs. Every number has the seed's default.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::dialog::Dialog;
use crate::limits::{check_text, NAME_MAX};
use crate::CoreError;

/// A weight or score in hundredths, written as a decimal (`0.4`) in the
/// configuration; integral so that settings compare exactly and replay alike.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Weight(pub u16);

impl Weight {
    /// The decimal it stands for.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

impl Serialize for Weight {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Weight {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if !(0.0..=100.0).contains(&v) {
            return Err(serde::de::Error::custom("a weight is from 0 to 100"));
        }
        Ok(Weight((v * 100.0).round() as u16))
    }
}

/// A workgroup's bot: it answers visitors first and hands over to a human.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotSettings {
    /// Who answers.
    pub bot: BotKind,
    /// Whether chat sessions meet the bot first.
    #[serde(default = "yes")]
    pub chat: bool,
    /// Whether call sessions meet the bot (in the text panel) before they queue.
    #[serde(default)]
    pub video: bool,
    /// What makes the bot hand over.
    #[serde(default)]
    pub triggers: Triggers,
    /// How a handoff runs.
    #[serde(default)]
    pub handoff: Handoff,
}

fn yes() -> bool {
    true
}

/// The two kinds of bot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BotKind {
    /// The built-in rule bot, answering from a dialog tree.
    Rules {
        /// The tree.
        dialog: Dialog,
    },
    /// An external bot, called over HTTP with each visitor message.
    Webhook {
        /// Where the visitor's messages are POSTed.
        url: String,
        /// HMAC-SHA256 key for the `X-Switchboard-Signature` header; never shown.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
        /// The request and answer format.
        #[serde(default)]
        format: BotFormat,
    },
}

/// How an external bot is spoken to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BotFormat {
    /// Switchboard's own: session, text and context in; messages and an
    /// optional action (`handoff`, `resolve`) out.
    #[default]
    Native,
    /// Rasa's REST channel (`/webhooks/rest/webhook`): `{sender, message}`
    /// in, `[{recipient_id, text, buttons}]` out; a `custom` payload of
    /// `{"handoff": true, "reason": …}` hands over, as Rasa's human-handoff does.
    Rasa,
}

/// The transfer triggers of the seed. Explicit requests (an explicit
/// keyword, the escalate button or intent, the bot asking) hand over at
/// once; the others each add their weight to a score, and the bot hands
/// over when the score reaches `threshold`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Triggers {
    /// Words that hand over at once (matched case-insensitively anywhere).
    pub explicit_keywords: Vec<String>,
    /// Words that add the `keyword` weight (a complaint, a refund).
    pub keywords: Vec<String>,
    /// Dialog rounds (visitor messages) above which `rounds` counts.
    pub rounds_max: u32,
    /// Seconds of visitor silence after the bot spoke at which `silence` counts.
    pub silence_secs: u32,
    /// Milliseconds the bot (or its business action) may take to answer.
    pub bot_timeout_ms: u32,
    /// Business-action failures at which `action_failures` counts.
    pub action_failures_max: u32,
    /// Negativity (0 to 100, from the sentiment scorer) at which `emotion` counts.
    pub emotion_threshold: u8,
    /// Each trigger's weight.
    pub weights: Weights,
    /// The score at which the bot hands over.
    pub threshold: Weight,
}

impl Default for Triggers {
    fn default() -> Self {
        let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect();
        Triggers {
            explicit_keywords: words(&["转人工", "人工", "human", "agent", "real person"]),
            keywords: words(&["投诉", "退款", "complaint", "complain", "refund"]),
            rounds_max: 5,
            silence_secs: 15,
            bot_timeout_ms: 3000,
            action_failures_max: 3,
            emotion_threshold: 50,
            weights: Weights::default(),
            threshold: Weight(100),
        }
    }
}

/// The weighted triggers' weights (the seed's example: emotion 0.4, rounds
/// 0.3, keyword 0.3, which together reach the threshold of 1.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Weights {
    /// Negative emotion at or above `emotion_threshold`.
    pub emotion: Weight,
    /// More than `rounds_max` rounds.
    pub rounds: Weight,
    /// A weighted keyword said.
    pub keyword: Weight,
    /// The visitor silent for `silence_secs`.
    pub silence: Weight,
    /// The bot not answering within `bot_timeout_ms`.
    pub bot_timeout: Weight,
    /// `action_failures_max` business actions failed.
    pub action_failures: Weight,
    /// An agent of the group is Ready now.
    pub availability: Weight,
}

impl Weights {
    /// Each trigger by name, with its weight.
    fn named(&self) -> [(&'static str, Weight); 7] {
        [
            ("emotion", self.emotion),
            ("rounds", self.rounds),
            ("keyword", self.keyword),
            ("silence", self.silence),
            ("bot_timeout", self.bot_timeout),
            ("action_failures", self.action_failures),
            ("availability", self.availability),
        ]
    }

    /// The sum: a decision's score, when these are its parts.
    pub fn score(&self) -> Weight {
        Weight(
            self.named()
                .iter()
                .map(|(_, w)| w.0)
                .fold(0u16, u16::saturating_add),
        )
    }

    /// The names of the triggers with a weight: those that fired, when
    /// these are a decision's parts.
    pub fn fired(&self) -> impl Iterator<Item = &'static str> {
        self.named()
            .into_iter()
            .filter(|(_, w)| w.0 > 0)
            .map(|(n, _)| n)
    }
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            emotion: Weight(40),
            rounds: Weight(30),
            keyword: Weight(30),
            silence: Weight(100),
            bot_timeout: Weight(100),
            action_failures: Weight(100),
            availability: Weight(0),
        }
    }
}

/// How a handoff runs once decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Handoff {
    /// Seconds an attempt waits for an agent to answer before the bot takes
    /// the visitor back.
    pub attempt_secs: u32,
    /// Seconds between a failed attempt and the next.
    pub retry_secs: u32,
    /// Attempts before the fallback (leave a message).
    pub attempts_max: u32,
    /// Negativity at or above which the visitor's priority is raised
    /// (0: never).
    pub emotion_priority_threshold: u8,
    /// How much it is raised (capped at 9).
    pub emotion_priority_boost: u8,
}

impl Default for Handoff {
    fn default() -> Self {
        Handoff {
            attempt_secs: 60,
            retry_secs: 20,
            attempts_max: 3,
            emotion_priority_threshold: 70,
            emotion_priority_boost: 2,
        }
    }
}

const WORDS_MAX: usize = 64;

impl BotSettings {
    /// Whether sessions of `channel` meet the bot.
    pub(crate) fn fronts(&self, channel: crate::Channel) -> bool {
        match channel {
            crate::Channel::Chat => self.chat,
            crate::Channel::Video => self.video,
        }
    }

    /// Checks the settings as a whole: bounds, words and the dialog tree.
    pub(crate) fn validate(&self) -> Result<(), CoreError> {
        let invalid = |field, reason| Err(CoreError::InvalidInput { field, reason });
        let t = &self.triggers;
        for (field, words) in [
            ("explicit_keywords", &t.explicit_keywords),
            ("keywords", &t.keywords),
        ] {
            if words.len() > WORDS_MAX {
                return invalid(field, "has more than 64 words");
            }
            if words
                .iter()
                .any(|w| w.trim().is_empty() || w.len() > NAME_MAX)
            {
                return invalid(field, "holds an empty or too long word");
            }
        }
        if !(1..=3600).contains(&t.silence_secs) {
            return invalid("silence_secs", "must be from 1 to 3600");
        }
        if !(100..=60_000).contains(&t.bot_timeout_ms) {
            return invalid("bot_timeout_ms", "must be from 100 to 60000");
        }
        if t.rounds_max == 0 || t.action_failures_max == 0 {
            return invalid(
                "rounds_max",
                "rounds_max and action_failures_max must be at least 1",
            );
        }
        if t.emotion_threshold > 100 || self.handoff.emotion_priority_threshold > 100 {
            return invalid("emotion_threshold", "must be from 0 to 100");
        }
        if t.threshold.0 == 0 {
            return invalid("threshold", "must be above 0");
        }
        let h = &self.handoff;
        if !(1..=3600).contains(&h.attempt_secs) || !(1..=3600).contains(&h.retry_secs) {
            return invalid("attempt_secs", "attempt_secs and retry_secs are 1 to 3600");
        }
        if !(1..=10).contains(&h.attempts_max) {
            return invalid("attempts_max", "must be from 1 to 10");
        }
        if !self.chat && !self.video {
            return invalid("chat", "a bot must front chat, video or both");
        }
        match &self.bot {
            BotKind::Rules { dialog } => dialog.validate(),
            BotKind::Webhook { url, secret, .. } => {
                check_text("url", Some(url), true, 2048)?;
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return invalid("url", "must be an http or https URL");
                }
                check_text("secret", secret.as_deref(), false, NAME_MAX)
            }
        }
    }
}
