//! Liveness and readiness.
//!
//! Readiness checks what this instance needs to do its job: its SQLite database, its
//! key-value store, and the composed components behind `dependency-health` and `events`.
//! An open breaker does *not* make the service unready (that would take every instance
//! out of rotation because one dependency is down); it is reported for operators.

use crate::bindings::shop::order::dependency_health::{self, BreakerState, DependencyStatus};
use crate::bindings::shop::order::events::{self, OutboxStats};
use crate::reply::Reply;
use serde_json::{Map, Value, json};
use spin_sdk::http::StatusCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// `GET /health/live`: the component answers.
pub(crate) fn live() -> Reply {
    Reply::json(StatusCode::OK, &json!({ "status": "live" }))
}

/// `GET /health/ready`: 200 when every check passes, else 503 with the same shape and the
/// failing checks marked `"failed"` and explained under `errors`.
pub(crate) async fn ready() -> Reply {
    let (sqlite, key_value, dependencies, outbox) = futures::join!(
        check_sqlite(),
        check_key_value(),
        dependency_health::status(),
        events::stats(),
    );

    let mut report = Report::default();
    report.record("sqlite", sqlite);
    report.record("keyValue", key_value);
    let dependencies = report
        .record("dependencies", dependencies)
        .unwrap_or_default();
    let outbox = report.record("outbox", outbox.map_err(|error| format!("{error:?}")));

    let ready = report.errors.is_empty();
    let mut body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": report.checks,
        "dependencies": dependencies.iter().map(dependency_json).collect::<Vec<_>>(),
        "outbox": outbox.as_ref().map(outbox_json),
    });
    if !ready {
        body["errors"] = Value::Object(report.errors);
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Reply::json(status, &body).with_header("cache-control", "no-store")
}

/// Check outcomes: `checks` maps each name to `"ok"` / `"failed"`, `errors` holds the
/// reason for each failed one.
#[derive(Default)]
struct Report {
    checks: Map<String, Value>,
    errors: Map<String, Value>,
}

impl Report {
    fn record<T>(&mut self, name: &str, outcome: Result<T, String>) -> Option<T> {
        match outcome {
            Ok(value) => {
                self.checks.insert(name.into(), "ok".into());
                Some(value)
            }
            Err(error) => {
                self.checks.insert(name.into(), "failed".into());
                self.errors.insert(name.into(), error.into());
                None
            }
        }
    }
}

/// The `default` database answers a trivial query.
async fn check_sqlite() -> Result<(), String> {
    let connection = spin_sdk::sqlite::Connection::open_default()
        .await
        .map_err(|error| format!("open `default`: {error:?}"))?;
    let rows = connection
        .execute("select 1", [])
        .await
        .map_err(|error| format!("select 1: {error:?}"))?
        .collect()
        .await
        .map_err(|error| format!("select 1: {error:?}"))?;
    match rows.first().and_then(|row| row.get::<i64>(0)) {
        Some(1) => Ok(()),
        _ => Err("select 1 did not return 1".into()),
    }
}

/// The `default` store takes a write and gives it back. The key is unique per check so
/// concurrent probes (from any instance) cannot see each other's value.
async fn check_key_value() -> Result<(), String> {
    static PROBES: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    let sequence = PROBES.fetch_add(1, Ordering::Relaxed);
    let key = format!("health:probe:{nanos}-{sequence}");
    let value = key.as_bytes();

    let store = spin_sdk::key_value::Store::open_default()
        .await
        .map_err(|error| format!("open `default`: {error:?}"))?;
    store
        .set(&key, value)
        .await
        .map_err(|error| format!("set: {error:?}"))?;
    let read = store
        .get(&key)
        .await
        .map_err(|error| format!("get: {error:?}"))?;
    store
        .delete(&key)
        .await
        .map_err(|error| format!("delete: {error:?}"))?;
    match read {
        Some(read) if read == value => Ok(()),
        Some(_) => Err("read back a different value".into()),
        None => Err("value written was not found".into()),
    }
}

/// One dependency as `/health/ready` shows it (camelCase on the wire).
fn dependency_json(status: &DependencyStatus) -> Value {
    let errors = status.failures.saturating_add(status.timeouts);
    let error_rate = if status.calls == 0 {
        0.0
    } else {
        errors as f64 / status.calls as f64
    };
    json!({
        "name": status.name,
        "breakerState": breaker_state_name(status.breaker_state),
        "calls": status.calls,
        "failures": status.failures,
        "timeouts": status.timeouts,
        "shortCircuits": status.short_circuits,
        "fallbacks": status.fallbacks,
        "errorRate": error_rate,
        "latencyP50Ms": status.latency_p50_ms,
        "latencyP99Ms": status.latency_p99_ms,
        "openedAtMs": status.opened_at_ms,
        "lastError": status.last_error,
    })
}

/// Wire names of breaker states, snake_case like every enum value on this API.
fn breaker_state_name(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "closed",
        BreakerState::Open => "open",
        BreakerState::HalfOpen => "half_open",
    }
}

fn outbox_json(stats: &OutboxStats) -> Value {
    json!({
        "pending": stats.pending,
        "dead": stats.dead,
        "delivered": stats.delivered,
        "oldestPendingAtMs": stats.oldest_pending_at_ms,
    })
}
