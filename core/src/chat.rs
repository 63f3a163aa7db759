//! Who may read and write which conversation, decided from the live state.
//!
//! Message bodies are payloads kept beside the journal by the adapters; the
//! core only answers the question that must be atomic with routing: is this
//! visitor or agent a participant of this session's conversation right now?
//! A transfer moves the conversation to the new agent (who reads the whole
//! history) and shuts the old one out.

use serde::{Deserialize, Serialize};

use crate::session::AgentPart;
use crate::{AgentId, Center, SessionStatus, VisitorId, WorkgroupId};

/// How a visitor reached the center: a call, or text chat only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A WebRTC call (audio or video), with an in-call chat panel.
    #[default]
    Video,
    /// Text chat without media.
    Chat,
}

/// Who asks to read or write a session's conversation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Speaker {
    /// A visitor.
    Visitor(VisitorId),
    /// An agent.
    Agent(AgentId),
    /// A supervisor or admin: reads everything, speaks only in notes.
    Staff,
}

/// What a speaker may do in a conversation. All false: not a participant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChatAccess {
    /// Read the history the speaker is entitled to (visitors never see notes).
    pub read: bool,
    /// Send messages the other side receives.
    pub write: bool,
    /// Read and write private notes (staff only).
    pub notes: bool,
}

impl ChatAccess {
    const NONE: ChatAccess = ChatAccess {
        read: false,
        write: false,
        notes: false,
    };
}

impl Center {
    /// What `who` may do in session `session_id`'s conversation, or None if
    /// there is no such session.
    ///
    /// - The visitor reads their own conversation always and writes while it
    ///   is open (also while queued: the first words before an agent answers).
    /// - The agent holding an Active session reads, writes and keeps notes;
    ///   an agent being rung previews it; after the end, the last agent still
    ///   reads and notes (wrap-up). An agent it was transferred away from
    ///   has no access.
    /// - Supervisors and admins read everything and keep notes.
    pub fn chat_access(&self, session_id: &str, who: &Speaker) -> Option<ChatAccess> {
        let s = self.session(session_id)?;
        let open = s.status() != SessionStatus::Ended;
        Some(match who {
            Speaker::Visitor(v) if &s.customer_id == v => ChatAccess {
                read: true,
                write: open,
                notes: false,
            },
            Speaker::Visitor(_) => ChatAccess::NONE,
            Speaker::Agent(a) => match s.agent_part(a) {
                Some(AgentPart::Holding) => ChatAccess {
                    read: true,
                    write: true,
                    notes: true,
                },
                Some(AgentPart::Ringing) => ChatAccess {
                    read: true,
                    write: false,
                    notes: false,
                },
                Some(AgentPart::Last) if !open => ChatAccess {
                    read: true,
                    write: false,
                    notes: true,
                },
                _ => ChatAccess::NONE,
            },
            Speaker::Staff => ChatAccess {
                read: true,
                write: false,
                notes: true,
            },
        })
    }

    /// Whether agent `agent` may speak in workgroup `group`'s internal
    /// channel: it must be a member.
    pub fn in_channel(&self, agent: &str, group: &WorkgroupId) -> bool {
        self.agent(agent)
            .is_some_and(|a| a.workgroups.contains_key(group))
    }
}
