//! Inputs and their replies. Commands are plain data so that the store can
//! journal them and a simulation can replay them.

use serde::{Deserialize, Serialize};

use crate::bot::BotAnswer;
use crate::workgroup::{Membership, WorkgroupSettings};
use crate::{AgentId, Channel, SessionId, VisitorId, WorkgroupId};

/// How an agent answers a call; recorded on the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    /// Voice only.
    Audio,
    /// Voice and camera.
    Video,
}

/// Who did something to a session: the two participants, the back office, or
/// the core itself (timeouts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The agent holding the call.
    Agent,
    /// The visitor.
    Customer,
    /// The admin back office.
    Admin,
    /// The core, on a timeout.
    System,
}

/// Everything the outside world can ask of a [`Center`](crate::Center).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Opens a session for a customer (back office) and queues it for an agent.
    CreateSession {
        /// Shown to agents and in the back office; required.
        title: String,
        /// The customer; at most one open session each.
        customer_id: VisitorId,
        /// Display name of the customer.
        customer_name: Option<String>,
        /// Free text for the agent.
        description: Option<String>,
    },
    /// A visitor joins the queue; they are rung through at once if an agent is Ready.
    JoinQueue {
        /// The visitor; at most one open session each.
        visitor_id: VisitorId,
        /// Display name shown to the agent on `incoming_call`.
        visitor_name: Option<String>,
        /// Requested skill group (workgroup).
        preferred_skill: Option<String>,
        /// 0 (default) to 9 (VIP): higher is served first; waiting ages
        /// everyone up (see `priority_aging_secs`).
        #[serde(default)]
        priority: u8,
        /// A call (default) or text chat only.
        #[serde(default)]
        channel: Channel,
        /// What the visitor wants help with: the session's description, and
        /// its first line the title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        question: Option<String>,
    },
    /// A waiting visitor gives up (queued or while an agent is being rung).
    LeaveQueue {
        /// The visitor.
        visitor_id: VisitorId,
    },
    /// Ends a Waiting or Active session; the record stays for rating and stats.
    EndSession {
        /// The session.
        session_id: SessionId,
        /// Who hung up.
        by: Party,
    },
    /// Rings a chosen Ready agent for a queued session (manual assignment).
    AssignSession {
        /// The queued session.
        session_id: SessionId,
        /// The Ready agent to ring.
        agent_id: AgentId,
    },
    /// Hands an Active call to another Ready agent; the visitor stays connected.
    TransferSession {
        /// The Active session.
        session_id: SessionId,
        /// The Ready agent who takes over.
        target_agent_id: AgentId,
    },
    /// Mutes or unmutes one participant of an Active call.
    SetMute {
        /// The Active session.
        session_id: SessionId,
        /// [`Party::Agent`] or [`Party::Customer`].
        target: Party,
        /// `true` to mute, `false` to unmute.
        muted: bool,
    },
    /// The visitor rates an ended, answered call: 1 to 5, once.
    RateSession {
        /// The ended session.
        session_id: SessionId,
        /// Stars, 1 to 5.
        rating: u8,
        /// Optional text feedback.
        comment: Option<String>,
    },
    /// An agent signs in and becomes Ready.
    RegisterAgent {
        /// The agent.
        agent_id: AgentId,
        /// Display name; defaults to the id.
        agent_name: Option<String>,
    },
    /// Sets an agent's share of calls under `weighted_random` (1 to 1000).
    SetAgentWeight {
        /// The agent.
        agent_id: AgentId,
        /// Relative weight; multiplied by the agent's average rating.
        weight: u32,
    },
    /// Sets how many calls an agent holds at once (1 to 100; not below what
    /// it holds now).
    SetAgentCapacity {
        /// The agent.
        agent_id: AgentId,
        /// Most calls at once.
        max_concurrent: u32,
    },
    /// Replaces the workgroups an agent belongs to, with its skill levels.
    SetAgentWorkgroups {
        /// The agent.
        agent_id: AgentId,
        /// One to 32 memberships, each group once.
        workgroups: Vec<Membership>,
    },
    /// Creates a workgroup with its own queue and routing.
    CreateWorkgroup {
        /// The new group's id; must not exist.
        workgroup_id: WorkgroupId,
        /// Its settings.
        settings: WorkgroupSettings,
    },
    /// Replaces a workgroup's settings. A new routing mode starts afresh
    /// (cursor and all); a new overflow rule applies to visitors already
    /// waiting, counted from when they joined.
    UpdateWorkgroup {
        /// The group.
        workgroup_id: WorkgroupId,
        /// Its new settings.
        settings: WorkgroupSettings,
    },
    /// An Online agent becomes Ready.
    AgentAvailable {
        /// The agent.
        agent_id: AgentId,
    },
    /// An agent stops taking calls: Online, not offered calls (in a call:
    /// once it ends). The reason is one of the center's `not_ready_reasons`;
    /// none means the first of them.
    AgentNotReady {
        /// The agent.
        agent_id: AgentId,
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// An agent signs out from any state, releasing the call or offer it held.
    AgentOffline {
        /// The agent.
        agent_id: AgentId,
    },
    /// A Ringing agent answers.
    AcceptCall {
        /// The agent.
        agent_id: AgentId,
        /// Audio-only or video.
        media: Media,
    },
    /// A Ringing agent declines; the visitor goes back to the head of the queue.
    RejectCall {
        /// The agent.
        agent_id: AgentId,
    },
    /// A visitor's words to their workgroup's bot.
    BotHear {
        /// The session, with the bot.
        session_id: SessionId,
        /// What the visitor wrote.
        text: String,
        /// Its negativity, 0 to 100, scored where it arrived (a
        /// [`Sentiment`](crate::bot::Sentiment)), so a replay weighs the same.
        #[serde(default)]
        emotion: u8,
    },
    /// The external bot's answer, or a business action's result, for the
    /// request numbered `turn`.
    BotReply {
        /// The session.
        session_id: SessionId,
        /// The request answered; a stale one is refused.
        turn: u32,
        /// What came back.
        answer: BotAnswer,
    },
    /// The visitor asks for a person (the escalate button).
    BotEscalate {
        /// The session, with the bot.
        session_id: SessionId,
    },
    /// The visitor declines the transfer under way and stays with the bot.
    BotRefuse {
        /// The session, queued by the bot.
        session_id: SessionId,
    },
}

/// What an accepted command did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Reply {
    /// The session waits in the queue at `position` (1 is next).
    Queued {
        /// The new session.
        session_id: SessionId,
        /// 1-based place in the queue.
        position: usize,
    },
    /// The session is being rung through to `agent_id` (two-phase assignment).
    Assigned {
        /// The session.
        session_id: SessionId,
        /// The agent now Ringing.
        agent_id: AgentId,
    },
    /// The call is answered and the session Active.
    Accepted {
        /// The session now Active.
        session_id: SessionId,
    },
    /// The session ended (hung up, left or cancelled).
    Ended {
        /// The session now Ended.
        session_id: SessionId,
    },
    /// The session is with its workgroup's bot, not queued (yet).
    WithBot {
        /// The new session.
        session_id: SessionId,
    },
    /// Done; nothing more to say.
    Done,
}
