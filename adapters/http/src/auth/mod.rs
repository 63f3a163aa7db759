//! Who is asking. Every request's credential (a bearer token, the sign-in
//! cookie, or a one-time WebSocket ticket) becomes a [`Caller`] before the
//! request reaches a handler; the route's [`access::Access`] rule is checked
//! against it, and rules that depend on live state (is this agent the one
//! holding this call?) are checked on the engine thread by [`Caller::check_session`].
//!
//! Identity never comes from a query parameter or a body field: an agent is
//! the `agent_id` of its account, a visitor is the session its token names.

pub mod access;
mod limits;
pub mod secrets;
mod service;

use std::net::IpAddr;
use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::{AgentId, Center, CoreError, SessionId, Speaker};

use crate::{Answer, AnswerExt};
pub use limits::{LoginLimits, Rate};
pub use secrets::Argon2Cost;
pub use service::{
    caller_entry, AccountChange, Auth, AuthError, Login, NewAccount, Writer, LINK_TTL_MAX_SECS,
    PASSWORD_MAX, PASSWORD_MIN,
};
pub use switchboard_app::clock::now_ms;

/// A staff role, in increasing power.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Its own state, its own rings and calls, the queue view.
    Agent,
    /// Everything live; assigns and transfers any call; forces agents
    /// offline or not-ready. No account management.
    Supervisor,
    /// Everything.
    Admin,
}

impl Role {
    /// `agent`, `supervisor` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// The role named `s`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "agent" => Some(Role::Agent),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A signed-in staff member, an API token, or the configured admin token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    /// Username, or the API token's name.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// The agent it acts as.
    pub agent_id: Option<AgentId>,
    /// The credential's digest (None for the configured admin token): what
    /// logout revokes and what the per-credential rate limit counts.
    pub credential: Option<String>,
}

/// Who made a request, as proven by its credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Caller {
    /// No credential.
    Anonymous,
    /// A visitor, admitted to exactly one session.
    Visitor {
        /// The session.
        session: SessionId,
        /// The link the token came from (`join` for a public join).
        link: String,
    },
    /// Staff.
    Staff(Staff),
}

impl Caller {
    /// The staff member, if it is one.
    pub fn staff(&self) -> Option<&Staff> {
        match self {
            Caller::Staff(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is staff with at least `role`.
    pub fn at_least(&self, role: Role) -> bool {
        self.staff().is_some_and(|s| s.role >= role)
    }

    /// The agent this caller acts as.
    pub fn agent(&self) -> Option<&AgentId> {
        self.staff().and_then(|s| s.agent_id.as_ref())
    }

    /// As whom the core's rules see this caller: the visitor of their
    /// session (None once it is forgotten), the agent they act as, or staff.
    pub fn speaker(&self, c: &Center) -> Option<Speaker> {
        match self {
            Caller::Visitor { session, .. } => c
                .session(session.as_str())
                .map(|s| Speaker::Visitor(s.customer_id.clone())),
            Caller::Staff(Staff {
                agent_id: Some(a), ..
            }) => Some(Speaker::Agent(a.clone())),
            Caller::Staff(_) => Some(Speaker::Staff),
            Caller::Anonymous => None,
        }
    }

    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        match self {
            Caller::Anonymous => "anonymous".into(),
            Caller::Visitor { session, .. } => format!("visitor:{session}"),
            Caller::Staff(s) => s.name.clone(),
        }
    }

    /// The role the audit log records.
    pub fn role_name(&self) -> &'static str {
        match self {
            Caller::Anonymous => "anonymous",
            Caller::Visitor { .. } => "visitor",
            Caller::Staff(s) => s.role.as_str(),
        }
    }

    /// The live part of a session rule, on the engine thread: a visitor
    /// only for their own session while it is open (or, with `rating`, also
    /// after it ended); an agent only for a session it holds or is rung for;
    /// supervisors and admins always.
    pub fn check_session(&self, c: &Center, sid: &str, rating: bool) -> Result<(), Answer> {
        match self {
            Caller::Staff(s) if s.role >= Role::Supervisor => Ok(()),
            Caller::Staff(s) => {
                // An unknown session is nobody's: refused here, so that no
                // handler ever acts for an agent on a session it cannot hold.
                let Some(session) = c.session(sid) else {
                    return Err(Answer::refused(&CoreError::SessionNotFound(sid.into())));
                };
                // Any part: holding or rung for it, or its last agent (who
                // still reads its history and wraps it up).
                let mine = s
                    .agent_id
                    .as_ref()
                    .is_some_and(|a| session.agent_part(a).is_some());
                if mine {
                    Ok(())
                } else {
                    Err(Answer::forbidden(format!("session {sid} is not yours")))
                }
            }
            Caller::Visitor { session, .. } if session.as_str() == sid => {
                // A forgotten session is past its end too: only a rating
                // may be asked for (and is answered 404).
                let may = c.session(sid).map_or(rating, |s| s.visitor_may_act(rating));
                if !may {
                    Err(Answer::forbidden(
                        "the session has ended: its token can only rate it",
                    ))
                } else {
                    Ok(())
                }
            }
            Caller::Visitor { .. } => Err(Answer::forbidden(format!(
                "this token is for another session, not {sid}"
            ))),
            Caller::Anonymous => Err(unauthorized("sign in or present a token")),
        }
    }
}

/// The caller of a request, with where it came from. Handlers take it as an
/// extractor; the access guard put it there.
#[derive(Clone, Debug)]
pub struct Who {
    /// Who.
    pub caller: Caller,
    /// From which address.
    pub address: IpAddr,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Who {
    type Rejection = Answer;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Answer> {
        parts
            .extensions
            .get::<Who>()
            .cloned()
            .ok_or_else(|| unauthorized("no credential was checked for this route"))
    }
}

/// 401 with the usual body.
pub fn unauthorized(message: impl AsRef<str>) -> Answer {
    Answer::error(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// The `security:` section of the config file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Security {
    /// Accepted as an admin bearer token (`SWITCHBOARD_ADMIN_TOKEN`).
    #[serde(skip_serializing)]
    pub admin_token: Option<String>,
    /// The first admin's password on a fresh database (`SWITCHBOARD_ADMIN_PASSWORD`).
    #[serde(skip_serializing)]
    pub admin_password: Option<String>,
    /// How long a sign-in lasts.
    pub session_ttl_secs: u64,
    /// How long a visitor link made by staff lasts, unless it says.
    pub link_ttl_secs: u64,
    /// How long the token answered by a public join lasts.
    pub join_token_ttl_secs: u64,
    /// How long a WebSocket ticket lasts (it is also single-use).
    pub ticket_ttl_secs: u64,
    /// Password hashing cost; stored hashes with another cost are redone at sign-in.
    pub argon2: Argon2Cost,
    /// Sign-in throttling.
    pub login: LoginLimits,
    /// Requests per address by anonymous callers and visitors.
    pub per_address: Rate,
    /// Requests per staff credential.
    pub per_credential: Rate,
    /// Public `queue/join` requests per address.
    pub public_join: Rate,
    /// Seconds a connection has to send a request head, also between
    /// keep-alive requests.
    pub header_read_timeout_secs: u64,
    /// Seconds a connection may stay silent before it is closed (until it
    /// upgrades to a WebSocket, which has its own pings).
    pub idle_timeout_secs: u64,
    /// Connections open at once from one address.
    pub connections_per_address: usize,
    /// Connections open at once in all.
    pub connections_max: usize,
    /// Origins, besides the server's own, whose pages may use the sign-in cookie.
    pub allowed_origins: Vec<String>,
    /// Serve HTTPS with these files.
    pub tls: Option<crate::listener::TlsFiles>,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            admin_token: None,
            admin_password: None,
            session_ttl_secs: 12 * 3600,
            link_ttl_secs: 24 * 3600,
            join_token_ttl_secs: 24 * 3600,
            ticket_ttl_secs: 30,
            argon2: Argon2Cost::default(),
            login: LoginLimits::default(),
            per_address: Rate {
                per_sec: 20.0,
                burst: 60,
            },
            per_credential: Rate {
                per_sec: 100.0,
                burst: 300,
            },
            public_join: Rate {
                per_sec: 0.2,
                burst: 10,
            },
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            connections_per_address: 512,
            connections_max: 16_384,
            allowed_origins: Vec::new(),
            tls: None,
        }
    }
}

impl From<&Security> for crate::listener::Limits {
    fn from(s: &Security) -> Self {
        crate::listener::Limits {
            header_read: Duration::from_secs(s.header_read_timeout_secs.max(1)),
            idle: Duration::from_secs(s.idle_timeout_secs.max(1)),
            per_address: s.connections_per_address.max(1),
            max: s.connections_max.max(1),
        }
    }
}
