//! The SQLite settings the app chooses itself, because Spin leaves them at SQLite's defaults.
//!
//! Spin's `sqlite-inproc` opens a plain `rusqlite` connection for every guest `open` and sets
//! nothing but rusqlite's 5 s busy timeout: the file keeps SQLite's rollback journal and every
//! commit is `synchronous = FULL`. `order-host` does the same (issue 10: a host that chose WAL
//! for the app hid what the app costs on Spin). So the app asks for:
//!
//! - **`journal_mode = WAL`** ([`use_wal`]), once per database (the mode is stored in the
//!   file): readers never block the writer and a commit appends to the log instead of
//!   rewriting pages through a journal.
//! - **`synchronous = NORMAL`** (`Relaxed::before_write`), per connection, before its first
//!   write: in WAL mode a commit is then durable against the process or the host crashing,
//!   and only an operating-system crash or power loss can undo the last commits (the log is
//!   synced at checkpoints instead of at every commit). With `FULL`, every commit waits for an
//!   fsync while it holds the write lock (~90 µs on our build machines, against ~6 µs), and
//!   concurrent writers queue behind it in SQLite's busy handler.
//! - **`wal_autocheckpoint = 4000`** (`Relaxed::before_write`, with `synchronous`), per
//!   connection: a commit that leaves the log longer than 4,000 pages (about 16 MB at the
//!   default 4 KiB page) copies the log back into the database file, instead of at SQLite's default
//!   1,000. An order's writes touch the same hot pages (B-tree roots and right-most leaves)
//!   again and again; a longer log writes each of them back once per checkpoint instead of four
//!   times, and syncs a quarter as often (issue 10, README → Benchmarks: 488–566 → 554–605
//!   orders/s, interleaved). The log file keeps its largest size between checkpoints. order-api
//!   also checkpoints after its responses (`order_store::Db::checkpoint`, post-return), so the
//!   threshold is mostly a backstop under load, where readers keep the log from being reset.
//!
//! Connections themselves are kept by a reused instance ([`PooledConnection`]).
//!
//! All three are best effort: a backend that refuses them (a remote libSQL server manages its
//! own log) is told once per instance and then left alone, and the app works either way.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use spin_sdk::sqlite::{Connection, Error, RowResult, Value};

/// Cleared in this instance once a backend refused `synchronous = NORMAL`.
static RELAX_SUPPORTED: AtomicBool = AtomicBool::new(true);

/// Cleared in this instance once a backend refused [`AUTOCHECKPOINT_PRAGMA`].
static AUTOCHECKPOINT_SUPPORTED: AtomicBool = AtomicBool::new(true);

/// Sets the log length (pages) past which a commit checkpoints, on one connection (a
/// per-connection setting); see the module docs.
const AUTOCHECKPOINT_PRAGMA: &str = "PRAGMA wal_autocheckpoint = 4000";

/// Switches the database behind `connection` to write-ahead logging (stored in the file; a
/// no-op once it is). Run it outside a transaction (SQLite refuses to change the journal mode
/// inside one). A refusal is ignored: the app works in any journal mode.
pub async fn use_wal(connection: &Connection) {
    run_pragma(connection, "PRAGMA journal_mode = WAL").await;
}

/// Runs one setting; whether the backend took it.
async fn run_pragma(connection: &Connection, pragma: &str) -> bool {
    match connection.execute(pragma, vec![]).await {
        Ok(rows) => rows.collect().await.is_ok(),
        Err(_) => false,
    }
}

/// Sets `synchronous = NORMAL` and the checkpoint threshold on one connection before its first
/// write (see the module docs).
#[derive(Debug, Default)]
struct Relaxed {
    done: Cell<bool>,
}

impl Relaxed {
    /// Not set yet.
    fn new() -> Self {
        Self::default()
    }

    /// Set already (`true`: a pooled connection that had it) or not.
    fn from_done(done: bool) -> Self {
        Self {
            done: Cell::new(done),
        }
    }

    /// Sets both on `connection` unless this handle already did (or the backend refused one in
    /// this instance, which then skips that one): two statements per connection that writes,
    /// none for readers.
    async fn before_write(&self, connection: &Connection) {
        if self.done.replace(true) {
            return;
        }
        for (pragma, supported) in [
            ("PRAGMA synchronous = NORMAL", &RELAX_SUPPORTED),
            (AUTOCHECKPOINT_PRAGMA, &AUTOCHECKPOINT_SUPPORTED),
        ] {
            if supported.load(Ordering::Relaxed) && !run_pragma(connection, pragma).await {
                supported.store(false, Ordering::Relaxed);
            }
        }
    }
}

/// Idle connections an instance keeps, across every database label.
pub const MAX_IDLE_CONNECTIONS: usize = 16;

/// How long a connection stays reusable after its last statement, in milliseconds. Short
/// enough that a remote libSQL server has not expired its stream meanwhile (sqld drops a
/// stream idle for 10 s; Turso likewise).
pub const IDLE_REUSE_MS: u64 = 2_000;

/// An idle connection of this instance and what it already has.
struct Idle {
    label: Option<String>,
    connection: Connection,
    relaxed: bool,
    last_used: Instant,
}

thread_local! {
    /// This instance's idle connections, most recently returned last.
    static IDLE: std::cell::RefCell<Vec<Idle>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A connection from this instance's pool of idle connections (issue 10).
///
/// Spin's `sqlite-inproc` makes every guest `open` a new `rusqlite` connection (a file open,
/// the schema parsed again at its first statement, no prepared statement kept) and Spin 4
/// reuses an instance for many requests, so a reused instance keeps the connections its
/// requests are done with and hands them to its next requests: one request at a time per
/// connection (requests of one instance run concurrently, and a connection carries a
/// transaction), at most [`MAX_IDLE_CONNECTIONS`], each reused only within [`IDLE_REUSE_MS`]
/// of its last statement (monotonic clock). The connection's `synchronous` setting
/// (`Relaxed`) goes with it.
///
/// Statements go through [`PooledConnection::query`], which is what lets the pool know the
/// connection's state: when the handle drops, the connection goes back only if no statement
/// on it failed (a broken remote stream must not be handed on), none is still running (a
/// future dropped mid-statement), and it is outside a transaction (`BEGIN` … `COMMIT` /
/// `ROLLBACK`, read from the statements themselves: a task dropped mid-way must not hand its
/// open transaction to the next request; the host rolls it back when it closes the connection).
pub struct PooledConnection {
    label: Option<String>,
    connection: Option<Connection>,
    relaxed: Relaxed,
    failed: Cell<bool>,
    running: Cell<bool>,
    in_transaction: Cell<bool>,
    last_used: Cell<Instant>,
}

impl PooledConnection {
    /// A connection to the `default` database: an idle one of this instance, else a new one.
    ///
    /// # Errors
    /// `spin:sqlite`'s, when a new connection cannot be opened.
    pub async fn open_default() -> Result<Self, Error> {
        Self::take(None).await
    }

    /// A connection to the database labelled `label`: an idle one, else a new one.
    ///
    /// # Errors
    /// `spin:sqlite`'s, when a new connection cannot be opened.
    pub async fn open(label: &str) -> Result<Self, Error> {
        Self::take(Some(label.to_owned())).await
    }

    async fn take(label: Option<String>) -> Result<Self, Error> {
        let now = Instant::now();
        let reusable = |idle: &Idle| {
            now.saturating_duration_since(idle.last_used) < Duration::from_millis(IDLE_REUSE_MS)
        };
        let (idle, expired) = IDLE.with_borrow_mut(|idle| {
            let expired: Vec<Idle> = idle.extract_if(.., |entry| !reusable(entry)).collect();
            let found = idle
                .iter()
                .rposition(|entry| entry.label == label)
                .map(|at| idle.remove(at));
            (found, expired)
        });
        drop(expired);
        let (connection, relaxed) = match idle {
            Some(idle) => (idle.connection, Relaxed::from_done(idle.relaxed)),
            None => {
                let connection = match &label {
                    Some(label) => Connection::open(label).await?,
                    None => Connection::open_default().await?,
                };
                (connection, Relaxed::new())
            }
        };
        Ok(Self {
            label,
            connection: Some(connection),
            relaxed,
            failed: Cell::new(false),
            running: Cell::new(false),
            in_transaction: Cell::new(false),
            last_used: Cell::new(now),
        })
    }

    fn connection(&self) -> &Connection {
        self.connection
            .as_ref()
            .expect("the connection is only taken when the handle drops")
    }

    /// Runs one parameterised statement and collects its rows.
    ///
    /// # Errors
    /// `spin:sqlite`'s; the connection then stays out of the pool.
    pub async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<RowResult>, Error> {
        self.running.set(true);
        let rows = match self.connection().execute(sql, params).await {
            Ok(rows) => rows.collect().await,
            Err(error) => Err(error),
        };
        self.running.set(false);
        self.last_used.set(Instant::now());
        match &rows {
            Ok(_) => {
                if let Some(inside) = transaction_after(sql) {
                    self.in_transaction.set(inside);
                }
            }
            Err(_) => self.failed.set(true),
        }
        rows
    }

    /// Sets `synchronous = NORMAL` before this connection's first write (`Relaxed`).
    pub async fn before_write(&self) {
        self.relaxed.before_write(self.connection()).await;
    }

    /// Asks for write-ahead logging ([`use_wal`]); outside a transaction.
    pub async fn use_wal(&self) {
        use_wal(self.connection()).await;
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        if self.failed.get() || self.running.get() || self.in_transaction.get() {
            return;
        }
        let idle = Idle {
            label: self.label.take(),
            connection,
            relaxed: self.relaxed.done.get(),
            last_used: self.last_used.get(),
        };
        let evicted = IDLE.with_borrow_mut(|pool| {
            pool.push(idle);
            (pool.len() > MAX_IDLE_CONNECTIONS).then(|| pool.remove(0))
        });
        drop(evicted);
    }
}

/// Whether a connection is inside an explicit transaction after `sql` ran: `Some(true)` after
/// `BEGIN` or `SAVEPOINT`, `Some(false)` after `COMMIT`, `END` or `ROLLBACK` (but not
/// `ROLLBACK TO`, which stays inside), `None` for any other statement (SQLite's
/// [transaction syntax](https://sqlite.org/lang_transaction.html)).
fn transaction_after(sql: &str) -> Option<bool> {
    let mut words = sql.split_whitespace().map(str::to_ascii_uppercase);
    match words.next()?.trim_end_matches(';') {
        "BEGIN" | "SAVEPOINT" => Some(true),
        "COMMIT" | "END" => Some(false),
        "ROLLBACK" => match words.next().as_deref() {
            Some("TO") => None,
            Some("TRANSACTION") if words.next().as_deref() == Some("TO") => None,
            _ => Some(false),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::transaction_after;

    #[test]
    fn transaction_statements_open_and_close_a_transaction_and_others_leave_it_as_it_was() {
        assert_eq!(transaction_after("BEGIN IMMEDIATE"), Some(true));
        assert_eq!(transaction_after("  begin"), Some(true));
        assert_eq!(transaction_after("SAVEPOINT sp"), Some(true));
        assert_eq!(transaction_after("COMMIT"), Some(false));
        assert_eq!(transaction_after("end transaction"), Some(false));
        assert_eq!(transaction_after("ROLLBACK"), Some(false));
        assert_eq!(transaction_after("ROLLBACK;"), Some(false));
        assert_eq!(transaction_after("ROLLBACK TO sp"), None);
        assert_eq!(
            transaction_after("ROLLBACK TRANSACTION TO SAVEPOINT sp"),
            None
        );
        assert_eq!(
            transaction_after("INSERT INTO order_saves VALUES (1)"),
            None
        );
        assert_eq!(transaction_after("SELECT 1"), None);
        assert_eq!(transaction_after(""), None);
    }
}
