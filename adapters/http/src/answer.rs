//! What the engine hands back for a request: an HTTP status and a JSON body.
//! WebSocket handlers send the body as a frame.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use switchboard_core::{CoreError, ErrorKind};

/// A status and a JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body; errors are `{"error":{"code","message"}}`.
    pub body: Value,
}

impl Answer {
    /// 200 with `body`.
    pub fn ok(body: Value) -> Self {
        Answer {
            status: StatusCode::OK,
            body,
        }
    }

    /// 201 with `body`.
    pub fn created(body: Value) -> Self {
        Answer {
            status: StatusCode::CREATED,
            body,
        }
    }

    /// An error with a stable `code` and a human `message`.
    pub fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Answer {
            status,
            body: json!({ "error": { "code": code, "message": message.into() } }),
        }
    }

    /// A 400 for input the core never sees (malformed beyond what the body
    /// extractor catches).
    pub fn invalid(message: impl Into<String>) -> Self {
        Answer::error(StatusCode::BAD_REQUEST, "invalid_input", message)
    }

    /// The core's refusal, with the seed's status codes.
    pub fn refused(e: &CoreError) -> Self {
        let status = match e.kind() {
            ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::LimitReached => StatusCode::TOO_MANY_REQUESTS,
        };
        Answer::error(status, e.code(), e.to_string())
    }

    /// The server cannot take more work right now.
    pub fn overloaded() -> Self {
        Answer::error(
            StatusCode::TOO_MANY_REQUESTS,
            "overloaded",
            "too many requests in flight; retry shortly",
        )
    }

    /// The engine is gone (shutting down, or stopped on a storage failure).
    pub fn unavailable() -> Self {
        Answer::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the server is shutting down or cannot write its journal",
        )
    }

    /// Whether this is a success.
    pub fn is_ok(&self) -> bool {
        self.status.is_success()
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
