//! Who may call which route: one table ([`ROUTES`]) that the router, the
//! OpenAPI security section and the authorization-matrix test all read, and
//! the guard that enforces it before a handler runs.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower_layer::Layer;
use tower_service::Service;

use percent_encoding::percent_decode_str;
use switchboard_core::{is_name, SessionId};

use super::now_ms;
use super::{unauthorized, Auth, AuthError, Caller, Role, Who};
use crate::listener::Door;
use crate::{Answer, AnswerExt};

/// The cookie a browser's sign-in is carried in.
pub const COOKIE: &str = "sb_session";

/// The static part of a route's rule; what depends on live state is checked
/// by the handler on the engine thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, with or without a credential.
    Public,
    /// Any valid credential.
    Signed,
    /// Staff of at least this role.
    Staff(Role),
    /// The agent named `{id}` in the path (its own account), or staff of at least this role.
    OwnAgent(Role),
    /// The visitor of session `{id}`, an agent holding it (live), or staff of at least this role.
    Session(Role),
    /// An agent holding session `{id}` (live), or staff of at least this role.
    Held(Role),
    /// The visitor of session `{id}` (also after it ended), or an admin.
    Rate,
    /// A visitor (their own visitor id, checked live), or staff of at least this role.
    VisitorOr(Role),
    /// A participant of session `{id}`'s call: its visitor, or the agent
    /// holding it or rung for it (live). Nobody else sends or receives its media.
    Participant,
}

/// One route and its rule.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path template, `{name}` for parameters.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
}

const fn r(method: &'static str, path: &'static str, access: Access) -> Route {
    Route {
        method,
        path,
        access,
    }
}

use Access::*;
use Role::{Admin, Agent, Supervisor};

/// Every route of the server and who may call it.
pub const ROUTES: &[Route] = &[
    r("POST", "/customer-service/auth/login", Public),
    r("POST", "/customer-service/auth/logout", Signed),
    r("GET", "/customer-service/auth/me", Signed),
    r("POST", "/customer-service/auth/ticket", Signed),
    r("POST", "/customer-service/auth/password", Staff(Agent)),
    r("GET", "/customer-service/accounts", Staff(Admin)),
    r("POST", "/customer-service/accounts", Staff(Admin)),
    r(
        "PATCH",
        "/customer-service/accounts/{username}",
        Staff(Admin),
    ),
    r("GET", "/customer-service/tokens", Staff(Admin)),
    r("POST", "/customer-service/tokens", Staff(Admin)),
    r("DELETE", "/customer-service/tokens/{id}", Staff(Admin)),
    r("GET", "/customer-service/audit", Staff(Admin)),
    r(
        "POST",
        "/customer-service/sessions/{id}/link",
        Staff(Supervisor),
    ),
    r("DELETE", "/customer-service/links/{id}", Staff(Supervisor)),
    r("GET", "/customer-service/sessions", Staff(Agent)),
    r("POST", "/customer-service/sessions", Staff(Supervisor)),
    r(
        "GET",
        "/customer-service/sessions/{id}",
        Session(Supervisor),
    ),
    r(
        "DELETE",
        "/customer-service/sessions/{id}",
        Session(Supervisor),
    ),
    r(
        "POST",
        "/customer-service/sessions/{id}/assign",
        Staff(Agent),
    ),
    r(
        "POST",
        "/customer-service/sessions/{id}/transfer",
        Held(Supervisor),
    ),
    r("POST", "/customer-service/sessions/{id}/rate", Rate),
    r(
        "GET",
        "/customer-service/sessions/{id}/rating",
        Session(Supervisor),
    ),
    r("GET", "/customer-service/agents", Staff(Agent)),
    r("POST", "/customer-service/agents/register", Staff(Agent)),
    r("GET", "/customer-service/agents/available", Staff(Agent)),
    r("GET", "/customer-service/agents/stats", Staff(Supervisor)),
    r(
        "POST",
        "/customer-service/agents/{id}/offline",
        OwnAgent(Supervisor),
    ),
    r(
        "POST",
        "/customer-service/agents/{id}/available",
        OwnAgent(Admin),
    ),
    r(
        "POST",
        "/customer-service/agents/{id}/unavailable",
        OwnAgent(Supervisor),
    ),
    r(
        "POST",
        "/customer-service/agents/{id}/accept",
        OwnAgent(Admin),
    ),
    r(
        "POST",
        "/customer-service/agents/{id}/reject",
        OwnAgent(Admin),
    ),
    r("PUT", "/customer-service/agents/{id}/weight", Staff(Admin)),
    r(
        "PUT",
        "/customer-service/agents/{id}/workgroups",
        Staff(Admin),
    ),
    r(
        "PUT",
        "/customer-service/agents/{id}/capacity",
        Staff(Admin),
    ),
    r("GET", "/customer-service/workgroups", Staff(Agent)),
    r("POST", "/customer-service/workgroups", Staff(Admin)),
    r("GET", "/customer-service/workgroups/{id}", Staff(Agent)),
    r("PATCH", "/customer-service/workgroups/{id}", Staff(Admin)),
    r(
        "GET",
        "/customer-service/workgroups/{id}/forecast",
        Staff(Agent),
    ),
    r(
        "GET",
        "/customer-service/workgroups/{id}/bot",
        Staff(Supervisor),
    ),
    r("PUT", "/customer-service/workgroups/{id}/bot", Staff(Admin)),
    r(
        "DELETE",
        "/customer-service/workgroups/{id}/bot",
        Staff(Admin),
    ),
    r(
        "POST",
        "/customer-service/sessions/{id}/bot/escalate",
        Session(Supervisor),
    ),
    r(
        "POST",
        "/customer-service/sessions/{id}/bot/refuse",
        Session(Supervisor),
    ),
    r("GET", "/customer-service/routing", Staff(Supervisor)),
    r("POST", "/customer-service/queue/join", Public),
    r(
        "POST",
        "/customer-service/queue/leave",
        VisitorOr(Supervisor),
    ),
    r("GET", "/customer-service/queue/status", Staff(Agent)),
    r(
        "GET",
        "/customer-service/queue/position/{visitor_id}",
        VisitorOr(Agent),
    ),
    r("GET", "/customer-service/stats", Staff(Supervisor)),
    r("GET", "/customer-service/stats/ratings", Staff(Supervisor)),
    r("GET", "/customer-service/stats/trend", Staff(Supervisor)),
    r("GET", "/customer-service/openapi.json", Public),
    r("POST", "/customer-service/sessions/{id}/whip", Participant),
    r(
        "GET",
        "/customer-service/sessions/{id}/ice-servers",
        Participant,
    ),
    r("POST", "/customer-service/sessions/{id}/whep", Participant),
    r("OPTIONS", "/customer-service/sessions/{id}/whip", Public),
    r("OPTIONS", "/customer-service/sessions/{id}/whep", Public),
    r("PATCH", "/customer-service/media/{id}", Signed),
    r("DELETE", "/customer-service/media/{id}", Signed),
    r("OPTIONS", "/customer-service/media/{id}", Public),
    r(
        "GET",
        "/customer-service/sessions/{id}/quality",
        Session(Supervisor),
    ),
    r(
        "GET",
        "/customer-service/sessions/{id}/recordings",
        Held(Supervisor),
    ),
    r(
        "GET",
        "/customer-service/sessions/{id}/recordings/{file}",
        Held(Supervisor),
    ),
    r("GET", "/customer-service/webhooks", Staff(Admin)),
    r("POST", "/customer-service/webhooks", Staff(Admin)),
    r("PATCH", "/customer-service/webhooks/{id}", Staff(Admin)),
    r("DELETE", "/customer-service/webhooks/{id}", Staff(Admin)),
    r(
        "GET",
        "/customer-service/webhooks/{id}/deliveries",
        Staff(Admin),
    ),
    r(
        "POST",
        "/customer-service/webhooks/{id}/events/{event}/redeliver",
        Staff(Admin),
    ),
    r(
        "GET",
        "/customer-service/sessions/{id}/messages",
        Session(Supervisor),
    ),
    r(
        "POST",
        "/customer-service/sessions/{id}/messages",
        Session(Supervisor),
    ),
    r(
        "POST",
        "/customer-service/sessions/{id}/receipts",
        Session(Supervisor),
    ),
    r(
        "POST",
        "/customer-service/sessions/{id}/close",
        Held(Supervisor),
    ),
    r(
        "GET",
        "/customer-service/sessions/{id}/transcript",
        Session(Supervisor),
    ),
    r(
        "POST",
        "/customer-service/sessions/{id}/attachments",
        Session(Supervisor),
    ),
    r(
        "GET",
        "/customer-service/sessions/{id}/attachments/{file}",
        Session(Supervisor),
    ),
    // Supervisors, and the agent serving the visitor now (the chat policy).
    r("GET", "/customer-service/customers/{id}", Staff(Agent)),
    r("GET", "/customer-service/chats", Staff(Agent)),
    r("GET", "/customer-service/internal/messages", Staff(Agent)),
    r("POST", "/customer-service/internal/messages", Staff(Agent)),
    r("GET", "/customer-service/canned-responses", Staff(Agent)),
    r(
        "PUT",
        "/customer-service/canned-responses/{id}",
        Staff(Admin),
    ),
    r(
        "DELETE",
        "/customer-service/canned-responses/{id}",
        Staff(Admin),
    ),
    r("POST", "/customer-service/notifications", Staff(Supervisor)),
    r("GET", "/room", Signed),
    // socket.io checks the credential of its connect packet itself.
    r("GET", "/socket.io/", Public),
    r("POST", "/socket.io/", Public),
    r("GET", "/metrics", Staff(Supervisor)),
    r("GET", "/healthz", Public),
    r("GET", "/web/{file}", Public),
    r("GET", "/", Public),
    r("GET", "/visit", Public),
    r("GET", "/agent", Public),
    r("GET", "/admin", Public),
];

/// The rule of `method path`, if the route exists.
pub fn rule(method: &str, path: &str) -> Option<Access> {
    ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
        .map(|r| r.access)
}

/// What the static rule says of a caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go on (live checks may still refuse).
    Allow,
    /// 401: no credential, and one is needed.
    Unauthenticated,
    /// 403: a credential that may not do this.
    Forbidden,
}

impl Access {
    /// The static verdict for `caller`, with `id` the path's `{id}`.
    pub fn judge(self, caller: &Caller, id: Option<&str>) -> Verdict {
        let ok = match (self, caller) {
            (Public, _) => true,
            (_, Caller::Anonymous) => return Verdict::Unauthenticated,
            (Signed, _) => true,
            (Staff(min), c) => c.at_least(min),
            (OwnAgent(min), c) => {
                c.at_least(min) || c.agent().is_some_and(|a| Some(a.as_str()) == id)
            }
            (Session(_) | Rate, Caller::Visitor { session, .. }) => Some(session.as_str()) == id,
            (Session(min) | Held(min), c) => c.at_least(min) || c.agent().is_some(),
            (Rate, c) => c.at_least(Admin),
            (VisitorOr(_), Caller::Visitor { .. }) => true,
            (VisitorOr(min), c) => c.at_least(min),
            (Participant, Caller::Visitor { session, .. }) => Some(session.as_str()) == id,
            (Participant, c) => c.agent().is_some(),
        };
        if ok {
            Verdict::Allow
        } else {
            Verdict::Forbidden
        }
    }
}

/// The path parameters of `path` under `template`, percent-decoded, each
/// checked for its shape: a session's `{id}` must parse as a [`SessionId`],
/// every other parameter must be an [`is_name`] id. None if any is not: the
/// route answers 404 before any other check, so neither a rule nor a handler
/// ever sees a value like `./cs_x`, `..%2F..` or `/tmp`.
pub fn path_params(template: &str, path: &str) -> Option<Vec<String>> {
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    let mut params = Vec::new();
    let mut previous = "";
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) if ts.starts_with('{') => {
                let value = percent_decode_str(ps).decode_utf8().ok()?;
                let ok = if previous == "sessions" && ts == "{id}" {
                    SessionId::parse(&value).is_some()
                } else {
                    is_name(&value)
                };
                if !ok {
                    return None;
                }
                params.push(value.into_owned());
                previous = ts;
            }
            (Some(ts), Some(_)) => previous = ts,
            _ => return None,
        }
    }
}

/// The guard of one route: see [`Guarded::call`].
#[derive(Clone)]
pub struct Guard {
    route: Route,
    auth: Arc<Auth>,
}

impl Guard {
    /// The guard for `route`.
    pub fn new(route: Route, auth: Arc<Auth>) -> Self {
        Guard { route, auth }
    }
}

impl<S> Layer<S> for Guard {
    type Service = Guarded<S>;

    fn layer(&self, inner: S) -> Guarded<S> {
        Guarded {
            guard: self.clone(),
            inner,
        }
    }
}

/// A route's handler behind its guard.
#[derive(Clone)]
pub struct Guarded<S> {
    guard: Guard,
    inner: S,
}

/// The handler's future, or the guard's refusal.
pub enum GuardFuture<F> {
    /// Admitted.
    Inner(Pin<Box<F>>),
    /// Refused before the handler.
    Refused(Option<Response>),
}

impl<F: Future<Output = Result<Response, Infallible>>> Future for GuardFuture<F> {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Both variants are Unpin (the inner future is boxed).
        match self.get_mut() {
            GuardFuture::Inner(f) => f.as_mut().poll(cx),
            GuardFuture::Refused(r) => Poll::Ready(Ok(r.take().unwrap_or_default())),
        }
    }
}

impl<S> Service<Request> for Guarded<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = GuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    /// Turns the credential into a [`Who`], checks the cookie's origin, the
    /// rate limit and the route's rule, then runs the handler.
    fn call(&mut self, mut req: Request) -> Self::Future {
        match self.guard.admit(&mut req) {
            Ok(who) => {
                req.extensions_mut().insert(who);
                GuardFuture::Inner(Box::pin(self.inner.call(req)))
            }
            Err(refusal) => GuardFuture::Refused(Some(*refusal)),
        }
    }
}

/// The client's address, as the listener recorded it.
pub fn peer(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

impl Guard {
    /// The caller, or the refusal (boxed: refusals are the rare path).
    fn admit(&self, req: &mut Request) -> Result<Who, Box<Response>> {
        let Some(params) = path_params(self.route.path, req.uri().path()) else {
            return Err(Box::new(
                Answer::error(StatusCode::NOT_FOUND, "not_found", "no such resource")
                    .into_response(),
            ));
        };
        let address = peer(req);
        let headers = req.headers();
        let (caller, by_cookie) =
            credential(&self.auth, headers, req.uri().query()).map_err(|e| Box::new(refuse(e)))?;
        if by_cookie && !cookie_may_ride(&self.auth, req.method(), headers) {
            return Err(Box::new(
                Answer::forbidden(
                    "a request carrying the sign-in cookie must come from this server's pages",
                )
                .into_response(),
            ));
        }
        if let Err(wait) = self
            .auth
            .admit(&caller, address, Door::Http, Instant::now())
        {
            return Err(Box::new(too_many(wait)));
        }
        match self
            .route
            .access
            .judge(&caller, params.first().map(String::as_str))
        {
            Verdict::Allow => Ok(Who { caller, address }),
            Verdict::Unauthenticated => Err(Box::new(
                unauthorized("sign in or present a token").into_response(),
            )),
            Verdict::Forbidden => Err(Box::new(
                Answer::forbidden(format!(
                    "a {} may not {} {}",
                    caller.role_name(),
                    self.route.method,
                    self.route.path
                ))
                .into_response(),
            )),
        }
    }
}

/// Whether the request's `Origin` is this server (its `Host`) or an allowed
/// origin; false without one.
pub fn same_origin(auth: &Auth, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, h)| h);
    (host.is_some() && origin_host == host)
        || auth.settings().allowed_origins.iter().any(|o| o == origin)
}

/// Whether a request riding the sign-in cookie came from our pages: an
/// `Origin`, when sent, must be ours (socket.io's polling GETs included);
/// unsafe methods and upgrades must send one; and a browser's
/// `Sec-Fetch-Site` must not name another site.
fn cookie_may_ride(auth: &Auth, method: &Method, headers: &HeaderMap) -> bool {
    if headers.contains_key(header::ORIGIN) {
        return same_origin(auth, headers);
    }
    let fetched_by = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none");
    !needs_origin(method, headers) && matches!(fetched_by, "same-origin" | "none")
}

/// Unsafe methods and WebSocket upgrades: what a cross-site page could abuse.
fn needs_origin(method: &Method, headers: &HeaderMap) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || headers.contains_key(header::UPGRADE)
}

/// The caller the request's credential proves, and whether it came by cookie.
/// A bearer header wins over the cookie; a `ticket` query parameter is
/// redeemed (once) when neither is present.
fn credential(
    auth: &Auth,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(Caller, bool), AuthError> {
    let now = now_ms();
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let secret = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(AuthError::Unauthenticated(
                "Authorization must be `Bearer <token>`",
            ))?;
        return Ok((auth.resolve(secret.trim(), now)?, false));
    }
    if let Some(secret) = cookie(headers, COOKIE) {
        return Ok((auth.resolve(secret, now)?, true));
    }
    let ticket = query
        .unwrap_or("")
        .split('&')
        .find_map(|p| p.strip_prefix("ticket="));
    if let Some(ticket) = ticket {
        return Ok((auth.redeem(ticket, Instant::now())?, false));
    }
    Ok((Caller::Anonymous, false))
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// The answer to a credential that failed.
pub fn refuse(e: AuthError) -> Response {
    match e {
        AuthError::Throttled(wait) => too_many(wait),
        AuthError::BadLogin | AuthError::Unauthenticated(_) => {
            unauthorized(e.to_string()).into_response()
        }
        AuthError::Invalid(m) => Answer::invalid(m).into_response(),
        AuthError::NotFound(m) => {
            Answer::error(StatusCode::NOT_FOUND, "not_found", m).into_response()
        }
        AuthError::Conflict(m) => {
            Answer::error(StatusCode::CONFLICT, "conflict", m).into_response()
        }
        AuthError::Cluster(m) => Answer::retry_later("log_unavailable", m).into_response(),
        AuthError::Store(_) | AuthError::Hash(_) => {
            tracing::error!(error = %e, "credential store failed");
            Answer::unavailable().into_response()
        }
    }
}

/// The refusal of a request or frame over its rate: the seed's "请求过频".
pub fn rate_limited(wait: std::time::Duration) -> (Answer, u64) {
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let answer = Answer::error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("请求过频 (too many requests); retry in {secs} s"),
    );
    (answer, secs)
}

/// 429 with `Retry-After`.
pub fn too_many(wait: std::time::Duration) -> Response {
    let (answer, secs) = rate_limited(wait);
    let mut response = answer.into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(
                seen.insert((r.method, r.path)),
                "{} {} twice",
                r.method,
                r.path
            );
        }
    }

    #[test]
    fn path_params_are_read_from_their_place_and_checked() {
        let t = "/customer-service/sessions/{id}/recordings/{file}";
        assert_eq!(
            path_params(t, "/customer-service/sessions/cs_1/recordings/a-1.webm"),
            Some(vec!["cs_1".to_owned(), "a-1.webm".to_owned()])
        );
        assert_eq!(path_params("/healthz", "/healthz"), Some(vec![]));
        let agents = "/customer-service/agents/{id}/accept";
        assert_eq!(
            path_params(agents, "/customer-service/agents/a%40b.c/accept"),
            Some(vec!["a@b.c".to_owned()])
        );
        for bad in [
            "/customer-service/sessions/.%2Fcs_1/recordings/a.webm",
            "/customer-service/sessions/cs_1%2F/recordings/a.webm",
            "/customer-service/sessions/%2Ftmp%2Fx/recordings/a.webm",
            "/customer-service/sessions/..%2F..%2Fx/recordings/a.webm",
            "/customer-service/sessions/cs_1/recordings/..%2Fa.webm",
            "/customer-service/sessions/cs_1/recordings/a%5Cb.webm",
            "/customer-service/sessions/cs_1/recordings/a%00.webm",
            "/customer-service/sessions/cs_1/recordings/.hidden",
            "/customer-service/sessions/agent_x/recordings/a.webm",
        ] {
            assert_eq!(path_params(t, bad), None, "{bad}");
        }
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; sb_session=xyz; b=2"),
        );
        assert_eq!(cookie(&h, COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
