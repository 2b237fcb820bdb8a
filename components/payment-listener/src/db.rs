//! A thin wrapper over the `default` SQLite database: parameterised statements and a
//! `BEGIN IMMEDIATE` transaction.

use spin_sdk::sqlite::{Connection, RowResult, Value};

/// The `default` database.
pub(crate) struct Db {
    connection: Connection,
}

/// A storage failure: returned to the trigger, which logs it (the message is not lost
/// for good: reconciliation in order-api resolves `payment_pending` orders anyway).
pub(crate) type DbResult<T> = anyhow::Result<T>;

impl Db {
    /// Opens the `default` database.
    pub(crate) async fn open() -> DbResult<Self> {
        let connection = Connection::open_default()
            .await
            .map_err(|error| anyhow::anyhow!("open sqlite `default`: {error:?}"))?;
        Ok(Self { connection })
    }

    /// Runs one parameterised statement and collects its rows.
    pub(crate) async fn query(&self, sql: &str, params: Vec<Value>) -> DbResult<Vec<RowResult>> {
        self.connection
            .execute(sql, params)
            .await
            .map_err(|error| anyhow::anyhow!("sqlite: {error:?}"))?
            .collect()
            .await
            .map_err(|error| anyhow::anyhow!("sqlite: {error:?}"))
    }

    /// Runs one parameterised statement; returns the number of rows it changed.
    pub(crate) async fn exec(&self, sql: &str, params: Vec<Value>) -> DbResult<u64> {
        self.query(sql, params).await?;
        Ok(self.connection.changes().await)
    }

    /// Runs `work` inside `BEGIN IMMEDIATE … COMMIT` (the write lock taken up front, as
    /// order-api does, so concurrent writers queue); rolls back if it fails.
    pub(crate) async fn transaction<T>(
        &self,
        work: impl AsyncFnOnce(&Self) -> DbResult<T>,
    ) -> DbResult<T> {
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

/// A NOT NULL TEXT column.
pub(crate) fn text(row: &RowResult, index: usize) -> DbResult<String> {
    row.get::<&str>(index)
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("column {index} is not text"))
}

/// A nullable TEXT column.
pub(crate) fn opt_text(row: &RowResult, index: usize) -> Option<String> {
    row.get::<&str>(index).map(str::to_owned)
}

/// A NOT NULL INTEGER column.
pub(crate) fn int(row: &RowResult, index: usize) -> DbResult<i64> {
    row.get::<i64>(index)
        .ok_or_else(|| anyhow::anyhow!("column {index} is not an integer"))
}
