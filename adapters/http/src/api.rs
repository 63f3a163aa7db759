//! The seed's `/customer-service/*` HTTP API. Handlers translate JSON to core
//! commands and core outcomes to JSON; every decision is the core's. The
//! route's static rule was checked by the guard; what depends on live state
//! (whose call it is) is checked here, on the engine thread, atomically with
//! the command.

use std::time::{Duration, Instant};

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_core::{
    joined_workgroup, AgentId, Center, Channel, Command, CoreError, Media, Reply, RoomId, SessionId,
};
use switchboard_store::AuditEntry;

use crate::auth::access::too_many;
use crate::auth::{caller_entry, Caller, Role, Who};
use crate::body::{Body, OptionalBody};
use crate::engine::{Build, View};
use crate::{Answer, AnswerExt};
use switchboard_app::views;

use crate::App;

/// An audit record of a staff action, its outcome filled in by the engine.
pub(crate) fn audit(who: &Who, action: &str, target: &str) -> Option<AuditEntry> {
    Some(caller_entry(
        &who.caller,
        action,
        Some(target),
        who.address,
        "",
    ))
}

/// Applies `command` once `who` passes the live session rule for `sid`.
pub(crate) fn checked(who: &Who, sid: &SessionId, rating: bool, command: Command) -> Build {
    let caller = who.caller.clone();
    let sid = sid.clone();
    Box::new(move |c: &Center| {
        caller.check_session(c, sid.as_str(), rating)?;
        Ok(command)
    })
}

/// The tail every session route shares: applies `build` (recording `action`
/// in the audit log when staff ask; a visitor's own acts are theirs) and
/// answers with the session as it is right after.
pub(crate) async fn on_session(
    app: &App,
    who: &Who,
    id: SessionId,
    action: Option<&str>,
    build: Build,
) -> Answer {
    let entry = match (&who.caller, action) {
        (Caller::Staff(_), Some(action)) => audit(who, action, id.as_str()),
        _ => None,
    };
    app.engine.audited(build, show_session(id), entry).await
}

/// Shows the session a command touched, from the state right after it.
fn show_session(id: SessionId) -> View {
    Box::new(move |c: &Center, r: Result<Reply, CoreError>| match r {
        Err(e) => Answer::refused(&e),
        Ok(_) => match c.session(id.as_str()) {
            Some(s) => Answer::ok(views::session(c, s)),
            None => Answer::refused(&CoreError::SessionNotFound(id)),
        },
    })
}

/// Shows the session the command's reply names.
fn show_replied_session(status: StatusCode) -> View {
    Box::new(move |c: &Center, r: Result<Reply, CoreError>| match r {
        Err(e) => Answer::refused(&e),
        Ok(reply) => match session_of(&reply).and_then(|id| c.session(id.as_str())) {
            Some(s) => Answer::new_json(status, views::session(c, s)),
            None => Answer::unavailable(),
        },
    })
}

/// Shows the agent a command touched.
pub(crate) fn show_agent(id: String) -> View {
    Box::new(move |c: &Center, r: Result<Reply, CoreError>| match r {
        Err(e) => Answer::refused(&e),
        Ok(_) => match c.agent(&id) {
            Some(a) => Answer::ok(views::agent(a, c.now())),
            None => Answer::refused(&CoreError::AgentNotFound(id.into())),
        },
    })
}

// ---- sessions ----

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateSession {
    title: String,
    customer_id: String,
    customer_name: Option<String>,
    description: Option<String>,
}

pub(crate) async fn create_session(State(app): State<App>, Body(b): Body<CreateSession>) -> Answer {
    let command = Command::CreateSession {
        title: b.title,
        customer_id: b.customer_id.into(),
        customer_name: b.customer_name,
        description: b.description,
    };
    app.engine
        .apply(command, show_replied_session(StatusCode::CREATED))
        .await
}

fn session_of(reply: &Reply) -> Option<&SessionId> {
    match reply {
        Reply::Queued { session_id, .. }
        | Reply::Assigned { session_id, .. }
        | Reply::Accepted { session_id }
        | Reply::WithBot { session_id }
        | Reply::Ended { session_id } => Some(session_id),
        Reply::Done => None,
    }
}

/// Supervisors and admins see every session; an agent sees the ones it
/// holds, held, or is rung for.
pub(crate) async fn list_sessions(State(app): State<App>, who: Who) -> Answer {
    let mine = (!who.caller.at_least(Role::Supervisor)).then(|| who.caller.agent().cloned());
    app.engine
        .read(Box::new(move |c, _| {
            let visible = c.sessions().into_iter().filter(|s| match &mine {
                None => true,
                Some(me) => me.as_ref().is_some_and(|a| s.agent_part(a).is_some()),
            });
            Answer::ok(views::sessions(c, visible))
        }))
        .await
}

pub(crate) async fn get_session(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
) -> Answer {
    app.engine
        .read(Box::new(move |c, _| {
            if let Err(refusal) = who.caller.check_session(c, &id, false) {
                return refusal;
            }
            match c.session(&id) {
                // The bot's scoring and the handoff context are for staff
                // and agents, not for the visitor.
                Some(s) if !matches!(who.caller, Caller::Visitor { .. }) && s.bot.is_some() => {
                    let mut v = views::to_json(&views::session(c, s));
                    v["bot_detail"] = views::bot_detail(s);
                    Answer::ok(v)
                }
                Some(s) => Answer::ok(views::session(c, s)),
                None => Answer::refused(&CoreError::SessionNotFound(id.into())),
            }
        }))
        .await
}

/// Ends a call: its visitor or agent hangs up, or staff ends it (audited).
pub(crate) async fn end_session(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
) -> Answer {
    let id = SessionId::from(id);
    let caller = who.caller.clone();
    let session_id = id.clone();
    let build: Build = Box::new(move |c| {
        caller.check_session(c, session_id.as_str(), false)?;
        let s = c
            .session(session_id.as_str())
            .ok_or_else(|| Answer::refused(&CoreError::SessionNotFound(session_id.clone())))?;
        let supervisor = caller.at_least(Role::Supervisor);
        let by = caller
            .speaker(c)
            .and_then(|who| s.ending_party(&who, supervisor))
            .ok_or_else(|| Answer::forbidden(format!("session {session_id} is not yours")))?;
        Ok(Command::EndSession { session_id, by })
    });
    on_session(&app, &who, id, Some("session.end"), build).await
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Assign {
    agent_id: String,
}

/// Supervisors ring any Ready agent; an agent may only pick a call for itself.
pub(crate) async fn assign(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    Body(b): Body<Assign>,
) -> Answer {
    if !who.caller.at_least(Role::Supervisor)
        && who.caller.agent().map(AgentId::as_str) != Some(b.agent_id.as_str())
    {
        return Answer::forbidden("an agent may only assign a call to itself");
    }
    let id = SessionId::from(id);
    let command = Command::AssignSession {
        session_id: id.clone(),
        agent_id: b.agent_id.into(),
    };
    let build: Build = Box::new(move |_| Ok(command));
    on_session(&app, &who, id, Some("session.assign"), build).await
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Transfer {
    target_agent_id: String,
}

pub(crate) async fn transfer(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    Body(b): Body<Transfer>,
) -> Answer {
    let id = SessionId::from(id);
    let command = Command::TransferSession {
        session_id: id.clone(),
        target_agent_id: b.target_agent_id.into(),
    };
    let build = checked(&who, &id, false, command);
    on_session(&app, &who, id, Some("session.transfer"), build).await
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rate {
    rating: i64,
    comment: Option<String>,
}

pub(crate) async fn rate(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    Body(b): Body<Rate>,
) -> Answer {
    let id = SessionId::from(id);
    // Out-of-range values (0, 6, 300, -1) all reach the core, which says why.
    let rating = u8::try_from(b.rating).unwrap_or(0);
    let command = Command::RateSession {
        session_id: id.clone(),
        rating,
        comment: b.comment,
    };
    let build = checked(&who, &id, true, command);
    let view: View = Box::new(move |c, r| match r {
        Err(e) => Answer::refused(&e),
        Ok(_) => match c
            .session(id.as_str())
            .and_then(|s| Some((s, s.rating.as_ref()?)))
        {
            Some((s, r)) => Answer::ok(views::rating(s, r)),
            None => Answer::unavailable(),
        },
    });
    app.engine.command(build, view).await
}

pub(crate) async fn get_rating(State(app): State<App>, who: Who, Path(id): Path<String>) -> Answer {
    app.engine
        .read(Box::new(move |c, _| {
            if let Err(refusal) = who.caller.check_session(c, &id, true) {
                return refusal;
            }
            rating_of(c, id)
        }))
        .await
}

fn rating_of(c: &Center, id: String) -> Answer {
    match c.session(&id) {
        None => Answer::refused(&CoreError::SessionNotFound(id.into())),
        Some(s) => match &s.rating {
            Some(r) => Answer::ok(views::rating(s, r)),
            None => Answer::error(
                StatusCode::NOT_FOUND,
                "rating_not_found",
                format!("session {id} has no rating yet"),
            ),
        },
    }
}

// ---- agents ----

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Register {
    agent_id: String,
    agent_name: Option<String>,
}

/// An agent signs itself in; an admin may sign in any agent (audited).
pub(crate) async fn register(State(app): State<App>, who: Who, Body(b): Body<Register>) -> Answer {
    let own = who.caller.agent().map(AgentId::as_str) == Some(b.agent_id.as_str());
    if !own && !who.caller.at_least(Role::Admin) {
        return Answer::forbidden("an account may only sign in its own agent");
    }
    let id = b.agent_id.clone();
    let entry = (!own).then(|| audit(&who, "agent.register", &id)).flatten();
    let command = Command::RegisterAgent {
        agent_id: b.agent_id.into(),
        agent_name: b.agent_name,
    };
    app.engine
        .audited(Box::new(move |_| Ok(command)), show_agent(id), entry)
        .await
}

/// A state change of agent `id`: its own, or forced by staff (audited).
async fn agent_state(app: &App, who: &Who, id: String, action: &str, command: Command) -> Answer {
    let own = who.caller.agent().map(AgentId::as_str) == Some(id.as_str());
    let entry = (!own).then(|| audit(who, action, &id)).flatten();
    apply_to_agent(app, id, command, entry).await
}

/// Applies `command` to agent `id` (recording `entry`) and shows the agent.
pub(crate) async fn apply_to_agent(
    app: &App,
    id: String,
    command: Command,
    entry: Option<AuditEntry>,
) -> Answer {
    app.engine
        .audited(Box::new(move |_| Ok(command)), show_agent(id), entry)
        .await
}

pub(crate) async fn offline(State(app): State<App>, who: Who, Path(id): Path<String>) -> Answer {
    let command = Command::AgentOffline {
        agent_id: id.as_str().into(),
    };
    agent_state(&app, &who, id, "agent.offline", command).await
}

pub(crate) async fn available(State(app): State<App>, who: Who, Path(id): Path<String>) -> Answer {
    let command = Command::AgentAvailable {
        agent_id: id.as_str().into(),
    };
    agent_state(&app, &who, id, "agent.available", command).await
}

/// `{"reason"}`: one of the center's `not_ready_reasons` (the first if none).
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotReady {
    reason: Option<String>,
}

pub(crate) async fn unavailable(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    Body(b): OptionalBody<NotReady>,
) -> Answer {
    let command = Command::AgentNotReady {
        agent_id: id.as_str().into(),
        reason: b.reason,
    };
    agent_state(&app, &who, id, "agent.unavailable", command).await
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Accept {
    media: Option<Media>,
}

pub(crate) async fn accept(
    State(app): State<App>,
    Path(id): Path<String>,
    Body(b): OptionalBody<Accept>,
) -> Answer {
    let command = Command::AcceptCall {
        agent_id: id.into(),
        media: b.media.unwrap_or(Media::Video),
    };
    app.engine
        .apply(command, show_replied_session(StatusCode::OK))
        .await
}

pub(crate) async fn reject(State(app): State<App>, Path(id): Path<String>) -> Answer {
    let command = Command::RejectCall {
        agent_id: id.as_str().into(),
    };
    app.engine.apply(command, show_agent(id)).await
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Weight {
    weight: u32,
}

pub(crate) async fn set_weight(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    Body(b): Body<Weight>,
) -> Answer {
    let command = Command::SetAgentWeight {
        agent_id: id.as_str().into(),
        weight: b.weight,
    };
    agent_state(&app, &who, id, "agent.weight", command).await
}

pub(crate) async fn list_agents(State(app): State<App>) -> Answer {
    app.engine
        .read(Box::new(|c, _| {
            Answer::ok(views::agents(c, c.agents().into_iter()))
        }))
        .await
}

pub(crate) async fn available_agents(State(app): State<App>) -> Answer {
    app.engine
        .read(Box::new(|c, _| {
            let ready = c
                .agents()
                .into_iter()
                .filter(|a| a.state == switchboard_core::AgentState::Ready);
            Answer::ok(views::agents(c, ready))
        }))
        .await
}

pub(crate) async fn agent_stats(State(app): State<App>) -> Answer {
    app.engine
        .read(Box::new(|c, _| Answer::ok(c.stats().agents)))
        .await
}

// ---- queue ----

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Join {
    visitor_id: String,
    visitor_name: Option<String>,
    preferred_skill: Option<String>,
    priority: Option<u8>,
    /// `video` (default) or `chat` for text chat without media.
    #[serde(default)]
    channel: Channel,
    /// What the visitor wants help with (the session's title and description).
    question: Option<String>,
}

/// The answer to `queue/join`: `assigned` with the agent rung, or `queued`
/// with the position.
#[derive(Serialize)]
struct Joined<'a> {
    status: &'static str,
    session_id: &'a SessionId,
    room_id: RoomId,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_id: Option<&'a AgentId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<usize>,
    queue_length: usize,
    /// The visitor's credential for this session (and only it).
    token: &'a str,
    /// When the token expires, Unix milliseconds.
    token_expires_at: i64,
}

/// Queues a visitor. Without a staff credential this is the public entry:
/// rate limited per address, and only into groups that allow it. The answer
/// carries the visitor's token for the new session.
pub(crate) async fn join(State(app): State<App>, who: Who, Body(b): Body<Join>) -> Response {
    let public = who.caller.staff().is_none();
    if public {
        if let Err(wait) = app.auth.admit_public_join(who.address, Instant::now()) {
            return too_many(wait);
        }
    }
    let skill = b.preferred_skill.clone();
    let command = Command::JoinQueue {
        visitor_id: b.visitor_id.into(),
        visitor_name: b.visitor_name,
        preferred_skill: b.preferred_skill,
        priority: b.priority.unwrap_or(0),
        channel: b.channel,
        question: b.question,
    };
    let build: Build = Box::new(move |c| {
        if public && !c.takes_public_join(skill.as_deref()) {
            let group = joined_workgroup(skill.as_deref());
            return Err(Answer::forbidden(format!(
                "workgroup {group} does not take visitors without a link"
            )));
        }
        Ok(command)
    });
    let auth = app.auth.clone();
    let ttl = Duration::from_secs(auth.settings().join_token_ttl_secs);
    let view: View = Box::new(move |c, r| {
        let (status, session_id, agent_id, position) = match &r {
            Err(e) => return Answer::refused(e),
            Ok(Reply::Assigned {
                session_id,
                agent_id,
            }) => ("assigned", session_id, Some(agent_id), None),
            Ok(Reply::Queued {
                session_id,
                position,
            }) => ("queued", session_id, None, Some(*position)),
            // The workgroup's bot answers first; the visitor queues on handoff.
            Ok(Reply::WithBot { session_id }) => ("bot", session_id, None, None),
            Ok(_) => return Answer::unavailable(),
        };
        // A link of its own, so that this visitor's sign-out revokes only this token.
        let link = format!("join_{}", crate::auth::secrets::random(9));
        let (token, token_expires_at) = auth.visitor_token(session_id, &link, ttl);
        Answer::ok(Joined {
            status,
            session_id,
            room_id: session_id.room_id(),
            agent_id,
            position,
            queue_length: c.queue_len(),
            token: &token,
            token_expires_at,
        })
    });
    app.engine.command(build, view).await.into_response()
}

/// Refuses a visitor acting on a visitor id other than their session's.
fn own_visitor(caller: &Caller, c: &Center, visitor: &str) -> Result<(), Answer> {
    match caller {
        Caller::Visitor { session, .. } => {
            let theirs = c
                .session(session.as_str())
                .is_some_and(|s| s.customer_id.as_str() == visitor);
            if theirs {
                Ok(())
            } else {
                Err(Answer::forbidden("a visitor may only act for themselves"))
            }
        }
        _ => Ok(()),
    }
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Leave {
    visitor_id: String,
}

pub(crate) async fn leave(State(app): State<App>, who: Who, Body(b): Body<Leave>) -> Answer {
    let command = Command::LeaveQueue {
        visitor_id: b.visitor_id.as_str().into(),
    };
    let visitor = b.visitor_id.clone();
    let build: Build = Box::new(move |c| {
        own_visitor(&who.caller, c, &visitor)?;
        Ok(command)
    });
    let view: View = Box::new(move |_, r| match r {
        Err(e) => Answer::refused(&e),
        Ok(reply) => Answer::ok(json!({
            "status": "left",
            "visitor_id": b.visitor_id,
            "session_id": session_of(&reply),
        })),
    });
    app.engine.command(build, view).await
}

pub(crate) async fn queue_status(State(app): State<App>) -> Answer {
    app.engine
        .read(Box::new(|c, _| Answer::ok(views::queue(c))))
        .await
}

pub(crate) async fn position(
    State(app): State<App>,
    who: Who,
    Path(visitor): Path<String>,
) -> Answer {
    app.engine
        .read(Box::new(move |c, _| match c.visitor(&visitor) {
            _ if own_visitor(&who.caller, c, &visitor).is_err() => {
                Answer::forbidden("a visitor may only act for themselves")
            }
            Err(e) => Answer::refused(&e),
            Ok(v) => Answer::ok(json!({
                "visitor_id": visitor,
                "session_id": v.session_id,
                "status": v.status,
                "position": v.position,
                "queue_length": v.queue_length,
                "agent_id": v.agent_id,
                "estimated_wait_ms": v.estimated_wait_ms,
            })),
        }))
        .await
}

// ---- stats ----

pub(crate) async fn stats(State(app): State<App>) -> Answer {
    app.engine
        .read(Box::new(|c, _| Answer::ok(views::stats(&c.stats()))))
        .await
}

pub(crate) async fn rating_stats(State(app): State<App>) -> Answer {
    app.engine
        .read(Box::new(|c, _| Answer::ok(views::ratings(&c.stats()))))
        .await
}

/// `?days=N`, 1 to 366, default 7.
pub(crate) async fn trend(State(app): State<App>, RawQuery(query): RawQuery) -> Answer {
    let mut days = 7u32;
    for pair in query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        if let Some(v) = pair.strip_prefix("days=") {
            match v.parse() {
                Ok(d) => days = d,
                Err(_) => {
                    return Answer::error(
                        StatusCode::BAD_REQUEST,
                        "invalid_input",
                        format!("days must be an integer from 1 to 366, not {v:?}"),
                    )
                }
            }
        }
    }
    app.engine
        .read(Box::new(move |c, _| match c.trend(days) {
            Err(e) => Answer::refused(&e),
            Ok(trend) => Answer::ok(json!({ "days": days, "trend": trend })),
        }))
        .await
}
