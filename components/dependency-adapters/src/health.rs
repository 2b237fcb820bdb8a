//! `dependency-health.status` and `.report`: each dependency's breaker as recorded in the
//! shared key-value store (`breaker:{dep}:state` and `breaker:{dep}:window`, see `kv.rs`),
//! so every instance on every node reports the same state. Two reads per dependency, all
//! eight concurrently.

use resilience::BreakerState as State;

use crate::bindings::exports::shop::adapters::dependency_health::{
    BreakerState, DependencyReport, DependencyStatus, LatencyBucket,
};
use crate::context::Context;
use crate::service::Service;

/// Every dependency's state (`status`): [`report`] without the histograms.
pub(crate) async fn status() -> Result<Vec<DependencyStatus>, String> {
    Ok(report().await?.into_iter().map(|r| r.status).collect())
}

/// Every dependency's state and latency histogram over its rolling window. Fails when the
/// store cannot be read: reporting "closed" then would be a lie.
pub(crate) async fn report() -> Result<Vec<DependencyReport>, String> {
    let context = Context::open(None).await;
    let snapshots = futures::future::join_all(Service::ALL.map(|service| {
        let context = &context;
        async move {
            let snapshot = context.breaker(service).snapshot().await;
            snapshot.map_err(|error| format!("{} breaker: {error}", service.name()))
        }
    }))
    .await;
    Service::ALL
        .into_iter()
        .zip(snapshots)
        .map(|(service, snapshot)| {
            let snapshot = snapshot?;
            let totals = snapshot.totals;
            let latency = totals
                .latency
                .buckets()
                .into_iter()
                .map(|(le_ms, calls)| LatencyBucket { le_ms, calls })
                .collect();
            let status = DependencyStatus {
                name: service.name().to_owned(),
                breaker_state: match snapshot.state.state {
                    State::Closed => BreakerState::Closed,
                    State::Open => BreakerState::Open,
                    State::HalfOpen => BreakerState::HalfOpen,
                },
                calls: totals.calls,
                failures: totals.failures,
                timeouts: totals.timeouts,
                short_circuits: totals.short_circuits,
                fallbacks: totals.fallbacks,
                latency_p50_ms: saturate(totals.latency.percentile(50)),
                latency_p99_ms: saturate(totals.latency.percentile(99)),
                opened_at_ms: snapshot.state.opened_at_ms,
                last_error: snapshot.last_error,
            };
            Ok(DependencyReport { status, latency })
        })
        .collect()
}

fn saturate(ms: u64) -> u32 {
    u32::try_from(ms).unwrap_or(u32::MAX)
}
