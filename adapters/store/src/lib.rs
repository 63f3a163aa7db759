//! # switchboard-store
//!
//! Every command the core accepts is appended here, with its time, before its
//! reply goes out; on start the center is rebuilt from the latest snapshot and
//! the records after it. Because the core's state is a pure function of its
//! `(time, command)` history, the journal is also a flight recorder: any
//! incident can be replayed exactly.
//!
//! One SQLite file in WAL mode with `synchronous=FULL`: a commit is durable
//! when [`Store::append`] returns, and one call carries a whole batch of
//! concurrent requests (group commit: one fsync for all of them).

mod chat;
mod directory;
mod outbox;
mod recordings;

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use switchboard_core::{Center, Command, Config, ConfigError, RestoreError, Snapshot, Timestamp};

pub use chat::{Canned, ChatWrites, Closure, MessageRow, Receipt};
pub use directory::{
    AccountRow, AuditEntry, AuditFilter, CredentialRow, Directory, DirectoryWrite, LinkRow, Written,
};
pub use outbox::{Delivery, NewEvent, Outbox, OutboxRow, Outcome, Webhook};
pub use recordings::RecordingRow;

/// Identifies a Switchboard journal among SQLite files.
const FORMAT: &str = "switchboard-journal";
/// Bumped when the schema or the record encoding changes incompatibly.
const VERSION: i64 = 1;
/// Snapshots kept; older ones are deleted (the journal itself is kept whole).
const SNAPSHOTS_KEPT: i64 = 2;

/// One journaled input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// A command the core accepted.
    Command(Command),
    /// The settings in force from here on (the first record, and every change).
    Config(Config),
    /// The center's timers fired up to this time (a cluster's leader
    /// writes one at the start of each entry, so that every node fires
    /// them at the same moment, commands or not).
    Tick,
}

/// One engine turn's durable writes: what the journal takes in one
/// transaction, and what a cluster's log carries as one entry (every node
/// applies it to its center and writes it to its own journal).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// The commands accepted (and settings changed), in order.
    pub records: Vec<(Timestamp, Record)>,
    /// The audit entries of the staff actions among them.
    pub audits: Vec<AuditEntry>,
    /// The webhook events they caused.
    pub events: Vec<NewEvent>,
    /// Chat messages, watermarks and closing notes.
    pub chat: ChatWrites,
    /// Accounts, credentials and links changed (a cluster's; a server
    /// alone writes them at once).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directory: Vec<DirectoryWrite>,
    /// The answers to requests that carried an idempotency key, kept so
    /// that a retry (on any node, after a failover too) gets the same
    /// answer rather than a second application.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answered: Vec<Answered>,
}

/// The answer to a request that carried an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answered {
    /// The key, scoped to the caller's credential and the request.
    pub key: String,
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: String,
    /// Unix milliseconds (kept a day).
    pub at_ms: i64,
}

/// How long an idempotency key's answer is kept.
pub const ANSWERED_KEPT_MS: i64 = 24 * 3600 * 1000;

impl Turn {
    /// Whether the turn writes nothing.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
            && self.audits.is_empty()
            && self.events.is_empty()
            && self.chat.is_empty()
            && self.directory.is_empty()
            && self.answered.is_empty()
    }
}

/// Why the store could not open, read or write.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file exists but is not a Switchboard journal (another program's
    /// database, or not a database at all). Nothing was changed in it.
    #[error("{path}: not a Switchboard database: {reason}")]
    Foreign {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        reason: String,
    },
    /// The file is a Switchboard journal that cannot be read back faithfully.
    #[error("{path}: corrupt journal: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        reason: String,
    },
    /// The settings cannot be applied to the recovered state.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// SQLite failed (disk full, I/O error, locked by another process...).
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// What recovery found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// Sequence number of the snapshot recovery started from, if any.
    pub snapshot_seq: Option<u64>,
    /// Records replayed after it.
    pub replayed: u64,
    /// Whether the file was created just now.
    pub created: bool,
}

/// The open journal. Owned by the one thread that owns the center.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    last_seq: u64,
    since_snapshot: u64,
    snapshot_every: u64,
}

impl Store {
    /// Opens the journal at `path` (creating it with `seed` if absent) and
    /// rebuilds the center from it. If `config` differs from the settings
    /// recorded last, it is applied and recorded. A snapshot is written every
    /// `snapshot_every` records (0: never).
    pub fn open(
        path: &Path,
        config: &Config,
        seed: u64,
        snapshot_every: u64,
    ) -> Result<(Store, Center, Recovery), StoreError> {
        check_header(path)?;
        let conn = Connection::open(path)?;
        let foreign = |reason: String| StoreError::Foreign {
            path: path.to_owned(),
            reason,
        };
        // A non-database file fails here, before anything is written.
        let integrity: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| foreign(e.to_string()))?;
        if integrity != "ok" {
            return Err(StoreError::Corrupt {
                path: path.to_owned(),
                reason: format!("sqlite quick_check: {integrity}"),
            });
        }
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(foreign(format!("cannot use WAL mode (got {mode})")));
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;")?;

        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type='table'",
            [],
            |r| r.get(0),
        )?;
        let created = tables == 0;
        if created {
            create_schema(&conn, config, seed)?;
        } else {
            check_format(&conn).map_err(foreign)?;
        }
        conn.execute_batch(directory::SCHEMA)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS answered (key TEXT PRIMARY KEY, status INTEGER NOT NULL, body TEXT NOT NULL, at_ms INTEGER NOT NULL);",
        )?;
        directory::upgrade(&conn)?;
        conn.execute_batch(outbox::SCHEMA)?;
        conn.execute_batch(chat::SCHEMA)?;
        conn.execute_batch(recordings::SCHEMA)?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
            last_seq: 0,
            since_snapshot: 0,
            snapshot_every,
        };
        let (mut center, recovery) = store.recover(created)?;
        if center.config() != config {
            center.reconfigure(config.clone())?;
            store.append(&[(center.now(), Record::Config(config.clone()))])?;
        }
        Ok((store, center, recovery))
    }

    /// Keeps a finished recording (replacing one of the same name).
    pub fn insert_recording(&mut self, r: &RecordingRow) -> Result<(), StoreError> {
        recordings::insert(&self.conn, r)
    }

    /// The finished recordings of `session`, by name.
    pub fn recordings(&self, session: &str) -> Result<Vec<RecordingRow>, StoreError> {
        recordings::of_session(&self.conn, session)
    }

    /// Recording `file` of `session`, if there is one.
    pub fn recording(&self, session: &str, file: &str) -> Result<Option<RecordingRow>, StoreError> {
        recordings::one(&self.conn, session, file)
    }

    /// Every webhook subscription.
    pub fn webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        outbox::webhooks(&self.conn)
    }

    /// Adds a subscription; returns its id.
    pub fn insert_webhook(&mut self, w: &Webhook) -> Result<i64, StoreError> {
        outbox::insert_webhook(&self.conn, w)
    }

    /// Changes a subscription's URL, events and enabled flag.
    pub fn update_webhook(&mut self, w: &Webhook) -> Result<(), StoreError> {
        outbox::update_webhook(&self.conn, w)
    }

    /// Removes a subscription and what it was still owed; false if absent.
    pub fn delete_webhook(&mut self, id: i64) -> Result<bool, StoreError> {
        outbox::delete_webhook(&self.conn, id)
    }

    /// The delivery log of subscription `webhook`, newest first.
    pub fn deliveries(&self, webhook: i64, limit: u32) -> Result<Vec<Delivery>, StoreError> {
        outbox::deliveries(&self.conn, webhook, limit)
    }

    /// Queues event `id` of subscription `webhook` again, due at `now_ms`.
    pub fn redeliver(&mut self, webhook: i64, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        outbox::redeliver(&self.conn, webhook, id, now_ms)
    }

    /// The file this store writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends records in one transaction: durable when this returns.
    pub fn append(&mut self, records: &[(Timestamp, Record)]) -> Result<(), StoreError> {
        self.append_with_audit(records, &[])
    }

    /// Appends records and the audit entries of the staff actions among them
    /// in one transaction: an action is audited if and only if its outcome
    /// is durable.
    pub fn append_with_audit(
        &mut self,
        records: &[(Timestamp, Record)],
        audits: &[AuditEntry],
    ) -> Result<(), StoreError> {
        self.append_all(records, audits, &[], &ChatWrites::default())
    }

    /// Appends a turn: its records, the audit entries of its staff actions
    /// and the webhook events it caused, in one transaction.
    pub fn append_all(
        &mut self,
        records: &[(Timestamp, Record)],
        audits: &[AuditEntry],
        events: &[NewEvent],
        chat: &ChatWrites,
    ) -> Result<(), StoreError> {
        if records.is_empty() && audits.is_empty() && events.is_empty() && chat.is_empty() {
            return Ok(());
        }
        let turn = Turn {
            records: records.to_vec(),
            audits: audits.to_vec(),
            events: events.to_vec(),
            chat: chat.clone(),
            ..Turn::default()
        };
        self.append_turn(&turn)
    }

    /// Writes a turn of a server alone, in one transaction.
    pub fn append_turn(&mut self, turn: &Turn) -> Result<(), StoreError> {
        if turn.is_empty() {
            return Ok(());
        }
        self.write(turn, None)?;
        Ok(())
    }

    /// The answers kept for idempotency keys, oldest first.
    pub fn answered(&self) -> Result<Vec<Answered>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, status, body, at_ms FROM answered ORDER BY at_ms")?;
        let rows = stmt.query_map([], |r| {
            Ok(Answered {
                key: r.get(0)?,
                status: r.get(1)?,
                body: r.get(2)?,
                at_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Writes `turn`, entry `seq` of a cluster's log, and notes `seq` as
    /// applied, in one transaction; an entry at or below the applied one
    /// is skipped (a replay after a restart writes nothing twice). What
    /// each of its directory changes did, in order.
    pub fn append_entry(&mut self, turn: &Turn, seq: u64) -> Result<Vec<Written>, StoreError> {
        if seq <= self.applied_log()? {
            return Ok(Vec::new());
        }
        self.write(turn, Some(seq))
    }

    /// Makes one directory change in a transaction of its own.
    pub fn write_directory(&mut self, change: &DirectoryWrite) -> Result<Written, StoreError> {
        let tx = self.conn.transaction()?;
        let written = directory::apply(&tx, change)?;
        tx.commit()?;
        Ok(written)
    }

    /// The last cluster log entry written here (0: none, or not a cluster).
    pub fn applied_log(&self) -> Result<u64, StoreError> {
        log_seq(&self.conn)
    }

    fn write(&mut self, turn: &Turn, log_seq: Option<u64>) -> Result<Vec<Written>, StoreError> {
        let Turn {
            records,
            audits,
            events,
            chat,
            directory,
            answered,
        } = turn;
        let tx = self.conn.transaction()?;
        let written = directory
            .iter()
            .map(|change| directory::apply(&tx, change))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(newest) = answered.iter().map(|a| a.at_ms).max() {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO answered (key, status, body, at_ms) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for a in answered {
                insert.execute(params![a.key, a.status, a.body, a.at_ms])?;
            }
            drop(insert);
            tx.execute(
                "DELETE FROM answered WHERE at_ms < ?1",
                params![newest - ANSWERED_KEPT_MS],
            )?;
        }
        if let Some(seq) = log_seq {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('log_seq', ?1)",
                params![seq.to_string()],
            )?;
        }
        chat::insert(&tx, chat)?;
        for entry in audits {
            directory::insert_audit(&tx, entry)?;
        }
        outbox::insert_events(&tx, events)?;
        {
            let mut insert =
                tx.prepare_cached("INSERT INTO journal (seq, at_ms, record) VALUES (?1, ?2, ?3)")?;
            for (i, (at, record)) in records.iter().enumerate() {
                let seq = self.last_seq + 1 + i as u64;
                insert.execute(params![seq as i64, at.as_millis() as i64, encode(record)?])?;
            }
        }
        tx.commit()?;
        self.last_seq += records.len() as u64;
        self.since_snapshot += records.len() as u64;
        Ok(written)
    }

    /// Writes a snapshot of `center` once at least `snapshot_every` records,
    /// and at least as many records as the state has entries, were appended
    /// since the last one: a snapshot costs O(state), so this keeps its cost
    /// O(1) per record while recovery replays at most about
    /// `max(snapshot_every, state size)` records. `center` must be the state
    /// after the last appended record. Returns whether it wrote one.
    pub fn maybe_snapshot(&mut self, center: &Center) -> Result<bool, StoreError> {
        let due = self.snapshot_every.max(center.footprint() as u64);
        if self.snapshot_every == 0 || self.since_snapshot < due {
            return Ok(false);
        }
        self.snapshot(center)?;
        Ok(true)
    }

    /// Writes a snapshot of `center` (the state after the last appended record).
    pub fn snapshot(&mut self, center: &Center) -> Result<(), StoreError> {
        let state = serde_json::to_string(&center.snapshot()).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            reason: format!("cannot encode snapshot: {e}"),
        })?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO snapshots (seq, at_ms, state) VALUES (?1, ?2, ?3)",
            params![self.last_seq as i64, center.now().as_millis() as i64, state],
        )?;
        tx.execute(
            "DELETE FROM snapshots WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?1)",
            params![SNAPSHOTS_KEPT],
        )?;
        tx.commit()?;
        self.since_snapshot = 0;
        tracing::debug!(seq = self.last_seq, "snapshot written");
        Ok(())
    }

    /// The state the journal at `path` holds, recovered exactly as the server
    /// recovers it (latest snapshot, then the records after it), without
    /// writing anything: what the live server had at its last record.
    pub fn load(path: &Path) -> Result<(Center, Recovery), StoreError> {
        let conn = open_read_only(path)?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
            last_seq: 0,
            since_snapshot: 0,
            snapshot_every: 0,
        };
        store.recover(false)
    }

    /// The last cluster log entry the journal at `path` holds (0: none, or
    /// no file), read without writing anything.
    pub fn applied_log_of(path: &Path) -> Result<u64, StoreError> {
        if !path.exists() {
            return Ok(0);
        }
        log_seq(&open_read_only(path)?)
    }

    /// A consistent copy of the journal at `path` (every table: a
    /// cluster's snapshot for a node that starts behind the trimmed log),
    /// written to `to`.
    pub fn copy(path: &Path, to: &Path) -> Result<(), StoreError> {
        let conn = open_read_only(path)?;
        conn.execute("VACUUM INTO ?1", [to.to_string_lossy()])?;
        Ok(())
    }

    /// Every record of the journal at `path` in order, for replay tools.
    pub fn read_records(path: &Path) -> Result<(u64, Vec<(Timestamp, Record)>), StoreError> {
        let conn = open_read_only(path)?;
        let seed = read_seed(&conn, path)?;
        let mut records = Vec::new();
        let mut stmt = conn.prepare("SELECT seq, at_ms, record FROM journal ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let record = decode(path, seq, &row.get::<_, String>(2)?)?;
            records.push((Timestamp::from_millis(row.get::<_, i64>(1)? as u64), record));
        }
        Ok((seed, records))
    }

    fn recover(&mut self, created: bool) -> Result<(Center, Recovery), StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            path: self.path.clone(),
            reason,
        };
        let seed = read_seed(&self.conn, &self.path)?;
        let snapshot: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT seq, state FROM snapshots ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (mut center, from) = match snapshot {
            Some((seq, state)) => {
                let snap: Snapshot = serde_json::from_str(&state)
                    .map_err(|e| corrupt(format!("snapshot {seq}: {e}")))?;
                let center = Center::restore(snap)
                    .map_err(|e: RestoreError| corrupt(format!("snapshot {seq}: {e}")))?;
                (Some(center), seq)
            }
            None => (None, 0),
        };
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at_ms, record FROM journal WHERE seq > ?1 ORDER BY seq")?;
        let mut rows = stmt.query(params![from])?;
        let mut replayed = 0u64;
        let mut expected = from + 1;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            if seq != expected {
                return Err(corrupt(format!(
                    "record {expected} is missing (found {seq})"
                )));
            }
            expected += 1;
            let at = Timestamp::from_millis(row.get::<_, i64>(1)? as u64);
            let record = decode(&self.path, seq, &row.get::<_, String>(2)?)?;
            apply_record(&mut center, seed, seq, at, record).map_err(corrupt)?;
            if let Some(c) = center.as_mut() {
                while c.poll_event().is_some() {}
            }
            replayed += 1;
        }
        drop(rows);
        drop(stmt);
        let center = center.ok_or_else(|| corrupt("no settings recorded".to_owned()))?;
        self.last_seq = (expected - 1) as u64;
        self.since_snapshot = replayed;
        if !created {
            tracing::info!(snapshot_seq = from, replayed, "journal recovered");
        }
        Ok((
            center,
            Recovery {
                snapshot_seq: (from > 0).then_some(from as u64),
                replayed,
                created,
            },
        ))
    }
}

/// The cluster log entry last written to the journal on `conn` (0: none).
fn log_seq(conn: &Connection) -> Result<u64, StoreError> {
    let seq: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'log_seq'", [], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(seq.and_then(|s| s.parse().ok()).unwrap_or(0))
}

/// Opens an existing journal for reading only, refusing anything else.
fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    check_header(path)?;
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    check_format(&conn).map_err(|reason| StoreError::Foreign {
        path: path.to_owned(),
        reason,
    })?;
    Ok(conn)
}

/// Feeds one journaled record to the center being rebuilt (the first
/// settings record creates it). Events are left for the caller. The error
/// says why the record cannot be replayed: the journal is corrupt.
pub fn apply_record(
    center: &mut Option<Center>,
    seed: u64,
    seq: i64,
    at: Timestamp,
    record: Record,
) -> Result<(), String> {
    match (record, center.as_mut()) {
        (Record::Config(config), None) => {
            *center = Some(Center::new(config, seed).map_err(|e| format!("record {seq}: {e}"))?);
            Ok(())
        }
        (record, Some(c)) => apply_to(c, at, record).map_err(|e| format!("record {seq}: {e}")),
        (_, None) => Err(format!("record {seq}: a record before any settings")),
    }
}

/// Feeds one record to a running center: what replay and a cluster's
/// followers do with each record. The error says why it cannot apply.
pub fn apply_to(center: &mut Center, at: Timestamp, record: Record) -> Result<(), String> {
    match record {
        Record::Config(config) => {
            center.handle_timeout(at);
            center.reconfigure(config).map_err(|e| e.to_string())
        }
        Record::Command(cmd) => center
            .apply(at, cmd)
            .map(|_| ())
            .map_err(|e| format!("accepted, but replays as refused: {e}")),
        Record::Tick => {
            center.handle_timeout(at);
            Ok(())
        }
    }
}

/// Refuses, before SQLite touches it, a non-empty file that is not SQLite.
fn check_header(path: &Path) -> Result<(), StoreError> {
    use std::io::Read;
    let mut header = [0u8; 16];
    let read = match std::fs::File::open(path) {
        Ok(mut f) => f.read(&mut header).unwrap_or(0),
        Err(_) => return Ok(()), // absent: it will be created
    };
    if read > 0 && header[..read.min(16)] != b"SQLite format 3\0"[..read.min(16)] {
        return Err(StoreError::Foreign {
            path: path.to_owned(),
            reason: "not an SQLite file".to_owned(),
        });
    }
    Ok(())
}

fn create_schema(conn: &Connection, config: &Config, seed: u64) -> Result<(), StoreError> {
    let tx = Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE journal (seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, record TEXT NOT NULL);
         CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, state TEXT NOT NULL);",
    )?;
    let meta = [
        ("format", FORMAT.to_owned()),
        ("version", VERSION.to_string()),
        ("seed", seed.to_string()),
    ];
    for (k, v) in meta {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)",
            params![k, v],
        )?;
    }
    tx.execute(
        "INSERT INTO journal (seq, at_ms, record) VALUES (1, 0, ?1)",
        params![encode(&Record::Config(config.clone()))?],
    )?;
    tx.commit()?;
    Ok(())
}

fn check_format(conn: &Connection) -> Result<(), String> {
    let meta = |key: &str| -> Result<Option<String>, String> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| format!("no Switchboard metadata ({e})"))
    };
    match meta("format")? {
        Some(f) if f == FORMAT => {}
        other => return Err(format!("format is {other:?}, not {FORMAT:?}")),
    }
    match meta("version")?.and_then(|v| v.parse::<i64>().ok()) {
        Some(VERSION) => Ok(()),
        other => Err(format!("journal version {other:?} is not {VERSION}")),
    }
}

fn read_seed(conn: &Connection, path: &Path) -> Result<u64, StoreError> {
    let seed: String = conn.query_row("SELECT value FROM meta WHERE key = 'seed'", [], |r| {
        r.get(0)
    })?;
    seed.parse().map_err(|_| StoreError::Corrupt {
        path: path.to_owned(),
        reason: format!("seed {seed:?} is not a number"),
    })
}

fn encode(record: &Record) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(|e| StoreError::Corrupt {
        path: PathBuf::new(),
        reason: format!("cannot encode record: {e}"),
    })
}

fn decode(path: &Path, seq: i64, text: &str) -> Result<Record, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        path: path.to_owned(),
        reason: format!("record {seq} cannot be read: {e}"),
    })
}
