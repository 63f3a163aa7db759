//! Idempotency keys: a write sent again with the same `Idempotency-Key`
//! (its answer was lost, the leader died, the client gave up waiting) is
//! applied once, and the retry gets the first answer, on whichever node it
//! reaches. The key is scoped to the request: the credential it carries,
//! its method, path and body, so that nobody else's request shares it.

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use switchboard_app::engine::IDEMPOTENCY_KEY;

use crate::{Answer, AnswerExt};

/// The header, as in the IETF draft.
const HEADER: &str = "idempotency-key";

/// Longest key taken.
const KEY_MAX: usize = 255;

/// The middleware: serves the request under its scoped key, if it has one.
pub async fn layer(req: Request, next: Next) -> Response {
    let key = match req.headers().get(HEADER).map(|v| v.to_str()) {
        None => return next.run(req).await,
        Some(Ok(k)) if !k.is_empty() && k.len() <= KEY_MAX => k.to_owned(),
        Some(_) => {
            return Answer::invalid(format!(
                "Idempotency-Key must be 1 to {KEY_MAX} visible characters"
            ))
            .into_response()
        }
    };
    let (parts, body) = req.into_parts();
    let bytes = match crate::forward::whole(body).await {
        Ok(b) => b,
        Err(refusal) => return refusal,
    };
    let mut scope = Sha256::new();
    for name in [
        axum::http::header::AUTHORIZATION,
        axum::http::header::COOKIE,
    ] {
        for value in parts.headers.get_all(name) {
            scope.update(value.as_bytes());
            scope.update([0]);
        }
    }
    scope.update(parts.method.as_str());
    scope.update([0]);
    scope.update(parts.uri.path_and_query().map_or("", |p| p.as_str()));
    scope.update([0]);
    scope.update(&bytes);
    scope.update([0]);
    scope.update(key.as_bytes());
    let scoped = format!("{:x}", scope.finalize());
    let req = Request::from_parts(parts, Body::from(bytes));
    IDEMPOTENCY_KEY.scope(scoped, next.run(req)).await
}
