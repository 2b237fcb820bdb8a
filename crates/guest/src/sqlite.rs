//! The SQLite settings the app chooses itself, because Spin leaves them at SQLite's defaults.
//!
//! Spin's `sqlite-inproc` opens a plain `rusqlite` connection for every guest `open` and sets
//! nothing but rusqlite's 5 s busy timeout: the file keeps SQLite's rollback journal and every
//! commit is `synchronous = FULL`. `order-host` does the same (issue 10: a host that chose WAL
//! for the app hid what the app costs on Spin). So the app asks for:
//!
//! - **`journal_mode = WAL`** (`PooledConnection::use_wal`), once per database (the mode is stored in the
//!   file): readers never block the writer and a commit appends to the log instead of
//!   rewriting pages through a journal.
//! - **`synchronous = NORMAL`** (`PooledConnection::before_write`), per connection, before its
//!   first write: in WAL mode a commit is then durable against the process or the host crashing,
//!   and only an operating-system crash or power loss can undo the last commits (the log is
//!   synced at checkpoints instead of at every commit). With `FULL`, every commit waits for an
//!   fsync while it holds the write lock (~90 µs on our build machines, against ~6 µs), and
//!   concurrent writers queue behind it in SQLite's busy handler.
//! - **`wal_autocheckpoint = 4000`** (`PooledConnection::before_write`, with `synchronous`), per
//!   connection: a commit that leaves the log longer than 4,000 pages (about 16 MB at the default
//!   4 KiB page) copies the log back into the database file, instead of at SQLite's default
//!   1,000. An order's writes touch the same hot pages (B-tree roots and right-most leaves) again
//!   and again; a longer log writes each of them back once per checkpoint instead of four times,
//!   and syncs a quarter as often (issue 10, README → Benchmarks: 488–566 → 554–605 orders/s,
//!   interleaved). The log file keeps its largest size between checkpoints. order-api also
//!   checkpoints after its responses (`order_store::Db::checkpoint`, post-return), so the
//!   threshold is mostly a backstop under load, where readers keep the log from being reset.
//! - **`busy_timeout = 3`** (`PooledConnection::before_write`, with `synchronous`), per
//!   connection, and the app waits for the write lock itself beyond that
//!   (`lock_wait`: the next try at once for the first 50 ms — 1 ms later if SQLite did not
//!   sleep in the refused try — then 25 ms apart, for up to [`LOCK_WAIT_MS`] in all, as long as
//!   rusqlite's 5 s timeout). SQLite's busy handler
//!   sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms between tries, cut short at the
//!   timeout: with 3 ms it sleeps 1 ms, then 2 ms, then gives up. Left at rusqlite's 5 s, under
//!   load a writer that lost the lock twice slept 5 ms and more for a lock held well under a
//!   millisecond at a time, and a few waited 50–100 ms in all (issue 10, README → Benchmarks,
//!   session 17); with no handler at all (`busy_timeout = 0`, session 17) every refusal was a
//!   host call of its own (0.6–1.1 more statements per order under load); the two short sleeps
//!   inside SQLite catch most turns of the other writers within one host call (session 18). A
//!   statement the lock refused wrote nothing (in WAL mode the lock is taken before the first
//!   change), so trying it again is safe; inside a transaction only its `BEGIN` is tried again
//!   (its later statements hold the lock already). A request waiting out a lock held for 5 s
//!   makes about 195 tries.
//!
//! A reused instance keeps a few connections per database, which its requests take turns on
//! ([`PooledConnection`]), and combines their concurrent inserts (`insert_combined`).
//!
//! All four are best effort: a backend that refuses them (a remote libSQL server manages its
//! own log) is told once per instance and then left alone, and the app works either way.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use spin_sdk::sqlite::{Connection, Error, RowResult, Value};

use crate::turns::{Gate, Turn};

mod combined;
mod lock_wait;

use combined::Combiner;
pub use combined::MAX_COMBINED_ROWS;
pub use lock_wait::{LOCK_WAIT_MS, lock_retry_pause};
use lock_wait::{SHORT_BUSY_PRAGMA, SHORT_BUSY_SUPPORTED, retry_after_lock};

/// Cleared in this instance once a backend refused `synchronous = NORMAL`.
static RELAX_SUPPORTED: AtomicBool = AtomicBool::new(true);

/// Cleared in this instance once a backend refused [`AUTOCHECKPOINT_PRAGMA`].
static AUTOCHECKPOINT_SUPPORTED: AtomicBool = AtomicBool::new(true);

/// Sets the log length (pages) past which a commit checkpoints, on one connection (a
/// per-connection setting); see the module docs.
const AUTOCHECKPOINT_PRAGMA: &str = "PRAGMA wal_autocheckpoint = 4000";

/// Runs one setting; whether the backend took it.
async fn run_pragma(connection: &Connection, pragma: &str) -> bool {
    match connection.execute(pragma, vec![]).await {
        Ok(rows) => rows.collect().await.is_ok(),
        Err(_) => false,
    }
}

/// Sets `synchronous = NORMAL`, the checkpoint threshold and the short busy timeout on one
/// connection, once, before its first write (see the module docs); a setting the backend
/// refused in this instance is skipped. Three statements per connection that writes, none for
/// readers. Whether the connection has the short busy timeout now (the app then waits for the
/// lock beyond it).
async fn relax(connection: &Connection) -> bool {
    let mut taken = [false; 3];
    for ((pragma, supported), taken) in [
        ("PRAGMA synchronous = NORMAL", &RELAX_SUPPORTED),
        (AUTOCHECKPOINT_PRAGMA, &AUTOCHECKPOINT_SUPPORTED),
        (SHORT_BUSY_PRAGMA, &SHORT_BUSY_SUPPORTED),
    ]
    .into_iter()
    .zip(&mut taken)
    {
        if supported.load(Ordering::Relaxed) {
            *taken = run_pragma(connection, pragma).await;
            if !*taken {
                supported.store(false, Ordering::Relaxed);
            }
        }
    }
    taken[2]
}

/// Connections an instance keeps per database, which its requests take turns on.
pub const CONNECTIONS_PER_DATABASE: usize = 2;

/// How long a kept connection stays in use after its last statement, in milliseconds; after
/// that the next statement opens a new one. Short enough that a remote libSQL server has not
/// expired its stream meanwhile (sqld drops a stream idle for 10 s; Turso likewise).
pub const IDLE_REUSE_MS: u64 = 2_000;

/// A connection an instance keeps, and what it already has.
struct Kept {
    connection: Connection,
    relaxed: bool,
    /// [`SHORT_BUSY_PRAGMA`] took: the app waits for the write lock beyond it
    /// ([`retry_after_lock`]).
    short_busy_timeout: bool,
    failed: bool,
    last_used: Instant,
}

impl Kept {
    async fn open(label: Option<&str>) -> Result<Self, Error> {
        let connection = match label {
            Some(label) => Connection::open(label).await?,
            None => Connection::open_default().await?,
        };
        Ok(Self {
            connection,
            relaxed: false,
            short_busy_timeout: false,
            failed: false,
            last_used: Instant::now(),
        })
    }
}

/// One database label's connections in this instance, and the turns its statements take.
struct Slot {
    label: Option<String>,
    gate: Rc<Gate>,
    /// Connections no statement is using, most recently used last.
    idle: RefCell<Vec<Kept>>,
    /// Group commit's queue ([`PooledConnection::insert_combined`]).
    combiner: Combiner,
}

impl Slot {
    /// An idle connection that has not idled past [`IDLE_REUSE_MS`] (older ones are closed);
    /// for a holder of a turn.
    fn take_fresh(&self, now: Instant) -> Option<Kept> {
        let mut idle = self.idle.borrow_mut();
        idle.retain(|kept| {
            now.saturating_duration_since(kept.last_used) < Duration::from_millis(IDLE_REUSE_MS)
        });
        idle.pop()
    }
}

thread_local! {
    /// This instance's slots, one per database label used.
    static SLOTS: RefCell<Vec<Rc<Slot>>> = const { RefCell::new(Vec::new()) };
}

/// The instance's slot for `label`, created at its first use.
fn slot(label: Option<String>) -> Rc<Slot> {
    SLOTS.with_borrow_mut(|slots| {
        if let Some(slot) = slots.iter().find(|slot| slot.label == label) {
            return slot.clone();
        }
        let slot = Rc::new(Slot {
            label,
            gate: Gate::new(CONNECTIONS_PER_DATABASE),
            idle: RefCell::new(Vec::new()),
            combiner: Combiner::default(),
        });
        slots.push(slot.clone());
        slot
    })
}

/// A handle on the connections this instance keeps for a database, shared by all its
/// requests (issue 10): [`CONNECTIONS_PER_DATABASE`] of them, one statement at a time on each.
///
/// Spin's `sqlite-inproc` makes every guest `open` a new `rusqlite` connection (a file open,
/// the schema parsed again at its first statement, no prepared statement kept) and Spin 4
/// reuses an instance for many requests at once. A connection per request in flight made an
/// instance under load hold as many connections as requests: their writers queued in SQLite's
/// busy handler (sleeps of 1, 2, 5 … ms) and every commit by one dropped the page caches of
/// the others. So an instance keeps a few connections per database label and its requests
/// take turns on them ([`crate::turns::Gate`]): a statement waits in the guest for a free
/// connection, runs, and collects all its rows before the connection serves the next one.
/// Never two statements at once on one connection is also what sharing needs on a remote
/// libSQL server, whose client reads a query's rows after it has let the next statement onto
/// the stream.
///
/// A transaction keeps its turn and connection from its `BEGIN` (or `SAVEPOINT`) to its
/// `COMMIT`/`ROLLBACK` (read from the statements themselves), so no other request's statement
/// lands inside it; a handle dropped inside one closes that connection (the host rolls it
/// back). A connection on which a statement failed (a broken remote stream must not serve the
/// next request) or whose statement was abandoned mid-way (its task dropped) is closed, and a
/// later statement opens a new one; so is one idle for longer than [`IDLE_REUSE_MS`]
/// (monotonic clock). A connection keeps its `synchronous` setting (`before_write`) while it
/// lives.
pub struct PooledConnection {
    slot: Rc<Slot>,
    /// The turn and connection of an open transaction (after `BEGIN`, before its end), out
    /// of the cell while one of its statements runs.
    transaction: RefCell<Option<(Turn, Kept)>>,
    /// Inside a transaction: its statements go to its connection, and a statement that finds
    /// it missing (in use by a concurrent statement of this handle, or gone with a statement
    /// dropped mid-way, which closed it) fails instead of running outside the transaction.
    in_transaction: Cell<bool>,
    /// `before_write` was asked: the connection gets its settings before the next statement.
    wants_relaxed: Cell<bool>,
}

impl PooledConnection {
    /// A handle on the instance's connections to the `default` database (one is opened now
    /// unless the instance has one).
    ///
    /// # Errors
    /// `spin:sqlite`'s, when a new connection cannot be opened.
    pub async fn open_default() -> Result<Self, Error> {
        Self::take(None).await
    }

    /// A handle on the instance's connections to the database labelled `label` (one is
    /// opened now unless the instance has one).
    ///
    /// # Errors
    /// `spin:sqlite`'s, when a new connection cannot be opened.
    pub async fn open(label: &str) -> Result<Self, Error> {
        Self::take(Some(label.to_owned())).await
    }

    async fn take(label: Option<String>) -> Result<Self, Error> {
        let slot = slot(label);
        // Open one now when the slot has none and none is in use, so that an unreachable
        // database is the opener's error.
        if slot.gate.is_idle() && slot.idle.borrow().is_empty() {
            let _turn = slot.gate.acquire().await;
            if slot.idle.borrow().is_empty() {
                let kept = Kept::open(slot.label.as_deref()).await?;
                slot.idle.borrow_mut().push(kept);
            }
        }
        Ok(Self {
            slot,
            transaction: RefCell::new(None),
            in_transaction: Cell::new(false),
            wants_relaxed: Cell::new(false),
        })
    }

    /// Runs one parameterised statement and collects its rows, in its turn. On a connection
    /// with the short busy timeout (`before_write`), a statement the write lock refuses is
    /// tried again within the same turn ([`lock_retry_pause`] apart, for up to
    /// [`LOCK_WAIT_MS`]).
    ///
    /// # Errors
    /// `spin:sqlite`'s (for a lock still held after [`LOCK_WAIT_MS`]: "database is locked");
    /// the connection is then closed (after its transaction, if inside one).
    pub async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<RowResult>, Error> {
        let (turn, mut kept) = if self.in_transaction.get() {
            let open = self.transaction.borrow_mut().take();
            let Some(open) = open else {
                // Another statement of this transaction is running, or one was dropped mid-way
                // and took the transaction (its connection closed, so rolled back) with it.
                self.in_transaction
                    .set(transaction_after(sql).is_none_or(|inside| inside));
                return Err(Error::Io(
                    "the transaction's connection is busy or gone (rolled back)".into(),
                ));
            };
            open
        } else {
            let turn = self.slot.gate.acquire().await;
            let kept = match self.slot.take_fresh(Instant::now()) {
                Some(kept) => kept,
                None => Kept::open(self.slot.label.as_deref()).await?,
            };
            (turn, kept)
        };
        if self.wants_relaxed.get() && !kept.relaxed {
            kept.short_busy_timeout = relax(&kept.connection).await;
            kept.relaxed = true;
        }
        // `kept` is dropped (the connection closed) if this future is dropped mid-way.
        // Only a statement that may be tried again ([`retry_after_lock`]) keeps a copy of its
        // parameters; the others hand them over.
        let may_retry = kept.short_busy_timeout && !self.in_transaction.get();
        let mut params = Some(params);
        let first_try = Instant::now();
        // When the current try began: read from the clock again only before a retry, so a
        // statement that goes through costs one clock read, as before.
        let mut this_try = first_try;
        let rows = loop {
            let these = if may_retry {
                params.clone()
            } else {
                params.take()
            };
            let rows = match kept
                .connection
                .execute(sql, these.unwrap_or_default())
                .await
            {
                Ok(rows) => rows.collect().await,
                Err(error) => Err(error),
            };
            match &rows {
                Err(error)
                    if retry_after_lock(
                        error,
                        kept.short_busy_timeout,
                        self.in_transaction.get(),
                        first_try.elapsed(),
                    ) =>
                {
                    let pause = lock_retry_pause(first_try.elapsed(), this_try.elapsed());
                    if !pause.is_zero() {
                        spin_sdk::time::sleep(pause).await;
                    }
                    this_try = Instant::now();
                }
                _ => break rows,
            }
        };
        kept.last_used = Instant::now();
        kept.failed |= rows.is_err();
        let inside = match (&rows, transaction_after(sql)) {
            (Ok(_), Some(inside)) => inside,
            // A failed `ROLLBACK` (SQLite may have rolled back already, e.g. after an
            // interrupt) ends the transaction too: the failed connection is closed below,
            // which rolls back whatever is left.
            (Err(_), Some(false)) if is_rollback(sql) => false,
            _ => self.in_transaction.get(),
        };
        self.in_transaction.set(inside);
        if inside {
            *self.transaction.borrow_mut() = Some((turn, kept));
        } else if !kept.failed {
            self.slot.idle.borrow_mut().push(kept);
        }
        rows
    }

    /// Gives the connection `synchronous = NORMAL`, the checkpoint threshold and the short
    /// busy timeout before this handle's next statement, unless it has them.
    pub fn before_write(&self) {
        self.wants_relaxed.set(true);
    }

    /// Switches the database to write-ahead logging (stored in the file; a no-op once it is).
    /// Run it outside a transaction (SQLite refuses to change the journal mode inside one). A
    /// refusal is ignored: the app works in any journal mode.
    pub async fn use_wal(&self) {
        let _ = self.query("PRAGMA journal_mode = WAL", vec![]).await;
    }
}

/// Whether `sql` is a `ROLLBACK` of the whole transaction (not `ROLLBACK TO` a savepoint).
fn is_rollback(sql: &str) -> bool {
    sql.split_whitespace()
        .next()
        .is_some_and(|word| word.trim_end_matches(';').eq_ignore_ascii_case("ROLLBACK"))
        && transaction_after(sql) == Some(false)
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
