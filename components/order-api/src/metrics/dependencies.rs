//! Dependency families: calls by outcome, breaker state and latency histogram over each
//! breaker's rolling window.
//!
//! Counts, state and latency buckets come from `dependency-health.report` (the adapters' own
//! view of their shared breaker records, read once per scrape).
//!
//! Window counts slide with the window, so they are gauges, not counters; the latency
//! buckets are gauges with an `le` label, which `histogram_quantile` accepts.

use super::text::{Exposition, Kind, le};
use crate::bindings::shop::adapters::dependency_health::{BreakerState, DependencyReport};

/// Writes the dependency families for `reports`.
pub(crate) fn write(out: &mut Exposition, reports: &[DependencyReport]) {
    out.family(
        "order_dependency_window_calls",
        Kind::Gauge,
        "Calls per dependency and outcome over the breaker's rolling window (success, failure, timeout, short_circuit, fallback; cache hits count as fallback, misses are not recorded separately).",
    );
    for status in reports.iter().map(|r| &r.status) {
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
    for status in reports.iter().map(|r| &r.status) {
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

    out.family(
        "order_dependency_window_latency_ms",
        Kind::Gauge,
        "Live call latency per dependency over the breaker's rolling window: calls at or below `le` milliseconds (cumulative).",
    );
    for report in reports {
        let mut cumulative = 0;
        for bucket in &report.latency {
            cumulative += bucket.calls;
            let le = le(bucket.le_ms);
            out.sample(
                "order_dependency_window_latency_ms",
                &[("dependency", &report.status.name), ("le", &le)],
                cumulative as f64,
            );
        }
    }
}
