//! Chat payloads, beside the journal: messages, read/delivered watermarks,
//! closing notes and canned responses. New messages and watermarks are
//! written by [`crate::Store::append_all`] in the same transaction as the
//! turn's journal records, so a message is acknowledged only once it is on
//! disk, together with whatever decision came with it.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Created on every open (journals made before chat gain the tables).
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages (
    conversation TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sender TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    client_id TEXT,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    attachment_id TEXT,
    data TEXT,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (conversation, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client
    ON messages (conversation, sender, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_by_attachment
    ON messages (attachment_id) WHERE attachment_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS receipts (
    conversation TEXT NOT NULL,
    reader TEXT NOT NULL,
    delivered INTEGER NOT NULL,
    read INTEGER NOT NULL,
    PRIMARY KEY (conversation, reader)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS closures (
    session_id TEXT PRIMARY KEY,
    comment TEXT,
    tags TEXT NOT NULL,
    closed_by TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS canned (
    shortcode TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
";

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRow {
    /// `cs_…` for a session, `dm/{a}/{b}` between agents, `wg/{group}` for a channel.
    pub conversation: String,
    /// 1, 2, … per conversation, assigned by the server.
    pub seq: u64,
    /// `customer:{visitor}`, `agent:{agent}`, `staff:{account}` or `system`.
    pub sender: String,
    /// Shown beside the message.
    pub sender_name: String,
    /// The sender's id for idempotent retries.
    pub client_id: Option<String>,
    /// `text`, `note` (staff only), `file` or `system`.
    pub kind: String,
    /// The text (the file's caption for `file`).
    pub body: String,
    /// The attachment's id, for `file`.
    pub attachment_id: Option<String>,
    /// JSON: the attachment's metadata for `file`, the event's details for `system`.
    pub data: Option<String>,
    /// Unix milliseconds.
    pub at_ms: i64,
}

/// How far a reader has received and read a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The conversation.
    pub conversation: String,
    /// `customer` or `agent` in a session; an agent's id elsewhere.
    pub reader: String,
    /// Highest sequence received.
    pub delivered: u64,
    /// Highest sequence read.
    pub read: u64,
}

/// How an agent closed a chat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    /// The session.
    pub session_id: String,
    /// Free text.
    pub comment: Option<String>,
    /// Labels for reporting.
    pub tags: Vec<String>,
    /// Who closed it (`agent:{id}` or `staff:{account}`).
    pub closed_by: String,
    /// Unix milliseconds.
    pub at_ms: i64,
}

/// A canned response, inserted by `/shortcode`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Canned {
    /// Typed after `/`.
    pub shortcode: String,
    /// What it expands to.
    pub text: String,
    /// Unix milliseconds.
    pub updated_ms: i64,
}

/// What a turn writes for chat, committed with its journal records.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatWrites {
    /// New messages.
    pub messages: Vec<MessageRow>,
    /// Watermarks moved (the newest per conversation and reader wins).
    pub receipts: Vec<Receipt>,
    /// Chats closed with a comment.
    pub closures: Vec<Closure>,
}

impl ChatWrites {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.receipts.is_empty() && self.closures.is_empty()
    }

    /// Forgets everything (after a commit).
    pub fn clear(&mut self) {
        self.messages.clear();
        self.receipts.clear();
        self.closures.clear();
    }
}

const COLUMNS: &str =
    "conversation, seq, sender, sender_name, client_id, kind, body, attachment_id, data, at_ms";

fn message(r: &Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        conversation: r.get(0)?,
        seq: r.get::<_, i64>(1)? as u64,
        sender: r.get(2)?,
        sender_name: r.get(3)?,
        client_id: r.get(4)?,
        kind: r.get(5)?,
        body: r.get(6)?,
        attachment_id: r.get(7)?,
        data: r.get(8)?,
        at_ms: r.get(9)?,
    })
}

pub(crate) fn insert(conn: &Connection, w: &ChatWrites) -> rusqlite::Result<()> {
    if w.is_empty() {
        return Ok(());
    }
    let mut insert = conn.prepare_cached(&format!(
        "INSERT INTO messages ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))?;
    for m in &w.messages {
        insert.execute(params![
            m.conversation,
            m.seq as i64,
            m.sender,
            m.sender_name,
            m.client_id,
            m.kind,
            m.body,
            m.attachment_id,
            m.data,
            m.at_ms
        ])?;
    }
    let mut mark = conn.prepare_cached(
        "INSERT INTO receipts (conversation, reader, delivered, read) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (conversation, reader) DO UPDATE SET
             delivered = max(delivered, excluded.delivered), read = max(read, excluded.read)",
    )?;
    for r in &w.receipts {
        mark.execute(params![
            r.conversation,
            r.reader,
            r.delivered as i64,
            r.read as i64
        ])?;
    }
    let mut close = conn.prepare_cached(
        "INSERT OR REPLACE INTO closures (session_id, comment, tags, closed_by, at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for c in &w.closures {
        close.execute(params![
            c.session_id,
            c.comment,
            serde_json::to_string(&c.tags).unwrap_or_default(),
            c.closed_by,
            c.at_ms
        ])?;
    }
    Ok(())
}

/// Reads of chat payloads, on the engine's connection.
impl crate::Store {
    /// The highest sequence of `conversation` (0 if empty).
    pub fn last_seq(&self, conversation: &str) -> Result<u64, StoreError> {
        let seq: Option<i64> = self.conn.query_row(
            "SELECT max(seq) FROM messages WHERE conversation = ?1",
            [conversation],
            |r| r.get(0),
        )?;
        Ok(seq.unwrap_or(0) as u64)
    }

    /// The message `sender` already sent with `client_id`, if any.
    pub fn by_client_id(
        &self,
        conversation: &str,
        sender: &str,
        client_id: &str,
    ) -> Result<Option<MessageRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages WHERE conversation = ?1 AND sender = ?2 AND client_id = ?3"
        ))?;
        Ok(stmt
            .query_row(params![conversation, sender, client_id], message)
            .optional()?)
    }

    /// Up to `limit` messages of `conversation` after sequence `after` and
    /// before `before`: the newest such when only `before` is given, else the
    /// oldest; in ascending order. Notes are left out unless `notes`.
    pub fn history(
        &self,
        conversation: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: u32,
        notes: bool,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let newest_first = after.is_none() && before.is_some();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages
             WHERE conversation = ?1 AND seq > ?2 AND seq < ?3 AND (?4 OR kind != 'note')
             ORDER BY seq {} LIMIT ?5",
            if newest_first { "DESC" } else { "ASC" }
        ))?;
        let rows = stmt.query_map(
            params![
                conversation,
                after.unwrap_or(0) as i64,
                before.map_or(i64::MAX, |b| b as i64),
                notes,
                limit
            ],
            message,
        )?;
        let mut out: Vec<MessageRow> = rows.collect::<Result<_, _>>()?;
        if newest_first {
            out.reverse();
        }
        Ok(out)
    }

    /// Every reader's watermarks in `conversation`.
    pub fn receipts(&self, conversation: &str) -> Result<Vec<Receipt>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT conversation, reader, delivered, read FROM receipts WHERE conversation = ?1",
        )?;
        let rows = stmt.query_map([conversation], |r| {
            Ok(Receipt {
                conversation: r.get(0)?,
                reader: r.get(1)?,
                delivered: r.get::<_, i64>(2)? as u64,
                read: r.get::<_, i64>(3)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How session `session_id`'s chat was closed, if it was.
    pub fn closure(&self, session_id: &str) -> Result<Option<Closure>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT session_id, comment, tags, closed_by, at_ms FROM closures WHERE session_id = ?1",
                [session_id],
                |r| {
                    let tags: String = r.get(2)?;
                    Ok(Closure {
                        session_id: r.get(0)?,
                        comment: r.get(1)?,
                        tags: serde_json::from_str(&tags).unwrap_or_default(),
                        closed_by: r.get(3)?,
                        at_ms: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// The message carrying attachment `id`, if any.
    pub fn attachment(&self, id: &str) -> Result<Option<MessageRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages WHERE attachment_id = ?1"
        ))?;
        Ok(stmt.query_row([id], message).optional()?)
    }

    /// How many messages of `conversation` after `after` came from senders
    /// starting with `from` (the other side): a reader's unread count.
    pub fn unread(&self, conversation: &str, after: u64, from: &str) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM messages WHERE conversation = ?1 AND seq > ?2
                   AND substr(sender, 1, length(?3)) = ?3",
            )?
            .query_row(params![conversation, after as i64, from], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Every canned response, by shortcode.
    pub fn canned(&self) -> Result<Vec<Canned>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT shortcode, text, updated_ms FROM canned ORDER BY shortcode")?;
        let rows = stmt.query_map([], |r| {
            Ok(Canned {
                shortcode: r.get(0)?,
                text: r.get(1)?,
                updated_ms: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Creates or replaces a canned response.
    pub fn put_canned(&mut self, c: &Canned) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO canned (shortcode, text, updated_ms) VALUES (?1, ?2, ?3)",
            params![c.shortcode, c.text, c.updated_ms],
        )?;
        Ok(())
    }

    /// Deletes a canned response; whether it existed.
    pub fn delete_canned(&mut self, shortcode: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .execute("DELETE FROM canned WHERE shortcode = ?1", [shortcode])?
            == 1)
    }
}
