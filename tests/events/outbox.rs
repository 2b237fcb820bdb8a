//! What the event tests share: the service rig with an `orders:admin` token, the admin outbox
//! calls, and outbox rows written straight into the host's SQLite file (as a writer would).

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use events::CloudEvent;
use integration_tests::trace::INBOUND_TRACEPARENT as TRACEPARENT;
use integration_tests::{Answer, Rig};
use serde_json::{Value, json};

/// The service rig with extra variables and a token for `orders:admin` only.
pub(crate) fn rig(knobs: &[(&str, &str)]) -> Rig {
    Rig::builder()
        .variables(knobs)
        .scopes("orders:admin")
        .start()
}

/// The outbox as an operator (and a writer) reaches it.
pub(crate) trait Outbox {
    /// An admin call.
    fn admin(&self, method: &str, path: &str) -> Answer;
    /// `POST /api/v1/admin/outbox/dispatch`, expecting a report.
    fn dispatch(&self) -> Value;
    /// `GET /api/v1/admin/outbox?status=…`, expecting a list.
    fn list(&self, status: &str) -> Value;
    /// Writes pending outbox rows for `order.created.v1` events with these ids; returns them.
    fn insert_events(&self, ids: &[&str]) -> Vec<String>;
    /// Writes pending rows `(event id, payload)` in one transaction.
    fn insert_rows(&self, rows: &[(String, String)]);
}

impl Outbox for Rig {
    fn admin(&self, method: &str, path: &str) -> Answer {
        self.call(method, path)
    }

    fn dispatch(&self) -> Value {
        let answer = self.admin("POST", "/api/v1/admin/outbox/dispatch");
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.json()
    }

    fn list(&self, status: &str) -> Value {
        let answer = self.admin("GET", &format!("/api/v1/admin/outbox?status={status}"));
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.json()
    }

    fn insert_events(&self, ids: &[&str]) -> Vec<String> {
        let rows: Vec<(String, String)> = ids
            .iter()
            .map(|id| (id.to_string(), cloud_event(id).to_string()))
            .collect();
        self.insert_rows(&rows);
        ids.iter().map(|id| id.to_string()).collect()
    }

    fn insert_rows(&self, rows: &[(String, String)]) {
        let mut db = open_db(&self.db_path());
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
