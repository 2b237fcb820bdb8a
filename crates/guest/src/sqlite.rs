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
//! - **`synchronous = NORMAL`** ([`Relaxed::before_write`]), per connection, before its first
//!   write: in WAL mode a commit is then durable against the process or the host crashing,
//!   and only an operating-system crash or power loss can undo the last commits (the log is
//!   synced at checkpoints instead of at every commit). With `FULL`, every commit waits for an
//!   fsync while it holds the write lock (~90 µs on our build machines, against ~6 µs), and
//!   concurrent writers queue behind it in SQLite's busy handler.
//!
//! Connections themselves are kept by a reused instance ([`PooledConnection`]).
//!
//! Both settings are best effort: a backend that refuses them (a remote libSQL server manages its own
//! log) is told once per instance and then left alone, and the app works either way.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

use spin_sdk::sqlite::Connection;

/// Cleared in this instance once a backend refused `synchronous = NORMAL`.
static RELAX_SUPPORTED: AtomicBool = AtomicBool::new(true);

/// Switches the database behind `connection` to write-ahead logging (stored in the file; a
/// no-op once it is). Run it outside a transaction (SQLite refuses to change the journal mode
/// inside one). A refusal is ignored: the app works in any journal mode.
pub async fn use_wal(connection: &Connection) {
    if let Ok(rows) = connection
        .execute("PRAGMA journal_mode = WAL", vec![])
        .await
    {
        let _ = rows.collect().await;
    }
}

/// Sets `synchronous = NORMAL` on one connection before its first write (see the module docs).
#[derive(Debug, Default)]
pub struct Relaxed {
    done: Cell<bool>,
}

impl Relaxed {
    /// Not set yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set already (`true`: a pooled connection that had it) or not.
    fn from_done(done: bool) -> Self {
        Self {
            done: Cell::new(done),
        }
    }

    /// Sets it on `connection` unless this handle already did (or the backend refused it in
    /// this instance): one statement per connection that writes, none for readers.
    pub async fn before_write(&self, connection: &Connection) {
        if self.done.replace(true) || !RELAX_SUPPORTED.load(Ordering::Relaxed) {
            return;
        }
        let applied = match connection
            .execute("PRAGMA synchronous = NORMAL", vec![])
            .await
        {
            Ok(rows) => rows.collect().await.is_ok(),
            Err(_) => false,
        };
        if !applied {
            RELAX_SUPPORTED.store(false, Ordering::Relaxed);
        }
    }
}

/// Idle connections an instance keeps, across every database label.
pub const MAX_IDLE_CONNECTIONS: usize = 16;

/// How long an idle connection stays reusable, in milliseconds. Short enough that a remote
/// libSQL server never expired its stream meanwhile (sqld drops streams idle for 10 s).
pub const IDLE_REUSE_MS: i64 = 2_000;

/// An idle connection of this instance and what it already has.
struct Idle {
    label: Option<String>,
    connection: Connection,
    relaxed: bool,
    since_ms: i64,
}

thread_local! {
    /// This instance's idle connections, most recently used last.
    static IDLE: std::cell::RefCell<Vec<Idle>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A connection from this instance's pool of idle connections (issue 10).
///
/// Spin's `sqlite-inproc` makes every guest `open` a new `rusqlite` connection (a file open,
/// the schema parsed again at its first statement, no prepared statement kept) and Spin 4
/// reuses an instance for many requests, so a reused instance keeps the connections its
/// requests are done with and hands them to its next requests: one request at a time per
/// connection (requests of one instance run concurrently, and a connection carries a
/// transaction), at most [`MAX_IDLE_CONNECTIONS`], each reused only within
/// [`IDLE_REUSE_MS`]. The connection's `synchronous` setting ([`Relaxed`]) goes with it.
///
/// A connection goes back when this handle drops, unless a statement on it failed
/// ([`PooledConnection::discard`]: a broken remote stream must not be handed on) or it is
/// inside a transaction ([`PooledConnection::set_in_transaction`]: a task dropped mid-way
/// must not hand its open transaction to the next request; the host rolls it back when the
/// connection closes).
pub struct PooledConnection {
    label: Option<String>,
    connection: Option<Connection>,
    relaxed: Relaxed,
    reusable: Cell<bool>,
    in_transaction: Cell<bool>,
}

impl PooledConnection {
    /// A connection to the `default` database: an idle one of this instance, else a new one.
    ///
    /// # Errors
    /// `spin:sqlite`'s, when a new connection cannot be opened.
    pub async fn open_default() -> Result<Self, spin_sdk::sqlite::Error> {
        Self::take(None).await
    }

    /// A connection to the database labelled `label`: an idle one, else a new one.
    ///
    /// # Errors
    /// `spin:sqlite`'s, when a new connection cannot be opened.
    pub async fn open(label: &str) -> Result<Self, spin_sdk::sqlite::Error> {
        Self::take(Some(label.to_owned())).await
    }

    async fn take(label: Option<String>) -> Result<Self, spin_sdk::sqlite::Error> {
        let now = crate::clock::now_ms();
        let (idle, expired) = IDLE.with_borrow_mut(|idle| {
            let expired: Vec<Idle> = idle
                .extract_if(.., |entry| now - entry.since_ms >= IDLE_REUSE_MS)
                .collect();
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
            reusable: Cell::new(true),
            in_transaction: Cell::new(false),
        })
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        self.connection
            .as_ref()
            .expect("the connection is only taken when the handle drops")
    }

    /// Sets `synchronous = NORMAL` before this connection's first write ([`Relaxed`]).
    pub async fn before_write(&self) {
        self.relaxed.before_write(self.connection()).await;
    }

    /// Keeps this connection out of the pool: a statement on it failed.
    pub fn discard(&self) {
        self.reusable.set(false);
    }

    /// Marks the connection as inside (`true`) or outside (`false`) an explicit transaction;
    /// inside one, it is not reused when the handle drops.
    pub fn set_in_transaction(&self, inside: bool) {
        self.in_transaction.set(inside);
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        if !self.reusable.get() || self.in_transaction.get() {
            return;
        }
        let idle = Idle {
            label: self.label.take(),
            connection,
            relaxed: self.relaxed.done.get(),
            since_ms: crate::clock::now_ms(),
        };
        let evicted = IDLE.with_borrow_mut(|pool| {
            pool.push(idle);
            (pool.len() > MAX_IDLE_CONNECTIONS).then(|| pool.remove(0))
        });
        drop(evicted);
    }
}
