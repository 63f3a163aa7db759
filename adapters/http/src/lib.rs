//! # switchboard-http
//!
//! The production face of Switchboard: the seed's `/customer-service/*` HTTP
//! API and `/room` WebSocket signaling, over an [`Engine`] thread that alone
//! owns the core and the journal. Handlers translate and carry; every decision
//! is the core's.

#![allow(
    clippy::result_large_err,
    reason = "a refusal is the Answer the transport sends: it is moved once, on the error path"
)]

mod accounts;
mod api;
pub mod auth;
mod body;
mod chat;
mod desk;
mod download;
pub mod forward;
pub mod frames;
pub mod fuzzing;
mod gzip;
mod idempotency;
pub mod listener;
mod metrics;
mod openapi;
mod socketio;
mod turn;
mod web;
pub mod webhooks;
pub mod whip;
mod workgroups;
mod ws;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, options, patch, post, put, MethodRouter};
use axum::{Json, Router};
use serde_json::json;

pub use auth::Auth;
pub use body::BODY_MAX;
pub use forward::Forwarding;
pub use metrics::HttpMetrics;
use switchboard_app::{engine, hooks, Answer, AnswerExt, Engine};

/// What every handler can reach, shared: one reference count per request
/// rather than one per handle inside.
pub type App = Arc<Shared>;

/// The handles behind [`App`].
pub struct Shared {
    engine: Engine,
    auth: Arc<Auth>,
    http: Arc<HttpMetrics>,
    media: Option<switchboard_media::Media>,
    deliveries: Option<Arc<switchboard_outbound::webhooks::DeliveryStats>>,
    attachments: Option<std::path::PathBuf>,
    forwarding: Option<Forwarding>,
}

/// The optional parts a server runs with.
#[derive(Clone, Default)]
pub struct Extras {
    /// The media plane.
    pub media: Option<switchboard_media::Media>,
    /// The webhook delivery worker's figures.
    pub deliveries: Option<Arc<switchboard_outbound::webhooks::DeliveryStats>>,
    /// Where chat attachments are stored (none: uploads are refused).
    pub attachments: Option<std::path::PathBuf>,
    /// A cluster's follower: where its writes go.
    pub forwarding: Option<Forwarding>,
}

/// The handler of route `method path` of [`auth::access::ROUTES`].
fn handler(method: &str, path: &str) -> Option<MethodRouter<App>> {
    let path = path.strip_prefix("/customer-service").unwrap_or(path);
    Some(match (method, path) {
        ("POST", "/auth/login") => post(accounts::login),
        ("POST", "/auth/logout") => post(accounts::logout),
        ("GET", "/auth/me") => get(accounts::me),
        ("POST", "/auth/ticket") => post(accounts::ticket),
        ("POST", "/auth/password") => post(accounts::change_password),
        ("GET", "/accounts") => get(accounts::list_accounts),
        ("POST", "/accounts") => post(accounts::create_account),
        ("PATCH", "/accounts/{username}") => patch(accounts::update_account),
        ("GET", "/tokens") => get(accounts::list_tokens),
        ("POST", "/tokens") => post(accounts::create_token),
        ("DELETE", "/tokens/{id}") => delete(accounts::revoke_token),
        ("GET", "/audit") => get(accounts::audit),
        ("POST", "/sessions/{id}/link") => post(accounts::create_link),
        ("DELETE", "/links/{id}") => delete(accounts::revoke_link),
        ("GET", "/sessions") => get(api::list_sessions),
        ("POST", "/sessions") => post(api::create_session),
        ("GET", "/sessions/{id}") => get(api::get_session),
        ("DELETE", "/sessions/{id}") => delete(api::end_session),
        ("POST", "/sessions/{id}/assign") => post(api::assign),
        ("POST", "/sessions/{id}/transfer") => post(api::transfer),
        ("POST", "/sessions/{id}/rate") => post(api::rate),
        ("GET", "/sessions/{id}/rating") => get(api::get_rating),
        ("GET", "/agents") => get(api::list_agents),
        ("POST", "/agents/register") => post(api::register),
        ("GET", "/agents/available") => get(api::available_agents),
        ("GET", "/agents/stats") => get(api::agent_stats),
        ("POST", "/agents/{id}/offline") => post(api::offline),
        ("POST", "/agents/{id}/available") => post(api::available),
        ("POST", "/agents/{id}/unavailable") => post(api::unavailable),
        ("POST", "/agents/{id}/accept") => post(api::accept),
        ("POST", "/agents/{id}/reject") => post(api::reject),
        ("PUT", "/agents/{id}/weight") => put(api::set_weight),
        ("PUT", "/agents/{id}/workgroups") => put(workgroups::set_agent_workgroups),
        ("PUT", "/agents/{id}/capacity") => put(workgroups::set_capacity),
        ("GET", "/workgroups") => get(workgroups::list),
        ("POST", "/workgroups") => post(workgroups::create),
        ("GET", "/workgroups/{id}") => get(workgroups::get),
        ("PATCH", "/workgroups/{id}") => patch(workgroups::update),
        ("GET", "/workgroups/{id}/forecast") => get(workgroups::forecast),
        ("GET", "/workgroups/{id}/bot") => get(desk::get),
        ("PUT", "/workgroups/{id}/bot") => put(desk::put),
        ("DELETE", "/workgroups/{id}/bot") => delete(desk::delete),
        ("POST", "/sessions/{id}/bot/escalate") => post(desk::escalate),
        ("POST", "/sessions/{id}/bot/refuse") => post(desk::refuse),
        ("GET", "/routing") => get(workgroups::routing),
        ("POST", "/queue/join") => post(api::join),
        ("POST", "/queue/leave") => post(api::leave),
        ("GET", "/queue/status") => get(api::queue_status),
        ("GET", "/queue/position/{visitor_id}") => get(api::position),
        ("GET", "/stats") => get(api::stats),
        ("GET", "/stats/ratings") => get(api::rating_stats),
        ("GET", "/stats/trend") => get(api::trend),
        ("GET", "/openapi.json") => get(openapi),
        ("POST", "/sessions/{id}/whip" | "/sessions/{id}/whep") => post(whip::offer),
        ("GET", "/sessions/{id}/ice-servers") => get(whip::ice_servers),
        ("OPTIONS", "/sessions/{id}/whip" | "/sessions/{id}/whep") => {
            options(whip::endpoint_options)
        }
        ("OPTIONS", "/media/{id}") => options(whip::resource_options),
        ("PATCH", "/media/{id}") => patch(whip::patch),
        ("DELETE", "/media/{id}") => delete(whip::delete),
        ("GET", "/sessions/{id}/quality") => get(whip::quality),
        ("GET", "/sessions/{id}/recordings") => get(whip::recordings),
        ("GET", "/sessions/{id}/recordings/{file}") => get(whip::recording),
        ("GET", "/webhooks") => get(webhooks::list),
        ("POST", "/webhooks") => post(webhooks::create),
        ("PATCH", "/webhooks/{id}") => patch(webhooks::update),
        ("DELETE", "/webhooks/{id}") => delete(webhooks::delete),
        ("GET", "/webhooks/{id}/deliveries") => get(webhooks::deliveries),
        ("POST", "/webhooks/{id}/events/{event}/redeliver") => post(webhooks::redeliver),
        ("GET", "/sessions/{id}/messages") => get(chat::routes::history),
        ("POST", "/sessions/{id}/messages") => post(chat::routes::send),
        ("POST", "/sessions/{id}/receipts") => post(chat::routes::receipt),
        ("POST", "/sessions/{id}/close") => post(chat::routes::close),
        ("GET", "/sessions/{id}/transcript") => get(chat::routes::transcript),
        ("GET", "/customers/{id}") => get(chat::routes::customer),
        ("POST", "/sessions/{id}/attachments") => {
            post(chat::routes::upload).layer(DefaultBodyLimit::max(chat::files::ATTACHMENT_MAX))
        }
        ("GET", "/sessions/{id}/attachments/{file}") => get(chat::routes::download),
        ("GET", "/chats") => get(chat::routes::list),
        ("GET", "/internal/messages") => get(chat::routes::internal_history),
        ("POST", "/internal/messages") => post(chat::routes::internal_send),
        ("GET", "/canned-responses") => get(chat::routes::canned),
        ("PUT", "/canned-responses/{id}") => put(chat::routes::put_canned),
        ("DELETE", "/canned-responses/{id}") => delete(chat::routes::delete_canned),
        ("POST", "/notifications") => post(chat::routes::notify),
        ("GET", "/room") => get(ws::room),
        ("GET", "/web/{file}") => get(web::file),
        ("GET", "/" | "/visit" | "/agent" | "/admin") => get(web::page),
        ("GET", "/metrics") => get(metrics),
        ("GET", "/healthz") => get(healthz),
        _ => return None,
    })
}

/// The whole HTTP surface over `engine` (and the media plane, if any), every
/// route behind its guard, with the rules of [`auth::access::ROUTES`].
pub fn router(engine: Engine, auth: Arc<Auth>, extras: Extras) -> Router {
    router_with(engine, auth, extras, auth::access::ROUTES)
}

/// The router with another rule table: for tests that prove the
/// authorization matrix fails when a rule is weakened.
///
/// # Panics
/// If a route in `routes` has no handler (a programming error, caught by
/// the tests that build the router).
pub fn router_with(
    engine: Engine,
    auth: Arc<Auth>,
    extras: Extras,
    routes: &[auth::access::Route],
) -> Router {
    let http = Arc::new(HttpMetrics::default());
    let app = Arc::new(Shared {
        engine,
        auth: auth.clone(),
        http: http.clone(),
        media: extras.media,
        deliveries: extras.deliveries,
        attachments: extras.attachments,
        forwarding: extras.forwarding,
    });
    let (socketio_get, socketio_post) = socketio::routes(app.clone());
    let mut router = Router::new();
    for route in routes {
        let h = match (route.method, route.path) {
            ("GET", socketio::PATH) => Some(socketio_get.clone()),
            ("POST", socketio::PATH) => Some(socketio_post.clone()),
            _ => handler(route.method, route.path),
        };
        let Some(h) = h else {
            panic!("no handler for {} {}", route.method, route.path);
        };
        let guard = auth::access::Guard::new(*route, auth.clone());
        router = router.route(route.path, h.layer(guard));
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(gzip::json))
        .layer(axum::middleware::from_fn(idempotency::layer))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            forward::layer,
        ))
        .layer(DefaultBodyLimit::max(BODY_MAX))
        .layer(metrics::Track(http))
        .with_state(app)
}

/// The OpenAPI document, with this center's Not-ready reasons as the values
/// a `reason` may take (a setting: not known when the document is written).
async fn openapi(State(app): State<App>) -> Json<serde_json::Value> {
    let reasons = app
        .engine
        .read(Box::new(|c, _| Answer::ok(&c.config().not_ready_reasons)))
        .await;
    let reasons: Vec<String> = serde_json::from_str(reasons.body()).unwrap_or_default();
    let mut doc = openapi::document();
    openapi::not_ready_reasons(&mut doc, &reasons);
    Json(doc)
}

async fn metrics(State(app): State<App>) -> axum::response::Response {
    let http = app.http.clone();
    let answer = app
        .engine
        .read(Box::new(move |c, e| {
            let forecasts: Vec<_> = c
                .workgroups()
                .filter_map(|g| c.forecast(g.id.as_str()))
                .collect();
            let bots: Vec<_> = c
                .workgroups()
                .filter_map(|g| c.bot_stats(g.id.as_str()).ok())
                .collect();
            Answer::ok(metrics::render(&c.stats(), &forecasts, &bots, e, &http))
        }))
        .await;
    // The exposition comes back as a JSON string; read it out (a scrape is rare).
    match serde_json::from_str::<String>(answer.body()) {
        Ok(mut text) if answer.is_ok() => {
            listener::render(&app.auth.conns(), &mut text);
            if let Some(media) = &app.media {
                whip::render_metrics(
                    &media.all_stats().await,
                    &media.forward_delay().await,
                    &media.totals().await,
                    &mut text,
                );
            }
            if let Some(stats) = &app.deliveries {
                switchboard_outbound::webhooks::render_metrics(stats, &mut text);
            }
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
        }
        _ => answer.into_response(),
    }
}

async fn healthz(State(app): State<App>) -> Answer {
    let stale = app.forwarding.as_ref().is_some_and(|f| (f.stale)());
    app.engine
        .read(Box::new(move |c, e| {
            Answer::ok(json!({
                "status": "ok",
                "agents": c.stats().agents.total,
                "queue_length": c.stats().queue.length,
                "connections": e.connections,
                "role": e.role,
                "applied_log": e.applied_log,
                "stale": stale,
            }))
        }))
        .await
}

async fn not_found() -> Answer {
    Answer::error(StatusCode::NOT_FOUND, "route_not_found", "no such route")
}

async fn method_not_allowed() -> Answer {
    Answer::error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}
