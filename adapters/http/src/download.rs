//! The headers every file the server hands out is served with
//! (attachments, recordings, transcripts): its declared type, never
//! sniffed; a policy under which nothing in it can run, load or be framed;
//! never kept by a cache; and a name reduced to safe characters.

use axum::http::{header, HeaderMap, HeaderValue};

/// Shown in the browser (images) or saved (everything else).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    Inline,
    Attachment,
}

/// The headers for a file of `content_type` offered as `name`.
pub fn headers(content_type: &'static str, disposition: Disposition, name: &str) -> HeaderMap {
    let mut h: HeaderMap = [
        (header::CONTENT_TYPE, content_type),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ),
        (header::CACHE_CONTROL, "private, no-store"),
    ]
    .into_iter()
    .map(|(k, v)| (k, HeaderValue::from_static(v)))
    .collect();
    let kind = match disposition {
        Disposition::Inline => "inline",
        Disposition::Attachment => "attachment",
    };
    if let Ok(v) = HeaderValue::from_str(&format!("{kind}; filename=\"{}\"", safe_name(name))) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h
}

/// `name` with anything but ASCII letters, digits, `.`, `-` and `_` made
/// `_`, at most 100 characters: nothing that could end the header's quoted
/// string or name a path.
fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_download_is_typed_unsniffed_sandboxed_uncached_and_safely_named() {
        let h = headers("video/webm", Disposition::Attachment, "a\"b\r\n/../c.webm");
        assert_eq!(h[header::CONTENT_TYPE], "video/webm");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(
            h[header::CONTENT_SECURITY_POLICY],
            "default-src 'none'; sandbox"
        );
        assert_eq!(h[header::CACHE_CONTROL], "private, no-store");
        assert_eq!(
            h[header::CONTENT_DISPOSITION],
            "attachment; filename=\"a_b___.._c.webm\""
        );
        let inline = headers("image/png", Disposition::Inline, "x.png");
        assert_eq!(
            inline[header::CONTENT_DISPOSITION],
            "inline; filename=\"x.png\""
        );
        assert_eq!(safe_name(&"x".repeat(300)).len(), 100);
    }
}
