//! socket.io (protocol v5, through `socketioxide`) at `/socket.io/`,
//! speaking the seed's event names, so that a stock `socket.io-client`
//! works. It is a third door to the same engine: a connection joins the hub
//! like a `/room` WebSocket, its events become the same chat operations and
//! call-control commands, and what the hub sends it is renamed to the seed's
//! events on the way out.
//!
//! Credentials: `auth: { token }` in the client's options (a sign-in, API,
//! visitor token or a WebSocket ticket), else the request's bearer header or
//! sign-in cookie (checked against `Origin` like any upgrade). Optional
//! `auth.role` and `auth.agent_id` as for `/room`.
//!
//! Every client event may take an acknowledgement callback: it receives the
//! result, or `{ "error": { "code", "message" } }`. Without one, a refusal
//! comes back as an `error` event.

use axum::routing::{get_service, post_service, MethodRouter};
use serde::Deserialize;
use serde_json::{json, Value};
use socketioxide::extract::{AckSender, Event, Extension, HttpExtension, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::SocketIo;
use switchboard_core::{Command, Media, SessionId};
use tokio::sync::mpsc;

use crate::auth::{now_ms, Caller, Who};
use crate::chat::frames::{CloseData, HistoryData, ReceiptData, SendData, TypingData};
use crate::chat::{Asker, Op};
use crate::frames::Control;
use crate::listener::Door;
use crate::ws::{admit_frame, participant, run_control, Gate, FRAME_MAX, OUTBOX_MAX, REVOKED};
use crate::App;
use crate::{Answer, AnswerExt};
use switchboard_app::hub::{ConnId, Identity};

/// Where socket.io is served.
pub const PATH: &str = "/socket.io/";

/// The `auth` object of a client's connect packet.
#[derive(Debug, Default, Deserialize)]
struct AuthPayload {
    token: Option<String>,
    role: Option<String>,
    agent_id: Option<String>,
}

/// Who a socket is, settled when it connects.
#[derive(Clone, Debug)]
struct Participant {
    who: Identity,
    caller: Who,
    /// The visitor's session (visitor tokens name one).
    session: Option<SessionId>,
    /// Its connection in the engine's hub.
    conn: ConnId,
}

/// The socket.io routes, GET and POST (engine.io polls with both), its
/// handlers bound to `app`.
pub(crate) fn routes(app: App) -> (MethodRouter<App>, MethodRouter<App>) {
    let (svc, io) = SocketIo::builder()
        .max_payload(FRAME_MAX as u64)
        // As on the plain WebSocket: a larger frame closes the socket
        // before it is read (socketioxide's default is 64 MiB).
        .ws_max_message_size(FRAME_MAX)
        .ws_max_frame_size(FRAME_MAX)
        .build_svc();
    let (on_auth, on_connect) = (app.clone(), app);
    let authenticate = move |s: SocketRef,
                             TryData(auth): TryData<AuthPayload>,
                             HttpExtension(who): HttpExtension<Who>| {
        let app = on_auth.clone();
        async move {
            let auth = auth.unwrap_or_default();
            let p = authenticate(&app, who, auth).await.map_err(|a| {
                let e = a.error_detail().unwrap_or_default();
                e["message"].as_str().unwrap_or("refused").to_owned()
            })?;
            // Here, before socketioxide sends the connect packet: its
            // (async) connect handler is spawned after that packet, and the
            // client's first event could come before it had listened.
            listen(&app, &s, &p);
            s.extensions.insert(p);
            Ok::<(), String>(())
        }
    };
    let connected = move |s: SocketRef, Extension(p): Extension<Participant>| {
        let app = on_connect.clone();
        async move { connected(app, s, p).await }
    };
    io.ns("/", connected.with(authenticate));
    (get_service(svc.clone()), post_service(svc))
}

/// The participant a connect packet proves.
async fn authenticate(app: &App, http: Who, auth: AuthPayload) -> Result<Participant, Answer> {
    let caller = match auth.token.as_deref() {
        Some(t) if t.starts_with("sbk_") => app
            .auth
            .redeem(t, std::time::Instant::now())
            .map_err(|e| crate::auth::unauthorized(e.to_string()))?,
        Some(t) => app
            .auth
            .resolve(t, now_ms())
            .map_err(|e| crate::auth::unauthorized(e.to_string()))?,
        None => http.caller.clone(),
    };
    if matches!(caller, Caller::Anonymous) {
        return Err(crate::auth::unauthorized(
            "give auth.token (or connect with a credential)",
        ));
    }
    let session = match &caller {
        Caller::Visitor { session, .. } => Some(session.clone()),
        _ => None,
    };
    let who = participant(app, &caller, auth.role, auth.agent_id).await?;
    Ok(Participant {
        who,
        caller: Who {
            caller,
            address: http.address,
        },
        session,
        conn: app.engine.new_conn(),
    })
}

/// Answers the socket's events, and leaves the hub when it goes.
fn listen(app: &App, s: &SocketRef, p: &Participant) {
    let (ev_app, ev_p) = (app.clone(), p.clone());
    s.on_fallback(
        move |s: SocketRef, Event(event): Event, TryData(data): TryData<Value>, ack: AckSender| {
            let (app, p) = (ev_app.clone(), ev_p.clone());
            async move {
                let data = data.unwrap_or(Value::Null);
                let answer = dispatch(&app, &p, &event, data).await;
                let body: Value = serde_json::from_str(answer.body()).unwrap_or(Value::Null);
                let reply = if answer.is_ok() {
                    body
                } else {
                    json!({ "error": body["error"] })
                };
                if ack.send(&reply).is_err() && !answer.is_ok() {
                    let _ = s.emit("error", &json!({ "event": event, "error": reply["error"] }));
                }
            }
        },
    );
    let (gone, conn) = (app.clone(), p.conn);
    s.on_disconnect(move || {
        let app = gone.clone();
        async move { app.engine.disconnect(conn) }
    });
}

/// Joins the hub and serves the socket until it goes: from the
/// `connected` event on, pushed events arrive.
async fn connected(app: App, s: SocketRef, p: Participant) {
    let conn = p.conn;
    let (out_tx, mut out_rx) = mpsc::channel::<String>(OUTBOX_MAX);
    let joined = app.engine.connect(conn, p.who.clone(), None, out_tx).await;
    if !joined.is_ok() {
        let _ = s.emit("error", &json!({ "error": joined.error_detail() }));
        let _ = s.disconnect();
        return;
    }
    if !s.connected() {
        // Gone while joining: its disconnect may have come first.
        app.engine.disconnect(conn);
        return;
    }
    let role = p.who.role();
    let _ = s.emit(
        "connected",
        &json!({ "role": role, "session_id": p.session }),
    );

    // What the hub sends this participant, renamed to the seed's events,
    // until the hub lets go or the credential is revoked.
    let mut gate = Gate::new(&app, &p.caller, Door::SocketIo);
    let who = p.who;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                () = gate.revoked() => {
                    let _ = s.emit("error", &json!({ "error": { "code": "unauthorized", "message": REVOKED } }));
                    break;
                }
                text = out_rx.recv() => {
                    let Some(text) = text else { break };
                    let Ok(frame) = serde_json::from_str::<Value>(&text) else {
                        continue;
                    };
                    let (event, data) = outgoing(&who, frame);
                    if s.emit(event, &data).is_err() {
                        break;
                    }
                }
            }
        }
        // Revoked, the hub let go (too slow, or shutting down) or the socket closed.
        let _ = s.disconnect();
    });
}

fn parse<T: for<'de> Deserialize<'de> + Default>(data: Value) -> Result<T, Answer> {
    if data.is_null() {
        return Ok(T::default());
    }
    serde_json::from_value(data).map_err(|e| Answer::invalid(format!("malformed data: {e}")))
}

/// The session an event means: the visitor's own, or the one named.
fn own_or(p: &Participant, named: Option<String>) -> Option<SessionId> {
    p.session
        .clone()
        .or_else(|| named.filter(|s| !s.is_empty()).map(|s| s.as_str().into()))
}

/// One client event: a chat operation or a call-control action. On a
/// cluster's follower the leader answers it.
async fn dispatch(app: &App, p: &Participant, event: &str, data: Value) -> Answer {
    if let Err(refusal) = admit_frame(app, &p.caller, Door::SocketIo) {
        return refusal;
    }
    let forwarded = crate::forward::event(app, &p.caller, &p.who, p.session.as_ref(), event, &data);
    if let Some(answer) = forwarded.await {
        return answer;
    }
    match run(app, p, event, data).await {
        Ok(answer) | Err(answer) => answer,
    }
}

/// Answers a follower's participant's event on this node (the leader).
pub(crate) async fn answer_here(
    app: &App,
    caller: Who,
    who: Identity,
    session: Option<SessionId>,
    event: &str,
    data: Value,
) -> Answer {
    // Its connection is the follower's: nothing here is sent on it.
    let p = Participant {
        who,
        caller,
        session,
        conn: 0,
    };
    match run(app, &p, event, data).await {
        Ok(answer) | Err(answer) => answer,
    }
}

async fn run(app: &App, p: &Participant, event: &str, data: Value) -> Result<Answer, Answer> {
    let asker = Asker::from(&p.who);
    let room = p.session.as_ref();
    let chat = |op: Op| app.engine.chat(asker.clone(), op, None);
    let customer = matches!(p.who, Identity::Customer(_));
    let agent_id = match &p.who {
        Identity::Agent(a) => Some(a.clone()),
        Identity::Customer(_) => None,
    };
    let agent_only = || {
        agent_id
            .clone()
            .ok_or_else(|| crate::Answer::forbidden(format!("{event} is for agents")))
    };
    let invalid = |m: &'static str| Answer::invalid(m);
    Ok(match event {
        "customer:join" if customer => {
            let op = Op::History {
                to: crate::chat::Target::Session(
                    room.cloned().ok_or_else(|| invalid("no session"))?,
                ),
                after: None,
                before: None,
                limit: None,
            };
            chat(op).await
        }
        "customer:message" | "agent:message" | "agent:internal" => {
            let mut d: SendData = parse(data)?;
            if customer {
                d.to.session_id = room.map(|s| s.to_string());
            }
            if event == "agent:internal" && d.to.session_id.is_some() {
                return Err(invalid("agent:internal goes to_agent or to a workgroup"));
            }
            chat(d.op(room).map_err(invalid)?).await
        }
        "customer:typing" | "agent:typing" => {
            let d: TypingData = parse(data)?;
            chat(Op::Typing {
                to: d.to.target(room).map_err(invalid)?,
                typing: d.typing,
            })
            .await
        }
        "message:receipt" => {
            let d: ReceiptData = parse(data)?;
            chat(Op::Receipt {
                to: d.to.target(room).map_err(invalid)?,
                delivered: d.delivered,
                read: d.read,
            })
            .await
        }
        "message:history" => {
            let d: HistoryData = parse(data)?;
            chat(Op::History {
                to: d.to.target(room).map_err(invalid)?,
                after: d.after,
                before: d.before,
                limit: d.limit,
            })
            .await
        }
        "chat:list" => chat(Op::List).await,
        "session:close" => {
            let d: CloseData = parse(data)?;
            let session = own_or(p, d.session_id).ok_or_else(|| invalid("give session_id"))?;
            let entry = crate::api::audit(&p.caller, "session.close", session.as_str());
            let op = Op::Close {
                session,
                comment: d.comment,
                tags: d.tags,
            };
            app.engine.chat(asker.clone(), op, entry).await
        }
        "session:end" => {
            let d: Named = parse(data)?;
            let control = Control::EndCall {
                session_id: own_or(p, d.session_id),
            };
            run_control(app, &p.caller, &p.who, room, control).await
        }
        "session:accept" => {
            agent_only()?;
            let d: Named = parse(data)?;
            let media = match d.media.as_deref() {
                None | Some("video") => Media::Video,
                Some("audio") => Media::Audio,
                Some(_) => return Err(invalid("media must be video or audio")),
            };
            run_control(app, &p.caller, &p.who, None, Control::AcceptCall { media }).await
        }
        "session:reject" => {
            agent_only()?;
            run_control(app, &p.caller, &p.who, None, Control::RejectCall).await
        }
        "session:transfer" => {
            agent_only()?;
            let d: Named = parse(data)?;
            let control = Control::TransferCall {
                target_agent_id: d
                    .target_agent_id
                    .ok_or_else(|| invalid("give target_agent_id"))?,
                session_id: d.session_id.map(|s| s.as_str().into()),
            };
            run_control(app, &p.caller, &p.who, None, control).await
        }
        "agent:login" | "agent:status" => {
            let agent = agent_only()?;
            let d: Named = parse(data)?;
            let status =
                d.status
                    .as_deref()
                    .unwrap_or(if event == "agent:login" { "ready" } else { "" });
            let command = match status {
                "ready" if event == "agent:login" => Command::RegisterAgent {
                    agent_id: agent,
                    agent_name: None,
                },
                "ready" => Command::AgentAvailable { agent_id: agent },
                "not_ready" => Command::AgentNotReady {
                    agent_id: agent,
                    reason: d.reason,
                },
                "offline" => Command::AgentOffline { agent_id: agent },
                _ => return Err(invalid("status must be ready, not_ready or offline")),
            };
            app.engine
                .apply(
                    command,
                    Box::new(|c, r| match r {
                        Err(e) => Answer::refused(&e),
                        Ok(_) => Answer::ok(json!({ "status": "ok", "agents": c.stats().agents })),
                    }),
                )
                .await
        }
        _ => {
            return Err(Answer::error(
                axum::http::StatusCode::NOT_FOUND,
                "unknown_event",
                format!("no event {event:?} for a {}", p.who.role()),
            ))
        }
    })
}

/// Fields of the call-control and status events.
#[derive(Debug, Default, Deserialize)]
struct Named {
    session_id: Option<String>,
    target_agent_id: Option<String>,
    media: Option<String>,
    status: Option<String>,
    /// With `not_ready`: one of the center's `not_ready_reasons`.
    reason: Option<String>,
}

/// A hub frame as the seed's socket.io event, for `who`; frames the seed
/// has no name for keep their `/room` type as the event name.
fn outgoing(who: &Identity, mut frame: Value) -> (String, Value) {
    let kind = frame["type"].as_str().unwrap_or_default().to_owned();
    let customer = matches!(who, Identity::Customer(_));
    let event = match kind.as_str() {
        "chat_message" => {
            let m = frame["message"].take();
            let internal = m["conversation"]
                .as_str()
                .is_some_and(|c| c.starts_with("dm/") || c.starts_with("wg/"));
            let event = match (m["from"]["role"].as_str(), internal) {
                (Some("system"), _) => "system:message",
                (_, true) => "agent:internal",
                (Some("customer"), _) => "customer:message",
                _ => "agent:message",
            };
            return (event.to_owned(), m);
        }
        "chat_typing" if frame["from"]["role"] == "customer" => "customer:typing",
        "chat_typing" => "agent:typing",
        "chat_status" => "message:status",
        "system_notification" => "system:notification",
        "incoming_call" => "customer:new",
        "call_accepted" | "call_transferred" if customer => "agent:assigned",
        "call_accepted" => "session:accepted",
        "call_transferred" => "session:transferred",
        "call_ended" => "session:end",
        _ => return (kind, frame),
    };
    (event.to_owned(), frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_frames_become_the_seeds_events() {
        let visitor = Identity::Customer("v1".into());
        let agent = Identity::Agent("a1".into());
        let msg = |role: &str, conv: &str| json!({ "type": "chat_message", "message": { "conversation": conv, "from": { "role": role } } });
        let name = |who: &Identity, f: Value| outgoing(who, f).0;
        assert_eq!(name(&visitor, msg("agent", "cs_1")), "agent:message");
        assert_eq!(name(&agent, msg("customer", "cs_1")), "customer:message");
        assert_eq!(name(&agent, msg("agent", "dm/a1/a2")), "agent:internal");
        assert_eq!(name(&visitor, msg("system", "cs_1")), "system:message");
        assert_eq!(
            name(&agent, json!({ "type": "incoming_call" })),
            "customer:new"
        );
        assert_eq!(
            name(&visitor, json!({ "type": "call_accepted" })),
            "agent:assigned"
        );
        assert_eq!(name(&agent, json!({ "type": "call_ended" })), "session:end");
        assert_eq!(
            name(&agent, json!({ "type": "ring_timeout" })),
            "ring_timeout"
        );
        let (_, body) = outgoing(&agent, msg("customer", "cs_1"));
        assert_eq!(
            body["conversation"], "cs_1",
            "a message event carries the message itself"
        );
    }
}
