//! `spin:sqlite@3.1.0` on a remote libSQL server (`[sqlite_database.<label>] type = "libsql"`),
//! through the `libsql` crate's remote (Hrana over HTTP) client, as Spin 4.1 does
//! (`crates/sqlite-libsql`).
//!
//! Semantics kept from Spin:
//! - every guest `open` gets its own `libsql::Connection`, so its statements travel on one
//!   server stream: `BEGIN IMMEDIATE`, the statements after it and `COMMIT`, sent by separate
//!   `execute` calls, are one transaction on the server; two guest connections never share one;
//! - every error of the client or the server (SQL errors, constraint violations, a server that
//!   cannot be reached, a stream the server expired) is `error::io` with the client's text, as
//!   Spin maps them. The text names the server's URL at most, never the token, which travels
//!   only in the `Authorization` header;
//! - a guest that drops its connection mid-transaction leaves the rollback to the server: the
//!   client closes the stream on drop, and the server rolls back a closed stream's transaction.
//!
//! Difference: Spin creates the client lazily at the first statement and answers
//! `invalid-connection` if that fails; here the client is created once per label at start-up
//! (it contacts nothing then), so a client that cannot be created (no TLS roots) stops
//! start-up with the label named instead.

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::bindings::spin::sqlite::sqlite::{Error, QueryResult, RowResult, Value};
use crate::runtime_config::LibsqlConfig;
use crate::sqlite::Executed;

/// One `type = "libsql"` database: a client for the server, shared by every connection.
pub struct LibsqlDatabase {
    database: libsql::Database,
}

impl LibsqlDatabase {
    /// A client for the server at `config.url`, authenticating with `config.token`. Contacts
    /// nothing: an unreachable server shows as `error::io` on the first statement, as on Spin.
    pub async fn open(label: &str, config: &LibsqlConfig) -> Result<Arc<Self>> {
        let database = libsql::Builder::new_remote(config.url.clone(), config.token.clone())
            .build()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| {
                format!("[sqlite_database.{label}] type = \"libsql\": cannot create the client")
            })?;
        Ok(Arc::new(Self { database }))
    }

    /// A new connection: its own server stream, opened by its first statement.
    pub(crate) fn connect(&self) -> Result<LibsqlConnection, Error> {
        self.database
            .connect()
            .map(|inner| LibsqlConnection { inner })
            .map_err(|_| Error::InvalidConnection)
    }
}

/// One guest connection to a libSQL server. Cloning shares the connection (and its stream).
#[derive(Clone)]
pub(crate) struct LibsqlConnection {
    inner: libsql::Connection,
}

impl LibsqlConnection {
    /// Runs one statement on this connection's stream and collects its rows.
    ///
    /// Counts the statement and, for `op_counts`, the write transactions it ends: a libSQL
    /// client has no commit hook, so a statement that takes the connection from a transaction
    /// back to autocommit counts as one (unless it is a `ROLLBACK`; a read-only `BEGIN …
    /// COMMIT` counts too, which SQLite's hook would skip), and so does an autocommit
    /// statement that changed rows.
    pub(crate) async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<Executed, Error> {
        crate::op_counts::sqlite_statement();
        let was_autocommit = self.inner.is_autocommit();
        let params: Vec<libsql::Value> = params.into_iter().map(to_libsql).collect();
        let mut rows = self.inner.query(sql, params).await.map_err(io)?;
        let column_count = rows.column_count();
        let columns = (0..column_count)
            .map(|i| rows.column_name(i).unwrap_or_default().to_string())
            .collect();
        let mut out = Vec::new();
        while let Some(row) = rows.next().await.map_err(io)? {
            let values = (0..column_count)
                .map(|i| row.get_value(i).map(from_libsql).map_err(io))
                .collect::<Result<_, _>>()?;
            out.push(RowResult { values });
        }
        let changes = self.inner.changes();
        let now_autocommit = self.inner.is_autocommit();
        let ended_transaction = !was_autocommit && now_autocommit && !is_rollback(sql);
        let autocommit_write = was_autocommit && now_autocommit && changes > 0;
        if ended_transaction || autocommit_write {
            crate::op_counts::sqlite_write_transaction();
        }
        Ok(Executed {
            result: QueryResult { columns, rows: out },
            last_insert_rowid: self.inner.last_insert_rowid(),
            changes,
        })
    }
}

/// Spin maps every libSQL error to `error::io` with its text.
fn io(error: libsql::Error) -> Error {
    Error::Io(error.to_string())
}

fn is_rollback(sql: &str) -> bool {
    sql.trim_start()
        .get(..8)
        .is_some_and(|head| head.eq_ignore_ascii_case("rollback"))
}

fn to_libsql(value: Value) -> libsql::Value {
    match value {
        Value::Integer(i) => libsql::Value::Integer(i),
        Value::Real(f) => libsql::Value::Real(f),
        Value::Text(t) => libsql::Value::Text(t),
        Value::Blob(b) => libsql::Value::Blob(b),
        Value::Null => libsql::Value::Null,
    }
}

fn from_libsql(value: libsql::Value) -> Value {
    match value {
        libsql::Value::Integer(i) => Value::Integer(i),
        libsql::Value::Real(f) => Value::Real(f),
        libsql::Value::Text(t) => Value::Text(t),
        libsql::Value::Blob(b) => Value::Blob(b),
        libsql::Value::Null => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollback_is_recognised_in_any_case_after_whitespace() {
        assert!(is_rollback("ROLLBACK"));
        assert!(is_rollback("  rollback;"));
        assert!(!is_rollback("COMMIT"));
        assert!(!is_rollback("ROLL"));
    }

    #[test]
    fn values_round_trip_between_spin_and_libsql() {
        let values = vec![
            Value::Integer(-7),
            Value::Real(1.5),
            Value::Text("it's".into()),
            Value::Blob(vec![0, 255]),
            Value::Null,
        ];
        let back: Vec<Value> = values
            .clone()
            .into_iter()
            .map(to_libsql)
            .map(from_libsql)
            .collect();
        assert_eq!(format!("{back:?}"), format!("{values:?}"));
    }
}
