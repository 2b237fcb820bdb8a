//! SQLite persistence of orders: the migration runner, the orders repository, idempotency
//! claims and the transactional outbox. Every statement is parameterised; every order change
//! writes its outbox row in the same transaction.

mod idempotency;
mod migrate;
mod migrations;
mod orders;
mod outbox;
mod queries;
mod rows;

pub(crate) use idempotency::{Claim, StoredResponse};
pub(crate) use orders::StoredOrder;
pub(crate) use queries::{Cursor, ListFilter};

use spin_sdk::sqlite::{Connection, RowResult, Value};
use std::fmt;

/// A storage failure; becomes a 500 problem at the HTTP edge.
#[derive(Debug)]
pub(crate) struct StoreError(pub(crate) String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StoreError {
    /// The database stayed locked past the host's busy timeout: a transient condition the
    /// caller should retry, not a failure.
    pub(crate) fn is_busy(&self) -> bool {
        let text = self.0.to_ascii_lowercase();
        text.contains("database is locked") || text.contains("database is busy")
    }
}

impl From<spin_sdk::sqlite::Error> for StoreError {
    fn from(error: spin_sdk::sqlite::Error) -> Self {
        Self(format!("sqlite: {error:?}"))
    }
}

/// The `default` database, migrated.
pub(crate) struct Db {
    connection: Connection,
}

impl Db {
    /// Opens the `default` database and applies missing migrations (once per instance).
    pub(crate) async fn open() -> Result<Self, StoreError> {
        let db = Self {
            connection: Connection::open_default().await?,
        };
        migrate::ensure(&db).await?;
        Ok(db)
    }

    /// Runs one parameterised statement and collects its rows.
    pub(crate) async fn query(
        &self,
        sql: &str,
        params: Vec<Value>,
    ) -> Result<Vec<RowResult>, StoreError> {
        Ok(self
            .connection
            .execute(sql, params)
            .await?
            .collect()
            .await?)
    }

    /// Runs one parameterised statement; returns the number of rows it changed.
    pub(crate) async fn exec(&self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError> {
        self.query(sql, params).await?;
        Ok(self.connection.changes().await)
    }

    /// Runs `work` inside `BEGIN IMMEDIATE … COMMIT` (write lock taken up front, so concurrent
    /// writers queue instead of failing on upgrade); rolls back if it fails.
    pub(crate) async fn transaction<T>(
        &self,
        work: impl AsyncFnOnce(&Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.exec("BEGIN IMMEDIATE", vec![]).await?;
        match work(self).await {
            Ok(value) => {
                if let Err(error) = self.exec("COMMIT", vec![]).await {
                    let _ = self.exec("ROLLBACK", vec![]).await;
                    return Err(error);
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
