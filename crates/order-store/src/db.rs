//! The `default` SQLite database: parameterised statements and a `BEGIN IMMEDIATE`
//! transaction, the one wrapper every order writer uses.

use std::sync::atomic::{AtomicBool, Ordering};

use guest::sqlite::PooledConnection;
use spin_sdk::sqlite::{RowResult, Value};

/// Cleared in this instance once the backend refused [`Db::checkpoint`] (a remote libSQL
/// server manages its own log), which is then not asked again.
static CHECKPOINT_SUPPORTED: AtomicBool = AtomicBool::new(true);

pub use order_app::ports::StoreError;

/// A `spin:sqlite` error as a typed [`StoreError`]. `spin:sqlite` reports lock and constraint
/// failures only as `io` text (Spin's `sqlite-inproc` and `sqlite-libsql` pass the driver's
/// message), so this is the one place that text is read.
pub fn store_error(error: spin_sdk::sqlite::Error) -> StoreError {
    classify(format!("sqlite: {error:?}"))
}

/// Whether a failed combined insert was refused by one of its rows (a constraint, or a write
/// trigger's `RAISE`: the messages of [`crate::orders`] start with `order-store: `), so that
/// nothing was written and its rows are worth inserting one by one.
fn refused_by_a_row(error: &spin_sdk::sqlite::Error) -> bool {
    let text = format!("sqlite: {error:?}");
    text.contains("order-store: ") || matches!(classify(text), StoreError::Constraint(_))
}

/// The [`StoreError`] a driver message stands for: [`StoreError::Busy`] for a database locked
/// past the busy timeout and for the libSQL client's [transient errors](LIBSQL_TRANSIENT_ERRORS),
/// [`StoreError::Constraint`] for a refused constraint, else [`StoreError::Failed`]. Also for
/// text another component passed on (the event emitter's `events-error.storage`).
pub fn classify(text: String) -> StoreError {
    let lower = text.to_ascii_lowercase();
    if lower.contains("database is locked")
        || lower.contains("database is busy")
        || LIBSQL_TRANSIENT_ERRORS.iter().any(|e| lower.contains(e))
    {
        StoreError::Busy(text)
    } else if lower.contains("constraint failed") {
        StoreError::Constraint(text)
    } else {
        StoreError::Failed(text)
    }
}

/// What the libSQL remote client (Hrana over HTTP) says when the server is down, restarting or
/// gone mid-request, or (sqld) rolled back a write transaction held past its 5 s timeout so
/// another could run, interrupted a statement (`SQLITE_INTERRUPT`: aborted, nothing of it
/// kept), or dropped a stream left idle past its expiry; lowercased. Nothing was
/// committed, or the statement's outcome died with the connection and the caller's recorded
/// saga step decides what happens next: the caller may retry.
const LIBSQL_TRANSIENT_ERRORS: &[&str] = &[
    "error trying to connect",
    "connection refused",
    "connection reset",
    "connection closed",
    "broken pipe",
    "error reading a body from connection",
    "transaction timed out",
    "stream has expired",
    "sqlite_interrupt",
];

/// The `default` database. Opening it runs no migrations ([`crate::schema::ensure`] does).
pub struct Db {
    /// The connections this instance's requests share, taking turns
    /// (`guest::sqlite::PooledConnection`), with the app's `synchronous` setting given before a
    /// connection's first write.
    connection: PooledConnection,
}

impl Db {
    /// Opens the `default` database: a handle on the connections this instance's requests
    /// share (one is opened now unless the instance has one).
    pub async fn open_default() -> Result<Self, StoreError> {
        Ok(Self {
            connection: PooledConnection::open_default()
                .await
                .map_err(store_error)?,
        })
    }

    /// Switches the database to write-ahead logging (`guest::sqlite::PooledConnection::use_wal`); outside a
    /// transaction.
    pub async fn use_wal(&self) {
        self.connection.use_wal().await;
    }

    /// Runs one parameterised statement and collects its rows. A failure closes the
    /// connection it ran on (the next statement gets another).
    pub async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<RowResult>, StoreError> {
        self.connection
            .query(sql, params)
            .await
            .map_err(store_error)
    }

    /// Runs one parameterised statement that writes (or begins or ends a transaction) and
    /// whose changed-row count nobody needs. The connection gets the app's `synchronous`
    /// setting before its first write (`guest::sqlite`).
    pub async fn exec(&self, sql: &str, params: Vec<Value>) -> Result<(), StoreError> {
        self.connection.before_write();
        self.query(sql, params).await.map(drop)
    }

    /// Inserts one row (`head` is `INSERT INTO name (column, …)`, one value per column),
    /// combined with the rows this instance's other requests insert with the same `head` at
    /// the same time into one statement and one commit (`guest::sqlite`'s
    /// `PooledConnection::insert_combined`: group commit); returns once this row's statement
    /// has committed, with this row's own outcome.
    pub async fn insert_combined(
        &self,
        head: &'static str,
        row: Vec<Value>,
    ) -> Result<(), StoreError> {
        self.connection
            .insert_combined(head, row, refused_by_a_row)
            .await
            .map_err(store_error)
    }

    /// Runs one parameterised statement with a `RETURNING` clause; whether it returned a row,
    /// i.e. whether a conditional write (`… WHERE version = ? RETURNING …`, an upsert with a
    /// `WHERE`) applied. One host call, and right on libSQL, where `spin:sqlite`'s
    /// `changes()` always answers 0 (the `libsql` client's query path never updates it).
    pub async fn exec_returning(&self, sql: &str, params: Vec<Value>) -> Result<bool, StoreError> {
        self.connection.before_write();
        Ok(!self.query(sql, params).await?.is_empty())
    }

    /// Runs `work` inside `BEGIN IMMEDIATE … COMMIT` (write lock taken up front, so concurrent
    /// writers queue instead of failing on upgrade); rolls back if it fails. The transaction
    /// holds one of the instance's turns on the database (`guest::sqlite`) until it ends, so
    /// `work` runs SQL on `self` only: no outbound call, and no other handle (which would wait
    /// for a turn while this one holds its own).
    pub async fn transaction<T, E: From<StoreError>>(
        &self,
        work: impl AsyncFnOnce(&Self) -> Result<T, E>,
    ) -> Result<T, E> {
        self.exec("BEGIN IMMEDIATE", vec![]).await?;
        let outcome = match work(self).await {
            Ok(value) => match self.exec("COMMIT", vec![]).await {
                Ok(()) => Ok(value),
                Err(error) => {
                    let _ = self.exec("ROLLBACK", vec![]).await;
                    Err(error.into())
                }
            },
            Err(error) => {
                let _ = self.exec("ROLLBACK", vec![]).await;
                Err(error)
            }
        };
        // A transaction left open (its ROLLBACK failed too) keeps its connection until this
        // handle drops, which closes it (`PooledConnection` reads BEGIN / COMMIT / ROLLBACK).
        outcome
    }

    /// Copies the write-ahead log back into the database file as far as no reader still
    /// needs it (`PRAGMA wal_checkpoint(PASSIVE)`: it waits for no reader or writer). Meant
    /// for post-return work: otherwise the commit that takes the log past
    /// `wal_autocheckpoint` pages (`guest::sqlite`: 4,000) copies it inside a request's
    /// statement, a latency spike for that request (issue 10: one-connection p99 10 → 19 ms
    /// with the copy in the request, 7–9 ms with it after the response). Best effort and
    /// silent: a backend that refuses it (a remote libSQL server answers "unsupported
    /// statement") is not asked again in this instance; a busy one is asked after a later pass.
    pub async fn checkpoint(&self) {
        if !CHECKPOINT_SUPPORTED.load(Ordering::Relaxed) {
            return;
        }
        // Busy (a lock, a libSQL server unreachable for a moment) is tried again after the
        // next pass; any other failure is the backend refusing the statement.
        if let Err(error) = self.query("PRAGMA wal_checkpoint(PASSIVE)", vec![]).await
            && !matches!(error, StoreError::Busy(_))
        {
            CHECKPOINT_SUPPORTED.store(false, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{StoreError, classify};

    fn busy(text: &str) -> bool {
        matches!(classify(text.to_owned()), StoreError::Busy(_))
    }

    #[test]
    fn a_locked_database_and_an_unreachable_libsql_server_are_busy_other_failures_are_not() {
        assert!(busy("sqlite: Error::Io(\"database is locked\")"));
        // As the libSQL client reports a server that is down, and one killed mid-response.
        assert!(busy(
            "sqlite: Error::Io(\"Hrana: `http error: `error trying to connect: tcp connect error: Connection refused (os error 111)``\")"
        ));
        assert!(busy(
            "sqlite: Error::Io(\"Hrana: `cursor error: `error reading a body from connection: unexpected EOF during chunk size line``\")"
        ));
        assert!(busy(
            "sqlite: Error::Io(\"Hrana: `stream error: `Transaction timed out``\")"
        ));
        // As order-host logged them under load with three nodes on one sqld.
        assert!(busy(
            r#"sqlite: Error::Io("Hrana: `api error: `{\"message\":\"The stream has expired due to inactivity\",\"code\":\"STREAM_EXPIRED\"}``")"#
        ));
        // As sqld answered a create on one of three nodes (tests/scale_out, session 6).
        assert!(busy(
            "sqlite: Error::Io(\"Hrana: `cursor error: `error at step 0: (error code: SQLITE_INTERRUPT) `SQLite error: interrupted```\")"
        ));
        assert!(!busy("sqlite: Error::Io(\"no such table: orders\")"));
        assert!(matches!(
            classify("sqlite: Error::Io(\"UNIQUE constraint failed: orders.id\")".into()),
            StoreError::Constraint(_)
        ));
    }
}
