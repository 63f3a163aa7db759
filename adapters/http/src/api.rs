//! The seed's `/customer-service/*` HTTP API. Handlers translate JSON to core
//! commands and core outcomes to JSON; every decision is the core's.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_core::{
    AgentId, Center, Command, CoreError, Media, Party, Reply, RoomId, SessionId,
};

use crate::answer::Answer;
use crate::body::{Body, OptionalBody};
use crate::engine::View;
use crate::{views, App};

/// Shows the session a command touched, from the state right after it.
fn show_session(id: SessionId, status: StatusCode) -> View {
    Box::new(move |c: &Center, r: Result<Reply, CoreError>| match r {
        Err(e) => Answer::refused(&e),
        Ok(_) => match c.session(id.as_str()) {
            Some(s) => Answer::new(status, views::session(s, c.now())),
            None => Answer::refused(&CoreError::SessionNotFound(id)),
        },
    })
}

/// Shows the session the command's reply names.
fn show_replied_session(status: StatusCode) -> View {
    Box::new(move |c: &Center, r: Result<Reply, CoreError>| match r {
        Err(e) => Answer::refused(&e),
        Ok(reply) => match session_of(&reply).and_then(|id| c.session(id.as_str())) {
            Some(s) => Answer::new(status, views::session(s, c.now())),
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
        | Reply::Ended { session_id } => Some(session_id),
        Reply::Done => None,
    }
}

pub(crate) async fn list_sessions(State(app): State<App>) -> Answer {
    app.engine
        .read(Box::new(|c, _| {
            Answer::ok(views::sessions(c.sessions().into_iter(), c.now()))
        }))
        .await
}

pub(crate) async fn get_session(State(app): State<App>, Path(id): Path<String>) -> Answer {
    app.engine
        .read(Box::new(move |c, _| match c.session(&id) {
            Some(s) => Answer::ok(views::session(s, c.now())),
            None => Answer::refused(&CoreError::SessionNotFound(id.into())),
        }))
        .await
}

pub(crate) async fn end_session(State(app): State<App>, Path(id): Path<String>) -> Answer {
    let id = SessionId::from(id);
    let command = Command::EndSession {
        session_id: id.clone(),
        by: Party::Admin,
    };
    app.engine
        .apply(command, show_session(id, StatusCode::OK))
        .await
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Assign {
    agent_id: String,
}

pub(crate) async fn assign(
    State(app): State<App>,
    Path(id): Path<String>,
    Body(b): Body<Assign>,
) -> Answer {
    let id = SessionId::from(id);
    let command = Command::AssignSession {
        session_id: id.clone(),
        agent_id: b.agent_id.into(),
    };
    app.engine
        .apply(command, show_session(id, StatusCode::OK))
        .await
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Transfer {
    target_agent_id: String,
}

pub(crate) async fn transfer(
    State(app): State<App>,
    Path(id): Path<String>,
    Body(b): Body<Transfer>,
) -> Answer {
    let id = SessionId::from(id);
    let command = Command::TransferSession {
        session_id: id.clone(),
        target_agent_id: b.target_agent_id.into(),
    };
    app.engine
        .apply(command, show_session(id, StatusCode::OK))
        .await
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Rate {
    rating: i64,
    comment: Option<String>,
}

pub(crate) async fn rate(
    State(app): State<App>,
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
    app.engine.apply(command, view).await
}

pub(crate) async fn get_rating(State(app): State<App>, Path(id): Path<String>) -> Answer {
    app.engine
        .read(Box::new(move |c, _| match c.session(&id) {
            None => Answer::refused(&CoreError::SessionNotFound(id.into())),
            Some(s) => match &s.rating {
                Some(r) => Answer::ok(views::rating(s, r)),
                None => Answer::error(
                    StatusCode::NOT_FOUND,
                    "rating_not_found",
                    format!("session {id} has no rating yet"),
                ),
            },
        }))
        .await
}

// ---- agents ----

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Register {
    agent_id: String,
    agent_name: Option<String>,
}

pub(crate) async fn register(State(app): State<App>, Body(b): Body<Register>) -> Answer {
    let id = b.agent_id.clone();
    let command = Command::RegisterAgent {
        agent_id: b.agent_id.into(),
        agent_name: b.agent_name,
    };
    app.engine.apply(command, show_agent(id)).await
}

pub(crate) async fn offline(State(app): State<App>, Path(id): Path<String>) -> Answer {
    let command = Command::AgentOffline {
        agent_id: id.as_str().into(),
    };
    app.engine.apply(command, show_agent(id)).await
}

pub(crate) async fn available(State(app): State<App>, Path(id): Path<String>) -> Answer {
    let command = Command::AgentAvailable {
        agent_id: id.as_str().into(),
    };
    app.engine.apply(command, show_agent(id)).await
}

pub(crate) async fn unavailable(State(app): State<App>, Path(id): Path<String>) -> Answer {
    let command = Command::AgentNotReady {
        agent_id: id.as_str().into(),
    };
    app.engine.apply(command, show_agent(id)).await
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
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
pub(crate) struct Weight {
    weight: u32,
}

pub(crate) async fn set_weight(
    State(app): State<App>,
    Path(id): Path<String>,
    Body(b): Body<Weight>,
) -> Answer {
    let command = Command::SetAgentWeight {
        agent_id: id.as_str().into(),
        weight: b.weight,
    };
    app.engine.apply(command, show_agent(id)).await
}

pub(crate) async fn list_agents(State(app): State<App>) -> Answer {
    app.engine
        .read(Box::new(|c, _| {
            Answer::ok(views::agents(c.agents().into_iter(), c.now()))
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
            Answer::ok(views::agents(ready, c.now()))
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
pub(crate) struct Join {
    visitor_id: String,
    visitor_name: Option<String>,
    preferred_skill: Option<String>,
    priority: Option<u8>,
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
}

pub(crate) async fn join(State(app): State<App>, Body(b): Body<Join>) -> Answer {
    let command = Command::JoinQueue {
        visitor_id: b.visitor_id.into(),
        visitor_name: b.visitor_name,
        preferred_skill: b.preferred_skill,
        priority: b.priority.unwrap_or(0),
    };
    let view: View = Box::new(|c, r| {
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
            Ok(_) => return Answer::unavailable(),
        };
        Answer::ok(Joined {
            status,
            session_id,
            room_id: session_id.room_id(),
            agent_id,
            position,
            queue_length: c.queue_len(),
        })
    });
    app.engine.apply(command, view).await
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Leave {
    visitor_id: String,
}

pub(crate) async fn leave(State(app): State<App>, Body(b): Body<Leave>) -> Answer {
    let command = Command::LeaveQueue {
        visitor_id: b.visitor_id.as_str().into(),
    };
    let view: View = Box::new(move |_, r| match r {
        Err(e) => Answer::refused(&e),
        Ok(reply) => Answer::ok(json!({
            "status": "left",
            "visitor_id": b.visitor_id,
            "session_id": session_of(&reply),
        })),
    });
    app.engine.apply(command, view).await
}

pub(crate) async fn queue_status(State(app): State<App>) -> Answer {
    app.engine
        .read(Box::new(|c, _| Answer::ok(views::queue(c))))
        .await
}

pub(crate) async fn position(State(app): State<App>, Path(visitor): Path<String>) -> Answer {
    app.engine
        .read(Box::new(move |c, _| match c.visitor(&visitor) {
            Err(e) => Answer::refused(&e),
            Ok(v) => Answer::ok(json!({
                "visitor_id": visitor,
                "session_id": v.session_id,
                "status": v.status,
                "position": v.position,
                "queue_length": v.queue_length,
                "agent_id": v.agent_id,
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
