//! Process-wide counts of what guests asked of the host, for benchmarks: figures that do not
//! depend on the machine (SQLite write transactions, key-value operations and Redis commands
//! per request) — and one that does, on purpose: socket writes per response, which depend on
//! timing inside the host (see [`OpCounts::http_socket_writes`]). Relaxed atomic increments: a
//! few nanoseconds per operation, always on.
//!
//! A benchmark reads them from outside the process: with [`FILE_ENV`] set, `order-host up`
//! rewrites that file with the counts as JSON ([`OpCounts`]' fields) every
//! [`PUBLISH_EVERY`]. Not a Spin feature: a diagnostic of this host only.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The environment variable naming the file `order-host up` keeps the counts in.
pub const FILE_ENV: &str = "ORDER_HOST_OP_COUNTS_FILE";

/// How often the counts file is rewritten.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(50);

/// Rewrites `path` with the counts every [`PUBLISH_EVERY`] (written beside it, then renamed:
/// a reader never sees half a file), until the runtime stops. A failed write is retried at the
/// next tick.
pub async fn publish(path: PathBuf) {
    let staging = path.with_extension("tmp");
    let mut tick = tokio::time::interval(PUBLISH_EVERY);
    loop {
        tick.tick().await;
        if let Ok(json) = serde_json::to_vec(&OpCounts::now())
            && std::fs::write(&staging, json).is_ok()
        {
            let _ = std::fs::rename(&staging, &path);
        }
    }
}

static SQLITE_STATEMENTS: AtomicU64 = AtomicU64::new(0);
static SQLITE_WRITE_TRANSACTIONS: AtomicU64 = AtomicU64::new(0);
static KEY_VALUE_OPERATIONS: AtomicU64 = AtomicU64::new(0);
static REDIS_COMMANDS: AtomicU64 = AtomicU64::new(0);
static INSTANTIATIONS: AtomicU64 = AtomicU64::new(0);
static SQLITE_OPENS: AtomicU64 = AtomicU64::new(0);
static REDIS_OPENS: AtomicU64 = AtomicU64::new(0);
static HTTP_RESPONSES: AtomicU64 = AtomicU64::new(0);
static HTTP_SOCKET_WRITES: AtomicU64 = AtomicU64::new(0);

/// A snapshot of the counters since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
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
    /// Instances the HTTP trigger created (each serves up to `--max-instance-reuse-count`
    /// requests; wasmtime's handler starts another whenever every live one is busy running
    /// guest code, so the count grows with load).
    #[serde(default)]
    pub instantiations: u64,
    /// Connections guests opened through `spin:sqlite` (`open` calls that succeeded; a reused
    /// instance that keeps its connections opens few).
    #[serde(default)]
    pub sqlite_opens: u64,
    /// Connections guests opened through `spin:redis` (`open` calls that connected; each is
    /// a TCP connect and a handshake, as on Spin).
    #[serde(default)]
    pub redis_opens: u64,
    /// Responses the HTTP trigger handed to hyper on plain-HTTP connections, routed or not
    /// (counted when handed over, before any byte is written; not under TLS, as the writes).
    #[serde(default)]
    pub http_responses: u64,
    /// Writes to accepted plain-HTTP sockets that sent at least one byte (`write`/`writev`
    /// calls). Per response, 1.0 means every response left in one write; a response whose body
    /// left after its head takes two, and on Spin's sockets (no `TCP_NODELAY`) its body then
    /// waits for the client's delayed ACK of the head. The excess over 1.0 is an upper bound on
    /// the share of split responses: a partial write, a chunked body's terminator or an answer
    /// hyper makes itself (400, 431: written, not counted as responses) also add writes.
    #[serde(default)]
    pub http_socket_writes: u64,
}

impl OpCounts {
    /// The counts now.
    pub fn now() -> Self {
        Self {
            sqlite_statements: SQLITE_STATEMENTS.load(Ordering::Relaxed),
            sqlite_write_transactions: SQLITE_WRITE_TRANSACTIONS.load(Ordering::Relaxed),
            key_value_operations: KEY_VALUE_OPERATIONS.load(Ordering::Relaxed),
            redis_commands: REDIS_COMMANDS.load(Ordering::Relaxed),
            instantiations: INSTANTIATIONS.load(Ordering::Relaxed),
            sqlite_opens: SQLITE_OPENS.load(Ordering::Relaxed),
            redis_opens: REDIS_OPENS.load(Ordering::Relaxed),
            http_responses: HTTP_RESPONSES.load(Ordering::Relaxed),
            http_socket_writes: HTTP_SOCKET_WRITES.load(Ordering::Relaxed),
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
            instantiations: self.instantiations - earlier.instantiations,
            sqlite_opens: self.sqlite_opens - earlier.sqlite_opens,
            redis_opens: self.redis_opens - earlier.redis_opens,
            http_responses: self.http_responses - earlier.http_responses,
            http_socket_writes: self.http_socket_writes - earlier.http_socket_writes,
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

pub(crate) fn sqlite_open() {
    SQLITE_OPENS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn redis_open() {
    REDIS_OPENS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn instantiation() {
    INSTANTIATIONS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn redis_command() {
    REDIS_COMMANDS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn http_response() {
    HTTP_RESPONSES.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn http_socket_write() {
    HTTP_SOCKET_WRITES.fetch_add(1, Ordering::Relaxed);
}
