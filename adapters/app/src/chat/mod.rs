//! Text chat: a conversation per session (the in-call panel, or a chat-only
//! session), direct messages between agents and a channel per workgroup.
//!
//! Who may speak where is the core's decision
//! ([`switchboard_core::Center::chat_access`]); sequence numbers, idempotent
//! retries, watermarks and typing are kept here, on the engine thread
//! ([`state::Chats`]), and message bodies go to the store in the same
//! transaction as the turn's journal records. A message is acknowledged, and
//! delivered to the other side, only once it is on disk.
//!
//! The same operations ([`Op`]) arrive from every transport: the `/room`
//! WebSocket, the HTTP routes and socket.io.

pub mod state;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use switchboard_core::{too_long, AgentId, SessionId, VisitorId, WorkgroupId};
use switchboard_store::MessageRow;

/// Longest message text, in characters.
pub const MESSAGE_MAX: usize = 4096;
/// Longest client message id, in characters.
pub const CLIENT_ID_MAX: usize = 64;
/// Most messages in one history page.
pub const PAGE_MAX: u32 = 200;
/// History page size when none is asked.
pub const PAGE_DEFAULT: u32 = 50;
/// A typing indicator shows this long unless refreshed.
pub const TYPING_TTL_MS: u64 = 6_000;
/// A sender's typing frames are forwarded at most this often per conversation.
pub const TYPING_INTERVAL_MS: u64 = 2_000;
/// Most tags on a closed chat.
pub const TAGS_MAX: usize = 16;
/// Longest canned-response shortcode: letters, digits, `-` and `_`.
pub const SHORTCODE_MAX: usize = 32;
/// Longest tag, in characters.
pub const TAG_LEN_MAX: usize = 64;

/// Which conversation a client means. Exactly one of the three, or none
/// on a connection in a call's room (then that call's).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Address {
    /// A session's conversation (visitor and agent).
    pub session_id: Option<String>,
    /// A direct conversation with this agent (agents only).
    pub to_agent: Option<String>,
    /// This workgroup's internal channel (its members).
    pub workgroup: Option<String>,
}

/// A conversation, resolved from an [`Address`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A session's conversation.
    Session(SessionId),
    /// Between the asking agent and this one.
    Direct(AgentId),
    /// A workgroup's channel.
    Channel(WorkgroupId),
}

impl Address {
    /// The conversation meant, with `room` the connection's call, if any.
    pub fn target(&self, room: Option<&SessionId>) -> Result<Target, &'static str> {
        fn given(s: &Option<String>) -> Option<&str> {
            s.as_deref().filter(|s| !s.is_empty())
        }
        match (
            given(&self.session_id),
            given(&self.to_agent),
            given(&self.workgroup),
        ) {
            (Some(s), None, None) => Ok(Target::Session(s.into())),
            (None, Some(a), None) => Ok(Target::Direct(a.into())),
            (None, None, Some(g)) => Ok(Target::Channel(g.into())),
            (None, None, None) => room
                .cloned()
                .map(Target::Session)
                .ok_or("give session_id, to_agent or workgroup"),
            _ => Err("give only one of session_id, to_agent and workgroup"),
        }
    }
}

/// Who asks, as proven by the credential or the connection.
#[derive(Clone, Debug)]
pub enum Asker {
    /// A connected visitor.
    Visitor(VisitorId),
    /// The visitor of a session (a visitor token on HTTP).
    VisitorOf(SessionId),
    /// An agent (console, room or socket.io).
    Agent(AgentId),
    /// A staff account over HTTP; `supervisor` if it may read every chat.
    Staff {
        /// Username or token name.
        account: String,
        /// The agent it acts as, if any.
        agent: Option<AgentId>,
        /// Supervisor or admin.
        supervisor: bool,
    },
}

impl From<&crate::hub::Identity> for Asker {
    fn from(who: &crate::hub::Identity) -> Asker {
        match who {
            crate::hub::Identity::Agent(a) => Asker::Agent(a.clone()),
            crate::hub::Identity::Customer(v) => Asker::Visitor(v.clone()),
        }
    }
}

/// An attachment's metadata, carried in its message's `data`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// `att_…`: the file's name on disk and in its URL.
    pub id: String,
    /// The uploader's file name (shown, never used as a path).
    pub name: String,
    /// Its media type (one the upload route accepts).
    pub content_type: String,
    /// Bytes.
    pub size: u64,
}

/// A chat operation, from any transport.
#[derive(Clone, Debug)]
pub enum Op {
    /// Send a message (or, with `note`, a private note for staff).
    Send {
        /// Where.
        to: Target,
        /// The text (a caption for a file).
        text: String,
        /// For idempotent retries.
        client_id: Option<String>,
        /// A private note, never delivered to the visitor.
        note: bool,
        /// An uploaded file.
        attachment: Option<Attachment>,
    },
    /// Move the asker's delivered and read watermarks.
    Receipt {
        /// Where.
        to: Target,
        /// Highest sequence received.
        delivered: Option<u64>,
        /// Highest sequence read.
        read: Option<u64>,
    },
    /// The asker is typing (or stopped).
    Typing {
        /// Where.
        to: Target,
        /// Started (true) or stopped.
        typing: bool,
    },
    /// A page of history.
    History {
        /// Where.
        to: Target,
        /// Only messages after this sequence (oldest first).
        after: Option<u64>,
        /// Only messages before this sequence (the newest such).
        before: Option<u64>,
        /// Page size.
        limit: Option<u32>,
    },
    /// End a session's chat with a comment and tags.
    Close {
        /// The session.
        session: SessionId,
        /// Free text for the record.
        comment: Option<String>,
        /// Labels.
        tags: Vec<String>,
    },
    /// The asking agent's conversations, with unread counts.
    List,
    /// A visitor's sessions, newest first, with the private notes kept in
    /// them (the agent's customer panel).
    Customer {
        /// The visitor.
        customer: VisitorId,
    },
    /// A session's whole transcript.
    Transcript {
        /// The session.
        session: SessionId,
    },
    /// Where attachment `id` of session `session` is, if the asker may read it.
    File {
        /// The session.
        session: SessionId,
        /// The attachment.
        id: String,
    },
    /// A notification to agents (all, a workgroup's, or one).
    Notify {
        /// The text.
        text: String,
        /// `info`, `warning` or `urgent`.
        level: String,
        /// Only this workgroup's members.
        workgroup: Option<WorkgroupId>,
        /// Only this agent.
        agent: Option<AgentId>,
    },
    /// Every canned response.
    CannedList,
    /// Create or replace a canned response.
    CannedPut {
        /// Typed after `/`.
        shortcode: String,
        /// Its text.
        text: String,
    },
    /// Delete a canned response.
    CannedDelete {
        /// Its shortcode.
        shortcode: String,
    },
}

impl Op {
    /// Whether it only reads what is stored: a cluster's follower answers
    /// it from its own copy (the rest goes to the leader).
    pub fn reads_only(&self) -> bool {
        matches!(
            self,
            Op::History { .. }
                | Op::List
                | Op::Transcript { .. }
                | Op::Customer { .. }
                | Op::File { .. }
                | Op::CannedList
        )
    }
}

/// Checks a closing comment and tags.
pub fn check_close(comment: Option<&str>, tags: &[String]) -> Result<(), &'static str> {
    if comment.is_some_and(|c| too_long(c, MESSAGE_MAX)) {
        return Err("comment is too long");
    }
    if tags.len() > TAGS_MAX {
        return Err("at most 16 tags");
    }
    if tags
        .iter()
        .any(|t| t.trim().is_empty() || too_long(t, TAG_LEN_MAX))
    {
        return Err("a tag is 1 to 64 characters");
    }
    Ok(())
}

/// The role and id in a stored sender (`agent:a1` -> ("agent", "a1")).
pub fn sender_parts(sender: &str) -> (&str, &str) {
    sender.split_once(':').unwrap_or((sender, ""))
}

/// A stored message as clients see it. Text is data: clients must render
/// it as text, never as markup.
pub fn message_view(m: &MessageRow) -> Value {
    let (role, id) = sender_parts(&m.sender);
    let data: Value = m
        .data
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null);
    let mut v = json!({
        "conversation": m.conversation,
        "seq": m.seq,
        "from": { "role": role, "id": id, "name": m.sender_name },
        "kind": m.kind,
        "text": m.body,
        "at": m.at_ms,
    });
    if let Some(c) = &m.client_id {
        v["client_id"] = json!(c);
    }
    if m.kind == "file" {
        v["attachment"] = data;
    } else if !data.is_null() {
        v["data"] = data;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_names_one_conversation_or_the_room() {
        let room = SessionId::from("cs_room");
        let none = Address::default();
        assert_eq!(none.target(Some(&room)), Ok(Target::Session(room.clone())));
        assert!(none.target(None).is_err());
        let two = Address {
            session_id: Some("cs_a".into()),
            to_agent: Some("a2".into()),
            workgroup: None,
        };
        assert!(two.target(Some(&room)).is_err());
        let dm = Address {
            to_agent: Some("a2".into()),
            ..Address::default()
        };
        assert_eq!(dm.target(Some(&room)), Ok(Target::Direct("a2".into())));
    }

    #[test]
    fn closing_tags_are_bounded() {
        assert!(check_close(Some("ok"), &["billing".into()]).is_ok());
        assert!(check_close(None, &[" ".into()]).is_err());
        assert!(check_close(None, &vec!["t".into(); 17]).is_err());
        assert!(check_close(Some(&"x".repeat(MESSAGE_MAX + 1)), &[]).is_err());
    }
}
