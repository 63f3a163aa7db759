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
