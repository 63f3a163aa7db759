//! Identifiers of sessions, agents and visitors: cheap to clone, compared as text.
//!
//! Ids up to 23 bytes (all that Switchboard makes, and most that clients
//! choose) live inline, so cloning one into an event touches no heap memory.

use core::borrow::Borrow;
use core::fmt;

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(SmolStr);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(SmolStr::from(s))
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(SmolStr::from(s))
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                self.0.as_str()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.0.as_str(), f)
            }
        }
    };
}

id_type!(
    /// A session id, `cs_` followed by random base-36 characters from the core's PRNG.
    SessionId
);
id_type!(
    /// An agent id, chosen by whoever registers the agent (e.g. `agent_001`).
    AgentId
);
id_type!(
    /// A workgroup (skill group) id, chosen by whoever creates it (e.g. `billing`).
    WorkgroupId
);
id_type!(
    /// A visitor (customer) id, chosen by the visitor's page (e.g. `cust_001`).
    VisitorId
);

/// Longest id a client may choose (agents, workgroups, visitors, names).
pub const ID_MAX: usize = 64;

/// [`is_name`] as a regular expression, for the API's schema: what a
/// generated client should check before sending an id.
pub const NAME_PATTERN: &str = "^[A-Za-z0-9_@-][A-Za-z0-9_.@-]{0,63}$";

/// Whether `s` is a well-formed client-chosen id: 1 to [`ID_MAX`] letters,
/// digits and `_ - . @`, not starting with `.`. Such an id is safe anywhere
/// (a URL path segment, a file name, a log line) and so is all an HTTP path
/// parameter may be.
pub fn is_name(s: &str) -> bool {
    (1..=ID_MAX).contains(&s.len())
        && !s.starts_with('.')
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'@'))
}

impl SessionId {
    /// Longest session id accepted from outside (the core makes 15 bytes).
    pub const MAX: usize = 40;

    /// A session id read from outside: `cs_` and 1 to 37 lowercase letters
    /// and digits, the only shape the core makes. Anything else names no
    /// session, so callers can answer 404 before any other check.
    pub fn parse(s: &str) -> Option<SessionId> {
        let rest = s.strip_prefix("cs_")?;
        let ok = !rest.is_empty()
            && s.len() <= Self::MAX
            && rest
                .bytes()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase());
        ok.then(|| SessionId::from(s))
    }

    /// The WebSocket room of this session: `customer-service/{session_id}`.
    pub fn room_id(&self) -> RoomId {
        RoomId(self.clone())
    }

    /// An id from ASCII bytes made by the core (no allocation up to 23 bytes).
    pub(crate) fn from_ascii(bytes: &[u8]) -> Self {
        SessionId(SmolStr::new(String::from_utf8_lossy(bytes)))
    }
}

/// Prefix that marks customer-service rooms among all rooms.
pub const ROOM_PREFIX: &str = "customer-service/";

/// A session's WebSocket room, `customer-service/{session_id}` on the wire.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RoomId(SessionId);

impl RoomId {
    /// The session whose room this is.
    pub fn session_id(&self) -> &SessionId {
        &self.0
    }

    /// Parses `customer-service/{session_id}`; None for any other room.
    pub fn parse(room: &str) -> Option<RoomId> {
        let id = room.strip_prefix(ROOM_PREFIX)?;
        (!id.is_empty()).then(|| RoomId(SessionId::from(id)))
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ROOM_PREFIX}{}", self.0)
    }
}

impl fmt::Debug for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

impl Serialize for RoomId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RoomId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let room = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        RoomId::parse(&room).ok_or_else(|| {
            serde::de::Error::custom(format_args!("room id must start with {ROOM_PREFIX}"))
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_well_formed_ids_parse() {
        assert!(SessionId::parse("cs_abc123").is_some());
        for bad in [
            "",
            "cs_",
            "cs_ABC",
            "cs_a/b",
            "./cs_a",
            "cs_a%2F",
            "cs_a\\b",
            "cs_a\0",
            "/tmp/x",
            "..",
            "cs_a.b",
            &format!("cs_{}", "a".repeat(40)),
        ] {
            assert!(SessionId::parse(bad).is_none(), "{bad:?}");
        }
        assert!(is_name("agent_001") && is_name("a.b@c-d"));
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            "a\\b",
            "a%2F",
            "a b",
            "a\0",
            &"a".repeat(65),
        ] {
            assert!(!is_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_name_pattern_says_what_is_name_does() {
        let pattern = regex::Regex::new(NAME_PATTERN).unwrap();
        let alphabet = ['a', 'Z', '0', '_', '-', '.', '@', '/', ' ', '%', '中'];
        // Every string of up to 3 of these, and the length bounds.
        let mut cases = vec![String::new(), "a".repeat(64), "a".repeat(65)];
        for a in alphabet {
            cases.push(a.to_string());
            for b in alphabet {
                cases.push(format!("{a}{b}"));
                for c in alphabet {
                    cases.push(format!("{a}{b}{c}"));
                }
            }
        }
        for s in cases {
            assert_eq!(pattern.is_match(&s), is_name(&s), "{s:?}");
        }
    }

    use super::*;

    #[test]
    fn room_ids_round_trip_with_their_prefix() {
        let room = SessionId::from("cs_abc123").room_id();
        let json = serde_json::to_string(&room).unwrap();
        assert_eq!(json, "\"customer-service/cs_abc123\"");
        assert_eq!(serde_json::from_str::<RoomId>(&json).unwrap(), room);
        assert!(serde_json::from_str::<RoomId>("\"other/cs_abc123\"").is_err());
        assert!(RoomId::parse("customer-service/").is_none());
        assert_eq!(
            RoomId::parse("customer-service/cs_x").map(|r| r.session_id().to_string()),
            Some("cs_x".to_owned())
        );
    }
}
