//! What the engine hands back for a request: an HTTP status and a JSON body,
//! as an [`http::Response`] so that the transport sends it as it is.
//! WebSocket handlers send the body as a frame.
//!
//! The body is serialized once, where the answer is made, straight from typed
//! views: no intermediate `serde_json::Value` tree to allocate on the engine
//! thread and walk again on the request thread.

use http::{header, HeaderValue, StatusCode};
use serde::Serialize;
use switchboard_core::{CoreError, ErrorKind};

/// A status and a JSON body (errors are `{"error":{"code","message"}}`),
/// made with the constructors of [`AnswerExt`].
pub type Answer = http::Response<String>;

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

/// How answers are made and read.
pub trait AnswerExt: Sized {
    /// `status` with `body`.
    fn new_json(status: StatusCode, body: impl Serialize) -> Self;

    /// 200 with `body`.
    fn ok(body: impl Serialize) -> Self {
        Self::new_json(StatusCode::OK, body)
    }

    /// 201 with `body`.
    fn created(body: impl Serialize) -> Self {
        Self::new_json(StatusCode::CREATED, body)
    }

    /// An error with a stable `code` and a human `message`.
    fn error(status: StatusCode, code: &str, message: impl AsRef<str>) -> Self {
        let error = ErrorDetail {
            code,
            message: message.as_ref(),
        };
        Self::new_json(status, ErrorBody { error })
    }

    /// A 400 for input the core never sees (malformed beyond what the body
    /// extractor catches).
    fn invalid(message: impl AsRef<str>) -> Self {
        Self::error(StatusCode::BAD_REQUEST, "invalid_input", message)
    }

    /// A 403: the credential is not allowed this.
    fn forbidden(message: impl AsRef<str>) -> Self {
        Self::error(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// The core's refusal, with the seed's status codes.
    fn refused(e: &CoreError) -> Self {
        let status = match e.kind() {
            ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::LimitReached => StatusCode::TOO_MANY_REQUESTS,
        };
        Self::error(status, e.code(), e.to_string())
    }

    /// The server cannot take more work right now.
    fn overloaded() -> Self {
        Self::error(
            StatusCode::TOO_MANY_REQUESTS,
            "overloaded",
            "too many requests in flight; retry shortly",
        )
    }

    /// The engine is gone (shutting down, or stopped on a storage failure).
    fn unavailable() -> Self {
        Self::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the server is shutting down or cannot write its journal",
        )
    }

    /// A 503 with `Retry-After`: this node cannot take writes now (it
    /// follows a cluster's leader, or the replicated log cannot be reached).
    fn retry_later(code: &str, message: impl AsRef<str>) -> Self;

    /// Whether this is a success.
    fn is_ok(&self) -> bool;

    /// The `{"code","message"}` of an error answer (read back: errors are rare).
    fn error_detail(&self) -> Option<serde_json::Value>;
}

impl AnswerExt for Answer {
    fn new_json(status: StatusCode, body: impl Serialize) -> Self {
        // A value that cannot be JSON (a map with non-string keys) is a bug
        // in a view, shown as `null` rather than a failed request.
        let body = serde_json::to_string(&body).unwrap_or_else(|e| {
            tracing::error!(error = %e, "view is not JSON");
            "null".to_owned()
        });
        let mut answer = http::Response::new(body);
        *answer.status_mut() = status;
        answer.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        answer
    }

    fn retry_later(code: &str, message: impl AsRef<str>) -> Self {
        let mut answer = Self::error(StatusCode::SERVICE_UNAVAILABLE, code, message);
        answer
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        answer
    }

    fn is_ok(&self) -> bool {
        self.status().is_success()
    }

    fn error_detail(&self) -> Option<serde_json::Value> {
        if self.is_ok() {
            return None;
        }
        let mut body: serde_json::Value = serde_json::from_str(self.body()).ok()?;
        Some(body.get_mut("error")?.take())
    }
}
