//! What the engine hands back for a request: an HTTP status and a JSON body.
//! WebSocket handlers send the body as a frame.
//!
//! The body is serialized once, where the answer is made, straight from typed
//! views: no intermediate `serde_json::Value` tree to allocate on the engine
//! thread and walk again on the request thread.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::value::RawValue;
use switchboard_core::{CoreError, ErrorKind};

/// A status and a JSON body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body, serialized; errors are `{"error":{"code","message"}}`.
    pub body: Box<RawValue>,
}

/// The body of every error.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

/// A stable `code` and a human `message`.
#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
}

/// Serializes `value`; a value that cannot be JSON (a map with non-string
/// keys) is a bug in a view, shown as `null` rather than a failed request.
fn raw(value: &impl Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).unwrap_or_else(|e| {
        tracing::error!(error = %e, "view is not JSON");
        RawValue::NULL.to_owned()
    })
}

impl Answer {
    /// `status` with `body`.
    pub fn new(status: StatusCode, body: impl Serialize) -> Self {
        Answer {
            status,
            body: raw(&body),
        }
    }

    /// 200 with `body`.
    pub fn ok(body: impl Serialize) -> Self {
        Answer::new(StatusCode::OK, body)
    }

    /// 201 with `body`.
    pub fn created(body: impl Serialize) -> Self {
        Answer::new(StatusCode::CREATED, body)
    }

    /// An error with a stable `code` and a human `message`.
    pub fn error(status: StatusCode, code: &str, message: impl AsRef<str>) -> Self {
        let error = ErrorDetail {
            code,
            message: message.as_ref(),
        };
        Answer::new(status, ErrorBody { error })
    }

    /// A 400 for input the core never sees (malformed beyond what the body
    /// extractor catches).
    pub fn invalid(message: impl AsRef<str>) -> Self {
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

    /// The `{"code","message"}` of an error answer (read back: errors are rare).
    pub fn error_detail(&self) -> Option<serde_json::Value> {
        if self.is_ok() {
            return None;
        }
        let mut body: serde_json::Value = serde_json::from_str(self.body.get()).ok()?;
        Some(body.get_mut("error")?.take())
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let text: Box<str> = self.body.into();
        let mut response = (self.status, String::from(text)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}
