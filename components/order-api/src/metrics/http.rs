//! HTTP request counters, aggregated across instances through the key-value store.
//!
//! One record per route pattern, `metrics:http:{route}`, holds for each `method status`
//! a request count, a latency sum and per-bucket latency counts. Recording a request is
//! one read-modify-write of that record: **2 key-value operations per request** (a `get`
//! and a `set`). Key-value has no compare-and-swap, so two instances finishing a request
//! on the same route at the same moment can lose one of the two increments; counts are
//! therefore a close lower bound, never an over-count, and never go backwards except on
//! such a lost update (documented in the README).

use serde::{Deserialize, Serialize};
use spin_sdk::key_value::Store;
use std::collections::BTreeMap;

/// Upper bounds (ms) of the request latency histogram; the last bucket is `+Inf`.
pub(crate) const BOUNDS_MS: [u64; 12] = [
    5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000,
];

/// The counts of one `method status` pair on one route.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Series {
    /// Requests answered.
    pub(crate) count: u64,
    /// Sum of their latencies (ms).
    pub(crate) sum_ms: u64,
    /// Count per bucket of [`BOUNDS_MS`] plus one for `+Inf` (not cumulative).
    pub(crate) buckets: Vec<u64>,
}

impl Series {
    fn record(&mut self, latency_ms: u64) {
        self.count += 1;
        self.sum_ms = self.sum_ms.saturating_add(latency_ms);
        let index = BOUNDS_MS
            .iter()
            .position(|&bound| latency_ms <= bound)
            .unwrap_or(BOUNDS_MS.len());
        if self.buckets.len() < BOUNDS_MS.len() + 1 {
            self.buckets.resize(BOUNDS_MS.len() + 1, 0);
        }
        self.buckets[index] += 1;
    }
}

/// One route's record: `"{method} {status}"` → series.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct RouteRecord {
    /// Series by `"{method} {status}"`.
    pub(crate) series: BTreeMap<String, Series>,
}

/// The key of a route's record.
fn key(route: &str) -> String {
    format!("metrics:http:{route}")
}

/// Adds one finished request to its route's record (one `get`, one `set`).
pub(crate) async fn record(
    route: &str,
    method: &str,
    status: u16,
    latency_ms: u64,
) -> Result<(), String> {
    let store = Store::open_default()
        .await
        .map_err(|error| format!("open `default`: {error:?}"))?;
    let key = key(route);
    let mut record = load(&store, &key).await?.unwrap_or_default();
    record
        .series
        .entry(format!("{method} {status}"))
        .or_default()
        .record(latency_ms);
    let bytes = serde_json::to_vec(&record).map_err(|error| format!("encode {key}: {error}"))?;
    store
        .set(&key, &bytes)
        .await
        .map_err(|error| format!("set {key}: {error:?}"))
}

/// Reads every route's record (one `get` per route pattern, concurrently).
pub(crate) async fn load_all(
    routes: &[&'static str],
) -> Result<Vec<(&'static str, RouteRecord)>, String> {
    let store = Store::open_default()
        .await
        .map_err(|error| format!("open `default`: {error:?}"))?;
    let records = futures::future::join_all(routes.iter().map(|route| {
        let store = &store;
        async move { load(store, &key(route)).await }
    }))
    .await;
    routes
        .iter()
        .zip(records)
        .filter_map(|(route, record)| match record {
            Ok(Some(record)) => Some(Ok((*route, record))),
            Ok(None) => None,
            Err(error) => Some(Err(error)),
        })
        .collect()
}

/// Reads and decodes one record; an undecodable record counts as absent (it is rebuilt by
/// the next request rather than blocking every request on that route).
async fn load(store: &Store, key: &str) -> Result<Option<RouteRecord>, String> {
    let bytes = store
        .get(key)
        .await
        .map_err(|error| format!("get {key}: {error:?}"))?;
    Ok(bytes.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}
