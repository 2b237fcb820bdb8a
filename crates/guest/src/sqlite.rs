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
//! Both are best effort: a backend that refuses them (a remote libSQL server manages its own
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
