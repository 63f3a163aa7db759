//! Webhook subscriptions and the outbox of events owed to them. An event's
//! outbox rows are written by [`crate::Store::append_all`] in the same
//! transaction as the journal records of the turn that caused it, so an event
//! exists if and only if its change is durable; the delivery worker reads and
//! updates them through its own [`Outbox`] connection.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Created on every open (journals made before webhooks gain the tables).
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS webhooks (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    webhook_id INTEGER NOT NULL,
    session_key TEXT NOT NULL,
    event TEXT NOT NULL,
    data TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at_ms INTEGER NOT NULL,
    last_status INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (webhook_id, state, session_key, id);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL,
    webhook_id INTEGER NOT NULL,
    event TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    status INTEGER,
    latency_ms INTEGER NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_by_hook ON deliveries (webhook_id, id);
";

/// A subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Webhook {
    /// Its id.
    pub id: i64,
    /// Where events are POSTed.
    pub url: String,
    /// The event names it wants.
    pub events: Vec<String>,
    /// The HMAC key (shown once when made).
    #[serde(skip)]
    pub secret: String,
    /// Whether events are queued for it.
    pub enabled: bool,
    /// Unix milliseconds.
    pub created_ms: i64,
}

/// An event to queue for one subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvent {
    /// The subscription.
    pub webhook_id: i64,
    /// The session it concerns ("" for none): delivery is in order per session.
    pub session_key: String,
    /// e.g. `call.accepted`.
    pub event: String,
    /// The event's data, JSON.
    pub data: String,
    /// Unix milliseconds.
    pub created_ms: i64,
}

/// A queued event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutboxRow {
    /// Its id; the idempotency key is derived from it.
    pub id: i64,
    /// The subscription.
    pub webhook_id: i64,
    /// The session ("" for none).
    pub session_key: String,
    /// The event name.
    pub event: String,
    /// The event's data, JSON.
    pub data: String,
    /// Unix milliseconds.
    pub created_ms: i64,
    /// `pending`, `delivered` or `dead`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_at_ms: i64,
    /// The last HTTP status.
    pub last_status: Option<u16>,
    /// The last failure.
    pub last_error: Option<String>,
}

/// One delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The event.
    pub outbox_id: i64,
    /// Its name.
    pub event: String,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// How long the attempt took.
    pub latency_ms: i64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

fn webhook(r: &Row<'_>) -> rusqlite::Result<Webhook> {
    let events: String = r.get(2)?;
    Ok(Webhook {
        id: r.get(0)?,
        url: r.get(1)?,
        events: serde_json::from_str(&events).unwrap_or_default(),
        secret: r.get(3)?,
        enabled: r.get(4)?,
        created_ms: r.get(5)?,
    })
}

fn outbox_row(r: &Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get(0)?,
        webhook_id: r.get(1)?,
        session_key: r.get(2)?,
        event: r.get(3)?,
        data: r.get(4)?,
        created_ms: r.get(5)?,
        state: r.get(6)?,
        attempts: r.get(7)?,
        next_at_ms: r.get(8)?,
        last_status: r.get(9)?,
        last_error: r.get(10)?,
    })
}

const OUTBOX_COLUMNS: &str = "id, webhook_id, session_key, event, data, created_ms, state, attempts, next_at_ms, last_status, last_error";

/// Every subscription.
pub(crate) fn webhooks(conn: &Connection) -> Result<Vec<Webhook>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT id, url, events, secret, enabled, created_ms FROM webhooks ORDER BY id")?;
    let rows = stmt.query_map([], webhook)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn insert_events(conn: &Connection, events: &[NewEvent]) -> rusqlite::Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO outbox (webhook_id, session_key, event, data, created_ms, next_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?;
    for e in events {
        insert.execute(params![
            e.webhook_id,
            e.session_key,
            e.event,
            e.data,
            e.created_ms
        ])?;
    }
    Ok(())
}

/// Subscription changes, made on the engine's connection so that the
/// engine's in-memory list changes with them.
pub(crate) fn insert_webhook(conn: &Connection, w: &Webhook) -> Result<i64, StoreError> {
    conn.execute(
        "INSERT INTO webhooks (url, events, secret, enabled, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![w.url, serde_json::to_string(&w.events).unwrap_or_default(), w.secret, w.enabled, w.created_ms],
    )?;
    Ok(conn.last_insert_rowid())
}

pub(crate) fn update_webhook(conn: &Connection, w: &Webhook) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE webhooks SET url = ?2, events = ?3, enabled = ?4 WHERE id = ?1",
        params![
            w.id,
            w.url,
            serde_json::to_string(&w.events).unwrap_or_default(),
            w.enabled
        ],
    )?;
    Ok(())
}

pub(crate) fn delete_webhook(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let n = tx.execute("DELETE FROM webhooks WHERE id = ?1", [id])?;
    tx.execute("DELETE FROM outbox WHERE webhook_id = ?1", [id])?;
    tx.commit()?;
    Ok(n == 1)
}

/// The delivery worker's connection.
pub struct Outbox {
    conn: Connection,
}

impl Outbox {
    /// Opens the outbox of the journal at `path` (which the engine opened).
    ///
    /// Its writes (attempts, delivered marks) are not synced one by one: a
    /// crash may forget that an event was delivered, which only means one
    /// more delivery with the same idempotency key. The events themselves
    /// are written, synced, by the engine.
    pub fn open(path: &Path) -> Result<Outbox, StoreError> {
        let conn = Connection::open(path)?;
        conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Outbox { conn })
    }

    /// Every subscription (secrets included, for signing).
    pub fn webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        webhooks(&self.conn)
    }

    /// Events of subscription `webhook` due at `now_ms`, at most `limit`:
    /// only the oldest pending event of each session, so that a session's
    /// events arrive in order.
    pub fn due(&self, webhook: i64, now_ms: i64, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox o
             WHERE webhook_id = ?1 AND state = 'pending' AND next_at_ms <= ?2
               AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.webhook_id = o.webhook_id
                   AND p.session_key = o.session_key AND p.state = 'pending' AND p.id < o.id)
             ORDER BY id LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![webhook, now_ms, limit], outbox_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When subscription `webhook`'s next pending event is due, if any.
    pub fn next_due(&self, webhook: i64) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT min(next_at_ms) FROM outbox WHERE webhook_id = ?1 AND state = 'pending'",
                [webhook],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Records a batch of attempts, each delivered, to retry at a time, or
    /// dead, in one transaction.
    pub fn record(
        &mut self,
        attempts: &[(OutboxRow, Delivery, Outcome)],
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut update = tx.prepare_cached(
                "UPDATE outbox SET state = ?2, attempts = attempts + 1, next_at_ms = ?3, last_status = ?4, last_error = ?5 WHERE id = ?1",
            )?;
            let mut log = tx.prepare_cached(
                "INSERT INTO deliveries (outbox_id, webhook_id, event, at_ms, status, latency_ms, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (row, attempt, outcome) in attempts {
                let (state, next) = match outcome {
                    Outcome::Delivered => ("delivered", row.next_at_ms),
                    Outcome::Retry(at) => ("pending", *at),
                    Outcome::Dead => ("dead", row.next_at_ms),
                };
                update.execute(params![row.id, state, next, attempt.status, attempt.error])?;
                log.execute(params![
                    row.id,
                    row.webhook_id,
                    row.event,
                    attempt.at_ms,
                    attempt.status,
                    attempt.latency_ms,
                    attempt.error
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Keeps the outbox within `max` rows: delivered events go first (their
    /// work is done; the delivery log keeps their trace), then the oldest
    /// dead letters, which are counted. Pending events are never dropped.
    /// Returns how many dead letters were dropped.
    pub fn prune(&mut self, max: u64) -> Result<u64, StoreError> {
        let total: i64 = self
            .conn
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?;
        let mut over = total - i64::try_from(max).unwrap_or(i64::MAX);
        if over <= 0 {
            return Ok(0);
        }
        over -= self.conn.execute(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state = 'delivered' ORDER BY id LIMIT ?1)",
            [over],
        )? as i64;
        if over <= 0 {
            return Ok(0);
        }
        let dropped = self.conn.execute(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state = 'dead' ORDER BY id LIMIT ?1)",
            [over],
        )?;
        Ok(dropped as u64)
    }

    /// Events by state, for `/metrics`.
    pub fn counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT state, count(*) FROM outbox GROUP BY state ORDER BY state")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The delivery log of `webhook`, newest first.
    pub fn deliveries(&self, webhook: i64, limit: u32) -> Result<Vec<Delivery>, StoreError> {
        deliveries(&self.conn, webhook, limit)
    }
}

pub(crate) fn deliveries(
    conn: &Connection,
    webhook: i64,
    limit: u32,
) -> Result<Vec<Delivery>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT outbox_id, event, at_ms, status, latency_ms, error FROM deliveries
         WHERE webhook_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![webhook, limit], |r| {
        Ok(Delivery {
            outbox_id: r.get(0)?,
            event: r.get(1)?,
            at_ms: r.get(2)?,
            status: r.get(3)?,
            latency_ms: r.get(4)?,
            error: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Queues event `id` of `webhook` again (a dead letter, or one delivered).
pub(crate) fn redeliver(
    conn: &Connection,
    webhook: i64,
    id: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE outbox SET state = 'pending', attempts = 0, next_at_ms = ?3 WHERE id = ?2 AND webhook_id = ?1",
        params![webhook, id, now_ms],
    )? == 1)
}

/// What became of an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver took it (2xx).
    Delivered,
    /// Try again at this time (Unix ms).
    Retry(i64),
    /// Out of attempts: a dead letter.
    Dead,
}
