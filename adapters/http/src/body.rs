//! Request bodies: JSON with a size limit, where every failure is a JSON
//! error (400 malformed, 413 too large) rather than a plain-text rejection.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::{Answer, AnswerExt};

/// Largest request body accepted, in bytes.
pub const BODY_MAX: usize = 64 * 1024;

/// A JSON body of type `T`. With `OPTIONAL`, an empty body reads as `T::default()`.
pub struct Body<T, const OPTIONAL: bool = false>(pub T);

/// A JSON body that may be absent.
pub type OptionalBody<T> = Body<T, true>;

impl<S, T, const OPTIONAL: bool> FromRequest<S> for Body<T, OPTIONAL>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = Answer;

    async fn from_request(req: Request, state: &S) -> Result<Self, Answer> {
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Answer::error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("request bodies are limited to {BODY_MAX} bytes"),
                )
            } else {
                Answer::error(StatusCode::BAD_REQUEST, "invalid_body", r.body_text())
            }
        })?;
        if OPTIONAL && bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(T::default()));
        }
        // Every body is an object: serde would read a struct from an array too.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Answer::error(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "the body must be a JSON object",
            ));
        }
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| Answer::error(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))
    }
}
