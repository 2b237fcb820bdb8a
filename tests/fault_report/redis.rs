//! A `redis-server` the report can kill and bring back on the same port, so the host's
//! `redis_url` stays valid across a Redis outage (the shared harness's `RedisServer` picks a new
//! port each start).

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One `redis-server` process on a fixed loopback port, killed on drop.
pub(crate) struct RestartableRedis {
    child: Option<Child>,
    /// Its port (kept across restarts).
    pub(crate) port: u16,
}

impl RestartableRedis {
    /// Starts one on a free port and waits until it answers PING.
    pub(crate) fn start() -> Self {
        let mut redis = Self {
            child: None,
            port: integration_tests::free_port(),
        };
        redis.restart();
        redis
    }

    /// `redis://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn connection(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(self.url())?.get_connection_with_timeout(Duration::from_secs(2))
    }

    /// Starts a fresh, empty server on the same port (no persistence: the old stream is gone).
    pub(crate) fn restart(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test.sh installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut c) = self.connection()
                && redis::cmd("PING").query::<String>(&mut c).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    /// Kills the server (an outage as the host sees it: connections reset, then refused).
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops every write (`CLIENT PAUSE … WRITE`), so an event id read from the stream now
    /// is exactly what Redis accepted before the outage. Best effort.
    pub(crate) fn pause_writes(&self) {
        if let Ok(mut c) = self.connection() {
            let _: redis::RedisResult<String> = redis::cmd("CLIENT")
                .arg("PAUSE")
                .arg(60_000)
                .arg("WRITE")
                .query(&mut c);
        }
    }

    /// The CloudEvent ids (`id` field) in the stream `orders.events`; empty if Redis is down.
    pub(crate) fn stream_event_ids(&self) -> BTreeSet<String> {
        let Ok(mut c) = self.connection() else {
            return BTreeSet::new();
        };
        let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
            .arg("orders.events")
            .arg("-")
            .arg("+")
            .query(&mut c)
            .unwrap_or_default();
        entries
            .iter()
            .filter_map(|(_, fields)| {
                fields
                    .chunks(2)
                    .find(|f| f.first().map(String::as_str) == Some("id"))
                    .and_then(|f| f.get(1).cloned())
            })
            .collect()
    }
}

impl Drop for RestartableRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
