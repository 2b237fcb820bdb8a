//! `dependency-health.status`: each dependency's breaker as recorded in the shared
//! key-value store (`breaker:{dep}:state` and `breaker:{dep}:window`, see `kv.rs`), so
//! every instance on every node reports the same state. Two reads per dependency, all
//! eight concurrently.

use resilience::BreakerState as State;

use crate::bindings::exports::shop::adapters::dependency_health::{BreakerState, DependencyStatus};
use crate::context::Context;
use crate::service::Service;

/// Every dependency's state. Fails when the store cannot be read: reporting "closed"
/// then would be a lie.
pub(crate) async fn status() -> Result<Vec<DependencyStatus>, String> {
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
            Ok(DependencyStatus {
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
            })
        })
        .collect()
}

fn saturate(ms: u64) -> u32 {
    u32::try_from(ms).unwrap_or(u32::MAX)
}
