//! gzip on the wire: the pages' files (compressed once, at best), and JSON
//! answers large enough to gain from it (a session list, a transcript, the
//! OpenAPI document; compressed per answer, fast), for clients whose
//! `Accept-Encoding` takes it.

use std::io::Write;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::{Answer, AnswerExt};

/// JSON answers shorter than this go as they are: gzip's header and a
/// round of compression cost more than they save on a packet's worth.
const JSON_MIN: usize = 1400;

/// Whether `Accept-Encoding` takes gzip (and does not refuse it with `q=0`).
pub(crate) fn accepted(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// `data`, gzipped at `level`.
pub(crate) fn compress(data: &[u8], level: Compression) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), level);
    // Writing to memory cannot fail.
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// Middleware: a JSON answer of [`JSON_MIN`] bytes or more goes gzipped to
/// a client that accepts it.
pub(crate) async fn json(request: Request, next: Next) -> Response {
    let wanted = accepted(request.headers());
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    // A download (an attachment that happens to be JSON) goes as stored.
    let download = response.headers().contains_key(header::CONTENT_DISPOSITION);
    if !wanted || !is_json || download || response.headers().contains_key(header::CONTENT_ENCODING)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // JSON answers are whole in memory already: collecting copies nothing.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Answer::error(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the answer could not be read",
        )
        .into_response();
    };
    parts
        .headers
        .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if bytes.len() < JSON_MIN {
        return Response::from_parts(parts, Body::from(bytes));
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    Response::from_parts(parts, Body::from(compress(&bytes, Compression::fast())))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn gzip_is_taken_only_when_accepted_and_compresses_to_itself() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(v));
            accepted(&h)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, GZIP;q=0.5"));
        assert!(!with("gzip;q=0"));
        assert!(!with("br"));
        assert!(!accepted(&HeaderMap::new()));
        let text = "a session list ".repeat(100);
        let packed = compress(text.as_bytes(), Compression::fast());
        assert!(packed.len() < text.len() / 10);
        let mut back = String::new();
        flate2::read::GzDecoder::new(&packed[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, text);
    }
}
