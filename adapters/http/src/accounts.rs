//! Sign-in, accounts, API tokens, visitor links and the audit log over HTTP.
//! Password hashing runs on the blocking pool, never on the request threads.

use std::time::{Duration, Instant};

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_core::{CoreError, SessionId, SessionStatus};
use switchboard_store::{AccountRow, AuditFilter};

use crate::auth::access::{refuse, same_origin, COOKIE};
use crate::auth::{self, AccountChange, AuthError, Caller, Role, Who, LINK_TTL_MAX_SECS};
use crate::body::{Body, OptionalBody};
use crate::App;
use crate::{Answer, AnswerExt};

/// An account as the API shows it (never the hash).
#[derive(Serialize)]
struct AccountView<'a> {
    username: &'a str,
    display_name: Option<&'a str>,
    role: &'a str,
    agent_id: Option<&'a str>,
    disabled: bool,
    created_at: i64,
    updated_at: i64,
}

fn view(a: &AccountRow) -> AccountView<'_> {
    AccountView {
        username: &a.username,
        display_name: a.display_name.as_deref(),
        role: &a.role,
        agent_id: a.agent_id.as_deref(),
        disabled: a.disabled,
        created_at: a.created_ms,
        updated_at: a.updated_ms,
    }
}

/// Runs `f` (argon2 or SQLite) on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(refuse),
        Err(_) => Err(Answer::unavailable().into_response()),
    }
}

fn cookie(app: &App, value: &str, max_age: u64) -> HeaderValue {
    let secure = if app.auth.settings().tls.is_some() {
        "; Secure"
    } else {
        ""
    };
    let text =
        format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginBody {
    username: String,
    password: String,
}

/// `POST /auth/login`: a token in the body and the HttpOnly cookie.
pub(crate) async fn login(
    State(app): State<App>,
    who: Who,
    headers: HeaderMap,
    Body(b): Body<LoginBody>,
) -> Response {
    // Login CSRF: a foreign page can post a form or a `no-cors` text body,
    // but not JSON (that needs a preflight we do not grant), and its
    // browser says where it came from.
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return Answer::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "sign in with a JSON body (Content-Type: application/json)",
        )
        .into_response();
    }
    if headers.contains_key(header::ORIGIN) && !same_origin(&app.auth, &headers) {
        return Answer::forbidden("sign in from this server's pages").into_response();
    }
    let auth = app.auth.clone();
    let address = who.address;
    let login = match blocking(move || auth.login(&b.username, &b.password, address)).await {
        Ok(login) => login,
        Err(refusal) => return refusal,
    };
    let ttl = app.auth.settings().session_ttl_secs;
    let mut response = Answer::ok(json!({
        "token": login.token,
        "expires_at": login.expires_ms,
        "account": view(&login.account),
    }))
    .into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&app, &login.token, ttl));
    response
}

/// `POST /auth/logout`: revokes the credential used and clears the cookie.
pub(crate) async fn logout(State(app): State<App>, who: Who) -> Response {
    let auth = app.auth.clone();
    if let Err(refusal) = blocking(move || auth.logout(&who.caller, who.address)).await {
        return refusal;
    }
    let mut response = Answer::ok(json!({ "status": "signed_out" })).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&app, "", 0));
    response
}

/// `GET /auth/me`: who the credential says the caller is.
pub(crate) async fn me(State(app): State<App>, who: Who) -> Answer {
    match &who.caller {
        Caller::Staff(s) => {
            // An API token has no account; an account's display name may change.
            let account = match app.auth.username_of(s) {
                Some(username) => {
                    let auth = app.auth.clone();
                    blocking(move || auth.account(&username))
                        .await
                        .ok()
                        .flatten()
                }
                None => None,
            };
            Answer::ok(json!({
                "kind": "staff", "name": s.name, "role": s.role, "agent_id": s.agent_id,
                "display_name": account.and_then(|a| a.display_name),
            }))
        }
        Caller::Visitor { session, .. } => Answer::ok(json!({
            "kind": "visitor", "role": "customer", "session_id": session,
        })),
        Caller::Anonymous => Answer::ok(json!({ "kind": "anonymous" })),
    }
}

/// `POST /auth/ticket`: a single-use, short-lived credential for a browser's
/// WebSocket (`/room?ticket=…`), which cannot carry a header.
pub(crate) async fn ticket(State(app): State<App>, who: Who) -> Answer {
    let ticket = app.auth.ticket(who.caller, Instant::now());
    Answer::ok(json!({ "ticket": ticket, "expires_in": app.auth.settings().ticket_ttl_secs }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    old_password: String,
    new_password: String,
}

/// `POST /auth/password`: a signed-in account changes its own password;
/// its other sign-ins are revoked.
pub(crate) async fn change_password(
    State(app): State<App>,
    who: Who,
    Body(b): Body<PasswordChange>,
) -> Response {
    let Some(staff) = who.caller.staff().cloned() else {
        return Answer::forbidden("only a signed-in account has a password").into_response();
    };
    let auth = app.auth.clone();
    let result = blocking(move || {
        auth.check_own_password(&staff.name, &b.old_password)?;
        let change = AccountChange {
            password: Some(b.new_password),
            keep: staff.credential.clone(),
            ..AccountChange::default()
        };
        auth.update_account(&who.caller, who.address, &staff.name, change)
    })
    .await;
    match result {
        Ok(a) => Answer::ok(view(&a)).into_response(),
        Err(refusal) => refusal,
    }
}

// ---- accounts ----

pub(crate) async fn list_accounts(State(app): State<App>) -> Response {
    let auth = app.auth.clone();
    match blocking(move || auth.accounts()).await {
        Ok(all) => {
            let shown: Vec<_> = all.iter().map(view).collect();
            Answer::ok(json!({ "count": shown.len(), "accounts": shown })).into_response()
        }
        Err(refusal) => refusal,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountBody {
    username: String,
    password: String,
    role: String,
    agent_id: Option<String>,
    display_name: Option<String>,
}

fn role(name: &str) -> Result<Role, Answer> {
    Role::parse(name).ok_or_else(|| Answer::invalid("role must be admin, supervisor or agent"))
}

pub(crate) async fn create_account(
    State(app): State<App>,
    who: Who,
    Body(b): Body<AccountBody>,
) -> Response {
    let role = match role(&b.role) {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    let auth = app.auth.clone();
    let result = blocking(move || {
        let new = auth::NewAccount {
            username: b.username,
            password: b.password,
            role,
            agent_id: b.agent_id,
            display_name: b.display_name,
        };
        auth.create_account(&who.caller, Some(who.address), new)
    })
    .await;
    match result {
        Ok(a) => Answer::created(view(&a)).into_response(),
        Err(refusal) => refusal,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountPatch {
    role: Option<String>,
    password: Option<String>,
    disabled: Option<bool>,
    display_name: Option<String>,
}

/// `PATCH /accounts/{username}`: role, password reset, disable. Each of
/// these revokes the account's sign-ins.
pub(crate) async fn update_account(
    State(app): State<App>,
    who: Who,
    Path(username): Path<String>,
    Body(b): Body<AccountPatch>,
) -> Response {
    let role = match b.role.as_deref().map(role).transpose() {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    let change = AccountChange {
        role,
        password: b.password,
        disabled: b.disabled,
        display_name: b.display_name,
        keep: None,
    };
    let auth = app.auth.clone();
    match blocking(move || auth.update_account(&who.caller, who.address, &username, change)).await {
        Ok(a) => Answer::ok(view(&a)).into_response(),
        Err(refusal) => refusal,
    }
}

// ---- API tokens ----

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewToken {
    name: String,
    role: Option<String>,
    agent_id: Option<String>,
}

/// `POST /tokens`: the secret is in this answer and nowhere else.
pub(crate) async fn create_token(
    State(app): State<App>,
    who: Who,
    Body(b): Body<NewToken>,
) -> Response {
    let role = match role(b.role.as_deref().unwrap_or("admin")) {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    let auth = app.auth.clone();
    let name = b.name.clone();
    match blocking(move || auth.create_token(&who.caller, who.address, &b.name, role, b.agent_id))
        .await
    {
        Ok((id, token)) => {
            Answer::created(json!({ "id": id, "name": name, "role": role, "token": token }))
                .into_response()
        }
        Err(refusal) => refusal,
    }
}

pub(crate) async fn list_tokens(State(app): State<App>) -> Response {
    let auth = app.auth.clone();
    match blocking(move || auth.tokens()).await {
        Ok(tokens) => {
            let shown: Vec<_> = tokens
                .iter()
                .map(|t| {
                    json!({
                        "id": t.id, "name": t.name, "role": t.role, "agent_id": t.agent_id,
                        "created_by": t.username, "created_at": t.created_ms,
                    })
                })
                .collect();
            Answer::ok(json!({ "count": shown.len(), "tokens": shown })).into_response()
        }
        Err(refusal) => refusal,
    }
}

pub(crate) async fn revoke_token(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return Answer::invalid("token ids are integers").into_response();
    };
    let auth = app.auth.clone();
    match blocking(move || auth.revoke_token(&who.caller, who.address, id)).await {
        Ok(()) => Answer::ok(json!({ "id": id, "status": "revoked" })).into_response(),
        Err(refusal) => refusal,
    }
}

// ---- visitor links ----

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewLink {
    expires_in_secs: Option<u64>,
}

/// `POST /sessions/{id}/link`: a link (and its QR code) that admits its
/// bearer as the visitor of this open session, and nothing else.
pub(crate) async fn create_link(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Body(b): OptionalBody<NewLink>,
) -> Response {
    let ttl = b
        .expires_in_secs
        .unwrap_or(app.auth.settings().link_ttl_secs);
    if !(1..=LINK_TTL_MAX_SECS).contains(&ttl) {
        return Answer::invalid(format!(
            "expires_in_secs must be from 1 to {LINK_TTL_MAX_SECS}"
        ))
        .into_response();
    }
    let sid = SessionId::from(id);
    let key = sid.clone();
    let open = app
        .engine
        .read(Box::new(move |c, _| match c.session(key.as_str()) {
            None => Answer::refused(&CoreError::SessionNotFound(key)),
            Some(s) if s.status() == SessionStatus::Ended => Answer::error(
                StatusCode::CONFLICT,
                "session_ended",
                format!("session {key} has ended"),
            ),
            Some(_) => Answer::ok(()),
        }))
        .await;
    if !open.is_ok() {
        return open.into_response();
    }
    let auth = app.auth.clone();
    let s = sid.clone();
    let (link, token) = match blocking(move || {
        auth.create_link(&who.caller, who.address, &s, Duration::from_secs(ttl))
    })
    .await
    {
        Ok(x) => x,
        Err(refusal) => return refusal,
    };
    let scheme = if app.auth.settings().tls.is_some() {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost:8180");
    let url = format!("{scheme}://{host}/?session={sid}&role=customer&token={token}");
    // The agent's entry carries no credential: the agent signs in.
    let agent_url = format!("{scheme}://{host}/?session={sid}&role=agent");
    let qr = |text: &str| {
        qrcode::QrCode::new(text.as_bytes())
            .map(|code| {
                code.render::<qrcode::render::svg::Color<'_>>()
                    .min_dimensions(200, 200)
                    .build()
            })
            .unwrap_or_default()
    };
    Answer::created(json!({
        "link_id": link.link_id, "session_id": sid, "url": url, "token": token,
        "expires_at": link.expires_ms, "qr_svg": qr(&url),
        "agent_url": agent_url, "agent_qr_svg": qr(&agent_url),
    }))
    .into_response()
}

/// `DELETE /links/{id}`: the link's token stops working at once.
pub(crate) async fn revoke_link(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
) -> Response {
    let auth = app.auth.clone();
    match blocking(move || auth.revoke_link(&who.caller, who.address, &id)).await {
        Ok(link) => Answer::ok(
            json!({ "link_id": link.link_id, "session_id": link.session_id, "status": "revoked" }),
        )
        .into_response(),
        Err(refusal) => refusal,
    }
}

// ---- audit ----

/// `GET /audit?actor=&action=&since=&until=&limit=`, newest first.
pub(crate) async fn audit(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let filter: AuditFilter = match audit_filter(query.as_deref().unwrap_or("")) {
        Ok(f) => f,
        Err(refusal) => return refusal.into_response(),
    };
    let auth = app.auth.clone();
    match blocking(move || auth.read_audit(&filter)).await {
        Ok(entries) => {
            Answer::ok(json!({ "count": entries.len(), "entries": entries })).into_response()
        }
        Err(refusal) => refusal,
    }
}

/// The audit filter from a query string (no percent-decoding needed for
/// its values: names, actions and integers).
fn audit_filter(query: &str) -> Result<AuditFilter, Answer> {
    let mut f = AuditFilter::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let int = |v: &str| {
            v.parse::<i64>()
                .map_err(|_| Answer::invalid(format!("{k} must be an integer")))
        };
        match k {
            "actor" => f.actor = Some(v.to_owned()),
            "action" => f.action = Some(v.to_owned()),
            "since" => f.since = Some(int(v)?),
            "until" => f.until = Some(int(v)?),
            "limit" => f.limit = Some(u32::try_from(int(v)?).unwrap_or(0)),
            other => return Err(Answer::invalid(format!("unknown filter {other:?}"))),
        }
    }
    Ok(f)
}
