//! Who may sign in and what they did: accounts, issued credentials, visitor
//! links and the audit log, in tables beside the journal (same SQLite file).
//!
//! These are payloads, not decisions: the core never reads them. The server
//! keeps the active credentials in memory and writes here first, so a
//! restart loses no account, sign-in or revocation. Audit rows that record a
//! command are written by [`crate::Store::append_with_audit`], in the same
//! transaction as the command; the rest are written here.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Created on every open, so a journal made before accounts existed gains them.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    username TEXT PRIMARY KEY,
    password TEXT NOT NULL,
    role TEXT NOT NULL,
    agent_id TEXT UNIQUE,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    display_name TEXT
);
CREATE TABLE IF NOT EXISTS credentials (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT,
    username TEXT,
    role TEXT NOT NULL,
    agent_id TEXT,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS visitor_links (
    link_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    address TEXT,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at_ms);
";

/// Brings the tables of a journal made by an earlier version up to date:
/// accounts gained `display_name`.
pub(crate) fn upgrade(conn: &Connection) -> rusqlite::Result<()> {
    let has_name: i64 = conn.query_row(
        "SELECT count(*) FROM pragma_table_info('accounts') WHERE name = 'display_name'",
        [],
        |r| r.get(0),
    )?;
    if has_name == 0 {
        conn.execute_batch("ALTER TABLE accounts ADD COLUMN display_name TEXT")?;
    }
    Ok(())
}

/// A staff account. `password` is an argon2id PHC string, never the password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRow {
    /// Sign-in name, unique.
    pub username: String,
    /// PHC string.
    pub password: String,
    /// `admin`, `supervisor` or `agent`.
    pub role: String,
    /// The agent this account acts as, if any (required for `agent`).
    pub agent_id: Option<String>,
    /// The name shown to visitors and colleagues (the username if none).
    pub display_name: Option<String>,
    /// A disabled account cannot sign in and its credentials are revoked.
    pub disabled: bool,
    /// Unix milliseconds.
    pub created_ms: i64,
    /// Unix milliseconds of the last change.
    pub updated_ms: i64,
}

/// An issued bearer credential (a sign-in or a named API token), stored by
/// the SHA-256 of its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRow {
    /// Row id; an API token's public id.
    pub id: i64,
    /// Hex SHA-256 of the secret.
    pub hash: String,
    /// `login` or `api`.
    pub kind: String,
    /// An API token's name.
    pub name: Option<String>,
    /// The account signed in (login), or the admin who made the token.
    pub username: Option<String>,
    /// The role it acts with.
    pub role: String,
    /// The agent it acts as.
    pub agent_id: Option<String>,
    /// Unix milliseconds.
    pub created_ms: i64,
    /// Unix milliseconds; never for API tokens.
    pub expires_ms: Option<i64>,
}

/// A visitor link made by staff for one session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRow {
    /// Random id carried in the link's signed token.
    pub link_id: String,
    /// The session the link admits to.
    pub session_id: String,
    /// Who made it.
    pub created_by: String,
    /// Unix milliseconds.
    pub created_ms: i64,
    /// Unix milliseconds.
    pub expires_ms: i64,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// One audit record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Unix milliseconds.
    pub at_ms: i64,
    /// Username, token name, `visitor:{session}` or `anonymous`.
    pub actor: String,
    /// The actor's role.
    pub role: String,
    /// What was attempted, e.g. `login`, `account.create`, `session.transfer`.
    pub action: String,
    /// What it was done to.
    pub target: Option<String>,
    /// The caller's IP address.
    pub address: Option<String>,
    /// `ok`, or the refusal's error code.
    pub outcome: String,
}

/// Which audit records to read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditFilter {
    /// Only this actor.
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// From this time (Unix ms), inclusive.
    pub since: Option<i64>,
    /// Before this time (Unix ms).
    pub until: Option<i64>,
    /// Most records, newest first (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// The directory's own connection to the journal file.
pub struct Directory {
    conn: Connection,
}

fn account(r: &Row<'_>) -> rusqlite::Result<AccountRow> {
    Ok(AccountRow {
        username: r.get(0)?,
        password: r.get(1)?,
        role: r.get(2)?,
        agent_id: r.get(3)?,
        disabled: r.get(4)?,
        created_ms: r.get(5)?,
        updated_ms: r.get(6)?,
        display_name: r.get(7)?,
    })
}

const ACCOUNT_COLUMNS: &str =
    "username, password, role, agent_id, disabled, created_ms, updated_ms, display_name";

impl Directory {
    /// Opens the directory of the journal at `path`, which [`crate::Store::open`]
    /// has created or checked.
    pub fn open(path: &Path) -> Result<Directory, StoreError> {
        let conn = Connection::open(path)?;
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;")?;
        conn.execute_batch(SCHEMA)?;
        upgrade(&conn)?;
        Ok(Directory { conn })
    }

    /// The server's signing key for visitor tokens, made from `fresh` the
    /// first time and kept from then on, so links survive restarts.
    pub fn secret(&self, fresh: &str) -> Result<String, StoreError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('auth_secret', ?1)",
            [fresh],
        )?;
        Ok(self.conn.query_row(
            "SELECT value FROM meta WHERE key = 'auth_secret'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Replaces the signing key (a cluster's nodes share one, so that a
    /// visitor's token from one node is good on all).
    pub fn set_secret(&self, secret: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('auth_secret', ?1)",
            [secret],
        )?;
        Ok(())
    }

    /// Every account, by username.
    pub fn accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY username"
        ))?;
        let rows = stmt.query_map([], account)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One account.
    pub fn account(&self, username: &str) -> Result<Option<AccountRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username = ?1"),
                [username],
                account,
            )
            .optional()?)
    }

    /// Makes one change, with its audit record, in one transaction.
    pub fn write(&mut self, change: &DirectoryWrite) -> Result<Written, StoreError> {
        let tx = self.conn.transaction()?;
        let written = apply(&tx, change)?;
        tx.commit()?;
        Ok(written)
    }

    /// Credentials neither revoked nor expired at `now_ms`.
    pub fn live_credentials(&self, now_ms: i64) -> Result<Vec<CredentialRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, hash, kind, name, username, role, agent_id, created_ms, expires_ms
             FROM credentials WHERE revoked = 0 AND (expires_ms IS NULL OR expires_ms > ?1)",
        )?;
        let rows = stmt.query_map([now_ms], |r| {
            Ok(CredentialRow {
                id: r.get(0)?,
                hash: r.get(1)?,
                kind: r.get(2)?,
                name: r.get(3)?,
                username: r.get(4)?,
                role: r.get(5)?,
                agent_id: r.get(6)?,
                created_ms: r.get(7)?,
                expires_ms: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Ids of revoked links that have not expired at `now_ms`.
    pub fn revoked_links(&self, now_ms: i64) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT link_id FROM visitor_links WHERE revoked = 1 AND expires_ms > ?1")?;
        let rows = stmt.query_map([now_ms], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Audit records matching `f`, newest first.
    pub fn read_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = f.limit.unwrap_or(100).clamp(1, 1000);
        let mut stmt = self.conn.prepare(
            "SELECT at_ms, actor, role, action, target, address, outcome FROM audit
             WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR action = ?2)
               AND (?3 IS NULL OR at_ms >= ?3) AND (?4 IS NULL OR at_ms < ?4)
             ORDER BY id DESC LIMIT ?5",
        )?;
        let rows = stmt.query_map(params![f.actor, f.action, f.since, f.until, limit], |r| {
            Ok(AuditEntry {
                at_ms: r.get(0)?,
                actor: r.get(1)?,
                role: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                address: r.get(5)?,
                outcome: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// A change to the directory: what a server alone writes at once, and what a
/// cluster's leader puts in the log for every node to write the same.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum DirectoryWrite {
    /// Adds an account (not if the username or the agent is taken).
    InsertAccount {
        /// The account.
        account: AccountRow,
        /// Its audit record, written if it was added.
        audit: AuditEntry,
    },
    /// Replaces an account's fields; with `revoke`, revokes its sign-ins
    /// except the one with hash `keep`.
    UpdateAccount {
        /// The account as it is to be.
        account: AccountRow,
        /// Whether its sign-ins end.
        revoke: bool,
        /// The sign-in that stays (the one asking).
        keep: Option<String>,
        /// Its audit record.
        audit: AuditEntry,
    },
    /// Records an issued credential.
    InsertCredential {
        /// The credential.
        credential: CredentialRow,
        /// Its audit record.
        audit: Option<AuditEntry>,
    },
    /// Revokes the credentials matching `hash` or `id`.
    RevokeCredential {
        /// By the digest of its secret.
        hash: Option<String>,
        /// By its id.
        id: Option<i64>,
        /// Its audit record.
        audit: Option<AuditEntry>,
    },
    /// Records a visitor link.
    InsertLink {
        /// The link.
        link: LinkRow,
        /// Its audit record.
        audit: AuditEntry,
    },
    /// Revokes a visitor's own token (its sign-out): the link's row, made
    /// revoked if the token had none (a public join's).
    RevokeVisitor {
        /// The link as the token names it.
        link: LinkRow,
        /// Its audit record.
        audit: AuditEntry,
    },
    /// Revokes a link.
    RevokeLink {
        /// Its id.
        link_id: String,
        /// Its audit record, written if the link exists.
        audit: AuditEntry,
    },
    /// Appends an audit record.
    Audit(AuditEntry),
}

/// What a [`DirectoryWrite`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Written {
    /// An account: whether it was added.
    Added(bool),
    /// A credential: its id.
    Id(i64),
    /// Revoked credentials: how many.
    Count(usize),
    /// A revoked link, if it exists.
    Link(Option<LinkRow>),
    /// Anything else.
    Done,
}

/// Applies `change` inside `tx`.
pub(crate) fn apply(tx: &Connection, change: &DirectoryWrite) -> Result<Written, StoreError> {
    Ok(match change {
        DirectoryWrite::InsertAccount { account: a, audit } => {
            let added = tx.execute(
                "INSERT OR IGNORE INTO accounts (username, password, role, agent_id, disabled, created_ms, updated_ms, display_name)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![a.username, a.password, a.role, a.agent_id, a.disabled, a.created_ms, a.updated_ms, a.display_name],
            )? == 1;
            if added {
                insert_audit(tx, audit)?;
            }
            Written::Added(added)
        }
        DirectoryWrite::UpdateAccount {
            account: a,
            revoke,
            keep,
            audit,
        } => {
            tx.execute(
                "UPDATE accounts SET password = ?2, role = ?3, agent_id = ?4, disabled = ?5, updated_ms = ?6, display_name = ?7 WHERE username = ?1",
                params![a.username, a.password, a.role, a.agent_id, a.disabled, a.updated_ms, a.display_name],
            )?;
            if *revoke {
                tx.execute(
                    "UPDATE credentials SET revoked = 1 WHERE kind = 'login' AND username = ?1 AND hash IS NOT ?2",
                    params![a.username, keep],
                )?;
            }
            insert_audit(tx, audit)?;
            Written::Done
        }
        DirectoryWrite::InsertCredential {
            credential: c,
            audit,
        } => {
            tx.execute(
                "INSERT INTO credentials (hash, kind, name, username, role, agent_id, created_ms, expires_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![c.hash, c.kind, c.name, c.username, c.role, c.agent_id, c.created_ms, c.expires_ms],
            )?;
            let id = tx.last_insert_rowid();
            if let Some(audit) = audit {
                insert_audit(tx, audit)?;
            }
            Written::Id(id)
        }
        DirectoryWrite::RevokeCredential { hash, id, audit } => {
            let n = tx.execute(
                "UPDATE credentials SET revoked = 1 WHERE revoked = 0 AND (hash = ?1 OR id = ?2)",
                params![hash, id],
            )?;
            if let Some(audit) = audit {
                insert_audit(tx, audit)?;
            }
            Written::Count(n)
        }
        DirectoryWrite::InsertLink { link: l, audit } => {
            tx.execute(
                "INSERT INTO visitor_links (link_id, session_id, created_by, created_ms, expires_ms, revoked)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![l.link_id, l.session_id, l.created_by, l.created_ms, l.expires_ms, l.revoked],
            )?;
            insert_audit(tx, audit)?;
            Written::Done
        }
        DirectoryWrite::RevokeVisitor { link: l, audit } => {
            tx.execute(
                "INSERT INTO visitor_links (link_id, session_id, created_by, created_ms, expires_ms, revoked)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1)
                 ON CONFLICT (link_id) DO UPDATE SET revoked = 1",
                params![l.link_id, l.session_id, l.created_by, l.created_ms, l.expires_ms],
            )?;
            insert_audit(tx, audit)?;
            Written::Done
        }
        DirectoryWrite::RevokeLink { link_id, audit } => {
            tx.execute(
                "UPDATE visitor_links SET revoked = 1 WHERE link_id = ?1",
                [link_id],
            )?;
            let link = tx
                .query_row(
                    "SELECT link_id, session_id, created_by, created_ms, expires_ms, revoked FROM visitor_links WHERE link_id = ?1",
                    [link_id],
                    |r| {
                        Ok(LinkRow {
                            link_id: r.get(0)?,
                            session_id: r.get(1)?,
                            created_by: r.get(2)?,
                            created_ms: r.get(3)?,
                            expires_ms: r.get(4)?,
                            revoked: r.get(5)?,
                        })
                    },
                )
                .optional()?;
            if link.is_some() {
                insert_audit(tx, audit)?;
            }
            Written::Link(link)
        }
        DirectoryWrite::Audit(entry) => {
            insert_audit(tx, entry)?;
            Written::Done
        }
    })
}

pub(crate) fn insert_audit(conn: &Connection, e: &AuditEntry) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit (at_ms, actor, role, action, target, address, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.at_ms, e.actor, e.role, e.action, e.target, e.address, e.outcome
    ])?;
    Ok(())
}
