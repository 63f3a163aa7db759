//! A cluster's follower takes no writes: it forwards each to the leader with
//! the client's own credential, and returns the leader's answer as it is
//! (the leader checks the credential as for any client, so a follower is
//! trusted with nothing). Reads are served here, from this node's own
//! application of the log; so is what lives on this node: WebSocket and
//! socket.io sessions, one-time WebSocket tickets, WHIP/WHEP media.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::time::Duration;

use switchboard_app::replica::LOG_SEQ;
use tokio::sync::watch;

use crate::chat::files::ATTACHMENT_MAX;
use crate::{Answer, AnswerExt, App};

/// Marks a forwarded request: whoever gets it answers it, never forwards it
/// again (two nodes that each think the other leads do not bounce it).
pub const FORWARDED: &str = "x-switchboard-forwarded";

/// Where this node's writes go.
#[derive(Clone)]
pub struct Forwarding {
    /// This node's id, in the forwarded mark.
    pub node: String,
    /// The leader's URL while this node follows a known leader (None: this
    /// node leads, or an election is under way and the engine answers).
    pub leader: watch::Receiver<Option<String>>,
}

/// The middleware: a write on a follower goes to the leader.
pub async fn layer(State(app): State<App>, req: Request, next: Next) -> Response {
    let Some(forwarding) = &app.forwarding else {
        return next.run(req).await;
    };
    let leader = forwarding.leader.borrow().clone();
    match leader {
        Some(url) if writes(&req) && !req.headers().contains_key(FORWARDED) => {
            let response = forward(&url, &forwarding.node, req).await;
            let seq = response
                .headers()
                .get(LOG_SEQ)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if let Some(seq) = seq {
                caught_up(&app, seq).await;
            }
            response
        }
        _ => next.run(req).await,
    }
}

/// Longest a forwarded answer waits for this node to apply its change.
const CATCH_UP: Duration = Duration::from_secs(2);

/// Waits until this node has applied log entry `seq` (the one the leader's
/// answer names), so that the client's next read here sees its write.
async fn caught_up(app: &App, seq: u64) {
    let mut applied = app.engine.applied_log();
    if tokio::time::timeout(CATCH_UP, applied.wait_for(|a| *a >= seq))
        .await
        .is_err()
    {
        tracing::warn!(seq, "answered before this node applied the write");
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

/// Headers that belong to one hop, not to the request.
const HOP: [HeaderName; 4] = [
    header::HOST,
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::CONTENT_LENGTH,
];

async fn forward(leader: &str, node: &str, req: Request) -> Response {
    let unreachable = |why: String| {
        tracing::warn!(%leader, %why, "cannot forward a write to the leader");
        Answer::retry_later(
            "leader_unreachable",
            "the cluster's leader cannot be reached",
        )
        .into_response()
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ATTACHMENT_MAX).await else {
        return Answer::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "request body too large",
        )
        .into_response();
    };
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let uri: hyper::Uri = match format!("{leader}{target}").parse() {
        Ok(u) => u,
        Err(e) => return unreachable(e.to_string()),
    };
    let mut conn = match switchboard_outbound::connect::connect(&uri).await {
        Ok(c) => c,
        Err(e) => return unreachable(e),
    };
    let mut out = hyper::Request::builder()
        .method(parts.method)
        .uri(target)
        .header(header::HOST, uri.authority().map_or("", |a| a.as_str()))
        .header(FORWARDED, node);
    for (name, value) in &parts.headers {
        if !HOP.contains(name) {
            out = out.header(name, value);
        }
    }
    let request = match out.body(Full::new(bytes)) {
        Ok(r) => r,
        Err(e) => return unreachable(e.to_string()),
    };
    let response = match conn.send_request(request).await {
        Ok(r) => r,
        Err(e) => return unreachable(e.to_string()),
    };
    let (mut parts, body) = response.into_parts();
    let body: Bytes = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return unreachable(e.to_string()),
    };
    for name in &HOP {
        parts.headers.remove(name);
    }
    Response::from_parts(parts, Body::from(body))
}
