//! The secrets behind credentials: random bearer tokens stored by their
//! SHA-256, argon2id password hashes, and the signed tokens that admit a
//! visitor to exactly one session.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `n` random bytes from the operating system, base64url.
pub fn random(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// A new bearer secret with a prefix saying what it is (`sbs_` sign-in,
/// `sbt_` API token, `sbk_` WebSocket ticket).
pub fn bearer(prefix: &str) -> String {
    format!("{prefix}{}", random(32))
}

/// How a bearer secret is stored and looked up: hex SHA-256. The secrets
/// are 256 random bits, so a fast hash is enough (no dictionary to attack).
pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Lower-case hex of `bytes` (digests on every request: no allocation per byte).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Whether `a` and `b` are equal, in time that does not depend on where they differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// argon2id cost settings (the OWASP minimum by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Cost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for Argon2Cost {
    fn default() -> Self {
        Argon2Cost {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Why a password could not be hashed (the cost settings are invalid).
#[derive(Debug, thiserror::Error)]
#[error("argon2: {0}")]
pub struct HashError(String);

/// Hashes and checks passwords with argon2id.
#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    params: Params,
}

/// The outcome of checking a password.
#[derive(Debug, PartialEq, Eq)]
pub enum Checked {
    /// Wrong password (or an unreadable stored hash).
    Wrong,
    /// Right, and stored with the current settings.
    Right,
    /// Right, but stored with other settings: store a fresh hash.
    RightRehash,
}

impl Passwords {
    /// With the given cost; refused if argon2 does not accept it.
    pub fn new(cost: Argon2Cost) -> Result<Self, HashError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| HashError(e.to_string()))?;
        Ok(Passwords {
            argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()),
            params,
        })
    }

    /// A PHC string for `password`, with a fresh salt.
    pub fn hash(&self, password: &str) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()))
    }

    /// Checks `password` against the PHC string `stored`.
    pub fn check(&self, password: &str, stored: &str) -> Checked {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Checked::Wrong;
        };
        if self
            .argon
            .verify_password(password.as_bytes(), &parsed)
            .is_err()
        {
            return Checked::Wrong;
        }
        let current = parsed.algorithm == argon2::ARGON2ID_IDENT
            && Params::try_from(&parsed).is_ok_and(|p| {
                p.m_cost() == self.params.m_cost()
                    && p.t_cost() == self.params.t_cost()
                    && p.p_cost() == self.params.p_cost()
            });
        if current {
            Checked::Right
        } else {
            Checked::RightRehash
        }
    }
}

/// What a visitor token admits to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorClaim {
    /// The session.
    pub sid: String,
    /// The link it came from (`join` for the reply of a public join).
    pub lid: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
}

/// Signs and checks visitor tokens: `sbv_` + base64url(JSON claim) + `.` +
/// base64url(HMAC-SHA256). Stateless, so a public join costs no write; a
/// link's revocation is a lookup of its id.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

type HmacSha256 = Hmac<Sha256>;

impl Signer {
    /// With the server's key.
    pub fn new(key: &str) -> Self {
        Signer {
            key: key.as_bytes().to_vec(),
        }
    }

    fn mac(&self, payload: &str) -> Vec<u8> {
        // HMAC accepts keys of any length.
        let mut mac = HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// A token for `claim`.
    pub fn sign(&self, claim: &VisitorClaim) -> String {
        let payload = B64.encode(serde_json::to_vec(claim).unwrap_or_default());
        let mac = B64.encode(self.mac(&payload));
        format!("sbv_{payload}.{mac}")
    }

    /// The claim of a well-signed token (expiry is the caller's to check).
    pub fn verify(&self, token: &str) -> Option<VisitorClaim> {
        let (payload, mac) = token.strip_prefix("sbv_")?.split_once('.')?;
        let given = B64.decode(mac).ok()?;
        if !same(&given, &self.mac(payload)) {
            return None;
        }
        serde_json::from_slice(&B64.decode(payload).ok()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Passwords {
        Passwords::new(Argon2Cost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[test]
    fn a_password_checks_only_against_its_own_hash() {
        let p = cheap();
        let h = p.hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert_eq!(p.check("correct horse", &h), Checked::Right);
        assert_eq!(p.check("correct hors", &h), Checked::Wrong);
        assert_eq!(p.check("correct horse", "not a phc string"), Checked::Wrong);
    }

    #[test]
    fn a_hash_made_with_other_costs_asks_for_a_rehash() {
        let old = cheap().hash("pw-123456").unwrap();
        let stronger = Passwords::new(Argon2Cost {
            memory_kib: 128,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        assert_eq!(stronger.check("pw-123456", &old), Checked::RightRehash);
        assert_eq!(stronger.check("wrong", &old), Checked::Wrong);
    }

    #[test]
    fn a_visitor_token_is_refused_when_any_byte_changes() {
        let s = Signer::new("key-1");
        let claim = VisitorClaim {
            sid: "cs_a".into(),
            lid: "join".into(),
            exp: 99,
        };
        let t = s.sign(&claim);
        assert_eq!(s.verify(&t), Some(claim.clone()));
        assert_eq!(Signer::new("key-2").verify(&t), None);
        // Another session's claim under the first token's signature.
        let other = Signer::new("key-1").sign(&VisitorClaim {
            sid: "cs_b".into(),
            ..claim
        });
        let forged = format!(
            "{}.{}",
            other.split_once('.').unwrap().0,
            t.split_once('.').unwrap().1
        );
        assert_eq!(s.verify(&forged), None);
        assert_eq!(s.verify("sbv_garbage"), None);
    }

    #[test]
    fn bearer_secrets_differ_and_digest_is_stable() {
        let (a, b) = (bearer("sbs_"), bearer("sbs_"));
        assert_ne!(a, b);
        assert_eq!(digest(&a), digest(&a));
        assert_eq!(digest(&a).len(), 64);
        // FIPS 180-2's example: SHA-256("abc").
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"ab", b"abc"));
    }
}
