//! The pages as the binary serves them: the shell at `/`, `/visit`,
//! `/agent` and `/admin` with a same-origin policy, and every file gzipped
//! for browsers that accept it.

mod common;

use common::*;

#[test]
fn pages_are_served_with_a_strict_policy_and_gzipped_when_accepted() {
    let s = Server::start(&yaml(""));
    for path in ["/", "/visit", "/agent", "/admin"] {
        let (status, head, body) = s.exchange("GET", path, None, "");
        let head = head.to_ascii_lowercase();
        assert_eq!(status, 200, "{path}");
        assert!(head.contains("content-type: text/html"), "{path}: {head}");
        assert!(
            head.contains("content-security-policy: default-src 'self'"),
            "{path}: {head}"
        );
        assert!(!head.contains("content-encoding"), "{path} gzipped unasked");
        assert!(
            body.contains(r#"<script type="module" src="/web/app.js">"#),
            "{path}"
        );
    }
    let (status, head, _) = s.exchange(
        "GET",
        "/web/agent.js",
        None,
        "Accept-Encoding: gzip, br\r\n",
    );
    let head = head.to_ascii_lowercase();
    assert_eq!(status, 200);
    assert!(
        head.contains("content-encoding: gzip") && head.contains("vary: accept-encoding"),
        "{head}"
    );
    let (status, _, _) = s.exchange("GET", "/web/nothing.js", None, "");
    assert_eq!(status, 404);
}

#[test]
fn large_json_answers_are_gzipped_when_accepted_and_small_ones_are_not() {
    use std::io::{Read, Write};
    let s = Server::start(&yaml("  max_queue_size: 50"));
    for i in 0..20 {
        s.join(&format!("visitor-{i}"));
    }
    // Raw bytes: the harness reads bodies as text.
    let get = |path: &str, accept: &str| -> (String, Vec<u8>) {
        let mut c = std::net::TcpStream::connect(&s.addr).unwrap();
        write!(
            c,
            "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n{accept}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = Vec::new();
        c.read_to_end(&mut raw).unwrap();
        let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..at]).to_ascii_lowercase();
        (head, raw[at + 4..].to_vec())
    };
    let path = "/customer-service/sessions";
    let (plain_head, plain) = get(path, "");
    assert!(!plain_head.contains("content-encoding"), "{plain_head}");
    let (head, packed) = get(path, "Accept-Encoding: gzip, br\r\n");
    assert!(
        head.contains("content-encoding: gzip") && head.contains("vary: accept-encoding"),
        "{head}"
    );
    let mut back = Vec::new();
    flate2::read::GzDecoder::new(&packed[..])
        .read_to_end(&mut back)
        .unwrap();
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_slice(&plain).unwrap(),
        serde_json::from_slice(&back).unwrap(),
    );
    assert_eq!(a["count"], 20);
    assert_eq!(a["count"], b["count"]);
    assert!(
        packed.len() * 4 < plain.len(),
        "{} of {}",
        packed.len(),
        plain.len()
    );
    // A small answer goes as it is.
    let (head, _) = get("/healthz", "Accept-Encoding: gzip\r\n");
    assert!(!head.contains("content-encoding"), "{head}");
}
