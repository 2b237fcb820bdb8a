//! The `payment_inbox` table: one row per distinct notification.

use sha2::{Digest, Sha256};
use spin_sdk::sqlite::{Connection, Value};
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// `received_at` is Unix epoch milliseconds. `status` is `received` (waiting to be
/// applied) or `malformed` (kept for operators, never applied).
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS payment_inbox (
    event_id    TEXT PRIMARY KEY,
    event_type  TEXT,
    payload     TEXT NOT NULL,
    status      TEXT NOT NULL,
    error       TEXT,
    received_at INTEGER NOT NULL
)";

/// One row to record.
pub(crate) struct Entry {
    event_id: String,
    event_type: Option<String>,
    payload: String,
    status: &'static str,
    error: Option<String>,
    received_at: i64,
}

impl Entry {
    /// A well-formed notification, keyed by its CloudEvent id.
    pub(crate) fn received(
        event_id: String,
        event_type: String,
        message: &[u8],
        received_at: i64,
    ) -> Self {
        Self {
            event_id,
            event_type: Some(event_type),
            payload: String::from_utf8_lossy(message).into_owned(),
            status: "received",
            error: None,
            received_at,
        }
    }

    /// A message that is not a valid notification, keyed by the SHA-256 of its body so a
    /// repeat of the same bytes is stored once.
    pub(crate) fn malformed(message: &[u8], reason: String, received_at: i64) -> Self {
        let digest = Sha256::digest(message);
        let mut event_id = String::from("malformed:");
        for byte in digest {
            // Writing to a String cannot fail.
            let _ = write!(event_id, "{byte:02x}");
        }
        Self {
            event_id,
            event_type: None,
            payload: String::from_utf8_lossy(message).into_owned(),
            status: "malformed",
            error: Some(reason),
            received_at,
        }
    }
}

/// Stores the entry unless a row with its id exists (redelivery is a no-op).
pub(crate) async fn record(entry: &Entry) -> anyhow::Result<()> {
    let db = Connection::open_default()
        .await
        .map_err(|error| anyhow::anyhow!("open sqlite `default`: {error:?}"))?;
    run(&db, SCHEMA, vec![]).await?;
    run(
        &db,
        "INSERT OR IGNORE INTO payment_inbox
             (event_id, event_type, payload, status, error, received_at)
         VALUES (?, ?, ?, ?, ?, ?)",
        vec![
            Value::Text(entry.event_id.clone()),
            entry.event_type.clone().into(),
            Value::Text(entry.payload.clone()),
            Value::Text(entry.status.to_owned()),
            entry.error.clone().into(),
            Value::Integer(entry.received_at),
        ],
    )
    .await
}

async fn run(db: &Connection, sql: &str, params: Vec<Value>) -> anyhow::Result<()> {
    db.execute(sql, params)
        .await
        .map_err(|error| anyhow::anyhow!("sqlite: {error:?}"))?
        .collect()
        .await
        .map_err(|error| anyhow::anyhow!("sqlite: {error:?}"))?;
    Ok(())
}

/// Milliseconds since the Unix epoch; 0 if the clock is before 1970.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}
