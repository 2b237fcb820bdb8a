//! W3C trace context as the suites check it: the inbound `traceparent` they send, its parts,
//! what every dependency received, and the order's events carrying it.

use std::time::Duration;

use serde_json::Value;
use simulators::{RecordedRequest, Simulators};

use crate::{RedisServer, eventually};

/// The trace id of [`INBOUND_TRACEPARENT`].
pub const INBOUND_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
/// The parent span id of [`INBOUND_TRACEPARENT`].
pub const INBOUND_PARENT: &str = "00f067aa0ba902b7";
/// The `traceparent` a caller sends (the W3C specification's example).
pub const INBOUND_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The trace id of a `traceparent` (empty if it has none).
pub fn trace_id_of(traceparent: &str) -> &str {
    traceparent.split('-').nth(1).unwrap_or_default()
}

/// The parent span id of a `traceparent` (empty if it has none).
pub fn span_id_of(traceparent: &str) -> &str {
    traceparent.split('-').nth(2).unwrap_or_default()
}

/// Whether `value` is a version-00 `traceparent` with lowercase hex ids, the trace id not zero.
pub fn is_valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() == 4
        && parts[0] == "00"
        && parts[1].len() == 32
        && parts[2].len() == 16
        && parts[3].len() == 2
        && parts[1..].iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
        && parts[1].bytes().any(|b| b != b'0')
}

/// What each of the four order dependencies (user, product, inventory, payment) received,
/// asserting each was called.
pub fn dependency_requests(sims: &Simulators) -> Vec<(&'static str, Vec<RecordedRequest>)> {
    let all = vec![
        ("user", sims.user.requests()),
        ("product", sims.product.requests()),
        ("inventory", sims.inventory.requests()),
        ("payment", sims.payment.requests()),
    ];
    for (name, requests) in &all {
        assert!(!requests.is_empty(), "{name} was called");
    }
    all
}

/// The CloudEvents in `orders.events` (any field that parses as a JSON object) that `keep`
/// selects, once at least `count` of them are there.
pub fn events_in_stream(
    redis: &RedisServer,
    count: usize,
    timeout: Duration,
    keep: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    eventually(timeout, "events in orders.events", || {
        let events: Vec<Value> = redis
            .stream_entries()
            .into_iter()
            .flat_map(|(_, fields)| fields)
            .filter_map(|(_, value)| serde_json::from_str::<Value>(&value).ok())
            .filter(|event| keep(event))
            .collect();
        (events.len() >= count).then_some(events)
    })
}
