//! The finished recordings of each call: the one place a recording's file
//! is found. Downloads look a file up here by session and name; no request
//! text is ever joined onto the recording directory.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::StoreError;

/// Created on every open (journals made before recordings gain the table).
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS recordings (
    session_id TEXT NOT NULL,
    file TEXT NOT NULL,
    path TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (session_id, file)
);
";

/// One finished recording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordingRow {
    /// The call.
    pub session_id: String,
    /// Its name among the call's recordings (what the download URL names).
    pub file: String,
    /// Where the media plane wrote it.
    #[serde(skip)]
    pub path: String,
    /// Size in bytes.
    pub bytes: i64,
    /// Media time covered, ms.
    pub duration_ms: i64,
    /// When it was finished, Unix ms.
    pub at_ms: i64,
}

const COLUMNS: &str = "session_id, file, path, bytes, duration_ms, at_ms";

fn row(r: &Row<'_>) -> rusqlite::Result<RecordingRow> {
    Ok(RecordingRow {
        session_id: r.get(0)?,
        file: r.get(1)?,
        path: r.get(2)?,
        bytes: r.get(3)?,
        duration_ms: r.get(4)?,
        at_ms: r.get(5)?,
    })
}

pub(crate) fn insert(conn: &Connection, r: &RecordingRow) -> Result<(), StoreError> {
    conn.execute(
        &format!("INSERT OR REPLACE INTO recordings ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        params![
            r.session_id,
            r.file,
            r.path,
            r.bytes,
            r.duration_ms,
            r.at_ms
        ],
    )?;
    Ok(())
}

pub(crate) fn of_session(
    conn: &Connection,
    session: &str,
) -> Result<Vec<RecordingRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM recordings WHERE session_id = ?1 ORDER BY file"
    ))?;
    let rows = stmt.query_map([session], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn one(
    conn: &Connection,
    session: &str,
    file: &str,
) -> Result<Option<RecordingRow>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM recordings WHERE session_id = ?1 AND file = ?2"),
            [session, file],
            row,
        )
        .optional()?)
}
