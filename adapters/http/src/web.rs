//! The browser files, embedded at compile time: no build step and nothing
//! read from disk at run time. Each is gzipped once, on first use, and sent
//! so to browsers that accept it.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use flate2::Compression;

use crate::{Answer, AnswerExt};

const JS: &str = "text/javascript; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

/// Every file under `/web/`, with its content type.
const FILES: &[(&str, &str, &str)] = &[
    ("app.js", JS, include_str!("../../../web/app.js")),
    ("lib.js", JS, include_str!("../../../web/lib.js")),
    ("i18n.js", JS, include_str!("../../../web/i18n.js")),
    ("visitor.js", JS, include_str!("../../../web/visitor.js")),
    ("agent.js", JS, include_str!("../../../web/agent.js")),
    ("customer.js", JS, include_str!("../../../web/customer.js")),
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
        HTML,
        include_str!("../../../web/call-test.html"),
    ),
    (
        "call-test.js",
        JS,
        include_str!("../../../web/call-test.js"),
    ),
    (
        "call-test.css",
        "text/css; charset=utf-8",
        include_str!("../../../web/call-test.css"),
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
pub(crate) async fn page(headers: HeaderMap) -> Response {
    send(&headers, INDEX, FILES.len(), HTML)
}

/// `GET /web/{file}`.
pub(crate) async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(i) = FILES.iter().position(|(n, _, _)| *n == name) else {
        return Answer::error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no file {name}"),
        )
        .into_response();
    };
    let (_, kind, body) = FILES[i];
    send(&headers, body, i, kind)
}

/// File `i` of [`FILES`] (or, one past them, the shell), gzipped if the
/// request accepts it.
fn send(headers: &HeaderMap, body: &'static str, i: usize, kind: &'static str) -> Response {
    let mut response = if crate::gzip::accepted(headers) {
        let mut r = gzipped(i).into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        body.into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Every document, not only the pages' shell.
    if kind == HTML {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_POLICY),
        );
    }
    response
}

/// Every file gzipped, then the shell; made once.
fn gzipped(i: usize) -> &'static [u8] {
    static GZ: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    let all = GZ.get_or_init(|| {
        FILES
            .iter()
            .map(|(_, _, body)| *body)
            .chain([INDEX])
            .map(|text| crate::gzip::compress(text.as_bytes(), Compression::best()))
            .collect()
    });
    all.get(i).map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn every_file_gzips_to_itself() {
        for (i, (name, _, body)) in FILES.iter().enumerate() {
            let mut back = String::new();
            flate2::read::GzDecoder::new(gzipped(i))
                .read_to_string(&mut back)
                .unwrap();
            assert_eq!(&back, body, "{name}");
        }
    }

    #[test]
    fn every_document_carries_the_policy_and_no_inline_code() {
        let documents = FILES
            .iter()
            .enumerate()
            .filter(|(_, (_, kind, _))| *kind == HTML)
            .map(|(i, (_, kind, body))| (i, *kind, *body))
            .chain([(FILES.len(), HTML, INDEX)]);
        let mut n = 0;
        for (i, kind, body) in documents {
            let r = send(&HeaderMap::new(), body, i, kind);
            let csp = r.headers().get(header::CONTENT_SECURITY_POLICY);
            assert_eq!(csp.and_then(|v| v.to_str().ok()), Some(PAGE_POLICY));
            // The policy allows no inline script or style: none may be there.
            assert!(!body.contains("<script>") && !body.contains("<script type=\"module\">"));
            assert!(!body.contains("<style"));
            n += 1;
        }
        assert!(n >= 2, "the shell and the call test page");
    }
}
