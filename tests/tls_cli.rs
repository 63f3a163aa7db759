//! HTTPS from the config's certificate, and the `accounts` command line,
//! against the real binary.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output};
use std::sync::Arc;

use common::*;
use tokio_rustls::rustls;

#[test]
fn serves_https_with_the_configured_certificate_and_marks_the_cookie_secure() {
    let dir = tempfile::tempdir().unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.key_pair.serialize_pem()).unwrap();
    let yaml = format!(
        "{TEST_SECURITY}  tls: {{cert: {}, key: {}}}\ncustomer_service:\n  max_queue_size: 10\n",
        cert.display(),
        key.display()
    );
    let s = Server::start(&yaml);

    let mut roots = rustls::RootCertStore::empty();
    roots.add(generated.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, TcpStream::connect(&s.addr).unwrap());
    let body = r#"{"username":"admin","password":"admin-password-1"}"#;
    let request = format!(
        "POST /customer-service/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = tls.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let cookie = response
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_default();
    assert!(cookie.contains("; Secure"), "{cookie}");

    // Plain HTTP on the TLS port gets no answer.
    let mut plain = TcpStream::connect(&s.addr).unwrap();
    plain
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"));
}

fn accounts(db: &std::path::Path, args: &[&str], password: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.arg("accounts")
        .args(args)
        .env("SWITCHBOARD_DB", db)
        .env("SWITCHBOARD_ADMIN_PASSWORD", "admin-password-1")
        .env("RUST_LOG", "warn");
    if let Some(p) = password {
        cmd.env("SWITCHBOARD_PASSWORD", p);
    }
    cmd.output().expect("run switchboard accounts")
}

#[test]
fn the_accounts_command_creates_lists_and_resets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchboard.db");
    let made = accounts(
        &db,
        &["create", "--username", "ops", "--role", "supervisor"],
        Some("ops-password-1"),
    );
    assert!(made.status.success(), "{made:?}");
    let bad = accounts(
        &db,
        &["create", "--username", "x", "--role", "boss"],
        Some("pw-123456789"),
    );
    assert_eq!(bad.status.code(), Some(2));
    let list = String::from_utf8(accounts(&db, &["list"], None).stdout).unwrap();
    assert!(list.contains("ops\tsupervisor"), "{list}");
    assert!(list.contains("admin\tadmin"), "{list}");

    let login = |s: &Server, password: &str| {
        let body = format!(r#"{{"username":"ops","password":"{password}"}}"#);
        s.call_as(None, "POST", "/customer-service/auth/login", Some(&body))
            .0
    };
    let mut s = Server::start_on(&db, &yaml("  max_queue_size: 10"));
    assert_eq!(login(&s, "ops-password-1"), 200);
    s.terminate();
    let reset = accounts(
        &db,
        &["reset-password", "--username", "ops"],
        Some("ops-password-2"),
    );
    assert!(reset.status.success(), "{reset:?}");
    let s = Server::start_on(&db, &yaml("  max_queue_size: 10"));
    assert_eq!(login(&s, "ops-password-1"), 401);
    assert_eq!(login(&s, "ops-password-2"), 200);
}
