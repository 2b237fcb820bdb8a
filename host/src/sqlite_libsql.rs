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
//! - `changes` and `last-insert-rowid` are the client's, which its `query` path never updates
//!   (see [`LibsqlConnection::execute`]): 0 on Spin as here;
//! - a guest that drops its connection mid-transaction leaves the rollback to the server: the
//!   client closes the stream on drop, and the server rolls back a closed stream's transaction.
//!
//! Difference: Spin creates the client lazily at the first statement and answers
//! `invalid-connection` if that fails; here the client is created once per label at start-up
//! (it contacts nothing then), so a client that cannot be created (no TLS roots) stops
//! start-up with the label named instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
            .map(|inner| LibsqlConnection {
                inner,
                in_transaction: Arc::new(AtomicBool::new(false)),
            })
            .map_err(|_| Error::InvalidConnection)
    }
}

/// One guest connection to a libSQL server. Cloning shares the connection (and its stream).
#[derive(Clone)]
pub(crate) struct LibsqlConnection {
    inner: libsql::Connection,
    /// Whether this connection's last `BEGIN` has not yet been ended, from the statements'
    /// first keywords (the client's own `is_autocommit` is not updated by `query`).
    in_transaction: Arc<AtomicBool>,
}

impl LibsqlConnection {
    /// Runs one statement on this connection's stream and collects its rows, with
    /// `Connection::query` as Spin does.
    ///
    /// `changes` and `last_insert_rowid` are what the client reports afterwards, as on Spin.
    /// The `libsql` 0.5 remote client runs `query` through a Hrana cursor, which updates
    /// neither: they keep the values of the connection's last non-cursor statement (0 for a
    /// guest connection). So on Spin with libSQL, `changes()` and `last-insert-rowid()` answer
    /// 0; a guest that needs a count asks the server (`SELECT changes()` on the same
    /// connection, or `RETURNING`).
    ///
    /// Counts the statement and, for `op_counts`, the write transactions (a libSQL client has
    /// no commit hook): a `COMMIT`/`END` that ends a `BEGIN` of this connection (a read-only
    /// transaction counts too, which SQLite's hook would skip), and an `INSERT`, `UPDATE`,
    /// `DELETE` or `REPLACE` outside one (even if it changed no row).
    pub(crate) async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<Executed, Error> {
        crate::op_counts::sqlite_statement();
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
        self.count_write_transaction(sql);
        Ok(Executed {
            result: QueryResult { columns, rows: out },
            last_insert_rowid: self.inner.last_insert_rowid(),
            changes: self.inner.changes(),
        })
    }

    /// Updates the transaction state after `sql` succeeded and counts a finished write.
    fn count_write_transaction(&self, sql: &str) {
        let keyword = first_keyword(sql);
        let in_transaction = self.in_transaction.load(Ordering::Relaxed);
        match keyword.as_str() {
            "BEGIN" => self.in_transaction.store(true, Ordering::Relaxed),
            "ROLLBACK" => self.in_transaction.store(false, Ordering::Relaxed),
            "COMMIT" | "END" => {
                self.in_transaction.store(false, Ordering::Relaxed);
                if in_transaction {
                    crate::op_counts::sqlite_write_transaction();
                }
            }
            "INSERT" | "UPDATE" | "DELETE" | "REPLACE" if !in_transaction => {
                crate::op_counts::sqlite_write_transaction();
            }
            _ => {}
        }
    }
}

/// The statement's first word, upper-cased (`ROLLBACK TO` a savepoint keeps the transaction,
/// which this approximation ignores: the app uses no savepoints).
fn first_keyword(sql: &str) -> String {
    sql.trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// Spin maps every libSQL error to `error::io` with its text.
fn io(error: libsql::Error) -> Error {
    Error::Io(error.to_string())
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
    fn first_keyword_is_found_in_any_case_after_whitespace() {
        assert_eq!(first_keyword("  rollback;"), "ROLLBACK");
        assert_eq!(first_keyword("\n\tBegin Immediate"), "BEGIN");
        assert_eq!(first_keyword("INSERT INTO t VALUES (1)"), "INSERT");
        assert_eq!(first_keyword(""), "");
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
