//! How a writing connection waits for SQLite's write lock (issue 10; see the parent module's
//! docs): SQLite's own busy handler for the first [`SHORT_BUSY_TIMEOUT_MS`] of each try, then
//! the app's tries ([`retry_after_lock`], [`lock_retry_pause`]) for up to [`LOCK_WAIT_MS`].

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use spin_sdk::sqlite::Error;

/// Cleared in this instance once a backend refused [`SHORT_BUSY_PRAGMA`].
pub(super) static SHORT_BUSY_SUPPORTED: AtomicBool = AtomicBool::new(true);

/// How long SQLite's busy handler waits for the write lock within one try, in milliseconds,
/// on a connection that writes: it sleeps 1 ms, then 2 ms (SQLite's `sqliteDefaultBusyCallback`
/// steps, cut at the timeout), then the statement fails with "database is locked".
pub(super) const SHORT_BUSY_TIMEOUT_MS: u64 = 3;

/// Sets [`SHORT_BUSY_TIMEOUT_MS`] on one connection (a per-connection setting), in place of
/// rusqlite's (and so Spin's) 5 s: `PooledConnection::query` tries a refused statement again
/// itself. (A literal, since a `const` string cannot be formatted; a unit test keeps the two
/// in step.)
pub(super) const SHORT_BUSY_PRAGMA: &str = "PRAGMA busy_timeout = 3";

/// How long the app keeps trying a statement the write lock refuses, in milliseconds, before
/// its "database is locked" error stands: rusqlite's (and so Spin's) default busy timeout.
pub const LOCK_WAIT_MS: u64 = 5_000;

/// How long the app waits before the next try of a statement the write lock refused, having
/// waited `waited` for it so far and the refused try having taken `last_try`:
/// - while `waited` is shorter than 50 ms, which covers the turns of the other writers under
///   load: nothing, when the try took at least [`SHORT_BUSY_TIMEOUT_MS`] (SQLite's handler
///   slept in it); 1 ms when it came back sooner (a backend that refuses without sleeping:
///   no tight loop of host calls);
/// - 25 ms after that, when the lock is held for long (a backup, an operator's transaction),
///   so that waiting costs ~35 host calls a second instead of ~330.
pub fn lock_retry_pause(waited: Duration, last_try: Duration) -> Duration {
    if waited >= Duration::from_millis(50) {
        Duration::from_millis(25)
    } else if last_try < Duration::from_millis(SHORT_BUSY_TIMEOUT_MS) {
        Duration::from_millis(1)
    } else {
        Duration::ZERO
    }
}

/// Whether a statement that failed with `error` is tried again after [`lock_retry_pause`]:
/// the write lock refused it (SQLite's `SQLITE_BUSY`, "database is
/// locked"; nothing was written), on a connection with the short busy timeout, outside a
/// transaction (or as its `BEGIN`), and the app has waited less than [`LOCK_WAIT_MS`] for it.
pub(super) fn retry_after_lock(
    error: &Error,
    short_busy_timeout: bool,
    in_transaction: bool,
    waited: Duration,
) -> bool {
    short_busy_timeout
        && !in_transaction
        && matches!(error, Error::Io(text) if text.contains("database is locked"))
        && waited < Duration::from_millis(LOCK_WAIT_MS)
}

#[cfg(test)]
mod tests {
    use super::{
        Error, LOCK_WAIT_MS, SHORT_BUSY_PRAGMA, SHORT_BUSY_TIMEOUT_MS, lock_retry_pause,
        retry_after_lock,
    };
    use std::time::Duration;

    const SLEPT: Duration = Duration::from_millis(SHORT_BUSY_TIMEOUT_MS);

    #[test]
    fn the_short_busy_timeout_is_the_one_the_pragma_sets() {
        assert_eq!(
            SHORT_BUSY_PRAGMA,
            format!("PRAGMA busy_timeout = {SHORT_BUSY_TIMEOUT_MS}")
        );
    }

    #[test]
    fn lock_waits_try_again_at_once_for_50_ms_then_every_25_ms() {
        let pause = |waited_ms| lock_retry_pause(Duration::from_millis(waited_ms), SLEPT);
        assert_eq!(pause(0), Duration::ZERO);
        assert_eq!(pause(49), Duration::ZERO);
        assert_eq!(pause(50), Duration::from_millis(25));
        assert_eq!(pause(4_999), Duration::from_millis(25));
        // Tries while a lock is held for the whole 5 s, each waiting SHORT_BUSY_TIMEOUT_MS
        // inside SQLite first: ~50 / 3 + (5,000 - 50) / 28.
        let (mut waited, mut tries) = (0, 0);
        while waited < LOCK_WAIT_MS {
            waited += SHORT_BUSY_TIMEOUT_MS + u64::try_from(pause(waited).as_millis()).unwrap();
            tries += 1;
        }
        assert!((185..=200).contains(&tries), "{tries}");
    }

    #[test]
    fn a_refusal_that_came_back_without_sqlite_sleeping_waits_a_millisecond() {
        let at_once = Duration::from_micros(200);
        assert_eq!(
            lock_retry_pause(Duration::from_millis(10), at_once),
            Duration::from_millis(1)
        );
        // Past 50 ms the 25 ms pause applies either way.
        assert_eq!(
            lock_retry_pause(Duration::from_millis(60), at_once),
            Duration::from_millis(25)
        );
    }

    #[test]
    fn only_a_lock_refusal_outside_a_transaction_with_the_short_busy_timeout_is_tried_again_for_5_s()
     {
        let locked = Error::Io("database is locked".into());
        let soon = Duration::from_millis(3);
        assert!(retry_after_lock(&locked, true, false, soon));
        assert!(retry_after_lock(
            &locked,
            true,
            false,
            Duration::from_millis(LOCK_WAIT_MS - 1)
        ));
        // Waited long enough: the error stands (the API answers 503 storage-busy).
        assert!(!retry_after_lock(
            &locked,
            true,
            false,
            Duration::from_millis(LOCK_WAIT_MS)
        ));
        // SQLite's busy handler already waited 5 s (the setting was refused, or a reader's
        // connection).
        assert!(!retry_after_lock(&locked, false, false, soon));
        // Inside a transaction a statement after `BEGIN` cannot be tried alone.
        assert!(!retry_after_lock(&locked, true, true, soon));
        // Other failures, including a remote server that cannot be reached, are not a lock.
        for other in [
            Error::Io("UNIQUE constraint failed: orders.id".into()),
            Error::Io("Hrana: `http error: connection refused`".into()),
            Error::NoSuchDatabase,
        ] {
            assert!(!retry_after_lock(&other, true, false, soon), "{other:?}");
        }
    }
}
