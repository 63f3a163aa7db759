//! Why the core refused a command. A refused command changes no state.

use crate::{AgentId, AgentState, SessionId, SessionStatus, VisitorId, WorkgroupId};

/// The class of a refusal, which the HTTP adapter maps to a status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed or missing input (HTTP 400).
    InvalidInput,
    /// An id that names nothing the core knows (HTTP 404).
    NotFound,
    /// The command does not fit the current state (HTTP 409).
    Conflict,
    /// A configured bound is reached (HTTP 429).
    LimitReached,
}

/// A command the core refused, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A field is empty, too long or out of range.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field, as named in the API.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No session has this id (or it ended long enough ago to be forgotten).
    #[error("session {0} not found")]
    SessionNotFound(SessionId),
    /// No agent has registered with this id.
    #[error("agent {0} not found")]
    AgentNotFound(AgentId),
    /// The visitor has no open session.
    #[error("visitor {0} not found")]
    VisitorNotFound(VisitorId),
    /// The agent is in a state from which the command is not a legal transition.
    #[error("agent {agent} is {state}, expected {expected}")]
    AgentState {
        /// The agent.
        agent: AgentId,
        /// Its current state.
        state: AgentState,
        /// The state(s) the command needs, in words.
        expected: &'static str,
    },
    /// The session is in a state in which the command makes no sense.
    #[error("session {session} is {status}, expected {expected}")]
    SessionState {
        /// The session.
        session: SessionId,
        /// Its current status.
        status: SessionStatus,
        /// What the command needs, in words.
        expected: &'static str,
    },
    /// The visitor already has an open session (queued, rung or in a call).
    #[error("visitor {visitor} already has open session {session}")]
    VisitorBusy {
        /// The visitor.
        visitor: VisitorId,
        /// Their open session.
        session: SessionId,
    },
    /// A transfer names the agent that already holds the call.
    #[error("agent {0} already holds the call")]
    TransferToSelf(AgentId),
    /// The session was rated already; a rating is given once.
    #[error("session {0} is already rated")]
    AlreadyRated(SessionId),
    /// The session ended without ever being answered, so there is no call to rate.
    #[error("session {0} was never answered")]
    NotAnswered(SessionId),
    /// No workgroup has this id.
    #[error("workgroup {0} not found")]
    WorkgroupNotFound(WorkgroupId),
    /// A workgroup with this id exists already.
    #[error("workgroup {0} already exists")]
    WorkgroupExists(WorkgroupId),
    /// `max_queue_size` visitors are already waiting.
    #[error("queue is full ({max} waiting)")]
    QueueFull {
        /// The configured bound.
        max: usize,
    },
    /// `max_sessions` sessions are already open.
    #[error("too many open sessions ({max})")]
    TooManySessions {
        /// The configured bound.
        max: usize,
    },
    /// `max_agents` agents are already registered.
    #[error("too many agents ({max})")]
    TooManyAgents {
        /// The configured bound.
        max: usize,
    },
    /// The center holds as many workgroups as it may.
    #[error("too many workgroups ({max})")]
    TooManyWorkgroups {
        /// The bound.
        max: usize,
    },
}

impl CoreError {
    /// The class of this refusal.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CoreError::InvalidInput { .. } => ErrorKind::InvalidInput,
            CoreError::SessionNotFound(_)
            | CoreError::AgentNotFound(_)
            | CoreError::VisitorNotFound(_)
            | CoreError::WorkgroupNotFound(_) => ErrorKind::NotFound,
            CoreError::AgentState { .. }
            | CoreError::SessionState { .. }
            | CoreError::VisitorBusy { .. }
            | CoreError::TransferToSelf(_)
            | CoreError::AlreadyRated(_)
            | CoreError::NotAnswered(_)
            | CoreError::WorkgroupExists(_) => ErrorKind::Conflict,
            CoreError::QueueFull { .. }
            | CoreError::TooManySessions { .. }
            | CoreError::TooManyAgents { .. }
            | CoreError::TooManyWorkgroups { .. } => ErrorKind::LimitReached,
        }
    }

    /// A stable machine-readable code, used as `error.code` in API bodies.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::InvalidInput { .. } => "invalid_input",
            CoreError::SessionNotFound(_) => "session_not_found",
            CoreError::AgentNotFound(_) => "agent_not_found",
            CoreError::VisitorNotFound(_) => "visitor_not_found",
            CoreError::AgentState { .. } => "agent_state_conflict",
            CoreError::SessionState { .. } => "session_state_conflict",
            CoreError::VisitorBusy { .. } => "visitor_busy",
            CoreError::TransferToSelf(_) => "transfer_to_self",
            CoreError::AlreadyRated(_) => "already_rated",
            CoreError::NotAnswered(_) => "not_answered",
            CoreError::QueueFull { .. } => "queue_full",
            CoreError::TooManySessions { .. } => "too_many_sessions",
            CoreError::TooManyAgents { .. } => "too_many_agents",
            CoreError::WorkgroupNotFound(_) => "workgroup_not_found",
            CoreError::WorkgroupExists(_) => "workgroup_exists",
            CoreError::TooManyWorkgroups { .. } => "too_many_workgroups",
        }
    }
}
