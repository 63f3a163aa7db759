//! Chat on the `/room` WebSocket: `chat_*` frames in the control frames'
//! shape, `{"type":"chat_send","data":{"session_id":"cs_…","text":"hi","client_id":"c1"}}`.
//! The same data objects are the bodies of the HTTP routes and the payloads
//! of the socket.io events.

use serde::Deserialize;
use switchboard_core::SessionId;

#[cfg(test)]
use super::Target;
use super::{Address, Op};

/// `chat_send`: a message (or a private note) to a conversation.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SendData {
    /// Where (none: the connection's room).
    #[serde(flatten)]
    pub to: Address,
    /// The text.
    #[serde(default)]
    pub text: String,
    /// For idempotent retries: a resend with the same id is not stored twice.
    pub client_id: Option<String>,
    /// A private note (staff only, never delivered to the visitor).
    #[serde(default)]
    pub private: bool,
}

/// `chat_receipt`: the sender has received / read up to these sequences.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ReceiptData {
    /// Where.
    #[serde(flatten)]
    pub to: Address,
    /// Highest sequence received.
    pub delivered: Option<u64>,
    /// Highest sequence read.
    pub read: Option<u64>,
}

/// `chat_typing`: started (default) or stopped typing.
#[derive(Clone, Debug, Deserialize)]
pub struct TypingData {
    /// Where.
    #[serde(flatten)]
    pub to: Address,
    /// false when the sender stopped.
    #[serde(default = "yes")]
    pub typing: bool,
}

fn yes() -> bool {
    true
}

impl Default for TypingData {
    fn default() -> Self {
        TypingData {
            to: Address::default(),
            typing: true,
        }
    }
}

/// `chat_history`: a page of messages.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct HistoryData {
    /// Where.
    #[serde(flatten)]
    pub to: Address,
    /// Only after this sequence, oldest first.
    pub after: Option<u64>,
    /// Only before this sequence, the newest such.
    pub before: Option<u64>,
    /// Page size, at most 200.
    pub limit: Option<u32>,
}

/// `chat_close`: end a chat with a comment and tags.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CloseData {
    /// The session (none: the connection's room).
    pub session_id: Option<String>,
    /// Free text for the record.
    pub comment: Option<String>,
    /// Labels.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A chat frame from a client.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ChatFrame {
    /// `chat_send`: a message.
    #[serde(rename = "chat_send")]
    Send(SendData),
    /// `chat_receipt`: watermarks.
    #[serde(rename = "chat_receipt")]
    Receipt(ReceiptData),
    /// `chat_typing`.
    #[serde(rename = "chat_typing")]
    Typing(TypingData),
    /// `chat_history`: a page.
    #[serde(rename = "chat_history")]
    History(HistoryData),
    /// `chat_close`: close a chat.
    #[serde(rename = "chat_close")]
    Close(CloseData),
    /// `chat_list`: the agent's conversations with unread counts.
    #[serde(rename = "chat_list")]
    List,
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
}

/// The frame, if its type is a chat one; an error message if it is malformed.
pub fn parse(text: &str) -> Option<Result<ChatFrame, String>> {
    let head: Head<'_> = serde_json::from_str(text).ok()?;
    if !head.kind.starts_with("chat_") {
        return None;
    }
    Some(serde_json::from_str(text).map_err(|e| format!("malformed {} frame: {e}", head.kind)))
}

impl SendData {
    /// The operation, with `room` the connection's call.
    pub fn op(self, room: Option<&SessionId>) -> Result<Op, &'static str> {
        Ok(Op::Send {
            to: self.to.target(room)?,
            text: self.text,
            client_id: self.client_id,
            note: self.private,
            attachment: None,
        })
    }
}

impl ChatFrame {
    /// The frame's type, for its ack.
    pub fn name(&self) -> &'static str {
        match self {
            ChatFrame::Send(_) => "chat_send",
            ChatFrame::Receipt(_) => "chat_receipt",
            ChatFrame::Typing(_) => "chat_typing",
            ChatFrame::History(_) => "chat_history",
            ChatFrame::Close(_) => "chat_close",
            ChatFrame::List => "chat_list",
        }
    }

    /// The operation, with `room` the connection's call.
    pub fn op(self, room: Option<&SessionId>) -> Result<Op, &'static str> {
        Ok(match self {
            ChatFrame::Send(d) => d.op(room)?,
            ChatFrame::Receipt(d) => Op::Receipt {
                to: d.to.target(room)?,
                delivered: d.delivered,
                read: d.read,
            },
            ChatFrame::Typing(d) => Op::Typing {
                to: d.to.target(room)?,
                typing: d.typing,
            },
            ChatFrame::History(d) => Op::History {
                to: d.to.target(room)?,
                after: d.after,
                before: d.before,
                limit: d.limit,
            },
            ChatFrame::Close(d) => {
                let session = match d.session_id.filter(|s| !s.is_empty()) {
                    Some(s) => SessionId::from(s.as_str()),
                    None => room.cloned().ok_or("give session_id")?,
                };
                Op::Close {
                    session,
                    comment: d.comment,
                    tags: d.tags,
                }
            }
            ChatFrame::List => Op::List,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_frames_parse_and_other_frames_pass_through() {
        assert!(parse(r#"{"type":"control","data":{"type":"AcceptCall"}}"#).is_none());
        assert!(parse("not json").is_none());
        let f = parse(r#"{"type":"chat_send","data":{"session_id":"cs_1","text":"<b>hi</b>","client_id":"c1"}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(f.name(), "chat_send");
        match f.op(None).unwrap() {
            Op::Send {
                to,
                text,
                client_id,
                note,
                ..
            } => {
                assert_eq!(to, Target::Session("cs_1".into()));
                assert_eq!(text, "<b>hi</b>");
                assert_eq!(client_id.as_deref(), Some("c1"));
                assert!(!note);
            }
            other => panic!("{other:?}"),
        }
        let bad = parse(r#"{"type":"chat_send","data":{"text":5}}"#).unwrap();
        assert!(bad.is_err());
        let unknown = parse(r#"{"type":"chat_dance","data":{}}"#).unwrap();
        assert!(unknown.is_err());
        let list = parse(r#"{"type":"chat_list"}"#).unwrap().unwrap();
        assert!(matches!(list.op(None), Ok(Op::List)));
        let typing = parse(r#"{"type":"chat_typing","data":{}}"#)
            .unwrap()
            .unwrap();
        assert!(typing.op(None).is_err(), "no room, no address");
    }
}
