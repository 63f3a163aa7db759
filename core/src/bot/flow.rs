//! The front desk's transitions on the center: a session starting with the
//! bot, the visitor's words, the bot's answers, the timers, and the handoff
//! attempts through the group's queue.

use super::desk::{Awaiting, BotChat, BotOutcome, BotPhase, Cause, Due, Voice};
use super::settings::{BotKind, BotSettings, Weights};
use super::{BotAnswer, Notice};
use crate::center::{Outbox, State};
use crate::limits::{check_text, TEXT_MAX};
use crate::session::{Stage, PRIORITY_MAX};
use crate::timers::Lane;
use crate::{CoreError, EventKind, Recipient, Reply, Session, SessionId, SessionStatus, Timestamp};
use core::time::Duration;

impl State {
    /// The bot settings of `s`'s workgroup, if its bot fronts `s`'s channel.
    pub(crate) fn bot_for(&self, s: &Session) -> Option<&BotSettings> {
        let b = self.groups.get(&s.workgroup)?.settings.bot.as_ref()?;
        b.fronts(s.channel).then_some(b)
    }

    /// Puts new session `id` with its group's bot; the rule bot greets.
    pub(crate) fn start_bot(&mut self, out: &mut Outbox, now: Timestamp, id: &SessionId) {
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        s.stage = Stage::Bot;
        s.bot = Some(Box::new(BotChat::new()));
        self.counts.bot += 1;
        if let Some(g) = self.groups.get_mut(&s.workgroup) {
            g.bot.conversations += 1;
        }
        let start = self
            .sessions
            .get(id)
            .and_then(|s| self.bot_for(s))
            .and_then(|b| match &b.bot {
                BotKind::Rules { dialog } => Some(dialog.start.clone()),
                BotKind::Webhook { .. } => None,
            });
        if let Some(node) = start {
            self.enter(out, now, id, &node);
        }
    }

    /// The visitor's words to the bot.
    pub(crate) fn bot_hear(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &SessionId,
        text: &str,
        emotion: u8,
    ) -> Result<Reply, CoreError> {
        check_text("text", Some(text), true, TEXT_MAX)?;
        if emotion > 100 {
            return Err(CoreError::InvalidInput {
                field: "emotion",
                reason: "must be from 0 to 100",
            });
        }
        let (settings, chat) = self.desk(id)?;
        let lower = text.to_lowercase();
        let said = |words: &[String]| words.iter().any(|w| lower.contains(&w.to_lowercase()));
        let explicit = said(&settings.triggers.explicit_keywords);
        let keyword = said(&settings.triggers.keywords);
        let timeout_ms = settings.triggers.bot_timeout_ms;
        let phase = chat.phase;
        if matches!(phase, BotPhase::HandingOver | BotPhase::Done) {
            // Words while queued are for the agent, not the bot.
            return Err(self.not_with_bot(id));
        }
        let chat = self.chat_mut(id)?;
        chat.hear(now, Voice::Visitor, text);
        chat.emotion = emotion;
        match phase {
            BotPhase::Fallback => {
                self.take_ticket(out, now, id, text);
                return Ok(Reply::Done);
            }
            BotPhase::Retrying => {
                if explicit {
                    self.decide(out, now, id, Cause::ExplicitKeyword, None);
                }
                return Ok(Reply::Done);
            }
            _ => {}
        }
        chat.rounds += 1;
        chat.peak_emotion = chat.peak_emotion.max(emotion);
        chat.keyword |= keyword;
        chat.awaiting = None;
        self.cancel_due(id);
        let cause = if explicit {
            Cause::ExplicitKeyword
        } else {
            Cause::Message
        };
        if self.decide(out, now, id, cause, None) {
            return Ok(Reply::Done);
        }
        // The rule bot's route, read in place: the settings (and their
        // compiled patterns) are not copied per message.
        let node = self.chat_mut(id)?.node.clone().unwrap_or_default();
        let (settings, _) = self.desk(id)?;
        let routed = match &settings.bot {
            BotKind::Rules { dialog } => Some(dialog.route(&node, text).ok_or_else(|| {
                let options = dialog.node(&node).map(|n| n.options.clone());
                (dialog.unmatched.clone(), options.unwrap_or_default())
            })),
            BotKind::Webhook { .. } => None,
        };
        match routed {
            Some(Ok(m)) => {
                self.chat_mut(id)?.fields.extend(m.fields);
                self.enter(out, now, id, &m.next);
            }
            Some(Err((unmatched, options))) => self.say(out, now, id, &unmatched, options),
            None => {
                let chat = self.chat_mut(id)?;
                chat.turn += 1;
                chat.awaiting = Some(Awaiting::Answer);
                let turn = chat.turn;
                self.arm_due(id, now, Due::Answer, timeout_ms.into());
                let workgroup_id = self.session(id)?.workgroup.clone();
                out.push(
                    Recipient::Bot,
                    EventKind::BotAsk {
                        session_id: id.clone(),
                        workgroup_id,
                        turn,
                        text: text.to_owned(),
                    },
                );
            }
        }
        Ok(Reply::Done)
    }

    /// The external bot's answer, or a business action's result, for `turn`.
    pub(crate) fn bot_reply(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &SessionId,
        turn: u32,
        answer: BotAnswer,
    ) -> Result<Reply, CoreError> {
        answer.validate()?;
        let (settings, chat) = self.desk(id)?;
        let stale = CoreError::InvalidInput {
            field: "turn",
            reason: "is not the answer the bot awaits",
        };
        if chat.phase != BotPhase::Talking || chat.turn != turn {
            return Err(stale);
        }
        let awaiting = chat.awaiting.clone();
        let dialog = match &settings.bot {
            BotKind::Rules { dialog } => Some(dialog.clone()),
            BotKind::Webhook { .. } => None,
        };
        match (awaiting, answer) {
            (
                Some(Awaiting::Answer),
                BotAnswer::Said {
                    messages,
                    handoff,
                    resolve,
                },
            ) => {
                self.settled(id)?;
                for m in messages {
                    self.say(out, now, id, &m.text, m.options);
                }
                let chat = self.chat_mut(id)?;
                chat.resolved |= resolve;
                match handoff {
                    Some(ask) => {
                        chat.fields.extend(ask.fields);
                        chat.intents.extend(ask.intents);
                        self.decide(out, now, id, Cause::BotHandoff, ask.reason);
                    }
                    None => self.listen(now, id),
                }
            }
            (Some(Awaiting::Answer), BotAnswer::Failed { .. }) => {
                self.settled(id)?;
                self.decide(out, now, id, Cause::BotError, None);
            }
            (Some(Awaiting::Action { node }), BotAnswer::Action { ok, fields }) => {
                self.settled(id)?;
                let n = dialog.as_ref().and_then(|d| d.node(&node).cloned());
                let chat = self.chat_mut(id)?;
                if ok {
                    chat.fields.extend(fields);
                    match n.and_then(|n| n.on_success) {
                        Some(next) => self.enter(out, now, id, &next),
                        None => self.listen(now, id),
                    }
                } else {
                    self.action_failed(
                        out,
                        now,
                        id,
                        n.and_then(|n| n.on_failure),
                        Cause::ActionFailed,
                    );
                }
            }
            _ => return Err(stale),
        }
        Ok(Reply::Done)
    }

    /// The visitor presses "talk to a person".
    pub(crate) fn bot_escalate(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &SessionId,
    ) -> Result<Reply, CoreError> {
        let (_, chat) = self.desk(id)?;
        if !matches!(chat.phase, BotPhase::Talking | BotPhase::Retrying) {
            return Err(self.not_with_bot(id));
        }
        self.chat_mut(id)?.awaiting = None;
        self.cancel_due(id);
        self.decide(out, now, id, Cause::Escalate, None);
        Ok(Reply::Done)
    }

    /// The visitor declines the transfer under way and stays with the bot.
    pub(crate) fn bot_refuse(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &SessionId,
    ) -> Result<Reply, CoreError> {
        let s = self.session(id)?;
        let phase = s.bot.as_ref().map(|b| b.phase);
        let queued = s.is_queued();
        match phase {
            Some(BotPhase::HandingOver) if queued => self.back_to_bot(now, id)?,
            Some(BotPhase::Retrying) => self.cancel_due(id),
            _ => {
                return Err(CoreError::SessionState {
                    session: id.clone(),
                    status: s.status(),
                    expected: "queued for a transfer from the bot",
                })
            }
        }
        let chat = self.chat_mut(id)?;
        chat.phase = BotPhase::Talking;
        chat.reset_triggers();
        // A transfer the visitor declined was not a failed attempt.
        chat.attempts = 0;
        let group = self.session(id)?.workgroup.clone();
        if let Some(g) = self.groups.get_mut(&group) {
            g.bot.refused += 1;
        }
        self.notice(out, id, Notice::Resumed);
        self.listen(now, id);
        Ok(Reply::Done)
    }

    /// A front-desk deadline fell due.
    pub(crate) fn bot_due(&mut self, out: &mut Outbox, now: Timestamp, id: &SessionId) {
        let Some(due) = self
            .sessions
            .get_mut(id)
            .and_then(|s| s.bot.as_mut())
            .and_then(|b| b.due.take())
        else {
            return;
        };
        match due.1 {
            Due::Silence => {
                self.decide(out, now, id, Cause::Silence, None);
            }
            Due::Answer => {
                let awaiting = self.chat_mut(id).ok().and_then(|c| c.awaiting.take());
                match awaiting {
                    Some(Awaiting::Action { node }) => {
                        let next = self.dialog_node(id, &node).and_then(|n| n.on_failure);
                        self.action_failed(out, now, id, next, Cause::BotTimeout);
                    }
                    _ => {
                        if !self.decide(out, now, id, Cause::BotTimeout, None) {
                            self.listen(now, id);
                        }
                    }
                }
            }
            Due::Attempt => {
                let ringing = self
                    .sessions
                    .get(id)
                    .is_some_and(|s| matches!(s.stage, Stage::Ringing { .. }));
                if ringing {
                    // An agent is being rung: let the ring run its course.
                    let more = self.config.accept_timeout().as_millis() as u64;
                    self.arm_due(id, now, Due::Attempt, more);
                } else {
                    self.attempt_failed(out, now, id);
                }
            }
            Due::Retry => self.start_attempt(out, now, id),
        }
    }

    /// Whether a queue timeout of session `id` only ends a handoff attempt.
    pub(crate) fn attempt_times_out(&self, id: &SessionId) -> bool {
        self.sessions
            .get(id)
            .and_then(|s| s.bot.as_ref())
            .is_some_and(|b| b.phase == BotPhase::HandingOver)
    }

    /// An attempt ended without an agent: the bot takes the visitor back and
    /// retries later, or falls back after the last attempt.
    pub(crate) fn attempt_failed(&mut self, out: &mut Outbox, now: Timestamp, id: &SessionId) {
        if self.back_to_bot(now, id).is_err() {
            return;
        }
        self.retry_or_fall_back(out, now, id);
    }

    /// An agent is rung for session `id`: the first ring of an attempt
    /// counts toward trigger-to-assignment.
    pub(crate) fn bot_rung(&mut self, now: Timestamp, id: &SessionId) {
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        let Some((since, rung)) = s.bot.as_mut().and_then(|b| b.attempt_since.as_mut()) else {
            return;
        };
        if !*rung {
            *rung = true;
            let ms = now.saturating_since(*since).as_millis() as u64;
            if let Some(g) = self.groups.get_mut(&s.workgroup) {
                g.bot.to_assignment.add(ms);
            }
        }
    }

    /// An agent answered session `id`: a handoff succeeded.
    pub(crate) fn bot_answered(&mut self, now: Timestamp, id: &SessionId) {
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        let Some(b) = s.bot.as_mut().filter(|b| b.phase == BotPhase::HandingOver) else {
            return;
        };
        b.phase = BotPhase::Done;
        b.outcome = Some(BotOutcome::HandedOver);
        if let Some((at, d)) = b.due.take() {
            self.timers.cancel_bot(at, id);
            debug_assert_eq!(d, Due::Attempt);
        }
        let triggered = b.handoff.as_ref().map(|h| h.triggered_at);
        if let Some(g) = self.groups.get_mut(&s.workgroup) {
            g.bot.handed_over += 1;
            if let Some(t) = triggered {
                g.bot
                    .to_answer
                    .add(now.saturating_since(t).as_millis() as u64);
            }
        }
    }

    /// Session `id` is ending (`by_visitor`: the visitor closed it): its
    /// conversation gets its outcome, and its deadline goes.
    pub(crate) fn bot_ending(&mut self, id: &SessionId, by_visitor: bool) {
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        let with_bot = matches!(s.stage, Stage::Bot);
        let Some(b) = s.bot.as_mut() else {
            return;
        };
        if let Some((at, _)) = b.due.take() {
            self.timers.cancel_bot(at, id);
        }
        b.awaiting = None;
        if b.outcome.is_none() {
            let outcome = if (with_bot && by_visitor) || b.resolved {
                BotOutcome::Resolved
            } else {
                BotOutcome::Left
            };
            b.outcome = Some(outcome);
            if let Some(g) = self.groups.get_mut(&s.workgroup) {
                match outcome {
                    BotOutcome::Resolved => g.bot.resolved += 1,
                    _ => g.bot.left += 1,
                }
            }
        }
        b.phase = BotPhase::Done;
        if with_bot {
            self.counts.bot -= 1;
        }
    }

    // ---- helpers ----

    /// The settings and conversation of session `id`, which must be with its
    /// group's bot (or handing over).
    fn desk(&self, id: &SessionId) -> Result<(&BotSettings, &BotChat), CoreError> {
        let s = self.session(id)?;
        match (self.bot_for(s), s.bot.as_deref()) {
            (Some(settings), Some(chat)) if s.status() != SessionStatus::Ended => {
                Ok((settings, chat))
            }
            _ => Err(self.not_with_bot(id)),
        }
    }

    fn not_with_bot(&self, id: &SessionId) -> CoreError {
        CoreError::SessionState {
            session: id.clone(),
            status: self
                .session(id)
                .map_or(SessionStatus::Ended, |s| s.status()),
            expected: "with the bot",
        }
    }

    fn chat_mut(&mut self, id: &SessionId) -> Result<&mut BotChat, CoreError> {
        let s = self.session_mut(id)?;
        let status = s.status();
        s.bot.as_deref_mut().ok_or_else(|| CoreError::SessionState {
            session: id.clone(),
            status,
            expected: "with the bot",
        })
    }

    fn dialog_node(&self, id: &SessionId, node: &str) -> Option<super::dialog::Node> {
        let s = self.sessions.get(id)?;
        match &self.bot_for(s)?.bot {
            BotKind::Rules { dialog } => dialog.node(node).cloned(),
            BotKind::Webhook { .. } => None,
        }
    }

    /// The awaited answer came: nothing is awaited any more.
    fn settled(&mut self, id: &SessionId) -> Result<(), CoreError> {
        self.chat_mut(id)?.awaiting = None;
        self.cancel_due(id);
        Ok(())
    }

    fn arm_due(&mut self, id: &SessionId, now: Timestamp, due: Due, after_ms: u64) {
        self.cancel_due(id);
        let at = now.saturating_add(Duration::from_millis(after_ms));
        if let Ok(chat) = self.chat_mut(id) {
            chat.due = Some((at, due));
            self.timers.arm_bot(at, id.clone());
        }
    }

    fn cancel_due(&mut self, id: &SessionId) {
        let due = self
            .sessions
            .get_mut(id)
            .and_then(|s| s.bot.as_mut())
            .and_then(|b| b.due.take());
        if let Some((at, _)) = due {
            self.timers.cancel_bot(at, id);
        }
    }

    /// The bot spoke and waits for the visitor: the silence clock runs.
    fn listen(&mut self, now: Timestamp, id: &SessionId) {
        let silence = self
            .sessions
            .get(id)
            .and_then(|s| self.bot_for(s))
            .map(|b| u64::from(b.triggers.silence_secs) * 1000);
        if let Some(ms) = silence {
            self.arm_due(id, now, Due::Silence, ms);
        }
    }

    /// The bot says `text` (fields filled in) with quick `options`.
    fn say(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &SessionId,
        text: &str,
        options: Vec<String>,
    ) {
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        let Some(b) = s.bot.as_mut() else {
            return;
        };
        let text = b.fill(text);
        b.hear(now, Voice::Bot, &text);
        out.push(
            Recipient::Visitor(s.customer_id.clone()),
            EventKind::BotMessage {
                session_id: id.clone(),
                text,
                options,
            },
        );
    }

    fn notice(&mut self, out: &mut Outbox, id: &SessionId, notice: Notice) {
        let Some(s) = self.sessions.get(id) else {
            return;
        };
        let attempts_max = self.bot_for(s).map_or(0, |b| b.handoff.attempts_max);
        let queue_length = self.groups.get(&s.workgroup).map_or(0, |g| g.queue.len());
        out.push(
            Recipient::Visitor(s.customer_id.clone()),
            EventKind::BotNotice {
                session_id: id.clone(),
                notice,
                attempt: s.bot.as_ref().map_or(0, |b| b.attempts),
                attempts_max,
                queue_length,
            },
        );
    }

    /// The rule bot moves to `node`: records its intent, says its reply,
    /// and runs its action, hands over or resolves.
    fn enter(&mut self, out: &mut Outbox, now: Timestamp, id: &SessionId, node: &str) {
        let Some(n) = self.dialog_node(id, node) else {
            return;
        };
        let Some(timeout_ms) = self
            .sessions
            .get(id)
            .and_then(|s| self.bot_for(s))
            .map(|b| b.triggers.bot_timeout_ms)
        else {
            return;
        };
        let Ok(chat) = self.chat_mut(id) else {
            return;
        };
        chat.node = Some(node.to_owned());
        if let Some(intent) = &n.intent {
            chat.intent(intent);
        }
        chat.resolved |= n.resolve;
        if let Some(reply) = &n.reply {
            self.say(out, now, id, reply, n.options.clone());
        }
        if n.handoff {
            self.decide(out, now, id, Cause::Escalate, None);
            return;
        }
        let Some(action) = n.action.clone() else {
            self.listen(now, id);
            return;
        };
        let Ok(chat) = self.chat_mut(id) else {
            return;
        };
        chat.turn += 1;
        chat.awaiting = Some(Awaiting::Action {
            node: node.to_owned(),
        });
        let (turn, fields) = (chat.turn, chat.fields.clone());
        self.arm_due(id, now, Due::Answer, timeout_ms.into());
        let Some(workgroup_id) = self.sessions.get(id).map(|s| s.workgroup.clone()) else {
            return;
        };
        out.push(
            Recipient::Bot,
            EventKind::BotAction {
                session_id: id.clone(),
                workgroup_id,
                turn,
                action,
                fields,
            },
        );
    }

    /// A business action failed (or timed out): counted, weighed, and the
    /// dialog goes to `next` if the bot keeps the visitor.
    fn action_failed(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &SessionId,
        next: Option<String>,
        cause: Cause,
    ) {
        if let Ok(chat) = self.chat_mut(id) {
            chat.action_failures += 1;
            chat.awaiting = None;
        }
        if self.decide(out, now, id, cause, None) {
            return;
        }
        match next {
            Some(next) => self.enter(out, now, id, &next),
            None => self.listen(now, id),
        }
    }

    /// Weighs the triggers for `cause` and hands over if they say so.
    /// Returns whether it did.
    fn decide(
        &mut self,
        out: &mut Outbox,
        now: Timestamp,
        id: &SessionId,
        cause: Cause,
        bot_reason: Option<String>,
    ) -> bool {
        // The settings (in the group) and the conversation (in the session)
        // are borrowed side by side, neither copied.
        let Some(s) = self.sessions.get_mut(id) else {
            return false;
        };
        let Some(g) = self.groups.get(&s.workgroup) else {
            return false;
        };
        let (Some(settings), Some(chat)) = (
            g.settings.bot.as_deref().filter(|b| b.fronts(s.channel)),
            s.bot.as_deref_mut(),
        ) else {
            return false;
        };
        let group = s.workgroup.clone();
        if !chat.decide(now, settings, cause, g.has_ready()) {
            return false;
        }
        let context = chat.context(bot_reason);
        let parts = chat.last_decision().map(|d| d.parts);
        chat.handoff = context.clone();
        chat.awaiting = None;
        if let Some(g) = self.groups.get_mut(&group) {
            g.bot.handoffs += 1;
            let mut count = |k: &str| *g.bot.reasons.entry(k.to_owned()).or_insert(0) += 1;
            if cause.is_explicit() {
                count(cause.as_str());
            } else {
                parts.iter().flat_map(Weights::fired).for_each(count);
            }
        }
        if let Some(context) = context {
            out.push(
                Recipient::Staff,
                EventKind::BotHandoff {
                    session_id: id.clone(),
                    workgroup_id: group,
                    context: Box::new(context),
                },
            );
        }
        self.start_attempt(out, now, id);
        true
    }

    /// One handoff attempt: out of the bot's hands into the group's queue,
    /// the visitor's last agent first; fails at once if nobody of the group
    /// is signed in or the queue is full.
    fn start_attempt(&mut self, out: &mut Outbox, now: Timestamp, id: &SessionId) {
        self.cancel_due(id);
        let Some(s) = self.sessions.get(id) else {
            return;
        };
        let Some(settings) = self.bot_for(s).cloned() else {
            return;
        };
        let group = s.workgroup.clone();
        let staffed = self
            .agents
            .values()
            .any(|a| a.signed_in && a.workgroups.contains_key(&group));
        let room = self.counts.waiting < self.config.max_queue_size;
        let Ok(chat) = self.chat_mut(id) else {
            return;
        };
        chat.attempts += 1;
        chat.phase = BotPhase::HandingOver;
        chat.attempt_since = Some((now, false));
        if let Some(h) = chat.handoff.as_mut() {
            h.attempt = chat.attempts;
        }
        let emotion = chat.peak_emotion.max(chat.emotion);
        if let Some(g) = self.groups.get_mut(&group) {
            g.bot.attempts += 1;
        }
        self.notice(out, id, Notice::Transferring);
        if !(staffed && room) {
            // Counted as an attempt that found nobody, at once.
            let Some(s) = self.sessions.get_mut(id) else {
                return;
            };
            s.stage = Stage::Bot;
            self.retry_or_fall_back(out, now, id);
            return;
        }
        let h = &settings.handoff;
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        if h.emotion_priority_threshold > 0 && emotion >= h.emotion_priority_threshold {
            s.priority = s
                .priority
                .saturating_add(h.emotion_priority_boost)
                .min(PRIORITY_MAX);
        }
        s.queued_at = Some(now);
        s.queue_timer = Some(self.timers.arm(
            Lane::Queue,
            now.saturating_add(self.config.queue_timeout()),
            id.clone(),
        ));
        self.counts.bot -= 1;
        self.counts.waiting += 1;
        if let Some(g) = self.groups.get_mut(&group) {
            g.counters.offered += 1;
            g.traffic.arrival(now);
        }
        self.arm_due(id, now, Due::Attempt, u64::from(h.attempt_secs) * 1000);
        self.place(out, now, id, true);
    }

    /// An attempt failed, the visitor with the bot again: the next attempt
    /// after `retry_secs`, or after the last one the fallback.
    fn retry_or_fall_back(&mut self, out: &mut Outbox, now: Timestamp, id: &SessionId) {
        let Some(s) = self.sessions.get(id) else {
            return;
        };
        let Some(settings) = self.bot_for(s).cloned() else {
            return;
        };
        let attempts = s.bot.as_ref().map_or(0, |b| b.attempts);
        let group = s.workgroup.clone();
        if let Some(g) = self.groups.get_mut(&group) {
            g.bot.attempts_failed += 1;
        }
        if attempts >= settings.handoff.attempts_max {
            if let Ok(chat) = self.chat_mut(id) {
                chat.phase = BotPhase::Fallback;
                chat.outcome = Some(BotOutcome::Fallback);
            }
            if let Some(g) = self.groups.get_mut(&group) {
                g.bot.fallback += 1;
            }
            self.notice(out, id, Notice::Fallback);
        } else {
            if let Ok(chat) = self.chat_mut(id) {
                chat.phase = BotPhase::Retrying;
            }
            self.notice(out, id, Notice::Retrying);
            let wait = u64::from(settings.handoff.retry_secs) * 1000;
            self.arm_due(id, now, Due::Retry, wait);
        }
    }

    /// A queued (or held) session handing over goes back to the bot.
    fn back_to_bot(&mut self, now: Timestamp, id: &SessionId) -> Result<(), CoreError> {
        let s = self.session(id)?;
        if !s.is_queued() {
            return Err(self.not_with_bot(id));
        }
        let waited = now.saturating_since(s.waiting_since()).as_millis() as u64;
        self.unqueue(id);
        self.cancel_due(id);
        let s = self.session_mut(id)?;
        s.stage = Stage::Bot;
        let group = s.workgroup.clone();
        if let Some(t) = s.queue_timer.take() {
            self.timers.cancel(Lane::Queue, t);
        }
        self.counts.waiting -= 1;
        self.counts.bot += 1;
        // The queue did not serve them: for the group, an abandoned wait.
        if let Some(g) = self.groups.get_mut(&group) {
            g.counters.abandoned += 1;
            g.traffic.abandoned(now, waited);
        }
        Ok(())
    }

    /// The visitor's message in the fallback becomes a ticket for staff,
    /// and the conversation ends.
    fn take_ticket(&mut self, out: &mut Outbox, now: Timestamp, id: &SessionId, text: &str) {
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        if let Some(b) = s.bot.as_mut() {
            b.ticket = Some(text.to_owned());
        }
        let (group, visitor) = (s.workgroup.clone(), s.customer_id.clone());
        if let Some(g) = self.groups.get_mut(&group) {
            g.bot.tickets += 1;
        }
        out.push(
            Recipient::Staff,
            EventKind::TicketCreated {
                session_id: id.clone(),
                workgroup_id: group,
                visitor_id: visitor,
                text: text.to_owned(),
            },
        );
        self.notice(out, id, Notice::TicketSaved);
        self.finish(
            out,
            now,
            id,
            crate::EndReason::Ticket,
            crate::Party::Customer,
        );
    }
}
