//! A real `redis-server` of the test's own, and reads of the `orders.events` stream.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::process::{ChildProcess, OutputLog, on_free_port};

/// One entry of a Redis stream: (entry id, fields in order).
pub type StreamEntry = (String, Vec<(String, String)>);

/// A `redis-server` of our own on a free loopback port, killed on drop.
pub struct RedisServer {
    process: ChildProcess,
    /// Its port (kept across [`restart`](Self::restart), so a host's `redis_url` stays valid
    /// through an outage).
    pub port: u16,
    /// Its stdout and stderr, quoted if it exits at start-up.
    log: OutputLog,
    _log_dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts one and waits until it answers PING, on another port if its first was taken
    /// ([`on_free_port`]); any other exit at start-up panics with its own output.
    pub fn start() -> Self {
        let log_dir = tempfile::tempdir().expect("tempdir");
        let mut server = Self {
            process: ChildProcess::default(),
            port: 0,
            log: OutputLog::new(&log_dir.path().join("redis-server.log")),
            _log_dir: log_dir,
        };
        on_free_port("redis-server", |port| {
            server.port = port;
            server.spawn()
        });
        server
    }

    /// Kills the server (connections reset, then refused) until [`restart`](Self::restart).
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Kills the server if it runs and starts a new, empty one on the same port (no
    /// persistence: streams and keys are gone, as after a Redis crash without AOF).
    pub fn restart(&mut self) {
        if let Err(output) = self.spawn() {
            panic!("redis-server exited at restart: {output}");
        }
    }

    /// Spawns redis-server on `self.port` and waits until it answers PING; if it exits first,
    /// its exit status and the end of this run's output are the error.
    fn spawn(&mut self) -> Result<(), String> {
        let port = self.port.to_string();
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port, "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null());
        let output_start = self.log.attach(&mut command);
        let url = self.url();
        self.process
            .start(
                "redis-server",
                &mut command,
                Duration::from_secs(10),
                || ping(&url),
            )
            .map_err(|status| {
                format!(
                    "{status} on port {port}; its output ends:\n{}",
                    self.log.tail(output_start)
                )
            })
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A runtime config (Spin's format) putting key-value store `default` on this server.
    pub fn key_value_config(&self) -> String {
        format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n",
            self.url()
        )
    }

    /// A synchronous client connection for assertions.
    pub fn connection(&self) -> redis::RedisResult<redis::Connection> {
        connect(&self.url())
    }

    /// How many connections the server accepted since it started (`INFO stats`,
    /// `total_connections_received`), the one this call makes included.
    pub fn connections_received(&self) -> u64 {
        let mut connection = self.connection().expect("redis");
        let info: String = redis::cmd("INFO")
            .arg("stats")
            .query(&mut connection)
            .expect("INFO stats");
        info.lines()
            .find_map(|line| line.strip_prefix("total_connections_received:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("total_connections_received")
    }

    /// Every entry of `orders.events`; empty when the server cannot be reached.
    pub fn stream_entries(&self) -> Vec<StreamEntry> {
        self.connection()
            .and_then(|mut c| stream_entries(&mut c))
            .unwrap_or_default()
    }

    /// `(stream entry id, CloudEvent id, type)` of every entry in `orders.events`; empty when
    /// the server cannot be reached.
    pub fn stream_events(&self) -> Vec<(String, String, String)> {
        self.stream_entries()
            .into_iter()
            .map(|(entry, fields)| {
                let (id, kind) = (field(&fields, "id"), field(&fields, "type"));
                (entry, id.unwrap_or_default(), kind.unwrap_or_default())
            })
            .collect()
    }

    /// The CloudEvent ids (`id` field) in `orders.events`; empty when Redis is down.
    pub fn stream_event_ids(&self) -> BTreeSet<String> {
        self.stream_entries()
            .iter()
            .filter_map(|(_, fields)| field(fields, "id"))
            .collect()
    }

    /// Stops every write (`CLIENT PAUSE … WRITE` for a minute), so what the stream holds now
    /// is exactly what Redis accepted before an outage. Best effort.
    pub fn pause_writes(&self) {
        if let Ok(mut c) = self.connection() {
            let _: redis::RedisResult<String> = redis::cmd("CLIENT")
                .arg("PAUSE")
                .arg(60_000)
                .arg("WRITE")
                .query(&mut c);
        }
    }
}

fn connect(url: &str) -> redis::RedisResult<redis::Connection> {
    redis::Client::open(url)?.get_connection_with_timeout(Duration::from_secs(2))
}

fn ping(url: &str) -> bool {
    connect(url)
        .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
        .is_ok()
}

/// Every entry of the stream `orders.events` on `redis`.
pub fn stream_entries(redis: &mut redis::Connection) -> redis::RedisResult<Vec<StreamEntry>> {
    let raw: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg("orders.events")
        .arg("-")
        .arg("+")
        .query(redis)?;
    Ok(raw
        .into_iter()
        .map(|(id, flat)| {
            let fields = flat
                .chunks(2)
                .map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default()))
                .collect();
            (id, fields)
        })
        .collect())
}

/// The value of field `name` of a stream entry.
pub fn field(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

/// The CloudEvent JSON of every entry of `orders.events` (its `event` field), checking that
/// the `id` and `type` fields agree with it.
pub fn stream_cloud_events(redis: &mut redis::Connection) -> Vec<Value> {
    stream_entries(redis)
        .expect("XRANGE")
        .into_iter()
        .map(|(_, fields)| {
            let field = |name: &str| {
                field(&fields, name)
                    .unwrap_or_else(|| panic!("stream entry without `{name}`: {fields:?}"))
            };
            let event: Value = serde_json::from_str(&field("event")).expect("event is JSON");
            assert_eq!(event["id"], field("id"));
            assert_eq!(event["type"], field("type"));
            event
        })
        .collect()
}
