//! Dependency families: calls by outcome, breaker state and latency histogram over each
//! breaker's rolling window.
//!
//! Counts and state come from `dependency-health.status` (the adapters' own view). The
//! latency buckets come from the adapters' window record `breaker:{dep}:window` in the
//! shared key-value store (the status record carries only p50/p99); its layout is the
//! `resilience` crate's `RollingWindow`, which both components build from.
//!
//! Window counts slide with the window, so they are gauges, not counters; the latency
//! buckets are gauges with an `le` label, which `histogram_quantile` accepts.

use super::text::{Exposition, Kind, le};
use crate::bindings::shop::adapters::dependency_health::{BreakerState, DependencyStatus};
use resilience::breaker::{LatencyHistogram, RollingWindow};
use spin_sdk::key_value::Store;

/// Writes the dependency families for `statuses`.
pub(crate) async fn write(out: &mut Exposition, statuses: &[DependencyStatus]) {
    out.family(
        "order_dependency_window_calls",
        Kind::Gauge,
        "Calls per dependency and outcome over the breaker's rolling window (success, failure, timeout, short_circuit, fallback; cache hits count as fallback, misses are not recorded separately).",
    );
    for status in statuses {
        let success = status
            .calls
            .saturating_sub(status.failures)
            .saturating_sub(status.timeouts);
        for (outcome, value) in [
            ("success", success),
            ("failure", status.failures),
            ("timeout", status.timeouts),
            ("short_circuit", status.short_circuits),
            ("fallback", status.fallbacks),
        ] {
            out.sample(
                "order_dependency_window_calls",
                &[("dependency", &status.name), ("outcome", outcome)],
                value as f64,
            );
        }
    }

    out.family(
        "order_dependency_breaker_state",
        Kind::Gauge,
        "Circuit breaker state per dependency: 0 closed, 1 half-open, 2 open.",
    );
    for status in statuses {
        let state = match status.breaker_state {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 1.0,
            BreakerState::Open => 2.0,
        };
        out.sample(
            "order_dependency_breaker_state",
            &[("dependency", &status.name)],
            state,
        );
    }

    let histograms = futures::future::join_all(statuses.iter().map(|s| latency(&s.name))).await;
    out.family(
        "order_dependency_window_latency_ms",
        Kind::Gauge,
        "Live call latency per dependency over the breaker's rolling window: calls at or below `le` milliseconds (cumulative).",
    );
    for (status, histogram) in statuses.iter().zip(&histograms) {
        let Some(histogram) = histogram else { continue };
        let mut cumulative = 0;
        for (bound, count) in histogram.buckets() {
            cumulative += count;
            let le = le(bound);
            out.sample(
                "order_dependency_window_latency_ms",
                &[("dependency", &status.name), ("le", &le)],
                cumulative as f64,
            );
        }
    }
}

/// The merged latency histogram of a dependency's window record; `None` when the record
/// is absent or unreadable (the family then has no samples for it).
async fn latency(dependency: &str) -> Option<LatencyHistogram> {
    let store = Store::open_default().await.ok()?;
    let bytes = store
        .get(format!("breaker:{dependency}:window"))
        .await
        .ok()??;
    let window: RollingWindow = serde_json::from_slice(&bytes).ok()?;
    let mut merged = LatencyHistogram::default();
    for bucket in &window.buckets {
        merged.merge(&bucket.latency);
    }
    Some(merged)
}
