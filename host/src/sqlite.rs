//! `spin:sqlite@3.1.0`: SQLite databases by label, each a file (Spin's `type = "spin"`) or a
//! remote libSQL server (`type = "libsql"`, [`crate::sqlite_libsql`]).
//!
//! Every guest `open` of a file database gets a new `rusqlite` connection, as Spin's
//! `sqlite-inproc` makes one per `open` (issue 10: a host pool hid what a connection costs the
//! app on Spin — the file opened, the schema parsed again, no prepared statement kept); dropping
//! the guest resource closes it, which rolls back a transaction the guest left open. Statements
//! run on the blocking pool, so a slow query never stalls the async runtime.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use wasmtime::component::{Accessor, FutureReader, Resource, StreamReader};

use crate::bindings::SpinHost;
use crate::bindings::spin::sqlite::sqlite::{self as wit, Error, QueryResult, RowResult, Value};
use crate::ctx::Ctx;
use crate::runtime_config::SqliteDatabaseConfig;
use crate::sqlite_libsql::{LibsqlConnection, LibsqlDatabase};
use crate::telemetry::request::{call_span, store_span};
use crate::telemetry::spans::{OpSpan, sqlite_attributes};

/// The backend of one configured database label.
#[derive(Clone)]
pub enum SqliteBackend {
    /// A local SQLite file.
    File(Arc<SqliteDatabase>),
    /// A remote libSQL server.
    Libsql(Arc<LibsqlDatabase>),
}

impl SqliteBackend {
    /// Opens the backend `config` describes for `label`: creates and checks a file, or
    /// creates a libSQL client (which contacts nothing yet).
    pub async fn open(label: &str, config: &SqliteDatabaseConfig) -> Result<Self> {
        Ok(match config {
            SqliteDatabaseConfig::File(path) => Self::File(SqliteDatabase::open(path)?),
            SqliteDatabaseConfig::Libsql(libsql) => {
                Self::Libsql(LibsqlDatabase::open(label, libsql).await?)
            }
        })
    }

    /// `sqlite.backend` of its spans: `spin` (a file) or `libsql`.
    fn kind(&self) -> &'static str {
        match self {
            Self::File(_) => "spin",
            Self::Libsql(_) => "libsql",
        }
    }

    fn connect(&self) -> Result<OpenConnection, Error> {
        match self {
            Self::File(db) => match db.connect() {
                Ok(conn) => Ok(OpenConnection::File {
                    conn: Arc::new(Mutex::new(Some(conn))),
                }),
                Err(e) => Err(Error::Io(e.to_string())),
            },
            Self::Libsql(db) => db.connect().map(OpenConnection::Libsql),
        }
    }
}

/// One configured database file.
pub struct SqliteDatabase {
    path: PathBuf,
}

impl SqliteDatabase {
    /// Creates the database file (and its directory) if needed and checks that it opens.
    pub fn open(path: &Path) -> Result<Arc<Self>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let db = Arc::new(Self {
            path: path.to_path_buf(),
        });
        db.connect()
            .with_context(|| format!("cannot open SQLite database {}", path.display()))?;
        Ok(db)
    }

    fn connect(&self) -> rusqlite::Result<rusqlite::Connection> {
        let conn = rusqlite::Connection::open(&self.path)?;
        // As Spin's `sqlite-inproc`: a plain rusqlite connection, whose only setting is
        // rusqlite's 5 s busy timeout (stated here, not relied on). Journal mode, `synchronous`
        // and foreign keys stay SQLite's defaults (rollback journal, FULL, off): what an app
        // wants it asks for itself, as it must on Spin (the order app: `guest::sqlite`).
        conn.busy_timeout(Duration::from_secs(5))?;
        // Counts committed write transactions for the benchmarks (`op_counts`); `false` lets
        // the commit proceed.
        conn.commit_hook(Some(|| {
            crate::op_counts::sqlite_write_transaction();
            false
        }));
        Ok(conn)
    }
}

/// The resource behind `sqlite.connection`.
#[allow(unreachable_pub)] // named in `bindgen!`'s `with`, which re-exports it
pub struct SqliteConnectionHandle {
    conn: OpenConnection,
    last_insert_rowid: i64,
    changes: u64,
}

/// A guest's connection; cloning shares it (a statement in flight holds a clone).
#[derive(Clone)]
enum OpenConnection {
    /// A file connection of its own, closed when the handle drops.
    File {
        conn: Arc<Mutex<Option<rusqlite::Connection>>>,
    },
    /// A libSQL connection (its own server stream).
    Libsql(LibsqlConnection),
}

impl Drop for SqliteConnectionHandle {
    fn drop(&mut self) {
        // Closed here (after a statement still running on the blocking pool, which holds the
        // lock, has finished), not when that statement lets go of its clone; closing rolls back
        // a transaction the guest left open. Spin drops its connection with the resource too.
        if let OpenConnection::File { conn } = &self.conn {
            drop(conn.lock().ok().and_then(|mut c| c.take()));
        }
    }
}

impl OpenConnection {
    /// `sqlite.backend` of its spans.
    fn kind(&self) -> &'static str {
        match self {
            Self::File { .. } => "spin",
            Self::Libsql(_) => "libsql",
        }
    }
}

/// Adds `sqlite.backend` for the database behind `label`, if the component may use it.
fn set_backend(span: &mut OpSpan, ctx: &Ctx, label: &str) {
    if span.is_on()
        && let Ok(db) = ctx.caps.sqlite_database(label)
    {
        span.set(opentelemetry::KeyValue::new("sqlite.backend", db.kind()));
    }
}

/// What one statement produced, whichever the backend.
pub(crate) struct Executed {
    /// Columns and rows.
    pub(crate) result: QueryResult,
    /// The connection's last inserted rowid after the statement.
    pub(crate) last_insert_rowid: i64,
    /// Rows the statement changed.
    pub(crate) changes: u64,
}

fn run_statement(
    conn: &rusqlite::Connection,
    sql: &str,
    params: Vec<Value>,
) -> Result<Executed, Error> {
    let io = |e: rusqlite::Error| Error::Io(e.to_string());
    crate::op_counts::sqlite_statement();
    let mut stmt = conn.prepare_cached(sql).map_err(io)?;
    let columns: Vec<String> = stmt
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let params: Vec<rusqlite::types::Value> = params.into_iter().map(to_sql).collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(io)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(io)? {
        let values = (0..columns.len())
            .map(|i| row.get_ref(i).map(from_sql).map_err(io))
            .collect::<Result<_, _>>()?;
        out.push(RowResult { values });
    }
    drop(rows);
    drop(stmt);
    Ok(Executed {
        result: QueryResult { columns, rows: out },
        last_insert_rowid: conn.last_insert_rowid(),
        changes: conn.changes(),
    })
}

fn to_sql(v: Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as S;
    match v {
        Value::Integer(i) => S::Integer(i),
        Value::Real(f) => S::Real(f),
        Value::Text(t) => S::Text(t),
        Value::Blob(b) => S::Blob(b),
        Value::Null => S::Null,
    }
}

fn from_sql(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef as S;
    match v {
        S::Integer(i) => Value::Integer(i),
        S::Real(f) => Value::Real(f),
        S::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        S::Blob(b) => Value::Blob(b.to_vec()),
        S::Null => Value::Null,
    }
}

fn open_connection(
    ctx: &mut Ctx,
    database: &str,
) -> wasmtime::Result<Result<Resource<SqliteConnectionHandle>, Error>> {
    let db = match ctx.caps.sqlite_database(database) {
        Ok(db) => db,
        Err(e) => return Ok(Err(e)),
    };
    let conn = match db.connect() {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let handle = SqliteConnectionHandle {
        conn,
        last_insert_rowid: 0,
        changes: 0,
    };
    crate::op_counts::sqlite_open();
    Ok(Ok(ctx.table.push(handle)?))
}

/// Runs a statement on a file connection (on the blocking pool) or a libSQL one.
async fn execute_on(
    conn: OpenConnection,
    statement: String,
    parameters: Vec<Value>,
) -> Result<Executed, Error> {
    match conn {
        OpenConnection::File { conn, .. } => tokio::task::spawn_blocking(move || {
            let guard = conn.lock().map_err(|_| Error::InvalidConnection)?;
            let conn = guard.as_ref().ok_or(Error::InvalidConnection)?;
            run_statement(conn, &statement, parameters)
        })
        .await
        .map_err(|e| Error::Io(e.to_string()))?,
        OpenConnection::Libsql(conn) => conn.execute(&statement, parameters).await,
    }
}

fn record(
    ctx: &mut Ctx,
    handle: &Resource<SqliteConnectionHandle>,
    executed: &Executed,
) -> wasmtime::Result<()> {
    let h = ctx.table.get_mut(handle)?;
    h.last_insert_rowid = executed.last_insert_rowid;
    h.changes = executed.changes;
    Ok(())
}

impl wit::Host for Ctx {}

impl wit::HostConnection for Ctx {
    fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<SqliteConnectionHandle>, Error>> {
        let mut span = store_span(self, "spin_sqlite.open", || sqlite_attributes(None));
        set_backend(&mut span, self, &database);
        let opened = open_connection(self, &database);
        span.record_outcome(&opened);
        opened
    }

    fn execute(
        &mut self,
        handle: Resource<SqliteConnectionHandle>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, Error>> {
        let mut span = store_span(self, "spin_sqlite.execute", || {
            sqlite_attributes(Some(&statement))
        });
        let conn = self.table.get(&handle)?.conn.clone();
        span.set(opentelemetry::KeyValue::new("sqlite.backend", conn.kind()));
        let executed = tokio::task::block_in_place(|| match conn {
            OpenConnection::File { conn, .. } => {
                let guard = conn.lock().map_err(|_| Error::InvalidConnection)?;
                let conn = guard.as_ref().ok_or(Error::InvalidConnection)?;
                run_statement(conn, &statement, parameters)
            }
            OpenConnection::Libsql(conn) => {
                tokio::runtime::Handle::current().block_on(conn.execute(&statement, parameters))
            }
        });
        span.record(&executed);
        match executed {
            Ok(executed) => {
                record(self, &handle, &executed)?;
                Ok(Ok(executed.result))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    fn last_insert_rowid(
        &mut self,
        handle: Resource<SqliteConnectionHandle>,
    ) -> wasmtime::Result<i64> {
        Ok(self.table.get(&handle)?.last_insert_rowid)
    }

    fn changes(&mut self, handle: Resource<SqliteConnectionHandle>) -> wasmtime::Result<u64> {
        Ok(self.table.get(&handle)?.changes)
    }

    fn drop(&mut self, handle: Resource<SqliteConnectionHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

impl wit::HostConnectionWithStore<Ctx> for SpinHost {
    async fn open_async(
        accessor: &Accessor<Ctx, Self>,
        database: String,
    ) -> wasmtime::Result<Result<Resource<SqliteConnectionHandle>, Error>> {
        let mut span = call_span(accessor, "spin_sqlite.open", || sqlite_attributes(None));
        let opened = accessor.with(|mut a| {
            set_backend(&mut span, a.get(), &database);
            open_connection(a.get(), &database)
        });
        span.record_outcome(&opened);
        opened
    }

    async fn execute_async(
        accessor: &Accessor<Ctx, Self>,
        handle: Resource<SqliteConnectionHandle>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<
        Result<
            (
                Vec<String>,
                StreamReader<RowResult>,
                FutureReader<Result<(), Error>>,
            ),
            Error,
        >,
    > {
        let mut span = call_span(accessor, "spin_sqlite.execute", || {
            sqlite_attributes(Some(&statement))
        });
        let conn = accessor.with(|mut a| -> wasmtime::Result<_> {
            Ok(a.get().table.get(&handle)?.conn.clone())
        })?;
        span.set(opentelemetry::KeyValue::new("sqlite.backend", conn.kind()));
        let executed = execute_on(conn, statement, parameters).await;
        span.record(&executed);
        drop(span);
        let executed = match executed {
            Ok(e) => e,
            Err(e) => return Ok(Err(e)),
        };
        accessor.with(|mut a| {
            record(a.get(), &handle, &executed)?;
            let QueryResult { columns, rows } = executed.result;
            let rows = StreamReader::new(&mut a, rows)?;
            let done = FutureReader::new(&mut a, async {
                wasmtime::Result::<Result<(), Error>>::Ok(Ok(()))
            })?;
            Ok(Ok((columns, rows, done)))
        })
    }

    async fn last_insert_rowid_async(
        accessor: &Accessor<Ctx, Self>,
        handle: Resource<SqliteConnectionHandle>,
    ) -> wasmtime::Result<i64> {
        accessor.with(|mut a| Ok(a.get().table.get(&handle)?.last_insert_rowid))
    }

    async fn changes_async(
        accessor: &Accessor<Ctx, Self>,
        handle: Resource<SqliteConnectionHandle>,
    ) -> wasmtime::Result<u64> {
        accessor.with(|mut a| Ok(a.get().table.get(&handle)?.changes))
    }
}
