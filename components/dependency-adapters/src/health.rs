//! `dependency-health.status`: each dependency's breaker as recorded in the shared
//! key-value store, so every instance on every node reports the same state.
//!
//! Record format, key `breaker:{name}` in store `default`, JSON (camelCase, every field
//! optional; an absent key is a closed breaker with zero counts):
//!
//! ```json
//! { "state": "closed" | "open" | "half_open", "calls": 0, "failures": 0,
//!   "timeouts": 0, "shortCircuits": 0, "fallbacks": 0, "latencyP50Ms": 0,
//!   "latencyP99Ms": 0, "openedAtMs": null, "lastError": null }
//! ```
//!
//! The breaker (next issue) writes it; this module only reads.

use crate::bindings::exports::shop::order::dependency_health::{BreakerState, DependencyStatus};
use crate::outbound::Service;
use serde::Deserialize;
use spin_sdk::key_value::Store;

/// The stored breaker record of one dependency.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct BreakerRecord {
    state: BreakerStateWire,
    calls: u64,
    failures: u64,
    timeouts: u64,
    short_circuits: u64,
    fallbacks: u64,
    latency_p50_ms: u32,
    latency_p99_ms: u32,
    opened_at_ms: Option<i64>,
    last_error: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum BreakerStateWire {
    #[default]
    Closed,
    Open,
    HalfOpen,
}

/// The key under which a dependency's breaker record lives.
fn breaker_key(service: Service) -> String {
    format!("breaker:{}", service.name())
}

/// Every dependency's state. Fails when the store cannot be read or holds a record
/// that is not valid JSON: reporting "closed" then would be a lie.
pub(crate) async fn status() -> Result<Vec<DependencyStatus>, String> {
    let store = Store::open_default()
        .await
        .map_err(|error| format!("key-value store `default`: {error:?}"))?;
    let mut statuses = Vec::with_capacity(Service::ALL.len());
    for service in Service::ALL {
        let key = breaker_key(service);
        let record = match store
            .get(&key)
            .await
            .map_err(|error| format!("{key}: {error:?}"))?
        {
            Some(bytes) => serde_json::from_slice::<BreakerRecord>(&bytes)
                .map_err(|error| format!("{key} is not a breaker record: {error}"))?,
            None => BreakerRecord::default(),
        };
        statuses.push(DependencyStatus {
            name: service.name().to_owned(),
            breaker_state: match record.state {
                BreakerStateWire::Closed => BreakerState::Closed,
                BreakerStateWire::Open => BreakerState::Open,
                BreakerStateWire::HalfOpen => BreakerState::HalfOpen,
            },
            calls: record.calls,
            failures: record.failures,
            timeouts: record.timeouts,
            short_circuits: record.short_circuits,
            fallbacks: record.fallbacks,
            latency_p50_ms: record.latency_p50_ms,
            latency_p99_ms: record.latency_p99_ms,
            opened_at_ms: record.opened_at_ms,
            last_error: record.last_error,
        });
    }
    Ok(statuses)
}
