//! HTTP request counters, counted in instance memory and added up across instances in the
//! key-value store.
//!
//! Each route pattern has one record, `metrics:http:{route}` (counts, latency sum and
//! latency buckets per `method status`; layout in `request_metrics::RouteRecord`). A request
//! only updates this instance's batch; the batch is added to the records by one `get` and
//! one `set` per route it touched, when `request_metrics::InstanceMetrics` says so: at the
//! instance's first request, when 64 requests are waiting, 100 ms after the first waiting
//! request (a deferred write that runs as post-return work), and before a scrape this
//! instance serves. Under load a request therefore costs about 2 / 64 key-value operations
//! instead of 2.
//!
//! Key-value has no compare-and-swap: two instances writing the *same route* at the same
//! moment can lose one of the two batches, so counts are a close lower bound, never an
//! over-count. An instance that traps or is killed loses what it had not written yet (at most
//! 63 requests or 100 ms of them); counts a failed write could not store wait for the next
//! request's write. All of this is documented in the README.

use request_metrics::{Batch, Flush, FlushPolicy, InstanceMetrics, RouteRecord};
use spin_sdk::key_value::Store;
use std::cell::RefCell;
use std::time::Duration;

thread_local! {
    /// This instance's batch. Instance memory lives as long as Spin reuses the instance;
    /// nothing here relies on it lasting longer than one request (see the rules above).
    static INSTANCE: RefCell<InstanceMetrics> = RefCell::new(InstanceMetrics::new(FlushPolicy::default()));
}

/// The key of a route's record.
fn key(route: &str) -> String {
    format!("metrics:http:{route}")
}

/// Adds one finished request to this instance's batch and writes the batch when it is due
/// (inline, before the response) or schedules the deferred write.
pub(crate) async fn record(route: &str, method: &str, status: u16, latency_ms: u64) {
    let flush = INSTANCE.with_borrow_mut(|m| m.record(route, method, status, latency_ms));
    follow(flush).await;
}

/// Writes this instance's batch now, unless another request of this instance is writing it
/// (then that write carries it). Used before a scrape, so the scrape counts what this
/// instance answered — except a batch whose write is still running when the scrape reads,
/// which the next scrape sees.
pub(crate) async fn write_now() {
    if let Some(batch) = INSTANCE.with_borrow_mut(InstanceMetrics::begin_write) {
        write_batches(batch).await;
    }
}

/// Does what the instance state asked for after a change.
async fn follow(flush: Flush) {
    match flush {
        Flush::Now => write_now().await,
        Flush::After(delay_ms) => schedule(delay_ms),
        Flush::Nothing => {}
    }
}

/// Runs the deferred write `delay_ms` from now as post-return work: the response is not held,
/// and Spin keeps the instance until the task ends.
fn schedule(delay_ms: u64) {
    spin_sdk::wasip3::spawn(async move {
        spin_sdk::time::sleep(Duration::from_millis(delay_ms)).await;
        if let Some(batch) = INSTANCE.with_borrow_mut(InstanceMetrics::deferred_write_due) {
            write_batches(batch).await;
        }
    });
}

/// Writes `batch`, then whatever the requests that ended meanwhile need.
async fn write_batches(mut batch: Batch) {
    loop {
        let unwritten = merge_into_store(batch).await;
        match INSTANCE.with_borrow_mut(|m| m.end_write(unwritten)) {
            Flush::Now => match INSTANCE.with_borrow_mut(InstanceMetrics::begin_write) {
                Some(next) => batch = next,
                None => return,
            },
            Flush::After(delay_ms) => return schedule(delay_ms),
            Flush::Nothing => return,
        }
    }
}

/// Adds each route's delta to its stored record (one `get` and one `set` per route). Returns
/// the deltas that could not be written; a failure is logged, never surfaced to a client.
async fn merge_into_store(batch: Batch) -> Vec<(String, RouteRecord)> {
    let store = match Store::open_default().await {
        Ok(store) => store,
        Err(error) => {
            super::store_error("*", &format!("open `default`: {error:?}"));
            return batch.into_routes().collect();
        }
    };
    let mut unwritten = Vec::new();
    for (route, delta) in batch.into_routes() {
        if let Err(error) = merge_route(&store, &route, &delta).await {
            super::store_error(&route, &error);
            unwritten.push((route, delta));
        }
    }
    unwritten
}

/// One route's read-modify-write.
async fn merge_route(store: &Store, route: &str, delta: &RouteRecord) -> Result<(), String> {
    let key = key(route);
    let mut record = load(store, &key).await?.unwrap_or_default();
    record.merge(delta);
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
/// the next write rather than blocking every write on that route).
async fn load(store: &Store, key: &str) -> Result<Option<RouteRecord>, String> {
    let bytes = store
        .get(key)
        .await
        .map_err(|error| format!("get {key}: {error:?}"))?;
    Ok(bytes.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}
