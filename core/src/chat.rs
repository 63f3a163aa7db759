//! The chat policy: who may read and write which conversation, keep notes,
//! close a chat or notify agents, decided from the live state.
//!
//! Message bodies are payloads kept beside the journal by the adapters; the
//! core answers the questions that must be atomic with routing: is this
//! visitor or agent a participant of this session's conversation right now?
//! A transfer moves the conversation to the new agent (who reads the whole
//! history) and shuts the old one out. Direct messages are between two
//! agents; a workgroup's channel is its members' (and supervisors').

use serde::{Deserialize, Serialize};

use crate::session::AgentPart;
use crate::{AgentId, Center, CoreError, Party, SessionId, SessionStatus, VisitorId, WorkgroupId};

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
    /// - An agent serving a visitor now (holding or rung for one of their
    ///   open sessions) reads that visitor's other conversations, notes
    ///   included: the history a returning customer expects them to know.
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
                _ if self.serves_customer(a, &s.customer_id) => ChatAccess {
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

    /// What `who` may do in session `session_id`'s conversation: its own
    /// access, or, for a supervisor who takes no part, a supervisor's.
    pub fn session_chat(
        &self,
        session_id: &SessionId,
        who: &Chatter,
    ) -> Result<ChatAccess, ChatRefusal> {
        let own = self
            .chat_access(session_id.as_str(), &who.speaker)
            .ok_or_else(|| CoreError::SessionNotFound(session_id.clone()))?;
        let access = match own.read || !who.supervisor {
            true => own,
            false => self
                .chat_access(session_id.as_str(), &Speaker::Staff)
                .unwrap_or_default(),
        };
        if !access.read {
            return Err(ChatRefusal::NotParticipant(session_id.clone()));
        }
        Ok(access)
    }

    /// Whether agent `agent` is serving visitor `customer` now: holding, or
    /// being rung for, one of their open sessions.
    pub fn serves_customer(&self, agent: &AgentId, customer: &VisitorId) -> bool {
        self.agent(agent.as_str()).is_some_and(|a| {
            a.sessions().any(|id| {
                self.session(id.as_str())
                    .is_some_and(|s| &s.customer_id == customer)
            })
        })
    }

    /// The sessions of visitor `customer` that `who` may look back on, newest
    /// first: all of them for a supervisor, and for an agent while serving
    /// that visitor ([`Center::serves_customer`]).
    pub fn customer_history(
        &self,
        who: &Chatter,
        customer: &VisitorId,
    ) -> Result<Vec<&crate::Session>, ChatRefusal> {
        let allowed = who.supervisor
            || matches!(&who.speaker, Speaker::Agent(a) if self.serves_customer(a, customer));
        if !allowed {
            return Err(ChatRefusal::NotServing(customer.clone()));
        }
        let mut all: Vec<&crate::Session> = self
            .sessions()
            .into_iter()
            .filter(|s| &s.customer_id == customer)
            .collect();
        all.reverse();
        Ok(all)
    }

    /// The two agents of a direct conversation from `who` to `other`, in
    /// order (one conversation whoever starts it): only between two agents.
    pub fn direct_chat(&self, who: &Chatter, other: &AgentId) -> Result<[AgentId; 2], ChatRefusal> {
        let Speaker::Agent(me) = &who.speaker else {
            return Err(ChatRefusal::NotAnAgent);
        };
        if self.agent(other.as_str()).is_none() {
            return Err(CoreError::AgentNotFound(other.clone()).into());
        }
        if other == me {
            return Err(ChatRefusal::ToSelf);
        }
        Ok(match me < other {
            true => [me.clone(), other.clone()],
            false => [other.clone(), me.clone()],
        })
    }

    /// The members of workgroup `group`'s channel, if `who` may take part:
    /// a member, or a supervisor.
    pub fn channel_chat(
        &self,
        who: &Chatter,
        group: &WorkgroupId,
    ) -> Result<Vec<AgentId>, ChatRefusal> {
        if self.workgroup(group.as_str()).is_none() {
            return Err(CoreError::WorkgroupNotFound(group.clone()).into());
        }
        let members: Vec<AgentId> = self
            .agents()
            .into_iter()
            .filter(|a| a.workgroups.contains_key(group))
            .map(|a| a.id.clone())
            .collect();
        let member = matches!(&who.speaker, Speaker::Agent(a) if members.contains(a));
        if !member && !who.supervisor {
            return Err(ChatRefusal::NotMember(group.clone()));
        }
        Ok(members)
    }

    /// Who closes session `session_id`'s conversation (with a comment and
    /// tags) when `who` asks: the agent holding it (as the agent), or a
    /// supervisor (as staff), which ends it; once it has ended, its last
    /// agent (the wrap-up) or a supervisor, which only records the close.
    pub fn chat_closer(
        &self,
        session_id: &SessionId,
        who: &Chatter,
    ) -> Result<Closer, ChatRefusal> {
        let access = self.session_chat(session_id, who)?;
        let ends = self
            .session(session_id.as_str())
            .is_some_and(|s| s.status() != SessionStatus::Ended);
        let by = match (&who.speaker, access.write, access.notes) {
            (Speaker::Agent(_), true, _) => Party::Agent,
            _ if who.supervisor => Party::Admin,
            (Speaker::Agent(_), false, true) if !ends => Party::Agent,
            _ => return Err(ChatRefusal::NotCloser),
        };
        Ok(Closer { by, ends })
    }
}

/// How a conversation is closed: by whom, and whether that ends its session
/// (an open one) or only records the close (the wrap-up of an ended one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Closer {
    /// Who, for the session's end.
    pub by: Party,
    /// Whether the session ends now.
    pub ends: bool,
}

/// Who asks, in the chat policy's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chatter {
    /// As whom they speak.
    pub speaker: Speaker,
    /// A supervisor or admin (also when acting as an agent): reads every
    /// conversation and channel, closes any chat, notifies agents.
    pub supervisor: bool,
}

impl Chatter {
    /// Notifications to agents are sent by supervisors and admins.
    pub fn may_notify(&self) -> Result<(), ChatRefusal> {
        match self.supervisor {
            true => Ok(()),
            false => Err(ChatRefusal::NotNotifier),
        }
    }

    /// Whether a `/code` message expands to its canned response: for agents,
    /// in messages (a note keeps what was typed).
    pub fn expands_canned(&self, note: bool) -> bool {
        matches!(self.speaker, Speaker::Agent(_)) && !note
    }
}

impl ChatAccess {
    /// Whether a message (or, with `note`, a private note) may be sent.
    pub fn check_send(&self, note: bool) -> Result<(), ChatRefusal> {
        match (note, self.notes, self.write) {
            (true, false, _) => Err(ChatRefusal::NoNotes),
            (false, _, false) => Err(ChatRefusal::Closed),
            _ => Ok(()),
        }
    }

    /// Whether the visitor receives a message of this kind: never a note.
    pub fn reaches_visitor(note: bool) -> bool {
        !note
    }
}

/// Why the chat policy refuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChatRefusal {
    /// No such session, agent or workgroup.
    #[error(transparent)]
    Missing(#[from] CoreError),
    /// Neither a participant nor a supervisor.
    #[error("not a participant of session {0}")]
    NotParticipant(SessionId),
    /// Direct messages are between agents.
    #[error("only agents send direct messages")]
    NotAnAgent,
    /// A direct message to oneself.
    #[error("to_agent must be another agent")]
    ToSelf,
    /// Neither a member of the workgroup nor a supervisor.
    #[error("not a member of workgroup {0}")]
    NotMember(WorkgroupId),
    /// Notes are kept by the agent and staff, never the visitor.
    #[error("private notes are for staff")]
    NoNotes,
    /// The conversation is read-only for the asker now (ended, or ringing).
    #[error("the conversation is read-only now")]
    Closed,
    /// Only the holding agent or a supervisor closes a chat.
    #[error("only the agent holding the chat, or a supervisor, closes it")]
    NotCloser,
    /// Only supervisors and admins notify agents.
    #[error("notifications are sent by supervisors and admins")]
    NotNotifier,
    /// A visitor's history is for supervisors and the agent serving them.
    #[error("only the agent serving visitor {0}, or a supervisor, sees their history")]
    NotServing(VisitorId),
}
