//! A cluster's follower takes no writes: it forwards each to the leader and
//! returns the leader's answer as it is. An HTTP write goes with the
//! client's own credential (the leader checks it as for any client, so the
//! follower is trusted with nothing). A WebSocket frame that changes state
//! goes to the leader's internal frame route with who sent it, as this node
//! authenticated them, under the cluster's shared secret. Reads are served
//! here, from this node's own application of the log; so is what lives on
//! this node: the sockets themselves, one-time WebSocket tickets, WHIP/WHEP
//! media.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_app::hub::Identity;
use switchboard_core::SessionId;
use tokio::sync::watch;

use crate::auth::{secrets, Caller, Who};
use crate::chat::files::ATTACHMENT_MAX;
use crate::{ws, Answer, AnswerExt, App};

/// On the leader's answer to a forwarded request: the last log entry it had
/// applied when it answered (so it holds the request's change). The
/// follower answers only once it has applied that entry too, so that a
/// client reads its own writes on whichever node it uses.
pub const LOG_SEQ: &str = "x-switchboard-log-seq";

/// Marks a forwarded request: whoever gets it answers it, never forwards it
/// again (two nodes that each think the other leads do not bounce it).
pub const FORWARDED: &str = "x-switchboard-forwarded";

/// The leader's route for its followers' WebSocket frames (not a public
/// route: without the cluster's secret it does not exist).
const FRAME_PATH: &str = "/internal/cluster/frame";

/// A copy of this node's journal, for a node that starts behind the
/// trimmed log (only for the cluster's nodes, like the frame route).
pub const SNAPSHOT_PATH: &str = "/internal/cluster/snapshot";

/// Carries the cluster's secret between nodes.
pub const SECRET: &str = "x-switchboard-cluster-secret";

/// Where this node's writes go.
#[derive(Clone)]
pub struct Forwarding {
    /// This node's id, in the forwarded mark.
    pub node: String,
    /// The leader's URL while this node follows a known leader (None: this
    /// node leads, or an election is under way and the engine answers).
    pub leader: watch::Receiver<Option<String>>,
    /// Shared by the cluster's nodes: a forwarded frame's sender is believed
    /// only with it.
    pub secret: String,
    /// This node's journal (copied for a node that asks for a snapshot).
    pub database: std::path::PathBuf,
    /// Whether what this node serves may be behind the log (etcd silent
    /// past the lease's TTL): its reads say so.
    pub stale: std::sync::Arc<dyn Fn() -> bool + Send + Sync>,
}

/// On a read served while this node cannot vouch that it is current.
pub const STALE: &str = "x-switchboard-stale";

/// A WebSocket frame or a socket.io event a follower forwards, and who
/// sent it.
#[derive(Serialize, Deserialize)]
struct Frame {
    caller: Caller,
    address: IpAddr,
    identity: Identity,
    room: Option<SessionId>,
    /// A `/room` frame.
    #[serde(default)]
    text: String,
    /// Or a socket.io event and its data.
    #[serde(default)]
    event: Option<(String, Value)>,
}

/// The middleware: on a follower, a write goes to the leader; on the
/// leader, a follower's request or frame is answered with the log entry
/// that holds it.
pub async fn layer(State(app): State<App>, req: Request, next: Next) -> Response {
    let Some(forwarding) = &app.forwarding else {
        return next.run(req).await;
    };
    if req.headers().contains_key(FORWARDED) {
        let mut req = req;
        client_address(forwarding, &mut req);
        let mut response = match req.uri().path() {
            FRAME_PATH => frame_here(&app, forwarding, req).await,
            SNAPSHOT_PATH => snapshot_here(forwarding, req).await,
            _ => next.run(req).await,
        };
        let applied = *app.engine.applied_log().borrow();
        response
            .headers_mut()
            .insert(LOG_SEQ, HeaderValue::from(applied));
        return response;
    }
    let leader = forwarding.leader.borrow().clone();
    match leader {
        Some(url) if writes(&req) => {
            let (parts, body) = req.into_parts();
            let body = match whole(body).await {
                Ok(b) => b,
                Err(refusal) => return refusal,
            };
            let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            // The client's address goes along, believed under the secret (its
            // rate limits and audit records are the client's, not this node's).
            let client = parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .and_then(|c| HeaderValue::from_str(&c.0.ip().to_string()).ok());
            let secret = HeaderValue::from_str(&forwarding.secret).ok();
            let ours = [
                client.map(|v| (HeaderName::from_static(CLIENT), v)),
                secret.map(|v| (HeaderName::from_static(SECRET), v)),
            ];
            let headers = parts
                .headers
                .iter()
                .filter(|(name, _)| !HOP.contains(name) && !OURS.contains(&name.as_str()))
                .map(|(n, v)| (n.clone(), v.clone()))
                .chain(ours.into_iter().flatten());
            match send(&url, &forwarding.node, parts.method, target, headers, body).await {
                Ok(response) => {
                    caught_up(&app, &response).await;
                    response.map(Body::from)
                }
                Err(why) => unreachable(&url, &why),
            }
        }
        _ => {
            let mut response = next.run(req).await;
            if (forwarding.stale)() {
                response
                    .headers_mut()
                    .insert(STALE, HeaderValue::from_static("true"));
            }
            response
        }
    }
}

/// A WebSocket frame, sent to the leader if this node follows one: the
/// leader's reply, or None when this node answers itself.
pub(crate) async fn frame(
    app: &App,
    caller: &Who,
    identity: &Identity,
    room: Option<&SessionId>,
    text: &str,
) -> Option<String> {
    let asked = ask_leader(app, caller, identity, room, text.to_owned(), None).await?;
    Some(match asked {
        Ok(r) if r.status().is_success() => String::from_utf8_lossy(r.body()).into_owned(),
        Ok(r) => ws::refusal_frame(&Answer::error(
            r.status(),
            "leader_refused",
            String::from_utf8_lossy(r.body()),
        )),
        Err(refusal) => ws::refusal_frame(&refusal),
    })
}

/// A socket.io event, sent to the leader if this node follows one: the
/// leader's answer, or None when this node answers itself.
pub(crate) async fn event(
    app: &App,
    caller: &Who,
    identity: &Identity,
    room: Option<&SessionId>,
    name: &str,
    data: &Value,
) -> Option<Answer> {
    let event = Some((name.to_owned(), data.clone()));
    let asked = ask_leader(app, caller, identity, room, String::new(), event).await?;
    Some(match asked {
        Ok(r) => {
            let (parts, body) = r.into_parts();
            let mut answer = Answer::new(String::from_utf8_lossy(&body).into_owned());
            *answer.status_mut() = parts.status;
            answer
        }
        Err(refusal) => refusal,
    })
}

/// A frame or an event of `caller`'s, sent to the leader if this node
/// follows one (None: this node answers it).
async fn ask_leader(
    app: &App,
    caller: &Who,
    identity: &Identity,
    room: Option<&SessionId>,
    text: String,
    event: Option<(String, Value)>,
) -> Option<Result<hyper::Response<Bytes>, Answer>> {
    let forwarding = app.forwarding.as_ref()?;
    let url = forwarding.leader.borrow().clone()?;
    let frame = Frame {
        caller: caller.caller.clone(),
        address: caller.address,
        identity: identity.clone(),
        room: room.cloned(),
        text,
        event,
    };
    Some(to_leader(app, forwarding, &url, &frame).await)
}

/// Sends `frame` to the leader's frame route; its answer once this node
/// has applied what it changed.
async fn to_leader(
    app: &App,
    forwarding: &Forwarding,
    url: &str,
    frame: &Frame,
) -> Result<hyper::Response<Bytes>, Answer> {
    let refused = |why: String| {
        tracing::warn!(%url, %why, "cannot forward to the leader");
        Answer::retry_later(
            "leader_unreachable",
            "the cluster's leader cannot be reached",
        )
    };
    let body = Bytes::from(serde_json::to_vec(frame).map_err(|e| refused(e.to_string()))?);
    let secret = HeaderValue::from_str(&forwarding.secret).map_err(|e| refused(e.to_string()))?;
    let headers = [(HeaderName::from_static(SECRET), secret)];
    let response = send(
        url,
        &forwarding.node,
        Method::POST,
        FRAME_PATH,
        headers,
        body,
    )
    .await
    .map_err(refused)?;
    caught_up(app, &response).await;
    Ok(response)
}

/// Whether `req` is a node's of this cluster, by `method`: else the
/// internal routes do not exist.
fn from_a_node(forwarding: &Forwarding, req: &Request, method: Method) -> Result<(), Response> {
    if a_node(forwarding, req) && *req.method() == method {
        Ok(())
    } else {
        Err(
            Answer::error(StatusCode::NOT_FOUND, "route_not_found", "no such route")
                .into_response(),
        )
    }
}

/// A consistent copy of this node's journal.
async fn snapshot_here(forwarding: &Forwarding, req: Request) -> Response {
    if let Err(refusal) = from_a_node(forwarding, &req, Method::GET) {
        return refusal;
    }
    let db = forwarding.database.clone();
    let copied = tokio::task::spawn_blocking(move || {
        let dir = tempfile_dir(&db);
        let to = dir.join(format!("snapshot-{}.db", secrets::random(6)));
        let result = switchboard_store::Store::copy(&db, &to)
            .map_err(|e| e.to_string())
            .and_then(|()| std::fs::read(&to).map_err(|e| e.to_string()));
        let _ = std::fs::remove_file(&to);
        result
    })
    .await;
    match copied.map_err(|e| e.to_string()).and_then(|r| r) {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/vnd.sqlite3")], bytes).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot copy the journal for a snapshot");
            Answer::unavailable().into_response()
        }
    }
}

/// Where a snapshot is written before it is sent: beside the journal.
fn tempfile_dir(db: &std::path::Path) -> std::path::PathBuf {
    db.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| std::path::Path::new("."))
        .to_owned()
}

/// The leader answers a follower's frame as if its socket were here.
async fn frame_here(app: &App, forwarding: &Forwarding, req: Request) -> Response {
    if let Err(refusal) = from_a_node(forwarding, &req, Method::POST) {
        return refusal;
    }
    let Ok(body) = axum::body::to_bytes(req.into_body(), ATTACHMENT_MAX).await else {
        return Answer::invalid("frame too large").into_response();
    };
    let Ok(f) = serde_json::from_slice::<Frame>(&body) else {
        return Answer::invalid("not a forwarded frame").into_response();
    };
    let who = Who {
        caller: f.caller,
        address: f.address,
    };
    match f.event {
        Some((name, data)) => {
            crate::socketio::answer_here(app, who, f.identity, f.room, &name, data)
                .await
                .into_response()
        }
        None => ws::answer_here(app, &who, &f.identity, f.room.as_ref(), &f.text)
            .await
            .into_response(),
    }
}

/// Whether the request changes the center (and is not one of this node's own).
fn writes(req: &Request) -> bool {
    let path = req.uri().path();
    let local = path.starts_with("/socket.io")
        || path.ends_with("/whip")
        || path.ends_with("/whep")
        || path.ends_with("/auth/ticket");
    !local && !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A request's whole body (up to the largest any route takes), to send on
/// or to hash.
pub(crate) async fn whole(body: Body) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, ATTACHMENT_MAX)
        .await
        .map_err(|_| {
            Answer::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "request body too large",
            )
            .into_response()
        })
}

/// Whether `req` carries the cluster's secret.
fn a_node(forwarding: &Forwarding, req: &Request) -> bool {
    req.headers()
        .get(SECRET)
        .is_some_and(|s| secrets::same(s.as_bytes(), forwarding.secret.as_bytes()))
}

/// The client's address on a request a follower forwards.
const CLIENT: &str = "x-switchboard-client";

/// The nodes' own headers: a client's copies are never passed on.
const OURS: [&str; 3] = [CLIENT, SECRET, FORWARDED];

/// On a request a node of this cluster forwarded (it knows the secret),
/// the client's address is the one it names.
fn client_address(forwarding: &Forwarding, req: &mut Request) {
    let trusted = a_node(forwarding, req);
    let named = req
        .headers()
        .get(CLIENT)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<IpAddr>().ok());
    if let (true, Some(ip)) = (trusted, named) {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(ip, 0)));
    }
}

/// Headers that belong to one hop, not to the request.
const HOP: [HeaderName; 4] = [
    header::HOST,
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::CONTENT_LENGTH,
];

/// One request to the leader at `leader`; its whole answer.
async fn send(
    leader: &str,
    node: &str,
    method: Method,
    target: &str,
    headers: impl IntoIterator<Item = (HeaderName, HeaderValue)>,
    body: Bytes,
) -> Result<hyper::Response<Bytes>, String> {
    let uri: hyper::Uri = format!("{leader}{target}")
        .parse()
        .map_err(|e: axum::http::uri::InvalidUri| e.to_string())?;
    let mut conn = switchboard_outbound::connect::connect(&uri).await?;
    let mut out = hyper::Request::builder()
        .method(method)
        .uri(target)
        .header(header::HOST, uri.authority().map_or("", |a| a.as_str()))
        .header(FORWARDED, node);
    for (name, value) in headers {
        out = out.header(name, value);
    }
    let request = out.body(Full::new(body)).map_err(|e| e.to_string())?;
    let response = conn
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let (mut parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    for name in &HOP {
        parts.headers.remove(name);
    }
    Ok(hyper::Response::from_parts(parts, body))
}

fn unreachable(leader: &str, why: &str) -> Response {
    tracing::warn!(%leader, %why, "cannot forward a write to the leader");
    Answer::retry_later(
        "leader_unreachable",
        "the cluster's leader cannot be reached",
    )
    .into_response()
}

/// Longest a forwarded answer waits for this node to apply its change.
const CATCH_UP: Duration = Duration::from_secs(2);

/// Waits until this node has applied the log entry the leader's answer
/// names, so that the client's next read here sees its write.
async fn caught_up(app: &App, response: &hyper::Response<Bytes>) {
    let seq = response
        .headers()
        .get(LOG_SEQ)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let Some(seq) = seq else { return };
    let mut applied = app.engine.applied_log();
    if tokio::time::timeout(CATCH_UP, applied.wait_for(|a| *a >= seq))
        .await
        .is_err()
    {
        tracing::warn!(seq, "answered before this node applied the write");
    }
}
