//! Attachments on disk: `{dir}/{session}/{att_…}`, written and synced before
//! the message that carries them is stored, and served back only to the
//! conversation's participants and staff with headers that keep a stored
//! file from ever running as a page of this origin.

use std::io::Write;
use std::path::{Path, PathBuf};

use axum::http::HeaderMap;

use crate::auth::secrets;
use crate::download::{self, Disposition};

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

/// The headers an attachment is served with ([`crate::download`]'s): the
/// stored type if it is one we take (else `application/octet-stream`),
/// images inline, anything else as a download.
pub fn headers(content_type: &str, name: &str) -> HeaderMap {
    let ct = static_type(content_type);
    let disposition = if ct.starts_with("image/") {
        Disposition::Inline
    } else {
        Disposition::Attachment
    };
    download::headers(ct, disposition, name)
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
    fn attachments_are_typed_by_what_we_take_and_only_images_show_inline() {
        use axum::http::header;
        let pdf = headers("application/pdf", "a.pdf");
        assert_eq!(pdf[header::CONTENT_TYPE], "application/pdf");
        assert!(pdf[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment;"));
        let png = headers("image/png", "a.png");
        assert!(png[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("inline;"));
        let html = headers("text/html", "a.html");
        assert_eq!(html[header::CONTENT_TYPE], "application/octet-stream");
    }
}
