//! # switchboard-http
//!
//! The production face of Switchboard: the seed's `/customer-service/*` HTTP
//! API and `/room` WebSocket signaling, over an [`Engine`] thread that alone
//! owns the core and the journal. Handlers translate and carry; every decision
//! is the core's.

mod answer;
mod api;
mod body;
mod clock;
pub mod engine;
pub mod frames;
pub mod fuzzing;
mod hub;
mod metrics;
mod openapi;
mod views;
mod workgroups;
mod ws;

use std::future::Future;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::json;

pub use answer::Answer;
pub use body::BODY_MAX;
pub use clock::SystemClock;
pub use engine::{Engine, EngineSettings, EngineStats, Running};
pub use metrics::HttpMetrics;

/// What every handler can reach, shared: one reference count per request
/// rather than one per handle inside.
pub type App = Arc<Shared>;

/// The handles behind [`App`].
pub struct Shared {
    engine: Engine,
    http: Arc<HttpMetrics>,
}

/// The whole HTTP surface over `engine`.
pub fn router(engine: Engine) -> Router {
    let http = Arc::new(HttpMetrics::default());
    let app = Arc::new(Shared {
        engine,
        http: http.clone(),
    });
    let cs = "/customer-service";
    Router::new()
        .route(
            &format!("{cs}/sessions"),
            get(api::list_sessions).post(api::create_session),
        )
        .route(
            &format!("{cs}/sessions/{{id}}"),
            get(api::get_session).delete(api::end_session),
        )
        .route(&format!("{cs}/sessions/{{id}}/assign"), post(api::assign))
        .route(
            &format!("{cs}/sessions/{{id}}/transfer"),
            post(api::transfer),
        )
        .route(&format!("{cs}/sessions/{{id}}/rate"), post(api::rate))
        .route(
            &format!("{cs}/sessions/{{id}}/rating"),
            get(api::get_rating),
        )
        .route(&format!("{cs}/agents"), get(api::list_agents))
        .route(&format!("{cs}/agents/register"), post(api::register))
        .route(
            &format!("{cs}/agents/available"),
            get(api::available_agents),
        )
        .route(&format!("{cs}/agents/stats"), get(api::agent_stats))
        .route(&format!("{cs}/agents/{{id}}/offline"), post(api::offline))
        .route(
            &format!("{cs}/agents/{{id}}/available"),
            post(api::available),
        )
        .route(
            &format!("{cs}/agents/{{id}}/unavailable"),
            post(api::unavailable),
        )
        .route(&format!("{cs}/agents/{{id}}/accept"), post(api::accept))
        .route(&format!("{cs}/agents/{{id}}/reject"), post(api::reject))
        .route(&format!("{cs}/agents/{{id}}/weight"), put(api::set_weight))
        .route(
            &format!("{cs}/agents/{{id}}/workgroups"),
            put(workgroups::set_agent_workgroups),
        )
        .route(
            &format!("{cs}/agents/{{id}}/capacity"),
            put(workgroups::set_capacity),
        )
        .route(
            &format!("{cs}/workgroups"),
            get(workgroups::list).post(workgroups::create),
        )
        .route(
            &format!("{cs}/workgroups/{{id}}"),
            get(workgroups::get).patch(workgroups::update),
        )
        .route(&format!("{cs}/routing"), get(workgroups::routing))
        .route(&format!("{cs}/queue/join"), post(api::join))
        .route(&format!("{cs}/queue/leave"), post(api::leave))
        .route(&format!("{cs}/queue/status"), get(api::queue_status))
        .route(
            &format!("{cs}/queue/position/{{visitor_id}}"),
            get(api::position),
        )
        .route(&format!("{cs}/stats"), get(api::stats))
        .route(&format!("{cs}/stats/ratings"), get(api::rating_stats))
        .route(&format!("{cs}/stats/trend"), get(api::trend))
        .route(&format!("{cs}/openapi.json"), get(openapi))
        .route("/room", get(ws::room))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_MAX))
        .layer(metrics::Track(http))
        .with_state(app)
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets
/// requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn openapi() -> Json<serde_json::Value> {
    Json(openapi::document())
}

async fn metrics(State(app): State<App>) -> axum::response::Response {
    let http = app.http.clone();
    let answer = app
        .engine
        .read(Box::new(move |c, e| {
            Answer::ok(metrics::render(&c.stats(), e, &http))
        }))
        .await;
    // The exposition comes back as a JSON string; read it out (a scrape is rare).
    match serde_json::from_str::<String>(answer.body.get()) {
        Ok(text) if answer.is_ok() => {
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
        }
        _ => answer.into_response(),
    }
}

async fn healthz(State(app): State<App>) -> Answer {
    app.engine
        .read(Box::new(|c, e| {
            Answer::ok(json!({
                "status": "ok",
                "agents": c.stats().agents.total,
                "queue_length": c.stats().queue.length,
                "connections": e.connections,
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
