//! The engine's chat state: next sequence per conversation, watermarks,
//! typing throttles and canned responses, plus what the current turn will
//! write and send. Owned by the engine thread, like the center.

use std::collections::{BTreeMap, HashMap};

use http::StatusCode;
use serde_json::{json, Value};
use switchboard_core::bot::Notice;
use switchboard_core::too_long;
use switchboard_core::{
    AgentId, Center, ChatAccess, ChatRefusal, Chatter, CoreError, Event, EventKind, Party,
    Recipient, SessionId, SessionStatus, Speaker, Timestamp, VisitorId,
};
use switchboard_store::{Canned, ChatWrites, Closure, MessageRow, Receipt, Store, StoreError};

use super::{
    check_close, message_view, sender_parts, Asker, Attachment, Op, Target, CLIENT_ID_MAX,
    MESSAGE_MAX, PAGE_DEFAULT, PAGE_MAX, SHORTCODE_MAX, TYPING_INTERVAL_MS, TYPING_TTL_MS,
};
use crate::answer::{Answer, AnswerExt};

/// The asker, resolved against the live state.
struct Me {
    /// As the chat policy sees them.
    chatter: Chatter,
    /// As stored: `customer:{id}`, `agent:{id}`, `staff:{account}`.
    sender: String,
    name: String,
}

impl Me {
    /// The agent they speak as, if any.
    fn agent(&self) -> Option<&AgentId> {
        match &self.chatter.speaker {
            Speaker::Agent(a) => Some(a),
            _ => None,
        }
    }
}

/// The chat policy's refusal as an answer: 404 for what does not exist,
/// 400 for a message to oneself, 409 for a read-only conversation, else 403.
fn refusal(me: &Me, to: &Target, r: ChatRefusal) -> Answer {
    match r {
        ChatRefusal::Missing(e) => Answer::refused(&e),
        ChatRefusal::ToSelf => Answer::invalid(r.to_string()),
        ChatRefusal::Closed => {
            let what = match to {
                Target::Session(s) => s.as_str(),
                _ => "this conversation",
            };
            Answer::error(
                StatusCode::CONFLICT,
                "chat_closed",
                format!("{} may not write in {what} now", me.sender),
            )
        }
        _ => Answer::forbidden(r.to_string()),
    }
}

/// A conversation the asker may see, with who is in it.
struct Conv {
    key: String,
    access: ChatAccess,
    members: Members,
}

enum Members {
    /// The visitor, and the agent holding the session (or the last one, once
    /// ended); `read_receipts` is the workgroup's switch.
    Session {
        visitor: VisitorId,
        agent: Option<AgentId>,
        read_receipts: bool,
    },
    /// Two agents.
    Agents(Vec<AgentId>),
}

/// A close that may go ahead: the engine ends the session, then records it.
pub(crate) struct Closing {
    session: SessionId,
    by: Party,
    /// False for the wrap-up of an ended session: only recorded.
    ends: bool,
    closed_by: String,
    comment: Option<String>,
    tags: Vec<String>,
}

impl Closing {
    /// The command that ends the session, unless it has ended.
    pub(crate) fn command(&self) -> Option<switchboard_core::Command> {
        self.ends.then(|| switchboard_core::Command::EndSession {
            session_id: self.session.clone(),
            by: self.by,
        })
    }
}

/// See the module documentation.
#[derive(Default)]
pub(crate) struct Chats {
    seqs: HashMap<String, u64>,
    marks: HashMap<(String, String), (u64, u64)>,
    typing: HashMap<(String, String), Timestamp>,
    canned: BTreeMap<String, Canned>,
    /// This turn's messages by (conversation, sender, client id), for retries
    /// that arrive before the first is committed.
    pending: HashMap<(String, String, String), usize>,
    /// Written with the turn's journal records.
    pub(crate) writes: ChatWrites,
    /// Sent once the turn is committed.
    pub(crate) out: Vec<(Recipient, String)>,
    /// Conversations whose session ended this turn: forgotten from the
    /// caches once committed (the store answers for them from then on).
    ended: Vec<String>,
}

/// Most of a visitor's sessions their history shows, newest first.
const HISTORY_SESSIONS_MAX: usize = 50;

/// A visitor's sessions (newest first) and the private notes kept in them.
fn customer_history(
    center: &Center,
    store: &Store,
    me: &Me,
    customer: &VisitorId,
) -> Result<Answer, Answer> {
    let sessions = center
        .customer_history(&me.chatter, customer)
        .map_err(|r| Answer::forbidden(r.to_string()))?;
    let shown = &sessions[..sessions.len().min(HISTORY_SESSIONS_MAX)];
    let mut notes = Vec::new();
    for s in shown {
        let rows = store
            .history(s.id.as_str(), None, None, u32::MAX, true)
            .map_err(|e| unavailable(&e))?;
        notes.extend(rows.iter().filter(|m| m.kind == "note").map(message_view));
    }
    let name = sessions.iter().find_map(|s| s.customer_name.as_deref());
    Ok(Answer::ok(json!({
        "customer_id": customer,
        "customer_name": name,
        "session_count": sessions.len(),
        "sessions": shown.iter().map(|s| crate::views::session(center, s)).collect::<Vec<_>>(),
        "notes": notes,
    })))
}

fn unavailable(e: &StoreError) -> Answer {
    tracing::error!(error = %e, "chat store read failed");
    Answer::unavailable()
}

fn ms(now: Timestamp) -> i64 {
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

fn frame(v: Value) -> String {
    v.to_string()
}

impl Chats {
    /// Loads the canned responses.
    pub(crate) fn open(store: &Store) -> Result<Chats, StoreError> {
        let canned = store
            .canned()?
            .into_iter()
            .map(|c| (c.shortcode.clone(), c))
            .collect();
        Ok(Chats {
            canned,
            ..Chats::default()
        })
    }

    /// After a commit: the turn's writes are durable, and the caches let go
    /// of conversations that ended, so that they do not grow with history.
    pub(crate) fn committed(&mut self) {
        self.writes.clear();
        self.pending.clear();
        for key in self.ended.drain(..) {
            self.seqs.remove(&key);
            self.marks.retain(|(k, _), _| *k != key);
            self.typing.retain(|(k, _), _| *k != key);
        }
    }

    /// A follower applied `writes` the leader made: the cached sequences
    /// and watermarks of their conversations are read from the store again.
    pub(crate) fn forget(&mut self, writes: &ChatWrites) {
        for m in &writes.messages {
            self.seqs.remove(&m.conversation);
        }
        for r in &writes.receipts {
            self.marks
                .remove(&(r.conversation.clone(), r.reader.clone()));
        }
    }

    fn me(&self, center: &Center, asker: &Asker) -> Result<Me, Answer> {
        let person = |speaker, sender, name| Me {
            chatter: Chatter {
                speaker,
                supervisor: false,
            },
            sender,
            name,
        };
        Ok(match asker {
            Asker::Visitor(v) => person(
                Speaker::Visitor(v.clone()),
                format!("customer:{v}"),
                v.to_string(),
            ),
            Asker::VisitorOf(sid) => {
                let s = center
                    .session(sid.as_str())
                    .ok_or_else(|| Answer::refused(&CoreError::SessionNotFound(sid.clone())))?;
                if !s.visitor_may_act(false) {
                    return Err(Answer::forbidden(
                        "this session has ended; its visitor token can only rate it",
                    ));
                }
                person(
                    Speaker::Visitor(s.customer_id.clone()),
                    format!("customer:{}", s.customer_id),
                    s.visitor_name().to_owned(),
                )
            }
            Asker::Agent(a) => person(
                Speaker::Agent(a.clone()),
                format!("agent:{a}"),
                center
                    .agent(a.as_str())
                    .map_or_else(|| a.to_string(), |x| x.name.clone()),
            ),
            Asker::Staff {
                agent: Some(a),
                supervisor,
                ..
            } if center.agent(a.as_str()).is_some() => {
                let mut me = self.me(center, &Asker::Agent(a.clone()))?;
                me.chatter.supervisor = *supervisor;
                me
            }
            Asker::Staff {
                account,
                supervisor,
                ..
            } => Me {
                chatter: Chatter {
                    speaker: Speaker::Staff,
                    supervisor: *supervisor,
                },
                sender: format!("staff:{account}"),
                name: account.clone(),
            },
        })
    }

    /// The conversation `to`, if the chat policy lets `me` see it.
    fn conv(&self, center: &Center, me: &Me, to: &Target) -> Result<Conv, Answer> {
        let refused = |r| refusal(me, to, r);
        match to {
            Target::Session(sid) => {
                let access = center.session_chat(sid, &me.chatter).map_err(refused)?;
                let s = center
                    .session(sid.as_str())
                    .ok_or_else(|| Answer::refused(&CoreError::SessionNotFound(sid.clone())))?;
                let agent = match s.status() {
                    SessionStatus::Waiting => None,
                    _ => s.agent_id.clone(),
                };
                let read_receipts = center
                    .workgroup(s.workgroup.as_str())
                    .is_none_or(|g| g.settings.read_receipts);
                Ok(Conv {
                    key: sid.to_string(),
                    access,
                    members: Members::Session {
                        visitor: s.customer_id.clone(),
                        agent,
                        read_receipts,
                    },
                })
            }
            Target::Direct(other) => {
                let [a, b] = center.direct_chat(&me.chatter, other).map_err(refused)?;
                Ok(Conv {
                    key: format!("dm/{a}/{b}"),
                    access: open_access(),
                    members: Members::Agents(vec![a, b]),
                })
            }
            Target::Channel(group) => {
                let members = center.channel_chat(&me.chatter, group).map_err(refused)?;
                Ok(Conv {
                    key: format!("wg/{group}"),
                    access: open_access(),
                    members: Members::Agents(members),
                })
            }
        }
    }

    /// Applies one operation (all but [`Op::Close`], which the engine runs
    /// with [`Chats::closing`] and [`Chats::closed`]).
    pub(crate) fn handle(
        &mut self,
        center: &Center,
        store: &mut Store,
        now: Timestamp,
        asker: &Asker,
        op: Op,
    ) -> Answer {
        let me = match self.me(center, asker) {
            Ok(me) => me,
            Err(refusal) => return refusal,
        };
        let result = match op {
            Op::Send {
                to,
                text,
                client_id,
                note,
                attachment,
            } => self.send(
                center, store, now, &me, &to, text, client_id, note, attachment,
            ),
            Op::Receipt {
                to,
                delivered,
                read,
            } => self.receipt(center, store, &me, &to, delivered, read),
            Op::Typing { to, typing } => self.typing(center, now, &me, &to, typing),
            Op::History {
                to,
                after,
                before,
                limit,
            } => self.history(center, store, &me, &to, after, before, limit),
            Op::List => self.list(center, store, &me),
            Op::Transcript { session } => self.transcript(center, store, &me, &session),
            Op::Customer { customer } => customer_history(center, store, &me, &customer),
            Op::File { session, id } => self.file(center, store, &me, &session, &id),
            Op::Notify {
                text,
                level,
                workgroup,
                agent,
            } => self.notify(center, now, &me, text, level, workgroup, agent),
            Op::CannedList => Ok(Answer::ok(json!({
                "canned_responses": self.canned.values().collect::<Vec<_>>(),
            }))),
            Op::CannedPut { shortcode, text } => self.canned_put(store, now, shortcode, text),
            Op::CannedDelete { shortcode } => self.canned_delete(store, &shortcode),
            Op::Close { .. } => Err(Answer::unavailable()),
        };
        result.unwrap_or_else(|refusal| refusal)
    }

    fn last_seq(&self, store: &Store, key: &str) -> Result<u64, StoreError> {
        match self.seqs.get(key) {
            Some(s) => Ok(*s),
            None => store.last_seq(key),
        }
    }

    fn next_seq(&mut self, store: &Store, key: &str) -> Result<u64, StoreError> {
        let next = self.last_seq(store, key)? + 1;
        self.seqs.insert(key.to_owned(), next);
        Ok(next)
    }

    fn recipients(conv: &Conv, note: bool) -> Vec<Recipient> {
        match &conv.members {
            Members::Session { visitor, agent, .. } => {
                let mut to: Vec<Recipient> = agent.iter().cloned().map(Recipient::Agent).collect();
                if ChatAccess::reaches_visitor(note) {
                    to.push(Recipient::Visitor(visitor.clone()));
                }
                to
            }
            Members::Agents(agents) => agents.iter().cloned().map(Recipient::Agent).collect(),
        }
    }

    /// Stores a message and queues it for every member's connections.
    fn post(&mut self, conv: &Conv, row: MessageRow) -> Value {
        let view = message_view(&row);
        let text = frame(json!({ "type": "chat_message", "message": view }));
        for to in Self::recipients(conv, row.kind == "note") {
            self.out.push((to, text.clone()));
        }
        if let Some(c) = &row.client_id {
            let key = (row.conversation.clone(), row.sender.clone(), c.clone());
            self.pending.insert(key, self.writes.messages.len());
        }
        self.writes.messages.push(row);
        view
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        center: &Center,
        store: &mut Store,
        now: Timestamp,
        me: &Me,
        to: &Target,
        text: String,
        client_id: Option<String>,
        note: bool,
        attachment: Option<Attachment>,
    ) -> Result<Answer, Answer> {
        if too_long(&text, MESSAGE_MAX) {
            return Err(Answer::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "message_too_large",
                format!("a message is at most {MESSAGE_MAX} characters"),
            ));
        }
        if text.trim().is_empty() && attachment.is_none() {
            return Err(Answer::invalid("text must not be empty"));
        }
        if client_id
            .as_ref()
            .is_some_and(|c| c.is_empty() || too_long(c, CLIENT_ID_MAX))
        {
            return Err(Answer::invalid("client_id is 1 to 64 bytes"));
        }
        let conv = self.conv(center, me, to)?;
        conv.access
            .check_send(note)
            .map_err(|r| refusal(me, to, r))?;
        if let Some(c) = &client_id {
            let key = (conv.key.clone(), me.sender.clone(), c.clone());
            let earlier = match self.pending.get(&key) {
                Some(i) => self.writes.messages.get(*i).cloned(),
                None => store
                    .by_client_id(&conv.key, &me.sender, c)
                    .map_err(|e| unavailable(&e))?,
            };
            if let Some(m) = earlier {
                return Ok(Answer::ok(
                    json!({ "status": "sent", "duplicate": true, "message": message_view(&m) }),
                ));
            }
        }
        let body = match text.strip_prefix('/') {
            Some(code) if me.chatter.expands_canned(note) => self
                .canned
                .get(code.trim())
                .map_or(text.clone(), |c| c.text.clone()),
            _ => text,
        };
        let seq = self
            .next_seq(store, &conv.key)
            .map_err(|e| unavailable(&e))?;
        let kind = match (note, &attachment) {
            (true, _) => "note",
            (false, Some(_)) => "file",
            (false, None) => "text",
        };
        let row = MessageRow {
            conversation: conv.key.clone(),
            seq,
            sender: me.sender.clone(),
            sender_name: conv_name(me, &conv, center),
            client_id,
            kind: kind.to_owned(),
            body,
            attachment_id: attachment.as_ref().map(|a| a.id.clone()),
            data: attachment.map(|a| json!(a).to_string()),
            at_ms: ms(now),
        };
        let view = self.post(&conv, row);
        Ok(Answer::ok(
            json!({ "status": "sent", "duplicate": false, "message": view }),
        ))
    }

    fn reader(me: &Me, conv: &Conv) -> Option<String> {
        match (&conv.members, &me.chatter.speaker) {
            (Members::Session { .. }, Speaker::Visitor(_)) => Some("customer".into()),
            (Members::Session { .. }, Speaker::Agent(_)) => Some("agent".into()),
            (Members::Session { .. }, Speaker::Staff) => None,
            (Members::Agents(_), _) => me.agent().map(|a| a.to_string()),
        }
    }

    fn mark(&mut self, store: &Store, key: &str, reader: &str) -> Result<(u64, u64), Answer> {
        let k = (key.to_owned(), reader.to_owned());
        if let Some(m) = self.marks.get(&k) {
            return Ok(*m);
        }
        let m = store
            .receipts(key)
            .map_err(|e| unavailable(&e))?
            .into_iter()
            .find(|r| r.reader == reader)
            .map_or((0, 0), |r| (r.delivered, r.read));
        self.marks.insert(k, m);
        Ok(m)
    }

    fn receipt(
        &mut self,
        center: &Center,
        store: &mut Store,
        me: &Me,
        to: &Target,
        delivered: Option<u64>,
        read: Option<u64>,
    ) -> Result<Answer, Answer> {
        let conv = self.conv(center, me, to)?;
        let Some(reader) = Self::reader(me, &conv) else {
            // Staff reading over a shoulder moves nobody's watermark.
            return Ok(Answer::ok(json!({ "conversation": conv.key })));
        };
        let last = self
            .last_seq(store, &conv.key)
            .map_err(|e| unavailable(&e))?;
        let (d0, r0) = self.mark(store, &conv.key, &reader)?;
        let read = read.unwrap_or(0).min(last).max(r0);
        let delivered = delivered.unwrap_or(0).min(last).max(d0).max(read);
        let answer = json!({
            "conversation": conv.key, "reader": reader, "delivered": delivered, "read": read,
        });
        if (delivered, read) == (d0, r0) {
            return Ok(Answer::ok(answer));
        }
        self.marks
            .insert((conv.key.clone(), reader.clone()), (delivered, read));
        self.writes.receipts.push(Receipt {
            conversation: conv.key.clone(),
            reader: reader.clone(),
            delivered,
            read,
        });
        let mut status = answer.clone();
        status["type"] = json!("chat_status");
        match &conv.members {
            Members::Session {
                visitor,
                agent,
                read_receipts,
            } => {
                if reader == "customer" {
                    if let Some(a) = agent {
                        self.out
                            .push((Recipient::Agent(a.clone()), frame(status.clone())));
                    }
                } else {
                    if !read_receipts {
                        // The workgroup hides when agents read: visitors see delivery only.
                        status["read"] = Value::Null;
                        if delivered == d0 {
                            return Ok(Answer::ok(answer));
                        }
                    }
                    self.out
                        .push((Recipient::Visitor(visitor.clone()), frame(status)));
                }
            }
            Members::Agents(agents) if agents.len() == 2 => {
                for a in agents.iter().filter(|a| a.as_str() != reader) {
                    self.out
                        .push((Recipient::Agent(a.clone()), frame(status.clone())));
                }
            }
            Members::Agents(_) => {}
        }
        Ok(Answer::ok(answer))
    }

    fn typing(
        &mut self,
        center: &Center,
        now: Timestamp,
        me: &Me,
        to: &Target,
        typing: bool,
    ) -> Result<Answer, Answer> {
        let conv = self.conv(center, me, to)?;
        if !conv.access.write {
            return Err(Answer::error(
                StatusCode::CONFLICT,
                "chat_closed",
                format!("{} may not write in {} now", me.sender, conv.key),
            ));
        }
        let key = (conv.key.clone(), me.sender.clone());
        if typing {
            let recent = self.typing.get(&key).is_some_and(|at| {
                now.saturating_since(*at).as_millis() < u128::from(TYPING_INTERVAL_MS)
            });
            if recent {
                return Ok(Answer::ok(json!({ "forwarded": false })));
            }
            self.typing.insert(key, now);
        } else {
            self.typing.remove(&key);
        }
        if self.typing.len() > 10_000 {
            self.typing
                .retain(|_, at| now.saturating_since(*at).as_millis() < u128::from(TYPING_TTL_MS));
        }
        let (role, id) = sender_parts(&me.sender);
        let text = frame(json!({
            "type": "chat_typing", "conversation": conv.key,
            "from": { "role": role, "id": id, "name": conv_name(me, &conv, center) },
            "typing": typing, "expires_in_ms": TYPING_TTL_MS,
        }));
        let mine = match &me.chatter.speaker {
            Speaker::Visitor(v) => Some(Recipient::Visitor(v.clone())),
            Speaker::Agent(a) => Some(Recipient::Agent(a.clone())),
            Speaker::Staff => None,
        };
        for r in Self::recipients(&conv, false) {
            if Some(&r) != mine.as_ref() {
                self.out.push((r, text.clone()));
            }
        }
        Ok(Answer::ok(json!({ "forwarded": true })))
    }

    #[allow(clippy::too_many_arguments)]
    fn history(
        &mut self,
        center: &Center,
        store: &Store,
        me: &Me,
        to: &Target,
        after: Option<u64>,
        before: Option<u64>,
        limit: Option<u32>,
    ) -> Result<Answer, Answer> {
        let conv = self.conv(center, me, to)?;
        let limit = limit.unwrap_or(PAGE_DEFAULT).clamp(1, PAGE_MAX);
        // Before a commit the store lags this turn's messages: commit first
        // is the engine's order, so reads see every acknowledged message.
        let rows = store
            .history(&conv.key, after, before, limit, conv.access.notes)
            .map_err(|e| unavailable(&e))?;
        let receipts = store.receipts(&conv.key).map_err(|e| unavailable(&e))?;
        let messages: Vec<Value> = rows.iter().map(message_view).collect();
        Ok(Answer::ok(json!({
            "conversation": conv.key,
            "messages": messages,
            "receipts": receipts,
            "has_more": rows.len() as u32 == limit,
        })))
    }

    fn list(&mut self, center: &Center, store: &mut Store, me: &Me) -> Result<Answer, Answer> {
        let Some(agent) = me.agent().and_then(|a| center.agent(a.as_str())) else {
            // Staff who are not agents hold no chats.
            return Ok(Answer::ok(json!({ "chats": [] })));
        };
        let mut chats = Vec::new();
        let offered = agent.offer.iter();
        for sid in agent.sessions().chain(offered) {
            let Some(s) = center.session(sid.as_str()) else {
                continue;
            };
            let (_, read) = self.mark(store, sid.as_str(), "agent")?;
            let unread = store
                .unread(sid.as_str(), read, "customer:")
                .map_err(|e| unavailable(&e))?;
            let last = store
                .history(sid.as_str(), None, Some(u64::MAX), 1, true)
                .map_err(|e| unavailable(&e))?;
            chats.push(json!({
                "session_id": sid,
                "visitor_id": s.customer_id,
                "visitor_name": s.visitor_name(),
                "channel": s.channel,
                "status": s.status(),
                "ringing": s.ringing_agent() == Some(&agent.id),
                "unread": unread,
                "last_message": last.first().map(message_view),
            }));
        }
        Ok(Answer::ok(json!({ "chats": chats })))
    }

    fn transcript(
        &mut self,
        center: &Center,
        store: &Store,
        me: &Me,
        session: &SessionId,
    ) -> Result<Answer, Answer> {
        let conv = self.conv(center, me, &Target::Session(session.clone()))?;
        let rows = store
            .history(&conv.key, None, None, u32::MAX, conv.access.notes)
            .map_err(|e| unavailable(&e))?;
        let closure = store
            .closure(session.as_str())
            .map_err(|e| unavailable(&e))?;
        let s = center.session(session.as_str());
        Ok(Answer::ok(json!({
            "session_id": session,
            "visitor_name": s.map(|s| s.visitor_name()),
            "agent_id": s.and_then(|s| s.agent_id.as_ref()),
            "status": s.map(|s| s.status()),
            "closure": closure,
            "messages": rows.iter().map(message_view).collect::<Vec<_>>(),
        })))
    }

    fn file(
        &mut self,
        center: &Center,
        store: &Store,
        me: &Me,
        session: &SessionId,
        id: &str,
    ) -> Result<Answer, Answer> {
        let conv = self.conv(center, me, &Target::Session(session.clone()))?;
        let not_found = || {
            Answer::error(
                StatusCode::NOT_FOUND,
                "attachment_not_found",
                "no such attachment in this session",
            )
        };
        let row = store
            .attachment(id)
            .map_err(|e| unavailable(&e))?
            .ok_or_else(not_found)?;
        if row.conversation != conv.key || (row.kind == "note" && !conv.access.notes) {
            return Err(not_found());
        }
        let meta: Attachment = row
            .data
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .ok_or_else(not_found)?;
        Ok(Answer::ok(meta))
    }

    #[allow(clippy::too_many_arguments)]
    fn notify(
        &mut self,
        center: &Center,
        now: Timestamp,
        me: &Me,
        text: String,
        level: String,
        workgroup: Option<switchboard_core::WorkgroupId>,
        agent: Option<AgentId>,
    ) -> Result<Answer, Answer> {
        me.chatter
            .may_notify()
            .map_err(|r| Answer::forbidden(r.to_string()))?;
        if text.trim().is_empty() || too_long(&text, MESSAGE_MAX) {
            return Err(Answer::invalid("text is 1 to 4096 characters"));
        }
        if !["info", "warning", "urgent"].contains(&level.as_str()) {
            return Err(Answer::invalid("level must be info, warning or urgent"));
        }
        if let Some(g) = &workgroup {
            if center.workgroup(g.as_str()).is_none() {
                return Err(Answer::refused(&CoreError::WorkgroupNotFound(g.clone())));
            }
        }
        let to: Vec<AgentId> = center
            .agents()
            .into_iter()
            .filter(|a| agent.as_ref().is_none_or(|x| x == &a.id))
            .filter(|a| {
                workgroup
                    .as_ref()
                    .is_none_or(|g| a.workgroups.contains_key(g))
            })
            .map(|a| a.id.clone())
            .collect();
        if let (Some(a), true) = (&agent, to.is_empty()) {
            return Err(Answer::refused(&CoreError::AgentNotFound(a.clone())));
        }
        let text = frame(json!({
            "type": "system_notification", "text": text, "level": level,
            "from": me.name, "at": ms(now),
        }));
        for a in &to {
            self.out.push((Recipient::Agent(a.clone()), text.clone()));
        }
        Ok(Answer::ok(json!({ "recipients": to.len() })))
    }

    fn canned_put(
        &mut self,
        store: &mut Store,
        now: Timestamp,
        shortcode: String,
        text: String,
    ) -> Result<Answer, Answer> {
        let valid = (1..=SHORTCODE_MAX).contains(&shortcode.len())
            && shortcode
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(Answer::invalid(
                "shortcode is 1 to 32 letters, digits, - or _",
            ));
        }
        if text.trim().is_empty() || too_long(&text, MESSAGE_MAX) {
            return Err(Answer::invalid("text is 1 to 4096 characters"));
        }
        let c = Canned {
            shortcode: shortcode.clone(),
            text,
            updated_ms: ms(now),
        };
        store.put_canned(&c).map_err(|e| unavailable(&e))?;
        let answer = Answer::ok(&c);
        self.canned.insert(shortcode, c);
        Ok(answer)
    }

    fn canned_delete(&mut self, store: &mut Store, shortcode: &str) -> Result<Answer, Answer> {
        if !store
            .delete_canned(shortcode)
            .map_err(|e| unavailable(&e))?
        {
            return Err(Answer::error(
                StatusCode::NOT_FOUND,
                "canned_not_found",
                format!("no canned response /{shortcode}"),
            ));
        }
        self.canned.remove(shortcode);
        Ok(Answer::ok(json!({ "status": "deleted" })))
    }

    /// Whether `asker` may close session `session` (its holding agent, or a
    /// supervisor), and how.
    pub(crate) fn closing(
        &self,
        center: &Center,
        asker: &Asker,
        session: SessionId,
        comment: Option<String>,
        tags: Vec<String>,
    ) -> Result<Closing, Answer> {
        check_close(comment.as_deref(), &tags).map_err(Answer::invalid)?;
        let me = self.me(center, asker)?;
        let closer = center
            .chat_closer(&session, &me.chatter)
            .map_err(|r| refusal(&me, &Target::Session(session.clone()), r))?;
        Ok(Closing {
            session,
            by: closer.by,
            ends: closer.ends,
            closed_by: me.sender,
            comment,
            tags,
        })
    }

    /// Records a close whose session just ended.
    pub(crate) fn closed(&mut self, close: Closing, now: Timestamp) -> Answer {
        let closure = Closure {
            session_id: close.session.to_string(),
            comment: close.comment,
            tags: close.tags,
            closed_by: close.closed_by,
            at_ms: ms(now),
        };
        let answer = Answer::ok(&closure);
        self.writes.closures.push(closure);
        answer
    }

    /// Puts the system messages of a core event in its session's stream:
    /// answered, transferred, ended, where a handoff from the bot stands;
    /// and the bot's own words. Each event reaches the visitor once, so
    /// that copy is the one taken.
    pub(crate) fn on_event(
        &mut self,
        center: &Center,
        store: &Store,
        event: &Event,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if let EventKind::TicketCreated {
            session_id,
            workgroup_id,
            visitor_id,
            text,
        } = &event.event
        {
            // A message left for staff: the group's agents are told at once.
            let frame = frame(json!({
                "type": "system_notification", "level": "warning", "kind": "ticket",
                "text": format!("{visitor_id}: {text}"), "session_id": session_id,
                "from": "bot", "at": ms(now),
            }));
            for a in center.agents() {
                if a.workgroups.contains_key(workgroup_id) {
                    self.out
                        .push((Recipient::Agent(a.id.clone()), frame.clone()));
                }
            }
            return Ok(());
        }
        if !matches!(event.to, Recipient::Visitor(_)) {
            return Ok(());
        }
        let mut sender = "system";
        let (sid, name, data) = match &event.event {
            EventKind::BotMessage {
                session_id,
                text,
                options,
            } => {
                sender = "bot";
                (session_id, text.as_str(), json!({ "options": options }))
            }
            EventKind::BotNotice {
                session_id,
                notice,
                attempt,
                attempts_max,
                queue_length,
            } => {
                // The expected wait is advice, not a decision: read here.
                let wait = center
                    .session(session_id.as_str())
                    .and_then(|s| center.estimated_wait(&s.workgroup, queue_length + 1));
                let name = match notice {
                    Notice::Transferring => "bot_transferring",
                    Notice::Retrying => "bot_retrying",
                    Notice::Fallback => "bot_fallback",
                    Notice::TicketSaved => "bot_ticket_saved",
                    Notice::Resumed => "bot_resumed",
                };
                (
                    session_id,
                    name,
                    json!({
                        "attempt": attempt, "attempts_max": attempts_max,
                        "queue_length": queue_length, "expected_wait_ms": wait,
                    }),
                )
            }
            EventKind::CallAccepted {
                session_id,
                agent_id,
                ..
            } => (
                session_id,
                "call_accepted",
                json!({ "agent_id": agent_id, "agent_name": agent_name(center, agent_id) }),
            ),
            EventKind::CallTransferred {
                session_id,
                from_agent_id,
                to_agent_id,
                ..
            } => (
                session_id,
                "call_transferred",
                json!({
                    "from_agent_id": from_agent_id, "to_agent_id": to_agent_id,
                    "agent_name": agent_name(center, to_agent_id),
                }),
            ),
            EventKind::CallEnded {
                session_id,
                reason,
                ended_by,
                ..
            } => (
                session_id,
                "call_ended",
                json!({ "reason": reason, "ended_by": ended_by }),
            ),
            _ => return Ok(()),
        };
        let to = Target::Session(sid.clone());
        let staff = Me {
            chatter: Chatter {
                speaker: Speaker::Staff,
                supervisor: true,
            },
            sender: sender.into(),
            name: sender.into(),
        };
        let Ok(conv) = self.conv(center, &staff, &to) else {
            return Ok(());
        };
        let seq = self.next_seq(store, &conv.key)?;
        let row = MessageRow {
            conversation: conv.key.clone(),
            seq,
            sender: sender.into(),
            sender_name: String::new(),
            client_id: None,
            kind: sender.into(),
            body: name.into(),
            attachment_id: None,
            data: Some(data.to_string()),
            at_ms: ms(now),
        };
        if name == "call_ended" {
            self.ended.push(conv.key.clone());
        }
        self.post(&conv, row);
        Ok(())
    }
}

fn open_access() -> ChatAccess {
    ChatAccess {
        read: true,
        write: true,
        notes: false,
    }
}

fn agent_name(center: &Center, id: &AgentId) -> String {
    center
        .agent(id.as_str())
        .map_or_else(|| id.to_string(), |a| a.name.clone())
}

/// The sender's display name in `conv`: a visitor is named as in their session.
fn conv_name(me: &Me, conv: &Conv, center: &Center) -> String {
    match (&me.chatter.speaker, &conv.members) {
        (Speaker::Visitor(_), Members::Session { .. }) => center
            .session(conv.key.as_str())
            .map_or_else(|| me.name.clone(), |s| s.visitor_name().to_owned()),
        _ => me.name.clone(),
    }
}

#[cfg(test)]
mod props {
    //! Random conversations through the chat state, the core and a real
    //! store: no acknowledged message is lost or duplicated, and a private
    //! note never reaches a visitor.

    use std::collections::HashMap;

    use proptest::prelude::*;
    use switchboard_core::{Channel, Command, Config, Media};

    use super::*;

    #[derive(Clone, Debug)]
    enum Step {
        /// The visitor sends with client id `c` (small: retries happen).
        Visitor(u8),
        /// Agent `a` sends, as a note or not.
        Agent(u8, u8, bool),
        /// The call moves to agent `a`.
        Transfer(u8),
        /// The holding agent marks everything read.
        Read,
        /// The session ends.
        End,
        /// The engine's turn commits (steps between commits are one batch).
        Commit,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => (0u8..6).prop_map(Step::Visitor),
            4 => (0u8..3, 0u8..6, any::<bool>()).prop_map(|(a, c, n)| Step::Agent(a, c, n)),
            1 => (0u8..3).prop_map(Step::Transfer),
            1 => Just(Step::Read),
            1 => Just(Step::End),
            3 => Just(Step::Commit),
        ]
    }

    fn body(a: &Answer) -> Value {
        serde_json::from_str(a.body()).unwrap_or(Value::Null)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn acknowledged_messages_are_kept_once_and_notes_never_reach_the_visitor(
            steps in prop::collection::vec(step(), 1..60)
        ) {
            let dir = tempfile::tempdir().unwrap();
            let (mut store, _, _) = Store::open(&dir.path().join("j.db"), &Config::default(), 7, 0).unwrap();
            let mut center = Center::new(Config::default(), 7).unwrap();
            let mut now = Timestamp::from_millis(1_800_000_000_000);
            let mut chats = Chats::open(&store).unwrap();
            for a in 0..3 {
                let id = AgentId::from(format!("a{a}").as_str());
                center.apply(now, Command::RegisterAgent { agent_id: id.clone(), agent_name: None }).unwrap();
                if a > 0 {
                    center.apply(now, Command::AgentNotReady { agent_id: id, reason: None }).unwrap();
                }
            }
            let join = Command::JoinQueue {
                visitor_id: "v".into(), visitor_name: None, preferred_skill: None,
                priority: 0, channel: Channel::Chat,
                question: None,
            };
            let sid = match center.apply(now, join).unwrap() {
                switchboard_core::Reply::Assigned { session_id, .. } => session_id,
                other => panic!("{other:?}"),
            };
            center.apply(now, Command::AcceptCall { agent_id: "a0".into(), media: Media::Video }).unwrap();
            let mut acked: HashMap<(String, String), u64> = HashMap::new();
            for step in steps {
                now = now.saturating_add(core::time::Duration::from_millis(250));
                let send = |who: Asker, c: u8, note: bool| (who, Op::Send {
                    to: Target::Session(sid.clone()), text: format!("m{c}"),
                    client_id: Some(format!("c{c}")), note, attachment: None,
                });
                let (asker, op) = match &step {
                    Step::Visitor(c) => send(Asker::Visitor("v".into()), *c, false),
                    Step::Agent(a, c, note) => send(Asker::Agent(format!("a{a}").as_str().into()), *c, *note),
                    Step::Read => {
                        let holder = center.session(sid.as_str()).and_then(|s| s.agent_id.clone());
                        let Some(a) = holder else { continue };
                        (Asker::Agent(a), Op::Receipt { to: Target::Session(sid.clone()), delivered: None, read: Some(u64::MAX) })
                    }
                    Step::Transfer(to) => {
                        let to = AgentId::from(format!("a{to}").as_str());
                        let _ = center.apply(now, Command::AgentAvailable { agent_id: to.clone() });
                        let _ = center.apply(now, Command::TransferSession { session_id: sid.clone(), target_agent_id: to });
                        (Asker::Visitor("v".into()), Op::List)
                    }
                    Step::End => {
                        let _ = center.apply(now, Command::EndSession { session_id: sid.clone(), by: Party::Customer });
                        (Asker::Visitor("v".into()), Op::List)
                    }
                    Step::Commit => {
                        store.append_all(&[], &[], &[], &chats.writes).unwrap();
                        chats.committed();
                        for (to, frame) in chats.out.drain(..) {
                            if matches!(to, Recipient::Visitor(_)) {
                                prop_assert!(!frame.contains(r#""kind":"note""#), "a note went to the visitor: {}", frame);
                            }
                        }
                        continue;
                    }
                };
                let answer = chats.handle(&center, &mut store, now, &asker, op);
                while let Some(event) = center.poll_event() {
                    chats.on_event(&center, &store, &event, now).unwrap();
                }
                if let (true, Some(m)) = (answer.is_ok(), body(&answer).get("message").cloned()) {
                    let key = (m["from"]["id"].as_str().unwrap().to_owned(), m["client_id"].as_str().unwrap().to_owned());
                    let seq = m["seq"].as_u64().unwrap();
                    // A retry is answered with the first message, never a new one.
                    prop_assert_eq!(*acked.entry(key).or_insert(seq), seq);
                }
            }
            store.append_all(&[], &[], &[], &chats.writes).unwrap();
            chats.committed();
            prop_assert!(chats.out.iter().all(|(to, f)| !matches!(to, Recipient::Visitor(_)) || !f.contains(r#""kind":"note""#)));
            let kept = store.history(sid.as_str(), None, None, u32::MAX, true).unwrap();
            let seqs: Vec<u64> = kept.iter().map(|m| m.seq).collect();
            prop_assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{:?}", seqs);
            for ((sender, client), seq) in &acked {
                let found: Vec<_> = kept.iter()
                    .filter(|m| m.sender.ends_with(&format!(":{sender}")) && m.client_id.as_deref() == Some(client))
                    .collect();
                prop_assert_eq!(found.len(), 1, "{}/{} kept {} times", sender, client, found.len());
                prop_assert_eq!(found[0].seq, *seq);
            }
            let seen_by_visitor = store.history(sid.as_str(), None, None, u32::MAX, false).unwrap();
            prop_assert!(seen_by_visitor.iter().all(|m| m.kind != "note"));
        }
    }
}
