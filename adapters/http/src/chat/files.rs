//! Attachments on disk: `{dir}/{session}/{att_…}`, written and synced before
//! the message that carries them is stored, and served back only to the
//! conversation's participants and staff with headers that keep a stored
//! file from ever running as a page of this origin.

use std::io::Write;
use std::path::{Path, PathBuf};

use axum::http::{header, HeaderMap, HeaderValue};

use crate::auth::secrets;

/// Largest attachment, in bytes.
pub const ATTACHMENT_MAX: usize = 10 * 1024 * 1024;

/// The content types accepted, each checked against the file's first bytes.
/// No HTML, SVG or anything else a browser would run.
pub const TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
];

/// Whether `bytes` really are of `content_type` (one of [`TYPES`]).
pub fn sniff(content_type: &str, bytes: &[u8]) -> bool {
    match content_type {
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => bytes.starts_with(&[0xff, 0xd8, 0xff]),
        "image/gif" => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
        "image/webp" => bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
        "application/pdf" => bytes.starts_with(b"%PDF-"),
        "text/plain" => std::str::from_utf8(bytes).is_ok_and(|s| !s.contains('\0')),
        _ => false,
    }
}

/// A fresh attachment id.
pub fn new_id() -> String {
    format!("att_{}", secrets::random(18))
}

/// Whether `id` has the shape of an id from [`new_id`] (so it is safe as a
/// file name).
pub fn valid_id(id: &str) -> bool {
    id.strip_prefix("att_").is_some_and(|rest| {
        rest.len() == 24
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

/// Where attachment `id` of session `session` lives under `dir`.
pub fn path(dir: &Path, session: &str, id: &str) -> PathBuf {
    dir.join(session).join(id)
}

/// Writes `bytes` durably: a temporary file, synced, renamed into place,
/// and the directory synced.
pub fn write(dir: &Path, session: &str, id: &str, bytes: &[u8]) -> std::io::Result<()> {
    let folder = dir.join(session);
    std::fs::create_dir_all(&folder)?;
    let tmp = folder.join(format!(".{id}.part"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, folder.join(id))?;
    std::fs::File::open(&folder)?.sync_all()
}

/// The headers a download is served with: the stored type, never sniffed;
/// no script, no plugins, no framing; images inline, anything else as a
/// download under a sanitized name.
pub fn headers(content_type: &str, name: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    let ct = if TYPES.contains(&content_type) {
        content_type
    } else {
        "application/octet-stream"
    };
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(static_type(ct)),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let disposition = if ct.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{safe}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h
}

fn static_type(ct: &str) -> &'static str {
    TYPES
        .iter()
        .find(|t| **t == ct)
        .copied()
        .unwrap_or("application/octet-stream")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_must_match_the_bytes() {
        assert!(sniff("image/png", b"\x89PNG\r\n\x1a\n...."));
        assert!(!sniff("image/png", b"<html><script>alert(1)</script>"));
        assert!(!sniff("text/html", b"<html>"));
        assert!(!sniff("image/svg+xml", b"<svg onload=alert(1)>"));
        assert!(sniff("text/plain", "你好".as_bytes()));
        assert!(!sniff("text/plain", b"a\0b"));
    }

    #[test]
    fn ids_are_safe_file_names() {
        let id = new_id();
        assert!(valid_id(&id), "{id}");
        assert!(!valid_id("att_../../etc/passwd"));
        assert!(!valid_id("../att_x"));
    }

    #[test]
    fn downloads_never_run_as_pages() {
        let h = headers("application/pdf", "../../evil\".pdf");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(h[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("sandbox"));
        let d = h[header::CONTENT_DISPOSITION].to_str().unwrap();
        assert!(d.starts_with("attachment;") && !d.contains('/') && !d.contains("\\\""));
    }
}
