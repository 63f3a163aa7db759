//! The browser files, embedded at compile time: no build step and nothing
//! read from disk at run time.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::answer::Answer;

/// Every file under `/web/`, with its content type.
const FILES: &[(&str, &str, &str)] = &[
    (
        "call.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/call.js"),
    ),
    (
        "call-test.html",
        "text/html; charset=utf-8",
        include_str!("../../../web/call-test.html"),
    ),
];

/// `GET /web/{file}`.
pub(crate) async fn file(Path(name): Path<String>) -> Response {
    let Some((_, kind, body)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return Answer::error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no file {name}"),
        )
        .into_response();
    };
    let mut response = (*body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
