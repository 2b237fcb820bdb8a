//! The `payment_inbox` table: one row per distinct notification, the dedupe key of
//! exactly-once application and the record of what became of each message.

use order_store::{Db, StoreError};
use sha2::{Digest, Sha256};
use spin_sdk::sqlite::Value;
use std::fmt::Write as _;

/// A storage failure: returned to the trigger, which logs it (the message is not lost
/// for good: reconciliation in order-api resolves `payment_pending` orders anyway).
type DbResult<T> = Result<T, StoreError>;

/// Inserts the row of a well-formed notification as `received`; `false` when a row with
/// this id exists (a redelivery: nothing else may happen).
pub(crate) async fn claim(
    db: &Db,
    event_id: &str,
    event_type: &str,
    message: &[u8],
    received_at: i64,
) -> DbResult<bool> {
    db.exec_returning(
        "INSERT OR IGNORE INTO payment_inbox
             (event_id, event_type, payload, status, error, received_at)
         VALUES (?, ?, ?, 'received', NULL, ?) RETURNING event_id",
        vec![
            Value::Text(event_id.to_owned()),
            Value::Text(event_type.to_owned()),
            Value::Text(String::from_utf8_lossy(message).into_owned()),
            Value::Integer(received_at),
        ],
    )
    .await
}

/// Records what became of a claimed notification.
pub(crate) async fn settle(
    db: &Db,
    event_id: &str,
    status: &str,
    note: Option<String>,
) -> DbResult<()> {
    db.exec(
        "UPDATE payment_inbox SET status = ?, error = ? WHERE event_id = ?",
        vec![
            Value::Text(status.to_owned()),
            note.into(),
            Value::Text(event_id.to_owned()),
        ],
    )
    .await
    .map(drop)
}

/// Stores a message that is not a valid notification, keyed by the SHA-256 of its body
/// so a repeat of the same bytes is stored once.
pub(crate) async fn record_malformed(
    db: &Db,
    message: &[u8],
    reason: String,
    received_at: i64,
) -> DbResult<()> {
    let digest = Sha256::digest(message);
    let mut event_id = String::from("malformed:");
    for byte in digest {
        // Writing to a String cannot fail.
        let _ = write!(event_id, "{byte:02x}");
    }
    db.exec(
        "INSERT OR IGNORE INTO payment_inbox
             (event_id, event_type, payload, status, error, received_at)
         VALUES (?, NULL, ?, 'malformed', ?, ?)",
        vec![
            Value::Text(event_id),
            Value::Text(String::from_utf8_lossy(message).into_owned()),
            Value::Text(reason),
            Value::Integer(received_at),
        ],
    )
    .await
    .map(drop)
}
