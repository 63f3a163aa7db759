//! Identifiers of sessions, agents and visitors: cheap to clone, compared as text.

use core::borrow::Borrow;
use core::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Arc<str>);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(Arc::from(s))
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(Arc::from(s))
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
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
    /// A visitor (customer) id, chosen by the visitor's page (e.g. `cust_001`).
    VisitorId
);

impl SessionId {
    /// The WebSocket room of this session: `customer-service/{session_id}`.
    pub fn room_id(&self) -> String {
        format!("{ROOM_PREFIX}{}", self.0)
    }
}

/// Prefix that marks customer-service rooms among all rooms.
pub const ROOM_PREFIX: &str = "customer-service/";
