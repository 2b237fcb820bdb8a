//! The one test harness of the integration suites, the benchmarks and the fault report: the
//! real `order-host` binary as a process on the real `.wasm` components ([`host`]), real
//! `redis-server` and `sqld` processes ([`redis_server`], [`SqldServer`], both restartable through
//! [`process`]), the service rig every order-level suite starts from ([`rig`]), several nodes
//! ([`cluster`]), the adapters' driver ([`adapter_rig`]), test certificates ([`pki`]) and the
//! checks of trace context and log lines ([`trace`]).
//!
//! Prerequisites are built by the README's test command (`scripts/test.sh`): the release host
//! binary and the release `.wasm` files. The harness checks for them and says what to run.

#![warn(missing_docs)]

pub mod adapter_rig;
pub mod cluster;
pub mod floor;
pub mod host;
pub mod pki;
pub mod process;
pub mod redis_server;
pub mod rig;
mod sqld;
pub mod trace;

pub use cluster::{Cluster, ClusterBuilder, Database};
pub use host::{Answer, Host, HostBuilder, dev_token, try_request};
pub use process::ChildProcess;
pub use redis_server::RedisServer;
pub use rig::{Rig, RigBuilder, SCOPES, assert_one_winner, order_body, problem_type, rig};
pub use sqld::{SqldServer, sqld_binary};

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The repository root: the nearest ancestor of the running package's directory (cargo sets
/// `CARGO_MANIFEST_DIR` when it runs tests and binaries) that holds `spin.toml`. Found at run
/// time, not compile time: clones sharing one target directory (CI's fresh clone and a
/// working copy) reuse each other's test binaries, and a compile-time path would point at
/// whichever clone built them.
pub fn workspace_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    start
        .ancestors()
        .find(|dir| dir.join("spin.toml").is_file() && dir.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("tests/ has a parent")
                .to_path_buf()
        })
}

pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn must_exist(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "{} is missing: run the README's test command (bash scripts/test.sh), which builds it",
        path.display()
    );
    path
}

/// The release `order-host` binary.
pub fn host_binary() -> PathBuf {
    must_exist(target_dir().join("release/order-host"))
}

/// A release component built for `wasm32-wasip2`, by crate name (`probe`, `order_api`, ...).
pub fn wasm(name: &str) -> PathBuf {
    must_exist(target_dir().join(format!("wasm32-wasip2/release/{name}.wasm")))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Polls `check` every 25 ms until it returns `Some`, or panics with `what` after `timeout`.
pub fn eventually<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Runs `call` on `n` threads at once; every answer, in thread order.
pub fn at_once<T: Send>(n: usize, call: impl Fn() -> T + Sync) -> Vec<T> {
    std::thread::scope(|scope| {
        let calls: Vec<_> = (0..n).map(|_| scope.spawn(&call)).collect();
        calls
            .into_iter()
            .map(|c| c.join().expect("no panic"))
            .collect()
    })
}

/// Writes `text` as `spin.toml` in a new temporary directory and returns (dir, manifest path).
pub fn manifest_in_tempdir(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("spin.toml");
    std::fs::write(&path, text).expect("write manifest");
    (dir, path)
}

/// Writes `text` as `runtime-config.toml` in `dir` and returns its path.
pub fn write_runtime_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("runtime-config.toml");
    std::fs::write(&path, text).expect("write runtime config");
    path
}
