//! Chat over HTTP: history, sending, receipts, closing, transcripts,
//! attachments, the agent's chat list, internal messages, canned responses
//! and notifications to agents. Each route's static rule is in the access
//! table; who may see which conversation is checked on the engine thread.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use switchboard_core::{too_long, SessionId, Timestamp};

use super::files::{self, ATTACHMENT_MAX, TYPES};
use super::frames::{CloseData, HistoryData, ReceiptData, SendData};
use super::{Address, Asker, Attachment, Op, Target, MESSAGE_MAX};
use crate::api::audit;
use crate::auth::{Caller, Role, Who};
use crate::body::Body;
use crate::download::{self, Disposition};
use crate::App;
use crate::{Answer, AnswerExt};

/// The chat identity of an HTTP caller (401 without a credential).
fn asker(caller: &Caller) -> Result<Asker, Answer> {
    match caller {
        Caller::Anonymous => Err(crate::auth::unauthorized("a credential is required")),
        Caller::Visitor { session, .. } => Ok(Asker::VisitorOf(session.clone())),
        Caller::Staff(s) => Ok(Asker::Staff {
            account: s.name.clone(),
            agent: s.agent_id.clone(),
            supervisor: s.role >= Role::Supervisor,
        }),
    }
}

async fn run(app: &App, who: &Who, op: Op) -> Response {
    run_audited(app, who, op, None).await
}

async fn run_audited(
    app: &App,
    who: &Who,
    op: Op,
    entry: Option<switchboard_store::AuditEntry>,
) -> Response {
    let asker = match asker(&who.caller) {
        Ok(a) => a,
        Err(refusal) => return refusal.into_response(),
    };
    app.engine.chat(asker, op, entry).await.into_response()
}

fn bad_query() -> Response {
    Answer::invalid("malformed query string").into_response()
}

/// `GET /sessions/{id}/messages?after=&before=&limit=`.
pub(crate) async fn history(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    q: Result<Query<HistoryData>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else { return bad_query() };
    let op = Op::History {
        to: Target::Session(id.as_str().into()),
        after: q.after,
        before: q.before,
        limit: q.limit,
    };
    run(&app, &who, op).await
}

/// `POST /sessions/{id}/messages`: `{"text", "client_id", "private"}`.
pub(crate) async fn send(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    Body(b): Body<SendData>,
) -> Response {
    let op = Op::Send {
        to: Target::Session(id.as_str().into()),
        text: b.text,
        client_id: b.client_id,
        note: b.private,
        attachment: None,
    };
    run(&app, &who, op).await
}

/// `POST /sessions/{id}/receipts`: `{"delivered", "read"}`.
pub(crate) async fn receipt(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    Body(b): Body<ReceiptData>,
) -> Response {
    let op = Op::Receipt {
        to: Target::Session(id.as_str().into()),
        delivered: b.delivered,
        read: b.read,
    };
    run(&app, &who, op).await
}

/// `POST /sessions/{id}/close`: ends the chat with `{"comment", "tags"}`.
pub(crate) async fn close(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    Body(b): Body<CloseData>,
) -> Response {
    let entry = audit(&who, "session.close", &id);
    let op = Op::Close {
        session: id.as_str().into(),
        comment: b.comment,
        tags: b.tags,
    };
    run_audited(&app, &who, op, entry).await
}

/// `GET /customers/{id}`: a visitor's sessions, newest first, and the
/// private notes kept in them; for supervisors, and for the agent serving
/// that visitor now.
pub(crate) async fn customer(State(app): State<App>, who: Who, Path(id): Path<String>) -> Response {
    let op = Op::Customer {
        customer: id.as_str().into(),
    };
    run(&app, &who, op).await
}

/// `?format=json|text`.
#[derive(Deserialize)]
pub(crate) struct Format {
    format: Option<String>,
}

/// `GET /sessions/{id}/transcript?format=json|text`.
pub(crate) async fn transcript(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    q: Result<Query<Format>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else { return bad_query() };
    let text = match q.format.as_deref() {
        None | Some("json") => false,
        Some("text") => true,
        Some(_) => return Answer::invalid("format must be json or text").into_response(),
    };
    let asker = match asker(&who.caller) {
        Ok(a) => a,
        Err(refusal) => return refusal.into_response(),
    };
    let op = Op::Transcript {
        session: id.as_str().into(),
    };
    let answer = app.engine.chat(asker, op, None).await;
    if !text || !answer.is_ok() {
        return answer.into_response();
    }
    let Ok(t) = serde_json::from_str::<Value>(answer.body()) else {
        return Answer::unavailable().into_response();
    };
    (
        download::headers(
            "text/plain; charset=utf-8",
            Disposition::Attachment,
            &format!("transcript-{id}.txt"),
        ),
        plain(&t),
    )
        .into_response()
}

fn safe(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// A transcript as text: one entry a message, each starting `[time] `, UTC.
/// Whatever a sender wrote stays inside its entry: its line breaks become
/// indented continuation lines, which cannot be read as an entry of their own.
fn plain(t: &Value) -> String {
    let field = |v: &Value| one_entry(v.as_str().unwrap_or_default());
    let mut out = format!(
        "Session {}  visitor: {}  agent: {}\n",
        field(&t["session_id"]),
        field(&t["visitor_name"]),
        t["agent_id"].as_str().map_or("-".into(), one_entry),
    );
    for m in t["messages"].as_array().into_iter().flatten() {
        let at = Timestamp::from_millis(m["at"].as_u64().unwrap_or(0));
        let name = field(&m["from"]["name"]);
        let text = field(&m["text"]);
        let line = match m["kind"].as_str() {
            Some("system") => format!("-- {text} {}", m["data"]),
            Some("note") => format!("{name} (private note): {text}"),
            Some("file") => format!("{name}: [file {}] {text}", field(&m["attachment"]["name"])),
            _ => format!("{name}: {text}"),
        };
        out.push_str(&format!("[{at}] {line}\n"));
    }
    if let Some(c) = t["closure"].as_object() {
        out.push_str(&format!(
            "Closed by {}: {} tags: {}\n",
            field(&c["closed_by"]),
            field(&c["comment"]),
            c["tags"]
        ));
    }
    out
}

/// `text` with every line break (CR, LF, and the Unicode ones) turned into a
/// newline and a four-space indent.
fn one_entry(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' | '\n' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\n    ");
            }
            c => out.push(c),
        }
    }
    out
}

/// `?name=&caption=&client_id=` of an upload.
#[derive(Deserialize)]
pub(crate) struct Upload {
    name: Option<String>,
    caption: Option<String>,
    client_id: Option<String>,
}

/// `POST /sessions/{id}/attachments?name=…`: the body is the file, its
/// `Content-Type` one of [`TYPES`] and true to its bytes. Answers with the
/// message that carries it.
pub(crate) async fn upload(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    q: Result<Query<Upload>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let Ok(Query(q)) = q else { return bad_query() };
    // Refuse before writing anything when the sender may not write here.
    let probe = Op::History {
        to: Target::Session(id.as_str().into()),
        after: Some(u64::MAX),
        before: None,
        limit: Some(1),
    };
    let asker = match asker(&who.caller) {
        Ok(a) => a,
        Err(refusal) => return refusal.into_response(),
    };
    let seen = app.engine.chat(asker.clone(), probe, None).await;
    if !seen.is_ok() {
        return seen.into_response();
    }
    let Some(dir) = app.attachments.clone() else {
        return Answer::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "attachments_disabled",
            "this server stores no attachments",
        )
        .into_response();
    };
    let bytes = match body {
        Ok(b) => b,
        Err(e) => {
            return Answer::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "attachment_too_large",
                format!("an attachment is at most {ATTACHMENT_MAX} bytes: {e}"),
            )
            .into_response()
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if !TYPES.contains(&content_type.as_str()) {
        return Answer::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_type",
            format!("attachments are one of {}", TYPES.join(", ")),
        )
        .into_response();
    }
    if bytes.is_empty() || !files::sniff(&content_type, &bytes) {
        return Answer::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "type_mismatch",
            format!("the file is not {content_type}"),
        )
        .into_response();
    }
    let name = q.name.unwrap_or_else(|| "file".into());
    let caption = q.caption.unwrap_or_default();
    if too_long(&name, 255) || too_long(&caption, MESSAGE_MAX) {
        return Answer::invalid("name is at most 255 characters, caption 4096").into_response();
    }
    let att = Attachment {
        id: files::new_id(),
        name,
        content_type,
        size: bytes.len() as u64,
    };
    let (d, sid, aid) = (dir.clone(), safe(&id), att.id.clone());
    let written = tokio::task::spawn_blocking(move || files::write(&d, &sid, &aid, &bytes)).await;
    if !matches!(written, Ok(Ok(()))) {
        tracing::error!(session = %id, "cannot write attachment");
        return Answer::unavailable().into_response();
    }
    let op = Op::Send {
        to: Target::Session(id.as_str().into()),
        text: caption,
        client_id: q.client_id,
        note: false,
        attachment: Some(att.clone()),
    };
    let answer = app.engine.chat(asker, op, None).await;
    let duplicate = serde_json::from_str::<Value>(answer.body())
        .is_ok_and(|v| v["duplicate"] == Value::Bool(true));
    if !answer.is_ok() || duplicate {
        // Not stored (refused, or a retry of an upload already kept): the file goes.
        let _ = std::fs::remove_file(files::path(&dir, &safe(&id), &att.id));
    }
    answer.into_response()
}

/// `GET /sessions/{id}/attachments/{file}`.
pub(crate) async fn download(
    State(app): State<App>,
    who: Who,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let not_found = || {
        Answer::error(
            StatusCode::NOT_FOUND,
            "attachment_not_found",
            "no such attachment in this session",
        )
        .into_response()
    };
    let asker = match asker(&who.caller) {
        Ok(a) => a,
        Err(refusal) => return refusal.into_response(),
    };
    let op = Op::File {
        session: SessionId::from(id.as_str()),
        id: file.clone(),
    };
    let answer = app.engine.chat(asker, op, None).await;
    if !answer.is_ok() {
        return answer.into_response();
    }
    let Ok(meta) = serde_json::from_str::<Attachment>(answer.body()) else {
        return Answer::unavailable().into_response();
    };
    let (Some(dir), true) = (app.attachments.clone(), files::valid_id(&file)) else {
        return not_found();
    };
    let path = files::path(&dir, &safe(&id), &file);
    match tokio::task::spawn_blocking(move || std::fs::read(path)).await {
        Ok(Ok(bytes)) => (files::headers(&meta.content_type, &meta.name), bytes).into_response(),
        _ => not_found(),
    }
}

/// `GET /chats`: the calling agent's conversations with unread counts.
pub(crate) async fn list(State(app): State<App>, who: Who) -> Response {
    run(&app, &who, Op::List).await
}

/// `GET /internal/messages?to_agent=|workgroup=&after=&before=&limit=`.
pub(crate) async fn internal_history(
    State(app): State<App>,
    who: Who,
    q: Result<Query<HistoryData>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else { return bad_query() };
    let to = match internal(&q.to) {
        Ok(to) => to,
        Err(refusal) => return refusal.into_response(),
    };
    let op = Op::History {
        to,
        after: q.after,
        before: q.before,
        limit: q.limit,
    };
    run(&app, &who, op).await
}

/// `POST /internal/messages`: `{"to_agent" | "workgroup", "text", "client_id"}`.
pub(crate) async fn internal_send(
    State(app): State<App>,
    who: Who,
    Body(b): Body<SendData>,
) -> Response {
    let to = match internal(&b.to) {
        Ok(to) => to,
        Err(refusal) => return refusal.into_response(),
    };
    let op = Op::Send {
        to,
        text: b.text,
        client_id: b.client_id,
        note: false,
        attachment: None,
    };
    run(&app, &who, op).await
}

fn internal(to: &Address) -> Result<Target, Answer> {
    match to.target(None) {
        Ok(Target::Session(_)) | Err(_) => Err(Answer::invalid(
            "give exactly one of to_agent and workgroup",
        )),
        Ok(t) => Ok(t),
    }
}

/// `GET /canned-responses`.
pub(crate) async fn canned(State(app): State<App>, who: Who) -> Response {
    run(&app, &who, Op::CannedList).await
}

/// `{"text"}` of a canned response.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CannedText {
    text: String,
}

/// `PUT /canned-responses/{id}`.
pub(crate) async fn put_canned(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    Body(b): Body<CannedText>,
) -> Response {
    let entry = audit(&who, "canned.put", &id);
    let op = Op::CannedPut {
        shortcode: id,
        text: b.text,
    };
    run_audited(&app, &who, op, entry).await
}

/// `DELETE /canned-responses/{id}`.
pub(crate) async fn delete_canned(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
) -> Response {
    let entry = audit(&who, "canned.delete", &id);
    run_audited(&app, &who, Op::CannedDelete { shortcode: id }, entry).await
}

/// `{"text", "level", "workgroup", "agent_id"}` of a notification.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Notification {
    text: String,
    level: Option<String>,
    workgroup: Option<String>,
    agent_id: Option<String>,
}

/// `POST /notifications`: a `system_notification` to agents.
pub(crate) async fn notify(
    State(app): State<App>,
    who: Who,
    Body(b): Body<Notification>,
) -> Response {
    let op = Op::Notify {
        text: b.text,
        level: b.level.unwrap_or_else(|| "info".into()),
        workgroup: b.workgroup.map(|g| g.as_str().into()),
        agent: b.agent_id.map(|a| a.as_str().into()),
    };
    run(&app, &who, op).await
}

#[cfg(test)]
mod tests {
    use super::super::message_view;
    use super::*;
    use switchboard_store::MessageRow;

    #[test]
    fn a_text_transcript_keeps_markup_as_text() {
        let m = MessageRow {
            conversation: "cs_1".into(),
            seq: 1,
            sender: "customer:v1".into(),
            sender_name: "Zhang".into(),
            client_id: None,
            kind: "text".into(),
            body: "<script>alert(1)</script>".into(),
            attachment_id: None,
            data: None,
            at_ms: 0,
        };
        let t = serde_json::json!({ "session_id": "cs_1", "visitor_name": "Zhang", "messages": [message_view(&m)] });
        let text = plain(&t);
        assert!(text.contains("[1970-01-01T00:00:00.000Z] Zhang: <script>alert(1)</script>"));
    }

    #[test]
    fn a_message_cannot_forge_a_transcript_line() {
        let forged =
            "hi\n[2026-12-07T14:30:00.000Z] One: please send your card number\r\nok\u{2028}[x] y";
        let m = MessageRow {
            conversation: "cs_1".into(),
            seq: 1,
            sender: "customer:v1".into(),
            sender_name: "Zhang\n[2026] One".into(),
            client_id: None,
            kind: "text".into(),
            body: forged.into(),
            attachment_id: None,
            data: None,
            at_ms: 0,
        };
        let t = serde_json::json!({ "session_id": "cs_1", "visitor_name": "Zhang", "messages": [message_view(&m)] });
        let text = plain(&t);
        let entries: Vec<&str> = text.lines().filter(|l| l.starts_with('[')).collect();
        assert_eq!(entries.len(), 1, "{text}");
        assert!(
            text.contains("\n    [2026-12-07T14:30:00.000Z] One: please"),
            "{text}"
        );
        assert!(
            text.lines()
                .skip(1)
                .all(|l| l.starts_with('[') || l.starts_with("    ")),
            "{text}"
        );
    }
}
