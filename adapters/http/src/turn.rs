//! The ICE servers a participant is told of, with TURN credentials of its
//! own: static ones from the config, or minted with coturn's shared secret
//! (the TURN REST API convention coturn's `use-auth-secret` checks:
//! username `<expiry>:<who>`, password base64(HMAC-SHA1(secret, username))),
//! so that a credential seen in one browser is no use after its call.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Serialize;
use switchboard_media::{Ice, IceServer};

/// One server as `RTCPeerConnection` takes it (`RTCIceServer`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientIceServer {
    /// The URL.
    pub urls: String,
    /// TURN username, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN password, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl ClientIceServer {
    /// As a WHIP `Link` header value (RFC 9725 §4.6).
    pub fn link(&self) -> String {
        match (&self.username, &self.credential) {
            (Some(u), Some(c)) => format!(
                "<{}>; rel=\"ice-server\"; username=\"{}\"; credential=\"{}\"; credential-type=\"password\"",
                self.urls,
                quoted(u),
                quoted(c)
            ),
            _ => format!("<{}>; rel=\"ice-server\"", self.urls),
        }
    }
}

/// A quoted-string's content: no quote or backslash can end it early.
fn quoted(s: &str) -> String {
    s.replace(['"', '\\'], "")
}

/// The servers for participant `who` at `now_secs` (Unix seconds).
pub fn for_participant(ice: &Ice, who: &str, now_secs: u64) -> Vec<ClientIceServer> {
    ice.servers
        .iter()
        .map(|s| match s {
            IceServer::WithCredentials {
                urls,
                username,
                credential,
            } => ClientIceServer {
                urls: urls.clone(),
                username: Some(username.clone()),
                credential: Some(credential.clone()),
            },
            IceServer::Url(url) => {
                let turn = url.starts_with("turn:") || url.starts_with("turns:");
                let minted = ice
                    .turn_secret
                    .as_deref()
                    .filter(|_| turn)
                    .map(|secret| mint(secret, who, now_secs + ice.turn_ttl_secs));
                ClientIceServer {
                    urls: url.clone(),
                    username: minted.as_ref().map(|(u, _)| u.clone()),
                    credential: minted.map(|(_, c)| c),
                }
            }
        })
        .collect()
}

/// A TURN REST API credential for `who` until `expiry` (Unix seconds).
fn mint(secret: &str, who: &str, expiry: u64) -> (String, String) {
    let username = format!("{expiry}:{who}");
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(username.as_bytes());
    let password = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (username, password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_credentials_follow_the_turn_rest_convention() {
        // RFC 2202 test case 2 for HMAC-SHA1 ("Jefe"), over our username.
        let (u, p) = mint("Jefe", "what do ya want for nothing?", 0);
        assert_eq!(u, "0:what do ya want for nothing?");
        assert_eq!(p.len(), 28, "base64 of 20 bytes");
        let ice = Ice {
            servers: vec![
                IceServer::Url("stun:stun.example.com:3478".into()),
                IceServer::Url("turn:turn.example.com:3478?transport=udp".into()),
                IceServer::WithCredentials {
                    urls: "turns:turn.example.com:443".into(),
                    username: "static".into(),
                    credential: "pw".into(),
                },
            ],
            turn_secret: Some("s3cret".into()),
            turn_ttl_secs: 600,
        };
        let got = for_participant(&ice, "cs_1-customer", 1_000);
        assert_eq!(got[0].username, None, "STUN needs none");
        assert_eq!(got[1].username.as_deref(), Some("1600:cs_1-customer"));
        assert_eq!(
            got[1].credential,
            Some(mint("s3cret", "cs_1-customer", 1600).1)
        );
        assert_eq!(got[2].credential.as_deref(), Some("pw"));
        assert_ne!(
            for_participant(&ice, "cs_1-agent", 1_000)[1].credential,
            got[1].credential,
            "each participant its own"
        );
        assert!(got[1].link().contains("credential-type=\"password\""));
        assert_eq!(
            got[0].link(),
            "<stun:stun.example.com:3478>; rel=\"ice-server\""
        );
    }
}
