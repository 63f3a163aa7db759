//! Outputs: notifications addressed to one participant each, drained with
//! [`Center::poll_event`](crate::Center::poll_event).

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::bot::{HandoffContext, Notice};
use crate::{AgentId, Channel, EndReason, Media, Party, RoomId, SessionId, VisitorId, WorkgroupId};

/// Who an event is for. The server delivers it on that participant's
/// WebSocket connection(s).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// An agent's console connection.
    Agent(AgentId),
    /// A visitor's page.
    Visitor(VisitorId),
    /// The bot adapter: the external bot and business actions.
    Bot,
    /// Supervisors and admins (the live view): handoffs and tickets.
    Staff,
}

/// One notification for one participant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The participant it is for.
    pub to: Recipient,
    /// What happened, named as in the seed's S->C events.
    pub event: EventKind,
}

/// What happened. Serialized with `"type"` set to the seed's event name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// To an agent: a visitor is being offered; accept within `timeout_secs`.
    IncomingCall {
        /// The session offered.
        session_id: SessionId,
        /// Its room, `customer-service/{session_id}`.
        room_id: RoomId,
        /// The visitor.
        visitor_id: VisitorId,
        /// The visitor's display name (the id when none was given).
        visitor_name: String,
        /// Seconds until the offer lapses.
        timeout_secs: u64,
        /// A call, or text chat only.
        channel: Channel,
        /// What the bot learnt, when it handed the visitor over.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context: Option<Box<HandoffContext>>,
    },
    /// To an agent: the offer lapsed unanswered; the visitor was re-queued.
    RingTimeout {
        /// The session that was offered.
        session_id: SessionId,
    },
    /// To a visitor: an agent is being rung for them. To an agent: the back
    /// office assigned them this session by hand (they are also rung).
    AgentAssignment {
        /// The visitor's session.
        session_id: SessionId,
        /// The agent being rung.
        agent_id: AgentId,
        /// The agent's display name.
        agent_name: String,
    },
    /// To both sides: the agent answered; the call is Active.
    CallAccepted {
        /// The session.
        session_id: SessionId,
        /// The agent who answered.
        agent_id: AgentId,
        /// Audio-only or video.
        media: Media,
    },
    /// To both sides (or the visitor alone if no agent was involved): the session ended.
    CallEnded {
        /// The session.
        session_id: SessionId,
        /// Why.
        reason: EndReason,
        /// Who ended it.
        ended_by: Party,
    },
    /// To the visitor and both agents: the call moved to another agent.
    CallTransferred {
        /// The session.
        session_id: SessionId,
        /// The agent who handed over.
        from_agent_id: AgentId,
        /// The agent who took over.
        to_agent_id: AgentId,
    },
    /// To the agent who asked: the transfer could not be made; nothing changed.
    TransferFailed {
        /// The session.
        session_id: SessionId,
        /// The intended target.
        target_agent_id: AgentId,
        /// Why, in words.
        reason: String,
    },
    /// To both sides: a participant was muted.
    MuteUser {
        /// The session.
        session_id: SessionId,
        /// Who was muted.
        target: Party,
    },
    /// To both sides: a participant was unmuted.
    UnmuteUser {
        /// The session.
        session_id: SessionId,
        /// Who was unmuted.
        target: Party,
    },
    /// To an agent: `missed` offers in a row lapsed, so it was moved to
    /// Online (not Ready) until it comes back.
    AgentNoAnswer {
        /// The agent.
        agent_id: AgentId,
        /// Offers missed in a row.
        missed: u32,
    },
    /// To a visitor: they are (back) in the queue at `position` (1 is next).
    Queued {
        /// The visitor's session.
        session_id: SessionId,
        /// 1-based place in the queue.
        position: usize,
    },
    /// To a visitor: they waited `queue_timeout_secs` and were removed.
    QueueTimeout {
        /// The visitor's session, now Ended.
        session_id: SessionId,
    },
    /// To a visitor: the bot says something.
    BotMessage {
        /// The session.
        session_id: SessionId,
        /// The text.
        text: String,
        /// Quick options (buttons); choosing one sends its text.
        options: Vec<String>,
    },
    /// To a visitor: where their transfer to a person stands.
    BotNotice {
        /// The session.
        session_id: SessionId,
        /// What to tell them.
        notice: Notice,
        /// The attempt (1 is the first).
        attempt: u32,
        /// Attempts before the fallback.
        attempts_max: u32,
        /// Visitors queued in their group now.
        queue_length: usize,
    },
    /// To the bot adapter: ask the external bot, as request `turn`.
    BotAsk {
        /// The session.
        session_id: SessionId,
        /// Its workgroup, whose bot to ask.
        workgroup_id: WorkgroupId,
        /// The request's number, to come back in `BotReply`.
        turn: u32,
        /// The visitor's words.
        text: String,
    },
    /// To the bot adapter: run business action `action`, as request `turn`.
    BotAction {
        /// The session.
        session_id: SessionId,
        /// Its workgroup, whose dialog names the action.
        workgroup_id: WorkgroupId,
        /// The request's number, to come back in `BotReply`.
        turn: u32,
        /// The action's name in the dialog.
        action: String,
        /// The fields collected so far.
        fields: BTreeMap<String, String>,
    },
    /// To staff: the bot decided to hand a visitor over.
    BotHandoff {
        /// The session.
        session_id: SessionId,
        /// Its workgroup.
        workgroup_id: WorkgroupId,
        /// What the agent will be shown.
        context: Box<HandoffContext>,
    },
    /// To staff: a visitor no agent could take left a message.
    TicketCreated {
        /// The session, now ended.
        session_id: SessionId,
        /// Its workgroup.
        workgroup_id: WorkgroupId,
        /// The visitor.
        visitor_id: VisitorId,
        /// Their message.
        text: String,
    },
}
