//! What the event tests share: a host on the repository's `spin.toml` with simulators and a
//! Redis, an admin token, outbox rows written straight into the host's SQLite file (as a
//! writer would), and stream reads.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use events::CloudEvent;
use integration_tests::{Answer, Host, HostBuilder, workspace_root};
use serde_json::{Value, json};
use simulators::Simulators;

/// The `traceparent` the test events carry.
pub(crate) const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A host with its simulators and an `orders:admin` token.
pub(crate) struct Rig {
    pub(crate) _sims: Simulators,
    pub(crate) host: Host,
    pub(crate) token: String,
}

/// Starts a host whose `redis_url` is `redis_url`, with extra variables.
pub(crate) fn rig(redis_url: &str, knobs: &[(&str, &str)]) -> Rig {
    let sims = Simulators::spawn().expect("simulators");
    let mut builder = HostBuilder::new(workspace_root().join("spin.toml"))
        .simulators(&sims)
        .variable("redis_url", redis_url);
    for (name, value) in knobs {
        builder = builder.variable(name, *value);
    }
    let host = builder.start();
    let token = host.token("orders:admin");
    Rig {
        _sims: sims,
        host,
        token,
    }
}

impl Rig {
    /// An admin call.
    pub(crate) fn admin(&self, method: &str, path: &str) -> Answer {
        let auth = format!("Bearer {}", self.token);
        self.host
            .request(method, path, &[("authorization", auth.as_str())], None)
    }

    /// `POST /api/v1/admin/outbox/dispatch`, expecting a report.
    pub(crate) fn dispatch(&self) -> Value {
        let answer = self.admin("POST", "/api/v1/admin/outbox/dispatch");
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.json()
    }

    /// `GET /api/v1/admin/outbox?status=…`, expecting a list.
    pub(crate) fn list(&self, status: &str) -> Value {
        let answer = self.admin("GET", &format!("/api/v1/admin/outbox?status={status}"));
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.json()
    }

    /// Writes pending outbox rows for `order.created.v1` events with these ids; returns them.
    pub(crate) fn insert_events(&self, ids: &[&str]) -> Vec<String> {
        let rows: Vec<(String, String)> = ids
            .iter()
            .map(|id| (id.to_string(), cloud_event(id).to_string()))
            .collect();
        self.insert_rows(&rows);
        ids.iter().map(|id| id.to_string()).collect()
    }

    /// Writes pending rows `(event id, payload)` in one transaction.
    pub(crate) fn insert_rows(&self, rows: &[(String, String)]) {
        let mut db = open_db(&self.host.state_dir.join("sqlite_db.db"));
        let tx = db.transaction().expect("begin");
        let now = now_ms();
        for (id, payload) in rows {
            tx.execute(
                "INSERT INTO outbox (event_id, aggregate_id, event_type, payload, status,
                                     attempts, next_attempt_at, created_at)
                 VALUES (?1, ?2, 'order.created.v1', ?3, 'pending', 0, ?4, ?4)",
                rusqlite::params![id, format!("ord-{id}"), payload, now],
            )
            .expect("insert outbox row");
        }
        tx.commit().expect("commit");
    }
}

/// The host's SQLite file, with the outbox table created by the shared DDL if missing.
fn open_db(path: &Path) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(path).expect("open sqlite_db.db");
    db.busy_timeout(Duration::from_secs(5))
        .expect("busy timeout");
    for statement in events::OUTBOX_SCHEMA {
        db.execute(statement, []).expect("outbox DDL");
    }
    db
}

/// The `order.created.v1` event a writer would store for event `id`.
pub(crate) fn cloud_event(id: &str) -> CloudEvent {
    CloudEvent::builder(id, "/order-service", events::types::ORDER_CREATED)
        .time_ms(now_ms())
        .subject(format!("ord-{id}"))
        .json_data(json!({ "id": format!("ord-{id}"), "status": "pending" }))
        .traceparent(Some(TRACEPARENT))
        .build()
        .expect("valid event")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Every entry of `orders.events` as `(stream id, fields)`.
pub(crate) fn stream_entries(
    redis: &mut redis::Connection,
) -> Vec<(String, Vec<(String, String)>)> {
    let raw: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg("orders.events")
        .arg("-")
        .arg("+")
        .query(redis)
        .expect("XRANGE");
    raw.into_iter()
        .map(|(id, flat)| {
            let fields = flat
                .chunks(2)
                .map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default()))
                .collect();
            (id, fields)
        })
        .collect()
}

/// The CloudEvent JSON of every stream entry (its `event` field), checking `id` and `type`
/// fields agree with it.
pub(crate) fn stream_events(redis: &mut redis::Connection) -> Vec<Value> {
    stream_entries(redis)
        .into_iter()
        .map(|(_, fields)| {
            let field = |name: &str| {
                fields
                    .iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.clone())
                    .unwrap_or_else(|| panic!("stream entry without `{name}`: {fields:?}"))
            };
            let event: Value = serde_json::from_str(&field("event")).expect("event is JSON");
            assert_eq!(event["id"], field("id"));
            assert_eq!(event["type"], field("type"));
            event
        })
        .collect()
}

/// A `redis-server` on a port of our choosing, so a test can stop it and bring it back at
/// the same address.
pub(crate) struct PortRedis {
    child: Child,
}

impl PortRedis {
    /// Starts one on `port` and waits until it answers PING.
    pub(crate) fn start(port: u16) -> Self {
        // Owned by `Self` at once, so every path (the panic too) kills and reaps it.
        let server = Self {
            child: Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server"),
        };
        let url = format!("redis://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let ping = redis::Client::open(url.as_str())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(1)))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if ping.is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {port} did not start");
    }
}

impl Drop for PortRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
