//! Liveness and readiness.
//!
//! Readiness checks what this instance needs to take orders: its SQLite database, its
//! key-value store, and the composed components behind `dependency-health` and `events`
//! (both read those stores). Any of them failing is **not ready** (503, with `reasons`).
//!
//! Everything else is reported but keeps 200 with `status: "degraded"`:
//! - an open or half-open breaker: the User fallback and Product cache may still serve, and
//!   taking every instance out of rotation because one dependency is down helps nobody;
//! - Redis (`redis_url`, `PING` with a short timeout): the outbox keeps events until the
//!   relay can deliver them, so orders are still safe to take.

use crate::bindings::shop::adapters::dependency_health::{self, BreakerState, DependencyStatus};
use crate::bindings::shop::events::events::{self, OutboxStats};
use crate::reply::Reply;
use futures::FutureExt;
use serde_json::{Map, Value, json};
use spin_sdk::http::StatusCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long the Redis `PING` may take before Redis counts as down.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// `GET /health/live`: the component answers.
pub(crate) fn live() -> Reply {
    Reply::json(StatusCode::OK, &json!({ "status": "live" }))
}

/// `GET /health/ready`: 200 (`ready` or `degraded`) when storage works, else 503
/// (`not_ready`). Failing checks are marked `"failed"`, explained under `errors`, and
/// summarised in `reasons`.
pub(crate) async fn ready() -> Reply {
    // The emitter's outbox statistics need the schema; a failure shows as the outbox check's
    // storage error.
    let _ = crate::store::ensure_schema().await;
    let (sqlite, key_value, dependencies, outbox, redis) = futures::join!(
        check_sqlite(),
        check_key_value(),
        dependency_health::status(),
        events::stats(),
        check_redis(),
    );

    let mut report = Report::default();
    report.record("sqlite", sqlite);
    report.record("keyValue", key_value);
    let dependencies = report
        .record("dependencies", dependencies)
        .unwrap_or_default();
    let outbox = report.record("outbox", outbox.map_err(|error| format!("{error:?}")));
    let ready = report.errors.is_empty();

    let mut reasons: Vec<String> = report
        .errors
        .iter()
        .map(|(name, error)| format!("{name}: {}", error.as_str().unwrap_or_default()))
        .collect();
    let redis = match redis {
        RedisCheck::Ok => "ok",
        RedisCheck::NotConfigured => "not_configured",
        RedisCheck::Failed(error) => {
            // The driver's text goes to the log, not to the (unauthenticated) response.
            let error_id = guest::ids::random_hex(8);
            crate::telemetry::log_internal_error(&error_id, "readiness-redis", &error);
            reasons.push(format!(
                "redis (degraded): unreachable (error id {error_id})"
            ));
            "failed"
        }
    };
    report.checks.insert("redis".into(), redis.into());
    for dependency in &dependencies {
        if dependency.breaker_state != BreakerState::Closed {
            let state = breaker_state_name(dependency.breaker_state);
            reasons.push(format!("{} breaker {state} (degraded)", dependency.name));
        }
    }

    let status_name = match (ready, reasons.is_empty()) {
        (false, _) => "not_ready",
        (true, true) => "ready",
        (true, false) => "degraded",
    };
    let mut body = json!({
        "status": status_name,
        "checks": report.checks,
        "reasons": reasons,
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

/// Outcome of the best-effort Redis check.
enum RedisCheck {
    Ok,
    /// `redis_url` is unset or empty: nothing to check.
    NotConfigured,
    /// The reason, without the URL (it may hold a password).
    Failed(String),
}

/// `PING` on `redis_url`, bounded by [`REDIS_TIMEOUT`].
async fn check_redis() -> RedisCheck {
    let url = match crate::config::variable("redis_url").await {
        Ok(url) if !url.trim().is_empty() => url,
        _ => return RedisCheck::NotConfigured,
    };
    let ping = async {
        let connection = spin_sdk::redis::Connection::open(&url)
            .await
            .map_err(|error| format!("open: {error:?}"))?;
        connection
            .execute("PING", [])
            .await
            .map(|_| ())
            .map_err(|error| format!("PING: {error:?}"))
    };
    futures::select! {
        outcome = ping.fuse() => match outcome {
            Ok(()) => RedisCheck::Ok,
            Err(error) => RedisCheck::Failed(error),
        },
        () = spin_sdk::time::sleep(REDIS_TIMEOUT).fuse() => {
            RedisCheck::Failed(format!("no answer within {} ms", REDIS_TIMEOUT.as_millis()))
        }
    }
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
                // The raw error goes to the log; the response names the check and the id.
                let error_id = guest::ids::random_hex(8);
                crate::telemetry::log_internal_error(&error_id, "readiness", &error);
                self.checks.insert(name.into(), "failed".into());
                self.errors
                    .insert(name.into(), format!("failed (error id {error_id})").into());
                None
            }
        }
    }
}

/// The `default` database answers a trivial query, on a connection this instance keeps
/// (`guest::sqlite::PooledConnection`) if it has one: a failing one is dropped, so the next
/// probe opens a new one.
async fn check_sqlite() -> Result<(), String> {
    let connection = guest::sqlite::PooledConnection::open_default()
        .await
        .map_err(|error| format!("open `default`: {error:?}"))?;
    let rows = connection
        .query("select 1", vec![])
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
    let sequence = PROBES.fetch_add(1, Ordering::Relaxed);
    let key = format!("health:probe:{}-{sequence}", guest::ids::random_hex(8));
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
        // RFC 3339, as in `GET /api/v1/admin/outbox` and every other time on this API.
        "oldestPendingAt": stats.oldest_pending_at_ms.map(|ms| domain::Timestamp(ms).to_string()),
    })
}
