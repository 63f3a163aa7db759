//! `GET /room?type=customer_service`: the seed's WebSocket signaling.
//!
//! Query parameters say in which role and where: `role=agent` (with
//! `agent_id`, which must be the credential's own agent unless a supervisor
//! or admin connects for it) or `role=customer` (the visitor of the token's
//! session), plus `room_id=customer-service/{session_id}` to join a call's
//! room. Who the participant is comes from the credential, never from the
//! query. An agent's console connects without a room and receives
//! `incoming_call`, `ring_timeout` and the rest on it.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use switchboard_core::{Center, Command, RoomId, SessionId};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::api::audit;
use crate::auth::access::rate_limited;
use crate::auth::{Caller, Role, Who};
use crate::chat::frames::{self, ChatFrame};
use crate::chat::{Asker, Op};
use crate::engine::{Build, View};
use crate::frames::{ClientFrame, Control};
use crate::listener::Door;
use crate::{forward, App};
use crate::{Answer, AnswerExt};
use switchboard_app::hub::Identity;

/// How often the server pings a connection.
pub const PING_INTERVAL: Duration = Duration::from_secs(20);
/// A connection silent this long (no frame, no pong) is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest client frame accepted.
pub const FRAME_MAX: usize = 16 * 1024;
/// Initial read buffer of a connection: most frames are small, and the
/// library's default (128 KiB) per idle connection would dominate memory.
pub const READ_BUFFER: usize = 4 * 1024;
/// Events buffered for a connection before it counts as too slow.
pub const OUTBOX_MAX: usize = 256;

/// The connection's query string.
#[derive(Debug, Default, Deserialize)]
pub struct RoomQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    room_id: Option<String>,
    role: Option<String>,
    agent_id: Option<String>,
    visitor_id: Option<String>,
    user_id: Option<String>,
}

/// Who a connection claims to be, before the visitor's id is looked up.
enum Claim {
    Agent(String),
    /// The visitor of this session (from a visitor token).
    VisitorOf(SessionId),
    /// A visitor named by an admin.
    Customer(String),
}

impl RoomQuery {
    /// The participant `caller` may connect as, and the room.
    fn claim(&self, caller: &Caller) -> Result<(Claim, Option<RoomId>), Answer> {
        if self.kind.as_deref() != Some("customer_service") {
            return Err(Answer::invalid("type must be customer_service"));
        }
        let id = |own: &Option<String>| {
            own.as_deref()
                .or(self.user_id.as_deref())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let claim = match (self.role.as_deref(), caller) {
            (Some("agent"), Caller::Staff(s)) => {
                let own = s.agent_id.as_ref().map(|a| a.to_string());
                match (id(&self.agent_id), own) {
                    (Some(asked), Some(own)) if asked == own => Claim::Agent(own),
                    (None, Some(own)) => Claim::Agent(own),
                    (Some(asked), _) if s.role >= Role::Supervisor => Claim::Agent(asked),
                    (None, None) => return Err(Answer::invalid("agent_id is required")),
                    (Some(asked), _) => {
                        return Err(Answer::forbidden(format!(
                            "this account may not act as agent {asked}"
                        )))
                    }
                }
            }
            (Some("customer"), Caller::Visitor { session, .. }) => {
                Claim::VisitorOf(session.clone())
            }
            (Some("customer"), c) if c.at_least(Role::Admin) => Claim::Customer(
                id(&self.visitor_id).ok_or_else(|| Answer::invalid("visitor_id is required"))?,
            ),
            (Some("agent" | "customer"), c) => {
                return Err(Answer::forbidden(format!(
                    "a {} may not connect as {}",
                    c.role_name(),
                    self.role.as_deref().unwrap_or_default()
                )))
            }
            _ => return Err(Answer::invalid("role must be agent or customer")),
        };
        let room =
            match self.room_id.as_deref() {
                None | Some("") => None,
                Some(r) => Some(RoomId::parse(r).ok_or_else(|| {
                    Answer::invalid("room_id must be customer-service/{session_id}")
                })?),
            };
        if let (Claim::VisitorOf(own), Some(r)) = (&claim, &room) {
            if r.session_id() != own {
                return Err(Answer::forbidden(
                    "this token is for another session's room",
                ));
            }
        }
        Ok((claim, room))
    }
}

/// The participant `caller` connects as over socket.io: `role` agent or
/// customer (by default what the credential is), with the same rules as `/room`.
pub(crate) async fn participant(
    app: &App,
    caller: &Caller,
    role: Option<String>,
    agent_id: Option<String>,
) -> Result<Identity, Answer> {
    let role = role.or_else(|| {
        Some(match caller {
            Caller::Visitor { .. } => "customer".into(),
            _ => "agent".into(),
        })
    });
    let query = RoomQuery {
        kind: Some("customer_service".into()),
        role,
        agent_id,
        ..RoomQuery::default()
    };
    let (claim, _) = query.claim(caller)?;
    identify(app, claim).await
}

/// Resolves a claim against the live state: a visitor token names a session,
/// whose visitor this is while it is open.
async fn identify(app: &App, claim: Claim) -> Result<Identity, Answer> {
    match claim {
        Claim::Agent(a) => Ok(Identity::Agent(a.into())),
        Claim::Customer(v) => Ok(Identity::Customer(v.into())),
        Claim::VisitorOf(sid) => {
            let caller = Caller::Visitor {
                session: sid.clone(),
                link: String::new(),
            };
            let answer = app
                .engine
                .read(Box::new(move |c, _| {
                    if let Err(refusal) = caller.check_session(c, sid.as_str(), false) {
                        return refusal;
                    }
                    match c.session(sid.as_str()) {
                        Some(s) => Answer::ok(s.customer_id.as_str()),
                        None => Answer::refused(&switchboard_core::CoreError::SessionNotFound(sid)),
                    }
                }))
                .await;
            if !answer.is_ok() {
                return Err(answer);
            }
            let visitor: String =
                serde_json::from_str(answer.body()).map_err(|_| Answer::unavailable())?;
            Ok(Identity::Customer(visitor.into()))
        }
    }
}

/// Upgrades to a WebSocket once the query names a participant.
pub(crate) async fn room(
    State(app): State<App>,
    caller: Who,
    query: Result<Query<RoomQuery>, axum::extract::rejection::QueryRejection>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return Answer::invalid("malformed query string").into_response();
    };
    if query.role.as_deref() == Some("monitor") {
        if !caller.caller.at_least(Role::Supervisor) {
            return Answer::forbidden("the live view is for supervisors and admins")
                .into_response();
        }
        return upgrade(ws, move |socket| monitor(socket, app, caller));
    }
    let (claim, room) = match query.claim(&caller.caller) {
        Ok(x) => x,
        Err(answer) => return answer.into_response(),
    };
    let who = match identify(&app, claim).await {
        Ok(who) => who,
        Err(answer) => return answer.into_response(),
    };
    upgrade(ws, move |socket| serve(socket, app, caller, who, room))
}

/// Upgrades with the frame and buffer limits every socket has, then runs
/// `serve`; a request that is no upgrade gets a JSON error.
fn upgrade<F, Fut>(
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
    serve: F,
) -> Response
where
    F: FnOnce(WebSocket) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    match ws {
        Ok(ws) => ws
            .max_message_size(FRAME_MAX)
            .read_buffer_size(READ_BUFFER)
            .on_upgrade(serve),
        Err(rejection) => Answer::error(
            rejection.status(),
            "websocket_required",
            rejection.body_text(),
        )
        .into_response(),
    }
}

/// What the server sends back for a client frame.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Reply<'a> {
    /// The action was applied; `result` is the core's reply, as serialized.
    Ack {
        action: &'a str,
        result: &'a RawValue,
    },
    /// The frame was refused and changed nothing.
    Error {
        #[serde(skip_serializing_if = "Option::is_none")]
        action: Option<&'a str>,
        error: Value,
    },
    Pong,
}

impl Reply<'_> {
    /// The frame answering `action`: its ack, or its error.
    fn to(action: &str, answer: &Answer) -> String {
        // The body is JSON: the engine serialized it.
        match serde_json::from_str::<&RawValue>(answer.body()) {
            Ok(result) if answer.is_ok() => Reply::Ack { action, result }.text(),
            _ => Reply::refused(action, answer).text(),
        }
    }

    /// The refusal in `answer`, as an error frame.
    fn refused<'a>(action: &'a str, answer: &Answer) -> Reply<'a> {
        Reply::Error {
            action: Some(action),
            error: answer.error_detail().unwrap_or_default(),
        }
    }

    /// A frame that never reached the engine.
    fn invalid(code: &str, message: &str) -> Self {
        Reply::Error {
            action: None,
            error: json!({ "code": code, "message": message }),
        }
    }

    fn text(&self) -> String {
        // Plain data with string keys: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A refusal that never reached an engine (the leader could not be asked),
/// as an error frame.
pub(crate) fn refusal_frame(answer: &Answer) -> String {
    Reply::Error {
        action: None,
        error: answer.error_detail().unwrap_or_default(),
    }
    .text()
}

/// What a live socket answers to beyond its frames: the rate limit of its
/// credential (shared with every other door) and that credential's revocation.
pub(crate) struct Gate {
    app: App,
    who: Who,
    door: Door,
    revocations: watch::Receiver<u64>,
}

impl Gate {
    pub(crate) fn new(app: &App, who: &Who, door: Door) -> Gate {
        Gate {
            app: app.clone(),
            who: who.clone(),
            door,
            revocations: app.auth.revocations(),
        }
    }

    /// Takes one frame against the credential's rate, or the refusal.
    pub(crate) fn admit(&self) -> Result<(), Answer> {
        admit_frame(&self.app, &self.who, self.door)
    }

    /// Resolves once this socket's credential has been revoked.
    pub(crate) async fn revoked(&mut self) {
        loop {
            if self.revocations.changed().await.is_err() {
                // The credential service is gone (shutting down): never.
                std::future::pending::<()>().await;
            }
            if !self.app.auth.still_valid(&self.who.caller) {
                return;
            }
        }
    }
}

/// Takes one frame of a live socket of `who`, coming through `door`: refused
/// if the credential was revoked meanwhile or is over its rate.
pub(crate) fn admit_frame(app: &App, who: &Who, door: Door) -> Result<(), Answer> {
    if !app.auth.still_valid(&who.caller) {
        return Err(crate::auth::unauthorized(REVOKED));
    }
    app.auth
        .admit(&who.caller, who.address, door, std::time::Instant::now())
        .map_err(|wait| rate_limited(wait).0)
}

/// Why a socket is closed when its credential goes.
pub(crate) const REVOKED: &str = "the credential was revoked (signed out, disabled or changed)";

async fn send(socket: &mut WebSocket, frame: &str) -> bool {
    socket.send(Message::Text(frame.into())).await.is_ok()
}

async fn serve(mut socket: WebSocket, app: App, caller: Who, who: Identity, room: Option<RoomId>) {
    let conn = app.engine.new_conn();
    let (out_tx, mut out_rx) = mpsc::channel::<String>(OUTBOX_MAX);
    let session = room.as_ref().map(|r| r.session_id().clone());
    let joined = app.engine.connect(conn, who.clone(), room, out_tx).await;
    if !joined.is_ok() {
        let _ = send(&mut socket, &Reply::refused("join", &joined).text()).await;
        let _ = socket.send(Message::Close(None)).await;
        return;
    }
    if !send(&mut socket, joined.body()).await {
        app.engine.disconnect(conn);
        return;
    }
    let mut gate = Gate::new(&app, &caller, Door::Room);
    pump(&mut socket, &mut out_rx, &mut gate, |text| {
        let (app, caller, who, session) =
            (app.clone(), caller.clone(), who.clone(), session.clone());
        async move { handle(&app, &caller, &who, session.as_ref(), &text).await }
    })
    .await;
    app.engine.disconnect(conn);
}

/// Serves an admitted socket until it goes: what the hub queues for it goes
/// out; each text frame in is answered with `answer`'s frame; it is pinged,
/// and closed after [`IDLE_TIMEOUT`] of silence.
async fn pump<F, Fut>(
    socket: &mut WebSocket,
    out_rx: &mut mpsc::Receiver<String>,
    gate: &mut Gate,
    mut answer: F,
) where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.tick().await;
    let mut last_heard = Instant::now();
    loop {
        // Biased, like the engine: a simulated run takes the same branch every time.
        tokio::select! {
            biased;
            incoming = socket.recv() => {
                let Some(Ok(msg)) = incoming else { break };
                last_heard = Instant::now();
                let reply = match msg {
                    Message::Text(text) => Some(match gate.admit() {
                        Ok(()) => answer(text.as_str().to_owned()).await,
                        Err(refusal) => Reply::Error { action: None, error: refusal.error_detail().unwrap_or_default() }.text(),
                    }),
                    Message::Binary(_) => Some(Reply::invalid("invalid_frame", "frames are JSON text").text()),
                    Message::Close(_) => break,
                    Message::Ping(_) | Message::Pong(_) => None,
                };
                if let Some(frame) = reply {
                    if !send(socket, &frame).await { break; }
                }
            }
            event = out_rx.recv() => {
                // None: the engine dropped this connection (replaced, too slow, shutting down).
                let Some(text) = event else { break };
                if !send(socket, &text).await { break; }
            }
            () = gate.revoked() => {
                let _ = send(socket, &Reply::invalid("unauthorized", REVOKED).text()).await;
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_TIMEOUT { break; }
                if socket.send(Message::Ping(Default::default())).await.is_err() { break; }
            }
        }
    }
}

/// A supervisor's live view (`role=monitor`): the statistics now, then every
/// event of the center and the statistics after each change. Client frames
/// other than pings are refused.
async fn monitor(mut socket: WebSocket, app: App, caller: Who) {
    let conn = app.engine.new_conn();
    let (out_tx, mut out_rx) = mpsc::channel::<String>(OUTBOX_MAX);
    let first = app.engine.watch(conn, out_tx).await;
    if !first.is_ok() || !send(&mut socket, first.body()).await {
        app.engine.disconnect(conn);
        return;
    }
    let mut gate = Gate::new(&app, &caller, Door::Room);
    pump(&mut socket, &mut out_rx, &mut gate, |text| async move {
        match ClientFrame::parse(&text) {
            Ok(ClientFrame::Ping) => Reply::Pong.text(),
            _ => Reply::invalid("read_only", "the live view takes no frames but pings").text(),
        }
    })
    .await;
    app.engine.disconnect(conn);
}

/// Answers one text frame: an ack, an error, or a pong. On a cluster's
/// follower, a frame for the engine is answered by the leader.
async fn handle(
    app: &App,
    caller: &Who,
    who: &Identity,
    room: Option<&SessionId>,
    text: &str,
) -> String {
    if matches!(ClientFrame::parse(text), Ok(ClientFrame::Ping)) {
        return Reply::Pong.text();
    }
    if let Some(reply) = forward::frame(app, caller, who, room, text).await {
        return reply;
    }
    answer_here(app, caller, who, room, text).await
}

/// Answers one text frame on this node.
pub(crate) async fn answer_here(
    app: &App,
    caller: &Who,
    who: &Identity,
    room: Option<&SessionId>,
    text: &str,
) -> String {
    if let Some(chat) = frames::parse(text) {
        return chat_frame(app, caller, who, room, chat).await;
    }
    let control = match ClientFrame::parse(text) {
        Ok(ClientFrame::Ping) => return Reply::Pong.text(),
        Ok(ClientFrame::Control(c)) => c,
        Err(e) => return Reply::invalid(e.code, &e.message).text(),
    };
    let action = control.name();
    let answer = run_control(app, caller, who, room, control).await;
    Reply::to(action, &answer)
}

/// Applies a call-control action for `who` (a transfer is audited).
pub(crate) async fn run_control(
    app: &App,
    caller: &Who,
    who: &Identity,
    room: Option<&SessionId>,
    control: Control,
) -> Answer {
    let entry = match &control {
        Control::TransferCall { session_id, .. } => {
            let target = session_id
                .as_ref()
                .or(room)
                .map_or("current call", |s| s.as_str());
            audit(caller, "session.transfer", target)
        }
        _ => None,
    };
    let view: View = Box::new(|_: &Center, r| match r {
        Ok(reply) => Answer::ok(reply),
        Err(e) => Answer::refused(&e),
    });
    app.engine
        .audited(build(control, who.clone(), room.cloned()), view, entry)
        .await
}

/// Answers one `chat_*` frame.
async fn chat_frame(
    app: &App,
    caller: &Who,
    who: &Identity,
    room: Option<&SessionId>,
    chat: Result<ChatFrame, String>,
) -> String {
    let frame = match chat {
        Ok(f) => f,
        Err(message) => return Reply::invalid("invalid_frame", &message).text(),
    };
    let action = frame.name();
    let op = match frame.op(room) {
        Ok(op) => op,
        Err(message) => {
            return Reply::Error {
                action: Some(action),
                error: json!({ "code": "invalid_input", "message": message }),
            }
            .text()
        }
    };
    let entry = match &op {
        Op::Close { session, .. } => audit(caller, "session.close", session.as_str()),
        _ => None,
    };
    let answer = app.engine.chat(Asker::from(who), op, entry).await;
    Reply::to(action, &answer)
}

/// Turns a control action into a command for `who`, resolving which call it
/// means and refusing actions that are not theirs, against the live state.
fn build(control: Control, who: Identity, room: Option<SessionId>) -> Build {
    Box::new(move |c: &Center| {
        let agent = match &who {
            Identity::Agent(a) => Some(a.clone()),
            Identity::Customer(_) => None,
        };
        let agent_only = |name: &str| {
            agent
                .clone()
                .ok_or_else(|| Answer::forbidden(format!("only an agent may {name}")))
        };
        // The call meant: this room's, the one named, or the agent's current one.
        let call = |named: Option<SessionId>| -> Result<SessionId, Answer> {
            let id = room
                .clone()
                .or(named)
                .or_else(|| c.agent(agent.as_ref()?.as_str())?.only_call().cloned())
                .ok_or_else(|| {
                    Answer::invalid("no single call: join a room or give data.session_id")
                })?;
            if c.session(id.as_str()).is_none() {
                return Err(Answer::refused(
                    &switchboard_core::CoreError::SessionNotFound(id),
                ));
            }
            if !who.belongs_to(c, &id) {
                return Err(Answer::forbidden(format!(
                    "{} is not in session {id}",
                    who.role()
                )));
            }
            Ok(id)
        };
        Ok(match control {
            Control::AcceptCall { media } => Command::AcceptCall {
                agent_id: agent_only("accept")?,
                media,
            },
            Control::RejectCall => Command::RejectCall {
                agent_id: agent_only("reject")?,
            },
            Control::EndCall { session_id } => {
                let session_id = call(session_id)?;
                let by = who.ending_party(c, &session_id).ok_or_else(|| {
                    Answer::forbidden(format!("{} may not end {session_id}", who.role()))
                })?;
                Command::EndSession { session_id, by }
            }
            Control::TransferCall {
                target_agent_id,
                session_id,
            } => {
                agent_only("transfer")?;
                Command::TransferSession {
                    session_id: call(session_id)?,
                    target_agent_id: target_agent_id.into(),
                }
            }
            Control::Mute {
                target,
                muted,
                session_id,
            } => Command::SetMute {
                session_id: call(session_id)?,
                target,
                muted,
            },
        })
    })
}
