//! Client -> server WebSocket frames, in the seed's shape:
//! `{"type":"control","data":{"type":"AcceptCall"}}` and
//! `{"type":"control","data":{"type":"TransferCall","data":{"target_agent_id":"agent_002"}}}`.
//! Action names are accepted as in the frame example (`AcceptCall`) or as in
//! the seed's table (`accept_call`). Parsing never panics and what parses
//! round-trips through [`ClientFrame::to_json`].

use serde_json::{json, Map, Value};
use switchboard_core::{Media, Party, SessionId};

/// A frame from a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientFrame {
    /// A call-control action.
    Control(Control),
    /// Application-level heartbeat; answered with `{"type":"pong"}`.
    Ping,
}

/// A call-control action. `session_id` is needed only on a connection that is
/// not in a room and whose agent holds no call; otherwise it is inferred.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    /// The Ringing agent answers.
    AcceptCall {
        /// Audio-only or video (default video).
        media: Media,
    },
    /// The Ringing agent declines.
    RejectCall,
    /// Either side hangs up.
    EndCall {
        /// Which call, if not inferred.
        session_id: Option<SessionId>,
    },
    /// The agent hands the call to another Ready agent.
    TransferCall {
        /// The agent who takes over.
        target_agent_id: String,
        /// Which call, if not inferred.
        session_id: Option<SessionId>,
    },
    /// Mutes (or, with `muted: false`, unmutes) a participant.
    Mute {
        /// `agent` or `customer`.
        target: Party,
        /// MuteUser or UnmuteUser.
        muted: bool,
        /// Which call, if not inferred.
        session_id: Option<SessionId>,
    },
}

impl Control {
    /// The action's name as in the seed's frame example.
    pub fn name(&self) -> &'static str {
        match self {
            Control::AcceptCall { .. } => "AcceptCall",
            Control::RejectCall => "RejectCall",
            Control::EndCall { .. } => "EndCall",
            Control::TransferCall { .. } => "TransferCall",
            Control::Mute { muted: true, .. } => "MuteUser",
            Control::Mute { muted: false, .. } => "UnmuteUser",
        }
    }
}

/// Why a frame was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    /// Stable code for the error frame.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

fn bad(message: impl Into<String>) -> FrameError {
    FrameError {
        code: "invalid_frame",
        message: message.into(),
    }
}

fn text<'a>(data: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, FrameError> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(format!("{key} must be a string"))),
    }
}

impl ClientFrame {
    /// Parses one text frame.
    pub fn parse(frame: &str) -> Result<ClientFrame, FrameError> {
        let value: Value =
            serde_json::from_str(frame).map_err(|e| bad(format!("not JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| bad("a frame is a JSON object"))?;
        match obj.get("type").and_then(Value::as_str) {
            Some("ping") => Ok(ClientFrame::Ping),
            Some("control") => {
                let data = obj
                    .get("data")
                    .and_then(Value::as_object)
                    .ok_or_else(|| bad("control frames carry a data object"))?;
                Control::parse(data).map(ClientFrame::Control)
            }
            Some(other) => Err(bad(format!("unknown frame type {other:?}"))),
            None => Err(bad("a frame has a string \"type\"")),
        }
    }

    /// The frame as JSON, in the seed's shape.
    pub fn to_json(&self) -> Value {
        match self {
            ClientFrame::Ping => json!({ "type": "ping" }),
            ClientFrame::Control(c) => {
                let mut data = Map::new();
                let put = |data: &mut Map<String, Value>, k: &str, v: Option<&SessionId>| {
                    if let Some(v) = v {
                        data.insert(k.to_owned(), Value::String(v.to_string()));
                    }
                };
                match c {
                    Control::AcceptCall { media } => {
                        data.insert("media".into(), json!(media));
                    }
                    Control::RejectCall => {}
                    Control::EndCall { session_id } => {
                        put(&mut data, "session_id", session_id.as_ref())
                    }
                    Control::TransferCall {
                        target_agent_id,
                        session_id,
                    } => {
                        data.insert("target_agent_id".into(), json!(target_agent_id));
                        put(&mut data, "session_id", session_id.as_ref());
                    }
                    Control::Mute {
                        target, session_id, ..
                    } => {
                        data.insert("target".into(), json!(target));
                        put(&mut data, "session_id", session_id.as_ref());
                    }
                }
                json!({ "type": "control", "data": { "type": c.name(), "data": data } })
            }
        }
    }
}

impl Control {
    fn parse(control: &Map<String, Value>) -> Result<Control, FrameError> {
        let name = control
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("control data has a string \"type\""))?;
        let empty = Map::new();
        let data = match control.get("data") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(d)) => d,
            Some(_) => return Err(bad("control data.data must be an object")),
        };
        let session_id = text(data, "session_id")?.map(SessionId::from);
        let action = name.replace('_', "").to_ascii_lowercase();
        Ok(match action.as_str() {
            "acceptcall" => Control::AcceptCall {
                media: match text(data, "media")? {
                    None | Some("video") => Media::Video,
                    Some("audio") => Media::Audio,
                    Some(m) => return Err(bad(format!("media must be audio or video, not {m:?}"))),
                },
            },
            "rejectcall" => Control::RejectCall,
            "endcall" => Control::EndCall { session_id },
            "transfercall" => Control::TransferCall {
                target_agent_id: text(data, "target_agent_id")?
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| bad("TransferCall needs data.target_agent_id"))?
                    .to_owned(),
                session_id,
            },
            "muteuser" | "unmuteuser" => Control::Mute {
                target: match text(data, "target")? {
                    Some("agent") => Party::Agent,
                    Some("customer") => Party::Customer,
                    _ => return Err(bad("MuteUser needs data.target: agent or customer")),
                },
                muted: action == "muteuser",
                session_id,
            },
            _ => return Err(bad(format!("unknown control action {name:?}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seeds_examples() {
        assert_eq!(
            ClientFrame::parse(r#"{"type":"control","data":{"type":"AcceptCall"}}"#),
            Ok(ClientFrame::Control(Control::AcceptCall {
                media: Media::Video
            }))
        );
        assert_eq!(
            ClientFrame::parse(
                r#"{"type":"control","data":{"type":"TransferCall","data":{"target_agent_id":"agent_002"}}}"#
            ),
            Ok(ClientFrame::Control(Control::TransferCall {
                target_agent_id: "agent_002".into(),
                session_id: None
            }))
        );
        assert_eq!(
            ClientFrame::parse(r#"{"type":"control","data":{"type":"reject_call"}}"#),
            Ok(ClientFrame::Control(Control::RejectCall))
        );
    }

    #[test]
    fn malformed_frames_say_why() {
        for f in [
            "",
            "[]",
            r#"{"type":"control"}"#,
            r#"{"type":"control","data":{"type":"Dance"}}"#,
            r#"{"type":"control","data":{"type":"TransferCall"}}"#,
            r#"{"type":"control","data":{"type":"MuteUser","data":{"target":"everyone"}}}"#,
            r#"{"type":"control","data":{"type":"AcceptCall","data":{"media":3}}}"#,
        ] {
            let e = ClientFrame::parse(f).expect_err(f);
            assert_eq!(e.code, "invalid_frame");
            assert!(!e.message.is_empty());
        }
    }
}
