//! The `default` SQLite database: parameterised statements and a `BEGIN IMMEDIATE`
//! transaction, the one wrapper every order writer uses.

use spin_sdk::sqlite::{Connection, RowResult, Value};

/// Why a storage operation failed. order-api turns it into a problem at its HTTP edge (409
/// for [`Conflict`](Self::Conflict), 503 when [busy](Self::is_busy), else 500 without the
/// text, which only its log line carries); payment-listener returns it to the trigger.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Optimistic concurrency: the order's `version` moved since this writer read it, so
    /// another writer changed it first and this write was not applied (issue 16).
    #[error("order `{order_id}` changed since it was read")]
    Conflict {
        /// The order that changed.
        order_id: String,
    },
    /// The database failed; the text is the driver's (for logs only).
    #[error("{0}")]
    Failed(String),
}

impl StoreError {
    /// The database stayed locked past the host's busy timeout, or (libSQL) its server could
    /// not be reached or dropped the connection: a transient condition the caller should
    /// retry, not a failure. (`spin:sqlite` reports both only as text: SQLite's message, or
    /// the libSQL client's transport error inside an `io` error.)
    pub fn is_busy(&self) -> bool {
        let Self::Failed(text) = self else {
            return false;
        };
        let text = text.to_ascii_lowercase();
        text.contains("database is locked")
            || text.contains("database is busy")
            || LIBSQL_TRANSIENT_ERRORS.iter().any(|e| text.contains(e))
    }
}

/// What the libSQL remote client (Hrana over HTTP) says when the server is down, restarting or
/// gone mid-request, or (sqld) rolled back a write transaction held past its 5 s timeout so
/// another could run, or dropped a stream left idle past its expiry; lowercased. Nothing was committed, or the statement's outcome died with
/// the connection and the caller's recorded saga step decides what happens next.
const LIBSQL_TRANSIENT_ERRORS: &[&str] = &[
    "error trying to connect",
    "connection refused",
    "connection reset",
    "connection closed",
    "broken pipe",
    "error reading a body from connection",
    "transaction timed out",
    "stream has expired",
];

impl From<spin_sdk::sqlite::Error> for StoreError {
    fn from(error: spin_sdk::sqlite::Error) -> Self {
        Self::Failed(format!("sqlite: {error:?}"))
    }
}

/// The `default` database. Opening it runs no migrations: order-api owns the schema.
pub struct Db {
    connection: Connection,
}

impl Db {
    /// Opens the `default` database.
    pub async fn open_default() -> Result<Self, StoreError> {
        Ok(Self {
            connection: Connection::open_default().await?,
        })
    }

    /// Runs one parameterised statement and collects its rows.
    pub async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<RowResult>, StoreError> {
        Ok(self
            .connection
            .execute(sql, params)
            .await?
            .collect()
            .await?)
    }

    /// Runs one parameterised statement whose changed-row count nobody needs.
    pub async fn exec(&self, sql: &str, params: Vec<Value>) -> Result<(), StoreError> {
        self.query(sql, params).await.map(drop)
    }

    /// Runs one parameterised statement; returns the number of rows it changed.
    ///
    /// The count comes from the database (`SELECT changes()` on this connection, one more
    /// statement), not from `spin:sqlite`'s `changes()`: on Spin with a libSQL database that
    /// call answers 0 (the `libsql` client's query path never updates it), and the idempotency
    /// claim, the saga lease and the optimistic version checks depend on the count. Use
    /// [`Db::exec`] where the count does not matter.
    pub async fn exec_changes(&self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError> {
        self.query(sql, params).await?;
        let rows = self.query("SELECT changes()", vec![]).await?;
        Ok(rows
            .first()
            .and_then(|row| row.get::<i64>(0))
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0))
    }

    /// Runs `work` inside `BEGIN IMMEDIATE … COMMIT` (write lock taken up front, so concurrent
    /// writers queue instead of failing on upgrade); rolls back if it fails.
    pub async fn transaction<T, E: From<StoreError>>(
        &self,
        work: impl AsyncFnOnce(&Self) -> Result<T, E>,
    ) -> Result<T, E> {
        self.exec("BEGIN IMMEDIATE", vec![]).await?;
        match work(self).await {
            Ok(value) => {
                if let Err(error) = self.exec("COMMIT", vec![]).await {
                    let _ = self.exec("ROLLBACK", vec![]).await;
                    return Err(error.into());
                }
                Ok(value)
            }
            Err(error) => {
                let _ = self.exec("ROLLBACK", vec![]).await;
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StoreError;

    fn failed(text: &str) -> StoreError {
        StoreError::Failed(text.to_owned())
    }

    #[test]
    fn a_locked_database_and_an_unreachable_libsql_server_are_busy_other_failures_are_not() {
        assert!(failed("sqlite: Error::Io(\"database is locked\")").is_busy());
        // As the libSQL client reports a server that is down, and one killed mid-response.
        assert!(failed("sqlite: Error::Io(\"Hrana: `http error: `error trying to connect: tcp connect error: Connection refused (os error 111)``\")").is_busy());
        assert!(failed("sqlite: Error::Io(\"Hrana: `cursor error: `error reading a body from connection: unexpected EOF during chunk size line``\")").is_busy());
        assert!(
            failed("sqlite: Error::Io(\"Hrana: `stream error: `Transaction timed out``\")")
                .is_busy()
        );
        // As order-host logged them under load with three nodes on one sqld.
        assert!(failed(r#"sqlite: Error::Io("Hrana: `api error: `{\"message\":\"The stream has expired due to inactivity\",\"code\":\"STREAM_EXPIRED\"}``")"#).is_busy());
        assert!(!failed("sqlite: Error::Io(\"no such table: orders\")").is_busy());
        assert!(!failed("sqlite: Error::Io(\"UNIQUE constraint failed: orders.id\")").is_busy());
        assert!(
            !StoreError::Conflict {
                order_id: "o".into()
            }
            .is_busy()
        );
    }
}
