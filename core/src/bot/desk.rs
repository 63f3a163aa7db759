//! The front desk's state per session, and the transfer controller: every
//! input (a visitor's words, the bot's answer, a timer) is weighed, the
//! decision recorded with its score and parts, and a handoff run as attempts
//! through the group's queue until an agent answers or the bot falls back
//! to taking a message.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::dialog::fill;
use super::settings::{BotSettings, Weight, Weights};
use crate::{Timestamp, WorkgroupId};

/// Lines of transcript kept for the handoff context.
pub const TRANSCRIPT_MAX: usize = 50;
/// Decisions kept per conversation (the oldest are dropped).
pub const DECISIONS_MAX: usize = 32;
/// Longest line kept in the transcript, in bytes (longer ones are cut).
const LINE_MAX: usize = 1000;

/// Where a front-desk conversation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BotPhase {
    /// The bot and the visitor are talking.
    Talking,
    /// Handed over: the visitor is queued or being rung.
    HandingOver,
    /// An attempt found no agent; the bot holds the visitor until the next.
    Retrying,
    /// No attempt found an agent: the bot takes a message.
    Fallback,
    /// Over: see the outcome.
    Done,
}

/// How a front-desk conversation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BotOutcome {
    /// The visitor was served by the bot alone.
    Resolved,
    /// An agent answered.
    HandedOver,
    /// No agent could be reached; the visitor was asked to leave a message.
    Fallback,
    /// The visitor went away before any of these.
    Left,
}

/// What prompted a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// A visitor's message, weighed.
    Message,
    /// An explicit keyword (`转人工`, "human"): hands over at once.
    ExplicitKeyword,
    /// The escalate button, or a dialog node that hands over: at once.
    Escalate,
    /// The external bot asked for a human: at once.
    BotHandoff,
    /// The external bot failed (an error or a 5xx): at once.
    BotError,
    /// The visitor stayed silent for `silence_secs`, weighed.
    Silence,
    /// The bot did not answer within `bot_timeout_ms`, weighed.
    BotTimeout,
    /// A business action failed, weighed.
    ActionFailed,
}

impl Cause {
    /// Whether this cause hands over whatever the score.
    pub fn is_explicit(self) -> bool {
        matches!(
            self,
            Cause::ExplicitKeyword | Cause::Escalate | Cause::BotHandoff | Cause::BotError
        )
    }

    /// The name used in metrics and views.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Message => "message",
            Cause::ExplicitKeyword => "explicit_keyword",
            Cause::Escalate => "escalate",
            Cause::BotHandoff => "bot_handoff",
            Cause::BotError => "bot_error",
            Cause::Silence => "silence",
            Cause::BotTimeout => "bot_timeout",
            Cause::ActionFailed => "action_failed",
        }
    }
}

/// Each weighted trigger's contribution to a score: its weight if it
/// fired, else zero (the same shape as the weights themselves).
pub type Parts = Weights;

/// One weighing of the triggers, kept with the conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// When.
    pub at: Timestamp,
    /// What prompted it.
    pub cause: Cause,
    /// The weighted triggers' contributions.
    pub parts: Parts,
    /// Their sum.
    pub score: Weight,
    /// The threshold it was held against.
    pub threshold: Weight,
    /// Whether the bot handed over.
    pub handoff: bool,
}

/// Who said a line of the transcript.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Voice {
    /// The visitor.
    Visitor,
    /// The bot.
    Bot,
}

/// A line of the front-desk conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub from: Voice,
    /// What (cut at 1,000 bytes).
    pub text: String,
}

/// What the bot is waiting for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Awaiting {
    /// The external bot's answer.
    Answer,
    /// A business action's result; the dialog goes on at this node.
    Action { node: String },
}

/// Which front-desk deadline is armed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Due {
    /// The visitor's silence after the bot spoke.
    Silence,
    /// The bot's (or the action's) answer.
    Answer,
    /// The current handoff attempt.
    Attempt,
    /// The next handoff attempt.
    Retry,
}

/// The context a handoff passes to the agent: what the bot learnt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffContext {
    /// Why the bot handed over.
    pub reason: Cause,
    /// The external bot's own words for why, if it gave any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot_reason: Option<String>,
    /// The deciding score and its parts.
    pub score: Weight,
    /// The weighted triggers' contributions.
    pub parts: Parts,
    /// The latest message's negativity, 0 to 100.
    pub emotion: u8,
    /// The highest negativity seen.
    pub peak_emotion: u8,
    /// Visitor messages to the bot.
    pub rounds: u32,
    /// Detected intents, in order.
    pub intents: Vec<String>,
    /// Collected fields (an order number, a lookup's result).
    pub fields: BTreeMap<String, String>,
    /// The conversation with the bot (its last 50 lines).
    pub transcript: Vec<Line>,
    /// Which attempt this is (1 is the first).
    pub attempt: u32,
    /// When the bot decided to hand over.
    pub triggered_at: Timestamp,
}

/// A session's conversation with its workgroup's bot. Read-only outside
/// the core.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotChat {
    /// Where it is.
    pub phase: BotPhase,
    /// How it ended, once it has.
    pub outcome: Option<BotOutcome>,
    /// The rule bot's current node.
    pub node: Option<String>,
    /// Visitor messages so far (since the last refused transfer).
    pub rounds: u32,
    /// The latest message's negativity.
    pub emotion: u8,
    /// The highest negativity (since the last refused transfer).
    pub peak_emotion: u8,
    /// Whether a weighted keyword was said (since the last refused transfer).
    pub keyword: bool,
    /// Business actions failed.
    pub action_failures: u32,
    /// Whether the bot answered the visitor's question.
    pub resolved: bool,
    /// Detected intents, in order.
    pub intents: Vec<String>,
    /// Collected fields.
    pub fields: BTreeMap<String, String>,
    /// The last lines of the conversation.
    pub transcript: VecDeque<Line>,
    /// The latest decisions, oldest first.
    pub decisions: VecDeque<Decision>,
    /// The handoff's context, once decided.
    pub handoff: Option<HandoffContext>,
    /// Handoff attempts made.
    pub attempts: u32,
    /// When the current attempt started, and whether an agent was rung in it.
    pub(crate) attempt_since: Option<(Timestamp, bool)>,
    /// Numbers the requests to the external bot, so a late answer is known.
    pub turn: u32,
    pub(crate) awaiting: Option<Awaiting>,
    pub(crate) due: Option<(Timestamp, Due)>,
    /// The message the visitor left in the fallback.
    pub ticket: Option<String>,
}

impl BotChat {
    pub(crate) fn new() -> Self {
        BotChat {
            phase: BotPhase::Talking,
            outcome: None,
            node: None,
            rounds: 0,
            emotion: 0,
            peak_emotion: 0,
            keyword: false,
            action_failures: 0,
            resolved: false,
            intents: Vec::new(),
            fields: BTreeMap::new(),
            transcript: VecDeque::new(),
            decisions: VecDeque::new(),
            handoff: None,
            attempts: 0,
            attempt_since: None,
            turn: 0,
            awaiting: None,
            due: None,
            ticket: None,
        }
    }

    /// The latest decision.
    pub fn last_decision(&self) -> Option<&Decision> {
        self.decisions.back()
    }

    pub(crate) fn hear(&mut self, at: Timestamp, from: Voice, text: &str) {
        let mut cut = text.len().min(LINE_MAX);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        if self.transcript.len() == TRANSCRIPT_MAX {
            self.transcript.pop_front();
        }
        self.transcript.push_back(Line {
            at,
            from,
            text: text[..cut].to_owned(),
        });
    }

    pub(crate) fn intent(&mut self, intent: &str) {
        if self.intents.len() < 64 {
            self.intents.push(intent.to_owned());
        }
    }

    /// The weighted triggers as they stand, with `cause`'s own.
    pub(crate) fn parts(&self, settings: &BotSettings, cause: Cause, ready: bool) -> Parts {
        let (t, w) = (&settings.triggers, &settings.triggers.weights);
        let on = |fired: bool, weight: Weight| if fired { weight } else { Weight(0) };
        Parts {
            emotion: on(
                self.peak_emotion >= t.emotion_threshold && self.peak_emotion > 0,
                w.emotion,
            ),
            rounds: on(self.rounds > t.rounds_max, w.rounds),
            keyword: on(self.keyword, w.keyword),
            silence: on(cause == Cause::Silence, w.silence),
            bot_timeout: on(cause == Cause::BotTimeout, w.bot_timeout),
            action_failures: on(
                self.action_failures >= t.action_failures_max,
                w.action_failures,
            ),
            availability: on(ready, w.availability),
        }
    }

    /// Records a decision; returns whether it hands over.
    pub(crate) fn decide(
        &mut self,
        at: Timestamp,
        settings: &BotSettings,
        cause: Cause,
        ready: bool,
    ) -> bool {
        let parts = self.parts(settings, cause, ready);
        let score = parts.score();
        let threshold = settings.triggers.threshold;
        let handoff = cause.is_explicit() || score >= threshold;
        if self.decisions.len() == DECISIONS_MAX {
            self.decisions.pop_front();
        }
        self.decisions.push_back(Decision {
            at,
            cause,
            parts,
            score,
            threshold,
            handoff,
        });
        handoff
    }

    /// The context for the agent, as of a decision to hand over.
    pub(crate) fn context(&self, bot_reason: Option<String>) -> Option<HandoffContext> {
        let d = self.decisions.back()?;
        Some(HandoffContext {
            reason: d.cause,
            bot_reason,
            score: d.score,
            parts: d.parts,
            emotion: self.emotion,
            peak_emotion: self.peak_emotion,
            rounds: self.rounds,
            intents: self.intents.clone(),
            fields: self.fields.clone(),
            transcript: self.transcript.iter().cloned().collect(),
            attempt: self.attempts,
            triggered_at: d.at,
        })
    }

    /// Forgets the weighed history after a refused transfer, so the same
    /// triggers do not hand over again at the next word.
    pub(crate) fn reset_triggers(&mut self) {
        self.rounds = 0;
        self.peak_emotion = 0;
        self.keyword = false;
        self.action_failures = 0;
    }

    /// `text` with `{field}` filled in from the collected fields.
    pub(crate) fn fill(&self, text: &str) -> String {
        fill(text, &self.fields)
    }
}

/// A group's front-desk figures, counted as things happen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BotCounters {
    /// Conversations the bot took.
    pub conversations: u64,
    /// Of those ended, resolved by the bot.
    pub resolved: u64,
    /// Handed over: an agent answered.
    pub handed_over: u64,
    /// Ended in the fallback.
    pub fallback: u64,
    /// Left before any of these.
    pub left: u64,
    /// Decisions to hand over.
    pub handoffs: u64,
    /// Handoff attempts started (a handoff makes one or more).
    pub attempts: u64,
    /// Attempts in which no agent answered.
    pub attempts_failed: u64,
    /// Transfers the visitor refused.
    pub refused: u64,
    /// Tickets left in the fallback.
    pub tickets: u64,
    /// Handoffs by reason; a weighed one counts each trigger that fired.
    pub reasons: BTreeMap<String, u64>,
    /// From an attempt's start to its first ring, in ms.
    pub to_assignment: Histogram,
    /// From the decision to hand over to an agent's answer, in ms.
    pub to_answer: Histogram,
}

/// Upper bounds of the latency buckets, in ms; the last bucket is unbounded.
pub const BUCKETS_MS: [u64; 14] = [
    10, 25, 50, 100, 250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000,
];

/// Counts of durations by bucket ([`BUCKETS_MS`], then over the last).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    /// `counts[i]` durations at most `BUCKETS_MS[i]` (and above the one before).
    pub counts: [u64; 15],
}

impl Histogram {
    pub(crate) fn add(&mut self, ms: u64) {
        let i = BUCKETS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(BUCKETS_MS.len());
        self.counts[i] += 1;
    }

    /// How many durations.
    pub fn len(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bucket bound under which a share `q` (0 to 1) of durations fall,
    /// in ms; None when empty, `u64::MAX` beyond the last bound.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let total = self.len();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(BUCKETS_MS.get(i).copied().unwrap_or(u64::MAX));
            }
        }
        None
    }
}

/// The front desk of one group, for the statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BotStats {
    /// The workgroup.
    pub workgroup_id: WorkgroupId,
    /// Handoffs ÷ conversations.
    pub handoff_rate: Option<f64>,
    /// Resolved by the bot ÷ conversations ended.
    pub resolved_rate: Option<f64>,
    /// Agents' answers ÷ handoffs decided.
    pub transfer_success_rate: Option<f64>,
    /// Attempt start to first ring, p50 and p95 bucket bounds, ms.
    pub to_assignment_p50_ms: Option<u64>,
    /// See `to_assignment_p50_ms`.
    pub to_assignment_p95_ms: Option<u64>,
    /// Decision to answer, p50 and p95 bucket bounds, ms.
    pub to_answer_p50_ms: Option<u64>,
    /// See `to_answer_p50_ms`.
    pub to_answer_p95_ms: Option<u64>,
    /// The counters.
    #[serde(flatten)]
    pub counters: BotCounters,
}

impl BotStats {
    pub(crate) fn new(workgroup_id: WorkgroupId, c: &BotCounters) -> Self {
        let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        let ended = c.resolved + c.handed_over + c.fallback + c.left;
        BotStats {
            workgroup_id,
            handoff_rate: ratio(c.handoffs, c.conversations),
            resolved_rate: ratio(c.resolved, ended),
            transfer_success_rate: ratio(c.handed_over, c.handoffs),
            to_assignment_p50_ms: c.to_assignment.quantile(0.5),
            to_assignment_p95_ms: c.to_assignment.quantile(0.95),
            to_answer_p50_ms: c.to_answer.quantile(0.5),
            to_answer_p95_ms: c.to_answer.quantile(0.95),
            counters: c.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_bucket_bounds() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile(0.5), None);
        for ms in [5, 30, 30, 700, 400_000] {
            h.add(ms);
        }
        assert_eq!(h.quantile(0.5), Some(50));
        assert_eq!(h.quantile(0.8), Some(1_000));
        assert_eq!(h.quantile(1.0), Some(u64::MAX));
    }
}
