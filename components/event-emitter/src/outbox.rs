//! The app's outbox table (`outbox_table`, default `outbox`; schema: `events::outbox_schema`)
//! and every statement the relay runs on it.
//!
//! The emitter never creates the table: the app that writes rows into it owns its schema and
//! applies it with its own migrations (the order service in `order-store`'s migration list,
//! the returns example before each use). A missing table is an `events-error.storage` that
//! says so.
//! Times are INTEGER Unix epoch milliseconds so "due" is a plain comparison.

use crate::bindings::exports::shop::events::events::{
    EventStatus, EventsError, OutboxEntry, OutboxStats,
};
use guest::sqlite::PooledConnection;
use spin_sdk::sqlite::{RowResult, Value};

thread_local! {
    /// Whether this instance has asked for write-ahead logging (`guest::sqlite::PooledConnection::use_wal`):
    /// once per instance, as the mode is stored in the database file.
    static WAL_ASKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A pending row that is due for delivery.
pub(crate) struct DueEvent {
    pub(crate) event_id: String,
    pub(crate) event_type: String,
    /// The full CloudEvent JSON, published as-is.
    pub(crate) payload: String,
    pub(crate) attempts: u32,
}

/// The outbox table (`outbox_table`, checked) in the `default` database.
pub(crate) struct Outbox {
    /// The connections this instance's requests share, taking turns (`guest::sqlite`), with
    /// the app's `synchronous` setting given before a connection's first write.
    db: PooledConnection,
    table: std::rc::Rc<str>,
}

impl Outbox {
    /// Opens the `default` database (the app's outbox table must exist: see the module docs).
    pub(crate) async fn open() -> Result<Self, EventsError> {
        let table = crate::config::outbox_table().await?;
        let db = PooledConnection::open_default()
            .await
            .map_err(|error| storage(&table, error))?;
        let outbox = Self { db, table };
        if !WAL_ASKED.replace(true) {
            outbox.db.use_wal().await;
        }
        Ok(outbox)
    }

    /// Up to `max` pending rows due at `now`, oldest first.
    pub(crate) async fn due(&self, now: i64, max: u32) -> Result<Vec<DueEvent>, EventsError> {
        let rows = self
            .query(
                "SELECT event_id, event_type, payload, attempts FROM {outbox}
                 WHERE status = 'pending' AND next_attempt_at <= ?
                 ORDER BY created_at, event_id LIMIT ?",
                vec![Value::Integer(now), Value::Integer(i64::from(max))],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| DueEvent {
                event_id: text(row, 0),
                event_type: text(row, 1),
                payload: text(row, 2),
                attempts: row.get::<u32>(3).unwrap_or_default(),
            })
            .collect())
    }

    /// Takes every due row of `event_ids` for this relay pass in one statement (one write
    /// transaction), pushing their next attempt to `lease_until`; returns the ids taken (rows
    /// another pass took first, or that are no longer due, are left out). Parameterised: one
    /// `?` per id.
    pub(crate) async fn claim_all(
        &self,
        event_ids: &[String],
        now: i64,
        lease_until: i64,
    ) -> Result<Vec<String>, EventsError> {
        if event_ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = vec!["?"; event_ids.len()].join(", ");
        let sql = format!(
            "UPDATE {{outbox}} SET next_attempt_at = ?
             WHERE status = 'pending' AND next_attempt_at <= ? AND event_id IN ({placeholders})
             RETURNING event_id"
        );
        let mut params = vec![Value::Integer(lease_until), Value::Integer(now)];
        params.extend(event_ids.iter().map(|id| Value::Text(id.clone())));
        let rows = self.write(&sql, params).await?;
        Ok(rows
            .iter()
            .filter_map(|row| row.get::<&str>(0).map(str::to_owned))
            .collect())
    }

    /// Records deliveries Redis accepted without a note, in one statement: each row's
    /// attempts go up by one (a claim leaves them as they were).
    pub(crate) async fn mark_all_delivered(
        &self,
        event_ids: &[String],
        now: i64,
    ) -> Result<(), EventsError> {
        if event_ids.is_empty() {
            return Ok(());
        }
        let placeholders = vec!["?"; event_ids.len()].join(", ");
        let sql = format!(
            "UPDATE {{outbox}} SET status = 'delivered', attempts = attempts + 1, delivered_at = ?,
             last_error = NULL WHERE event_id IN ({placeholders})"
        );
        let mut params = vec![Value::Integer(now)];
        params.extend(event_ids.iter().map(|id| Value::Text(id.clone())));
        self.write(&sql, params).await.map(drop)
    }

    /// Records a delivery Redis accepted; `note` keeps what went wrong on the way (a failed
    /// PUBLISH after a stored XADD) for operators.
    pub(crate) async fn mark_delivered(
        &self,
        event_id: &str,
        attempts: u32,
        now: i64,
        note: Option<&str>,
    ) -> Result<(), EventsError> {
        self.write(
            "UPDATE {outbox} SET status = 'delivered', attempts = ?, delivered_at = ?,
             last_error = ? WHERE event_id = ?",
            vec![
                Value::Integer(i64::from(attempts)),
                Value::Integer(now),
                note.map_or(Value::Null, |note| Value::Text(note.to_owned())),
                Value::Text(event_id.to_owned()),
            ],
        )
        .await
        .map(drop)
    }

    /// Records a failed attempt: due again at `retry_at`, or dead-lettered when `None`.
    pub(crate) async fn mark_failed(
        &self,
        event_id: &str,
        attempts: u32,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<(), EventsError> {
        let (status, next_attempt_at) = match retry_at {
            Some(at) => ("pending", Value::Integer(at)),
            // A dead row keeps its last due time; replay sets a new one.
            None => ("dead", Value::Null),
        };
        self.write(
            "UPDATE {outbox} SET status = ?, attempts = ?, last_error = ?,
             next_attempt_at = COALESCE(?, next_attempt_at) WHERE event_id = ?",
            vec![
                Value::Text(status.to_owned()),
                Value::Integer(i64::from(attempts)),
                Value::Text(error.to_owned()),
                next_attempt_at,
                Value::Text(event_id.to_owned()),
            ],
        )
        .await
        .map(drop)
    }

    /// Counts rows by status, and finds the oldest pending one.
    pub(crate) async fn stats(&self) -> Result<OutboxStats, EventsError> {
        let rows = self
            .query(
                "SELECT status, COUNT(*), MIN(created_at) FROM {outbox} GROUP BY status",
                vec![],
            )
            .await?;
        let mut stats = OutboxStats {
            pending: 0,
            dead: 0,
            delivered: 0,
            oldest_pending_at_ms: None,
        };
        for row in &rows {
            let count = row.get::<u64>(1).unwrap_or_default();
            match row.get::<&str>(0) {
                Some("pending") => {
                    stats.pending = count;
                    stats.oldest_pending_at_ms = row.get::<i64>(2);
                }
                Some("delivered") => stats.delivered = count,
                Some("dead") => stats.dead = count,
                _ => {}
            }
        }
        Ok(stats)
    }

    /// Makes a row pending again, due `now`, with attempts and error cleared.
    pub(crate) async fn replay(&self, event_id: &str, now: i64) -> Result<(), EventsError> {
        // `RETURNING`, not `changes()`: on Spin with libSQL that call answers 0.
        let replayed = self
            .write(
                "UPDATE {outbox} SET status = 'pending', attempts = 0, next_attempt_at = ?,
                 last_error = NULL, delivered_at = NULL WHERE event_id = ? RETURNING event_id",
                vec![Value::Integer(now), Value::Text(event_id.to_owned())],
            )
            .await?;
        if replayed.is_empty() {
            Err(EventsError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Rows in `status`, oldest first, at most `limit`.
    pub(crate) async fn list(
        &self,
        status: EventStatus,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, EventsError> {
        let rows = self
            .query(
                "SELECT event_id, aggregate_id, event_type, attempts, next_attempt_at,
                        last_error, created_at, delivered_at
                 FROM {outbox} WHERE status = ? ORDER BY created_at, event_id LIMIT ?",
                vec![
                    Value::Text(status_name(status).to_owned()),
                    Value::Integer(i64::from(limit)),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| OutboxEntry {
                event_id: text(row, 0),
                aggregate_id: text(row, 1),
                event_type: text(row, 2),
                status,
                attempts: row.get::<u32>(3).unwrap_or_default(),
                next_attempt_at_ms: row.get::<i64>(4).unwrap_or_default(),
                last_error: row.get::<&str>(5).map(str::to_owned),
                created_at_ms: row.get::<i64>(6).unwrap_or_default(),
                delivered_at_ms: row.get::<i64>(7),
            })
            .collect())
    }

    /// [`query`](Self::query) for a statement that writes: the connection gets the app's
    /// `synchronous` setting first (`guest::sqlite`).
    async fn write(&self, sql: &str, params: Vec<Value>) -> Result<Vec<RowResult>, EventsError> {
        self.db.before_write();
        self.query(sql, params).await
    }

    /// Runs one parameterised statement on the outbox table (`{outbox}` in `sql` names it;
    /// the name was checked by `events::check_table_name`) and collects its rows.
    async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<RowResult>, EventsError> {
        let sql = sql.replace("{outbox}", &self.table);
        self.db
            .query(&sql, params)
            .await
            .map_err(|error| storage(&self.table, error))
    }
}

/// The stored name of a status.
fn status_name(status: EventStatus) -> &'static str {
    match status {
        EventStatus::Pending => "pending",
        EventStatus::Delivered => "delivered",
        EventStatus::Dead => "dead",
    }
}

/// A TEXT column; NULL (impossible for NOT NULL columns) reads as empty.
fn text(row: &RowResult, index: usize) -> String {
    row.get::<&str>(index).unwrap_or_default().to_owned()
}

/// An `events-error.storage` for a failed statement on `table`; a missing table is named as
/// the app's to create, since the emitter never runs DDL.
fn storage(table: &str, error: spin_sdk::sqlite::Error) -> EventsError {
    let text = format!("{error:?}");
    if text.contains(&format!("no such table: {table}")) {
        return EventsError::Storage(format!(
            "the outbox table {table:?} does not exist: the app creates it with its migrations \
             (schema: events::outbox_schema) before it calls the emitter"
        ));
    }
    EventsError::Storage(text)
}
