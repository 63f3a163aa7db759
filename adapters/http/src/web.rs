//! The browser files, embedded at compile time: no build step and nothing
//! read from disk at run time.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::answer::Answer;

const JS: &str = "text/javascript; charset=utf-8";

/// Every file under `/web/`, with its content type.
const FILES: &[(&str, &str, &str)] = &[
    ("app.js", JS, include_str!("../../../web/app.js")),
    ("lib.js", JS, include_str!("../../../web/lib.js")),
    ("i18n.js", JS, include_str!("../../../web/i18n.js")),
    ("visitor.js", JS, include_str!("../../../web/visitor.js")),
    ("agent.js", JS, include_str!("../../../web/agent.js")),
    ("admin.js", JS, include_str!("../../../web/admin.js")),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../../web/app.css"),
    ),
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

/// The page shell: every page is this document and the module it loads.
const INDEX: &str = include_str!("../../../web/index.html");

/// What the pages may load: only this server's files, media and sockets.
const PAGE_POLICY: &str =
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; \
    connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; \
    base-uri 'none'; frame-ancestors 'none'";

/// `GET /`, `/visit`, `/agent`, `/admin`: the page shell.
pub(crate) async fn page() -> Response {
    let mut response = INDEX.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

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
