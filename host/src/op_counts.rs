//! Process-wide counts of what guests asked of the host, for benchmarks: figures that do not
//! depend on the machine (SQLite write transactions, key-value operations and Redis commands
//! per request). Relaxed atomic increments: a few nanoseconds per operation, always on.

use std::sync::atomic::{AtomicU64, Ordering};

static SQLITE_STATEMENTS: AtomicU64 = AtomicU64::new(0);
static SQLITE_WRITE_TRANSACTIONS: AtomicU64 = AtomicU64::new(0);
static KEY_VALUE_OPERATIONS: AtomicU64 = AtomicU64::new(0);
static REDIS_COMMANDS: AtomicU64 = AtomicU64::new(0);

/// A snapshot of the counters since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Statements run through `spin:sqlite` (`execute` calls).
    pub sqlite_statements: u64,
    /// Committed SQLite transactions that wrote (explicit `BEGIN … COMMIT` or an autocommit
    /// write), counted by SQLite's commit hook.
    pub sqlite_write_transactions: u64,
    /// `spin:key-value` operations (get, set, delete, exists, get-keys).
    pub key_value_operations: u64,
    /// Commands sent through `spin:redis` (outbound; the trigger's subscription is not counted).
    pub redis_commands: u64,
}

impl OpCounts {
    /// The counts now.
    pub fn now() -> Self {
        Self {
            sqlite_statements: SQLITE_STATEMENTS.load(Ordering::Relaxed),
            sqlite_write_transactions: SQLITE_WRITE_TRANSACTIONS.load(Ordering::Relaxed),
            key_value_operations: KEY_VALUE_OPERATIONS.load(Ordering::Relaxed),
            redis_commands: REDIS_COMMANDS.load(Ordering::Relaxed),
        }
    }

    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: Self) -> Self {
        Self {
            sqlite_statements: self.sqlite_statements - earlier.sqlite_statements,
            sqlite_write_transactions: self.sqlite_write_transactions
                - earlier.sqlite_write_transactions,
            key_value_operations: self.key_value_operations - earlier.key_value_operations,
            redis_commands: self.redis_commands - earlier.redis_commands,
        }
    }
}

pub(crate) fn sqlite_statement() {
    SQLITE_STATEMENTS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn sqlite_write_transaction() {
    SQLITE_WRITE_TRANSACTIONS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn key_value_operation() {
    KEY_VALUE_OPERATIONS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn redis_command() {
    REDIS_COMMANDS.fetch_add(1, Ordering::Relaxed);
}
