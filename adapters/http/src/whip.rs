//! WHIP (RFC 9725) and WHEP over the media plane: a participant POSTs an
//! SDP offer to its session's `whip` (publish) or `whep` (play) URL with its
//! bearer token and gets `201 Created`, a `Location` to PATCH (trickle ICE)
//! or DELETE, and the SDP answer with the server's candidate. A `sendrecv`
//! offer (what the pages send) does both on one connection.
//!
//! Only the session's visitor and the agent holding it (or being rung for
//! it) may connect; this is checked on the engine thread against the live
//! session, which also gives the media plane the call's state.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use switchboard_core::{AgentId, Center, CoreError, Media as CallMedia, Session, SessionStatus};
use switchboard_media::{CallState, MediaError, Party};
use switchboard_store::RecordingRow;

use crate::auth::{Caller, Who};
use crate::download::{self, Disposition};
use crate::turn;
use crate::App;
use crate::{Answer, AnswerExt};

/// The media plane's view of a session: None once it has ended.
pub fn call_state(s: &Session) -> Option<CallState> {
    if s.status() == SessionStatus::Ended {
        return None;
    }
    Some(CallState {
        agent: s.call_agent().map(|a| a.to_string()),
        active: s.status() == SessionStatus::Active,
        audio_only: s.media == Some(CallMedia::Audio),
        agent_muted: s.agent_muted,
        customer_muted: s.customer_muted,
    })
}

/// Which side `caller` is on in session `sid`, with the call's state, or why not.
fn participant(c: &Center, caller: &Caller, sid: &str) -> Result<(Party, CallState), Answer> {
    let Some(s) = c.session(sid) else {
        return Err(Answer::refused(&CoreError::SessionNotFound(sid.into())));
    };
    let Some(state) = call_state(s) else {
        return Err(Answer::error(
            StatusCode::CONFLICT,
            "session_ended",
            format!("session {sid} has ended"),
        ));
    };
    match caller {
        Caller::Visitor { session, .. } if session.as_str() == sid => Ok((Party::Customer, state)),
        Caller::Staff(staff) => {
            let mine = staff
                .agent_id
                .as_ref()
                .map(AgentId::as_str)
                .is_some_and(|a| state.agent.as_deref() == Some(a));
            if mine {
                Ok((Party::Agent, state))
            } else {
                Err(Answer::forbidden(format!(
                    "only the session's visitor and its agent take part in {sid}'s call"
                )))
            }
        }
        _ => Err(Answer::forbidden("this token is for another session")),
    }
}

/// [`participant`], asked on the engine thread.
async fn side(app: &App, who: &Who, sid: &str) -> Result<(Party, CallState), Response> {
    let (caller, sid) = (who.caller.clone(), sid.to_owned());
    let (tx, rx) = std::sync::mpsc::channel();
    let checked = app
        .engine
        .read(Box::new(move |c, _| match participant(c, &caller, &sid) {
            Ok(found) => {
                let _ = tx.send(found);
                Answer::ok(())
            }
            Err(refusal) => refusal,
        }))
        .await;
    rx.try_recv().map_err(|_| checked.into_response())
}

fn media_error(e: MediaError) -> Response {
    let (status, code) = match &e {
        MediaError::BadOffer(_) => (StatusCode::BAD_REQUEST, "invalid_sdp"),
        MediaError::TooManyTracks(_) => (StatusCode::BAD_REQUEST, "too_many_tracks"),
        MediaError::NoCall => (StatusCode::CONFLICT, "session_ended"),
        MediaError::NotFound => (StatusCode::NOT_FOUND, "media_not_found"),
        MediaError::NotOwner => (StatusCode::FORBIDDEN, "forbidden"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "media_unavailable"),
    };
    Answer::error(status, code, e.to_string()).into_response()
}

fn unavailable() -> Response {
    Answer::error(
        StatusCode::SERVICE_UNAVAILABLE,
        "media_unavailable",
        "this server runs without a media plane",
    )
    .into_response()
}

/// The credential a media connection belongs to.
fn owner(who: &Who) -> String {
    who.caller.actor()
}

/// `POST /sessions/{id}/whip` and `/whep`: an SDP offer in, 201 with the answer.
pub(crate) async fn offer(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(media) = app.media.clone() else {
        return unavailable();
    };
    let (party, state) = match side(&app, &who, &id).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let sdp_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/sdp"));
    if !sdp_type {
        return Answer::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the offer as application/sdp",
        )
        .into_response();
    }
    let Ok(offer) = std::str::from_utf8(&body) else {
        return Answer::invalid("the offer is not UTF-8").into_response();
    };

    // Seed the media plane with the call as it is now; the engine's
    // updates follow.
    media.update(&id, Some(state));
    let connected = match media.connect(&id, party, &owner(&who), offer).await {
        Ok(c) => c,
        Err(e) => return media_error(e),
    };
    let mut response = (StatusCode::CREATED, connected.answer).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/sdp"),
    );
    let location = format!("/customer-service/media/{}", connected.id);
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", connected.id)) {
        h.insert(header::ETAG, v);
    }
    for server in turn::for_participant(media.ice(), &ice_name(&id, party), unix_secs()) {
        if let Ok(v) = HeaderValue::from_str(&server.link()) {
            h.append(header::LINK, v);
        }
    }
    cors(h);
    response
}

/// Who a participant is in minted TURN usernames.
fn ice_name(session: &str, party: Party) -> String {
    let side = match party {
        Party::Agent => "agent",
        Party::Customer => "customer",
    };
    format!("{session}-{side}")
}

fn unix_secs() -> u64 {
    u64::try_from(crate::auth::now_ms() / 1000).unwrap_or(0)
}

/// `GET /sessions/{id}/ice-servers`: the STUN/TURN servers, with TURN
/// credentials of this participant's own, for a page to configure its
/// connection before it gathers candidates (the WHIP answer's `Link`
/// headers come too late for that).
pub(crate) async fn ice_servers(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
) -> Response {
    let Some(media) = app.media.clone() else {
        return unavailable();
    };
    let party = match side(&app, &who, &id).await {
        Ok((party, _)) => party,
        Err(refusal) => return refusal,
    };
    let servers = turn::for_participant(media.ice(), &ice_name(&id, party), unix_secs());
    Answer::ok(serde_json::json!({ "session_id": id, "ice_servers": servers })).into_response()
}

/// `PATCH /media/{id}`: trickled candidates (`application/trickle-ice-sdpfrag`,
/// 204), or an ICE restart (new credentials: 200 with the server's, as a
/// fragment).
pub(crate) async fn patch(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(media) = app.media.clone() else {
        return unavailable();
    };
    let fragment = String::from_utf8_lossy(&body);
    match media.trickle(&id, &owner(&who), &fragment).await {
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Ok(Some(answer)) => (
            [(header::CONTENT_TYPE, "application/trickle-ice-sdpfrag")],
            answer,
        )
            .into_response(),
        Err(e) => media_error(e),
    }
}

/// `DELETE /media/{id}`: hangs up this connection (not the call).
pub(crate) async fn delete(State(app): State<App>, who: Who, Path(id): Path<String>) -> Response {
    let Some(media) = app.media.clone() else {
        return unavailable();
    };
    match media.close(&id, &owner(&who)).await {
        Ok(()) => Answer::ok(serde_json::json!({ "id": id, "status": "closed" })).into_response(),
        Err(e) => media_error(e),
    }
}

/// `GET /sessions/{id}/quality`: bitrate, loss, RTT and jitter per connection.
pub(crate) async fn quality(State(app): State<App>, who: Who, Path(id): Path<String>) -> Response {
    if let Err(refusal) = may_see(&app, &who, &id).await {
        return refusal;
    }
    let (connections, summary) = match &app.media {
        Some(m) => (m.stats(&id).await, m.summary(&id).await),
        None => (Vec::new(), None),
    };
    Answer::ok(
        serde_json::json!({ "session_id": id, "connections": connections, "summary": summary }),
    )
    .into_response()
}

/// Every second, sends each call's two participants a `call_quality` frame
/// on their room WebSocket: bitrate, loss, RTT and jitter per connection.
pub async fn push_quality(engine: crate::Engine, media: switchboard_media::Media) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        let mut by_session: std::collections::BTreeMap<String, Vec<_>> = Default::default();
        for q in media.all_stats().await {
            by_session.entry(q.session.clone()).or_default().push(q);
        }
        for (session, connections) in by_session {
            let frame = serde_json::json!({
                "type": "call_quality", "session_id": session, "connections": connections,
            });
            engine.notify(session.as_str().into(), frame.to_string(), false);
        }
    }
}

/// The media plane's figures in Prometheus text.
pub fn render_metrics(
    all: &[switchboard_media::PeerQuality],
    delay: &switchboard_media::ForwardDelay,
    totals: &switchboard_media::MediaTotals,
    out: &mut String,
) {
    use std::fmt::Write;
    let sum = |f: fn(&switchboard_media::PeerQuality) -> u64| all.iter().map(f).sum::<u64>();
    let rtts: Vec<f64> = all.iter().filter_map(|q| q.rtt_ms).collect();
    let worst_loss = all
        .iter()
        .map(|q| q.loss_in.unwrap_or(0.0).max(q.loss_out.unwrap_or(0.0)))
        .fold(0.0f32, f32::max);
    let _ = write!(
        out,
        "# HELP switchboard_media_connections Media connections (one per participant).\n\
         # TYPE switchboard_media_connections gauge\nswitchboard_media_connections {}\n\
         # HELP switchboard_media_bitrate_kbps Media bitrate across all connections.\n\
         # TYPE switchboard_media_bitrate_kbps gauge\n\
         switchboard_media_bitrate_kbps{{direction=\"in\"}} {}\nswitchboard_media_bitrate_kbps{{direction=\"out\"}} {}\n\
         # HELP switchboard_media_forwarded_total RTP packets forwarded between participants (live connections).\n\
         # TYPE switchboard_media_forwarded_total counter\nswitchboard_media_forwarded_total {}\n\
         # HELP switchboard_media_rtt_ms Mean round trip over the connections that report one.\n\
         # TYPE switchboard_media_rtt_ms gauge\nswitchboard_media_rtt_ms {}\n\
         # HELP switchboard_media_loss_worst Worst packet loss fraction of any connection.\n\
         # TYPE switchboard_media_loss_worst gauge\nswitchboard_media_loss_worst {}\n",
        all.len(),
        sum(|q| q.bitrate_in_kbps),
        sum(|q| q.bitrate_out_kbps),
        sum(|q| q.forwarded),
        if rtts.is_empty() { 0.0 } else { rtts.iter().sum::<f64>() / rtts.len() as f64 },
        worst_loss,
    );
    let t = totals;
    let _ = write!(
        out,
        "# HELP switchboard_media_offers_total SDP offers answered (ok) and refused (refused: negotiation failures).\n\
         # TYPE switchboard_media_offers_total counter\n\
         switchboard_media_offers_total{{outcome=\"ok\"}} {}\nswitchboard_media_offers_total{{outcome=\"refused\"}} {}\n\
         # HELP switchboard_media_ice_total Connections whose ICE and DTLS came up, and those that ended without.\n\
         # TYPE switchboard_media_ice_total counter\n\
         switchboard_media_ice_total{{outcome=\"connected\"}} {}\nswitchboard_media_ice_total{{outcome=\"failed\"}} {}\n\
         # HELP switchboard_media_ice_restarts_total ICE restarts answered (a client's network changed: new credentials through PATCH).\n\
         # TYPE switchboard_media_ice_restarts_total counter\nswitchboard_media_ice_restarts_total {}\n\
         # HELP switchboard_media_time_to_connected_seconds From the answer to ICE and DTLS up.\n\
         # TYPE switchboard_media_time_to_connected_seconds summary\n\
         switchboard_media_time_to_connected_seconds_sum {}\nswitchboard_media_time_to_connected_seconds_count {}\n\
         # HELP switchboard_media_feedback Repair and congestion feedback on the live connections: NACKs and keyframe requests each way, bitrate caps sent to encoders.\n\
         # TYPE switchboard_media_feedback gauge\n\
         switchboard_media_feedback{{kind=\"nack\",from=\"participant\"}} {}\n\
         switchboard_media_feedback{{kind=\"nack\",from=\"server\"}} {}\n\
         switchboard_media_feedback{{kind=\"keyframe\",from=\"participant\"}} {}\n\
         switchboard_media_feedback{{kind=\"keyframe\",from=\"server\"}} {}\n\
         switchboard_media_feedback{{kind=\"bitrate_cap\",from=\"server\"}} {}\n",
        t.offers,
        t.offers_refused,
        t.connected,
        t.never_connected,
        t.restarts,
        t.connect_ms_sum as f64 / 1000.0,
        t.connected,
        sum(|q| q.nacks_received),
        sum(|q| q.nacks_sent),
        sum(|q| q.keyframes_asked_by),
        sum(|q| q.keyframes_asked_of),
        sum(|q| q.bitrate_caps),
    );
    let _ = writeln!(
        out,
        "# HELP switchboard_media_paths_total Connections whose media flowed, by the participant's candidate it went to (relay: through TURN).\n\
         # TYPE switchboard_media_paths_total counter"
    );
    for kind in switchboard_media::PathKind::ALL {
        let _ = writeln!(
            out,
            "switchboard_media_paths_total{{candidate=\"{}\"}} {}",
            kind.label(),
            t.via(kind)
        );
    }
    let _ = write!(
        out,
        "# HELP switchboard_media_forward_delay_seconds Time relayed media waits in the server, from read to send.\n\
         # TYPE switchboard_media_forward_delay_seconds histogram\n"
    );
    for bound in switchboard_media::ForwardDelay::BOUNDS_US {
        let cumulative = delay.at_most_us(bound);
        let le = bound as f64 / 1e6;
        let _ = writeln!(
            out,
            "switchboard_media_forward_delay_seconds_bucket{{le=\"{le}\"}} {cumulative}"
        );
    }
    let _ = write!(
        out,
        "switchboard_media_forward_delay_seconds_bucket{{le=\"+Inf\"}} {}\n\
         switchboard_media_forward_delay_seconds_sum {}\n\
         switchboard_media_forward_delay_seconds_count {}\n",
        delay.count(),
        delay.sum_us() as f64 / 1e6,
        delay.count(),
    );
}

/// `OPTIONS` on a WHIP/WHEP URL: it takes an SDP offer.
pub(crate) async fn endpoint_options() -> Response {
    preflight("OPTIONS, POST", "accept-post", "application/sdp")
}

/// `OPTIONS` on a media connection's URL: it takes trickled candidates, and
/// a DELETE.
pub(crate) async fn resource_options() -> Response {
    preflight(
        "OPTIONS, PATCH, DELETE",
        "accept-patch",
        "application/trickle-ice-sdpfrag",
    )
}

/// What a URL takes, for CORS: its methods and the body type of its one
/// write (`Accept-Post` or `Accept-Patch`).
fn preflight(methods: &'static str, accept: &'static str, body: &'static str) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(
        HeaderName::from_static(accept),
        HeaderValue::from_static(body),
    );
    h.insert(header::ALLOW, HeaderValue::from_static(methods));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, if-match"),
    );
    cors(h);
    response
}

fn cors(h: &mut HeaderMap) {
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("location, link, etag"),
    );
}

/// Lists a finished recording in the store, tells the call's agent that it
/// is ready, and queues the `recording.completed` webhook event.
pub fn announce_recording(engine: &crate::Engine, r: &switchboard_media::Recording) {
    let file = r
        .path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    engine.recorded(RecordingRow {
        session_id: r.session.clone(),
        file: file.clone(),
        path: r.path.to_string_lossy().into_owned(),
        bytes: i64::try_from(r.bytes).unwrap_or(i64::MAX),
        duration_ms: i64::try_from(r.duration_ms).unwrap_or(i64::MAX),
        at_ms: crate::auth::now_ms(),
    });
    let frame = serde_json::json!({
        "type": "recording_completed",
        "session_id": r.session,
        "file": file,
        "bytes": r.bytes,
        "duration_ms": r.duration_ms,
        "url": format!("/customer-service/sessions/{}/recordings/{file}", r.session),
    });
    engine.notify(r.session.as_str().into(), frame.to_string(), true);
    engine.emit(
        r.session.as_str().into(),
        "recording.completed",
        file,
        frame,
    );
}

/// The session's recordings, if `caller` may see them (the live rule and
/// the store's rows read in one engine step).
async fn listed(app: &App, caller: &Caller, sid: &str) -> Result<Vec<RecordingRow>, Response> {
    let (caller, sid) = (caller.clone(), sid.to_owned());
    let (tx, rx) = std::sync::mpsc::channel();
    let answer = app
        .engine
        .lookup(Box::new(move |c, store| {
            if let Err(refusal) = caller.check_session(c, &sid, false) {
                return refusal;
            }
            match store.recordings(&sid) {
                Ok(rows) => {
                    let _ = tx.send(rows);
                    Answer::ok(())
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the recordings");
                    Answer::unavailable()
                }
            }
        }))
        .await;
    match rx.try_recv() {
        Ok(rows) if answer.is_ok() => Ok(rows),
        _ => Err(answer.into_response()),
    }
}

/// `GET /sessions/{id}/recordings`: the call's finished recordings.
pub(crate) async fn recordings(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
) -> Response {
    let rows = match listed(&app, &who.caller, &id).await {
        Ok(rows) => rows,
        Err(refusal) => return refusal,
    };
    let list: Vec<_> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "file": r.file, "bytes": r.bytes, "duration_ms": r.duration_ms,
                "url": format!("/customer-service/sessions/{id}/recordings/{}", r.file),
            })
        })
        .collect();
    Answer::ok(serde_json::json!({ "session_id": id, "recordings": list })).into_response()
}

/// `GET /sessions/{id}/recordings/{file}`: one recording, as `video/webm`,
/// found by its name among the session's rows in the store.
pub(crate) async fn recording(
    State(app): State<App>,
    who: Who,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let rows = match listed(&app, &who.caller, &id).await {
        Ok(rows) => rows,
        Err(refusal) => return refusal,
    };
    let Some(row) = rows.into_iter().find(|r| r.file == file) else {
        return no_recording();
    };
    let path = std::path::PathBuf::from(&row.path);
    match tokio::task::spawn_blocking(move || std::fs::read(path)).await {
        Ok(Ok(bytes)) => (
            download::headers("video/webm", Disposition::Attachment, &row.file),
            bytes,
        )
            .into_response(),
        _ => no_recording(),
    }
}

fn no_recording() -> Response {
    Answer::error(
        StatusCode::NOT_FOUND,
        "recording_not_found",
        "no such recording",
    )
    .into_response()
}

/// The live session rule of `who` for `sid`, on the engine thread.
async fn may_see(app: &App, who: &Who, sid: &str) -> Result<(), Response> {
    let caller = who.caller.clone();
    let sid = sid.to_owned();
    let answer = app
        .engine
        .read(Box::new(move |c, _| {
            match caller.check_session(c, &sid, false) {
                Ok(()) => Answer::ok(()),
                Err(refusal) => refusal,
            }
        }))
        .await;
    if answer.is_ok() {
        Ok(())
    } else {
        Err(answer.into_response())
    }
}
