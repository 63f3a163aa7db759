//! Outbound HTTP: one way to reach a receiver (a webhook subscriber, an
//! external bot, a business system) for every integration: resolve (never to
//! a link-local or cloud metadata address), connect, TLS for https against
//! the web's roots, HTTP/1.1, and the HMAC signature receivers check.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper::body::Bytes;
use sha2::Sha256;
use tokio::net::TcpStream;

pub use switchboard_app::clock::now_ms;

/// A subscription's connection to its receiver, kept alive between events.
pub type Conn = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// A new HTTP/1.1 connection to `uri`'s host (TLS for https).
pub async fn connect(uri: &hyper::Uri) -> Result<Conn, String> {
    let https = uri.scheme_str() == Some("https");
    let host = uri.host().ok_or("no host")?.to_owned();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("resolve: {e}"))?
        .filter(|a| !link_local(a.ip()))
        .collect();
    if addresses.is_empty() {
        return Err(format!(
            "{host} is a link-local or cloud metadata address, which the server never calls"
        ));
    }
    let tcp = TcpStream::connect(addresses.as_slice())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    if https {
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host)
            .map_err(|e| e.to_string())?;
        let tls = tls_connector()
            .connect(name, tcp)
            .await
            .map_err(|e| format!("tls: {e}"))?;
        handshake(hyper_util::rt::TokioIo::new(tls)).await
    } else {
        handshake(hyper_util::rt::TokioIo::new(tcp)).await
    }
}

/// Link-local addresses (169.254/16, fe80::/10), where clouds serve instance
/// metadata and credentials: never a webhook's or a bot's, whoever set it.
fn link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => {
            v6.segments()[0] & 0xffc0 == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_link_local())
                || v6 == std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
        }
    }
}

async fn handshake<T>(io: T) -> Result<Conn, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

fn tls_connector() -> tokio_rustls::TlsConnector {
    use std::sync::OnceLock;
    use tokio_rustls::rustls;
    static CONNECTOR: OnceLock<tokio_rustls::TlsConnector> = OnceLock::new();
    CONNECTOR
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| b.with_root_certificates(roots).with_no_client_auth())
                .unwrap_or_else(|_| unreachable!("ring supports the default versions"));
            tokio_rustls::TlsConnector::from(Arc::new(config))
        })
        .clone()
}

/// The signature header's value for `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={:x}", mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Worked with Python's hmac module:
        // hmac.new(b"whsec_test", b'1700000000.{"event":"call.ended"}', sha256).hexdigest()
        assert_eq!(
            signature("whsec_test", 1_700_000_000, br#"{"event":"call.ended"}"#),
            "v1=0750338cbaf8694a29807212e5b8496056c8c723ee4582675452c77ce7fb36a5"
        );
    }

    #[test]
    fn link_local_and_metadata_addresses_are_never_called() {
        assert!(link_local("169.254.169.254".parse().unwrap()));
        assert!(link_local("fe80::1".parse().unwrap()));
        assert!(link_local("::ffff:169.254.1.1".parse().unwrap()));
        assert!(link_local("fd00:ec2::254".parse().unwrap()));
        assert!(!link_local("127.0.0.1".parse().unwrap()));
        assert!(!link_local("10.0.0.1".parse().unwrap()));
    }
}
