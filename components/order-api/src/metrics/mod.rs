//! `GET /metrics`: Prometheus text format 0.0.4, aggregated across instances.
//!
//! Unauthenticated (ARCHITECTURE §4 allows "none"): the numbers carry no order or user
//! data, and deployments expose the port to the scraper only. Families:
//!
//! | family | type | labels |
//! |---|---|---|
//! | `order_http_requests_total` | counter | `method`, `route` (pattern), `status` |
//! | `order_http_request_duration_ms` | histogram | `method`, `route`, `status` |
//! | `order_dependency_window_calls` | gauge | `dependency`, `outcome` |
//! | `order_dependency_breaker_state` | gauge | `dependency` (0 closed, 1 half-open, 2 open) |
//! | `order_dependency_window_latency_ms` | gauge (cumulative `le` buckets) | `dependency`, `le` |
//! | `order_outbox_pending_events`, `order_outbox_dead_events` | gauge | |
//! | `order_outbox_oldest_pending_age_seconds` | gauge (seconds) | |
//! | `order_saga_recovery_backlog` | gauge | |
//! | `order_metrics_source_up` | gauge | `source` (1 = read, 0 = failed) |
//!
//! Cost: a request is counted in instance memory and written in batches (`http`): about
//! 2 / 64 key-value operations per request under load, 2 for an instance's first request; a
//! scrape writes its own instance's batch, then reads one record per route pattern, two per
//! dependency, plus the outbox counts.

mod dependencies;
mod http;
mod text;

use crate::bindings::{shop::adapters::dependency_health, shop::events::events};
use crate::reply::Reply;
use crate::routes;
use guest::clock;
use request_metrics::{BOUNDS_MS, RouteRecord};
use spin_sdk::http::StatusCode;
use text::{Exposition, Kind, le};

/// The exposition's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Records one finished request (in instance memory; written to key-value in batches).
pub(crate) async fn record_request(route: &str, method: &str, status: u16, latency_ms: u64) {
    http::record(route, method, status, latency_ms).await;
}

/// Logs a metrics write that failed; its counts stay in the batch for the next write.
fn store_error(route: &str, error: &str) {
    crate::telemetry::emit(&serde_json::json!({
        "level": "warn",
        "component": "order-api",
        "event": "metrics_store_error",
        "route": route,
        "error": error,
    }));
}

/// Unfinished sagas older than `saga_recovery_after_s` (one `COUNT(*)`).
async fn recovery_backlog() -> Result<u64, crate::store::StoreError> {
    let db = crate::store::Db::open().await?;
    let settings = crate::config::settings().await;
    db.count_stale_sagas(clock::now_ms() - settings.saga_recovery_after_s * 1000)
        .await
}

/// `GET /metrics`.
pub(crate) async fn scrape() -> Reply {
    // This instance's own batch first, so a scrape counts every request it answered before.
    http::write_now().await;
    let routes: Vec<&'static str> = routes::patterns().collect();
    // The emitter's outbox statistics need the schema; a failure shows as a failed source.
    let _ = crate::store::ensure_schema().await;
    let (requests, dependencies, outbox, backlog) = futures::join!(
        http::load_all(&routes),
        dependency_health::report(),
        events::stats(),
        recovery_backlog(),
    );
    let mut out = Exposition::default();
    let mut sources = Vec::new();

    sources.push(("http_store", requests.is_ok()));
    write_http(&mut out, &requests.unwrap_or_default());

    sources.push(("dependency_health", dependencies.is_ok()));
    dependencies::write(&mut out, &dependencies.unwrap_or_default());

    sources.push(("outbox", outbox.is_ok()));
    if let Ok(stats) = outbox {
        out.family(
            "order_outbox_pending_events",
            Kind::Gauge,
            "Outbox events waiting for (re)delivery.",
        );
        out.sample("order_outbox_pending_events", &[], stats.pending as f64);
        out.family(
            "order_outbox_dead_events",
            Kind::Gauge,
            "Outbox events dead-lettered after outbox_max_attempts; need a replay.",
        );
        out.sample("order_outbox_dead_events", &[], stats.dead as f64);
        out.family(
            "order_outbox_oldest_pending_age_seconds",
            Kind::Gauge,
            "Age of the oldest pending outbox event (relay lag); 0 when none is pending.",
        );
        let age_ms = stats
            .oldest_pending_at_ms
            .map_or(0, |at| (clock::now_ms() - at).max(0));
        out.sample(
            "order_outbox_oldest_pending_age_seconds",
            &[],
            age_ms as f64 / 1000.0,
        );
    }

    sources.push(("orders", backlog.is_ok()));
    if let Ok(stale) = backlog {
        out.family(
            "order_saga_recovery_backlog",
            Kind::Gauge,
            "Unfinished sagas older than saga_recovery_after_s, waiting for recovery.",
        );
        out.sample("order_saga_recovery_backlog", &[], stale as f64);
    }

    out.family(
        "order_metrics_source_up",
        Kind::Gauge,
        "Whether this scrape could read a source (1) or not (0).",
    );
    for (source, up) in sources {
        out.sample(
            "order_metrics_source_up",
            &[("source", source)],
            if up { 1.0 } else { 0.0 },
        );
    }
    Reply::text(StatusCode::OK, CONTENT_TYPE, out.finish()).with_header("cache-control", "no-store")
}

/// The HTTP families from the per-route records.
fn write_http(out: &mut Exposition, records: &[(&'static str, RouteRecord)]) {
    out.family(
        "order_http_requests_total",
        Kind::Counter,
        "HTTP requests answered, by method, route pattern and status.",
    );
    for (route, record) in records {
        for (key, series) in &record.series {
            let (method, status) = key.split_once(' ').unwrap_or((key.as_str(), ""));
            out.sample(
                "order_http_requests_total",
                &[("method", method), ("route", route), ("status", status)],
                series.count as f64,
            );
        }
    }
    out.family(
        "order_http_request_duration_ms",
        Kind::Histogram,
        "HTTP request latency in milliseconds, by method, route pattern and status.",
    );
    for (route, record) in records {
        for (key, series) in &record.series {
            let (method, status) = key.split_once(' ').unwrap_or((key.as_str(), ""));
            let bounds = BOUNDS_MS.iter().map(|&b| Some(b)).chain([None]);
            let mut cumulative = 0;
            for (index, bound) in bounds.enumerate() {
                cumulative += series.buckets.get(index).copied().unwrap_or(0);
                let le = le(bound);
                out.sample(
                    "order_http_request_duration_ms_bucket",
                    &[
                        ("method", method),
                        ("route", route),
                        ("status", status),
                        ("le", &le),
                    ],
                    cumulative as f64,
                );
            }
            let labels = [("method", method), ("route", *route), ("status", status)];
            out.sample(
                "order_http_request_duration_ms_sum",
                &labels,
                series.sum_ms as f64,
            );
            out.sample(
                "order_http_request_duration_ms_count",
                &labels,
                series.count as f64,
            );
        }
    }
}
