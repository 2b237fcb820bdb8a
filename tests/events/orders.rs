//! Events written by the order-api itself: an order created through the API reaches the
//! stream once per event, in the caller's trace, and orders keep working while Redis is down.

use std::collections::BTreeSet;
use std::time::Duration;

use integration_tests::redis_server::stream_cloud_events as stream_events;
use integration_tests::trace::INBOUND_TRACEPARENT as TRACEPARENT;
use serde_json::Value;

use super::outbox::{Outbox, rig};

#[test]
fn an_order_created_through_the_api_yields_its_events_once_with_the_inbound_traceparent() {
    let rig = rig(&[]);
    let redis = &rig.redis;
    let auth = format!("Bearer {}", rig.host.token("orders:write orders:admin"));
    let body = order_body();
    let created = rig.host.request(
        "POST",
        "/api/v1/orders",
        &[
            ("authorization", auth.as_str()),
            ("idempotency-key", "evt-order-1"),
            ("content-type", "application/json"),
            ("traceparent", TRACEPARENT),
        ],
        Some(&body),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let order_id = created.json()["id"].as_str().expect("id").to_owned();
    rig.dispatch();

    // The relay also runs after the response and may hold a row's lease while this dispatch
    // runs: wait until both events are in the stream.
    let mut conn = redis.connection().expect("redis");
    let events: Vec<Value> = integration_tests::eventually(
        std::time::Duration::from_secs(10),
        "both events in the stream",
        || {
            let events: Vec<Value> = stream_events(&mut conn)
                .into_iter()
                .filter(|e| e["subject"] == order_id.as_str())
                .collect();
            (events.len() >= 2).then_some(events)
        },
    );
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        types,
        ["order.created.v1", "order.confirmed.v1"],
        "{events:?}"
    );
    let unique: BTreeSet<&str> = events.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(unique.len(), events.len(), "one stream entry per event id");
    // The service acts as a child span of the caller: same trace id, its own span id.
    let trace_id = TRACEPARENT.split('-').nth(1).expect("trace id");
    for event in &events {
        let traceparent = event["traceparent"].as_str().unwrap_or_default();
        assert!(events::is_valid_traceparent(traceparent), "{event}");
        assert_eq!(traceparent.split('-').nth(1), Some(trace_id), "{event}");
        assert_eq!(event["source"], "/order-service");
        events::CloudEvent::parse(&event.to_string()).expect("a valid CloudEvent");
    }
}

#[test]
fn orders_succeed_while_redis_is_down_and_their_events_go_out_once_when_it_is_back() {
    // The Redis trigger needs the server at start-up (as on Spin); the outage comes after.
    let mut rig = rig(&[]);
    rig.redis.kill();
    let url = rig.redis.url();
    let auth = format!("Bearer {}", rig.host.token("orders:write orders:admin"));
    let mut order_ids = BTreeSet::new();
    for n in 0..3 {
        let key = format!("outage-{n}");
        let created = rig.host.request(
            "POST",
            "/api/v1/orders",
            &[
                ("authorization", auth.as_str()),
                ("idempotency-key", key.as_str()),
                ("content-type", "application/json"),
            ],
            Some(&order_body()),
        );
        assert_eq!(created.status, 201, "{created:?}");
        order_ids.insert(created.json()["id"].as_str().expect("id").to_owned());
    }
    let pending = rig.list("pending");
    assert_eq!(
        pending["stats"]["pending"], 6,
        "created + confirmed per order: {pending}"
    );

    rig.redis.restart();
    integration_tests::eventually(Duration::from_secs(15), "outbox drained", || {
        let report = rig.dispatch();
        let left = rig.list("pending")["stats"]["pending"].as_u64();
        (left == Some(0)).then_some(report)
    });
    let mut conn = redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection())
        .expect("redis");
    let events = stream_events(&mut conn);
    let ids: BTreeSet<&str> = events.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids.len(), 6, "each event exactly once: {events:?}");
    let subjects: BTreeSet<String> = events
        .iter()
        .filter_map(|e| e["subject"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(subjects, order_ids);
}

/// One keyboard for the demo user.
fn order_body() -> String {
    serde_json::json!({
        "userId": simulators::demo::ACTIVE_USER,
        "items": [{ "productId": simulators::demo::KEYBOARD, "quantity": 1 }],
        "paymentMethod": { "type": "card", "token": "tok_visa" },
    })
    .to_string()
}
