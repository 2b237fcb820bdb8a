//! `/metrics`: Prometheus text labelled by route pattern, counters that grow per request and
//! add up across instances, including counts a reused instance held back before it went idle.

use std::time::Duration;

use integration_tests::{Rig, rig};

use crate::create;
use crate::exposition::{scrape, value};

#[test]
fn metrics_are_prometheus_text_labelled_by_route_pattern_and_counters_grow() {
    let rig = rig();
    let created = create(&rig, "m-1", &[]);
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(rig.get(&format!("/api/v1/orders/{id}")).status, 200);

    let route = [
        ("method", "GET"),
        ("route", "/api/v1/orders/{orderId}"),
        ("status", "200"),
    ];
    let first = scrape(&rig.host);
    assert_eq!(
        value(&first, "order_http_requests_total", &route),
        Some(1.0)
    );
    assert_eq!(
        value(&first, "order_http_request_duration_ms_count", &route),
        Some(1.0)
    );
    assert_eq!(
        value(
            &first,
            "order_http_request_duration_ms_bucket",
            &[route[1], ("le", "+Inf")]
        ),
        Some(1.0)
    );
    assert!(
        first
            .iter()
            .all(|(_, labels, _)| labels.iter().all(|(_, v)| !v.contains(&id))),
        "raw ids never become labels"
    );
    let created_route = [
        ("method", "POST"),
        ("route", "/api/v1/orders"),
        ("status", "201"),
    ];
    assert_eq!(
        value(&first, "order_http_requests_total", &created_route),
        Some(1.0)
    );
    let user_ok = [("dependency", "user"), ("outcome", "success")];
    assert!(value(&first, "order_dependency_window_calls", &user_ok).unwrap_or(0.0) >= 1.0);
    assert_eq!(
        value(
            &first,
            "order_dependency_breaker_state",
            &[("dependency", "user")]
        ),
        Some(0.0)
    );
    assert!(
        value(
            &first,
            "order_dependency_window_latency_ms",
            &[("dependency", "user"), ("le", "+Inf")]
        )
        .unwrap_or(0.0)
            >= 1.0
    );
    assert!(value(&first, "order_outbox_pending_events", &[]).is_some());
    assert_eq!(value(&first, "order_outbox_dead_events", &[]), Some(0.0));

    assert_eq!(rig.get(&format!("/api/v1/orders/{id}")).status, 200);
    let second = scrape(&rig.host);
    assert_eq!(
        value(&second, "order_http_requests_total", &route),
        Some(2.0)
    );
    let scrapes = [("route", "/metrics"), ("status", "200")];
    assert_eq!(
        value(&second, "order_http_requests_total", &scrapes),
        Some(1.0)
    );
}

const LIVE: [(&str, &str); 3] = [
    ("method", "GET"),
    ("route", "/health/live"),
    ("status", "200"),
];

#[test]
fn metrics_add_up_across_instances_when_every_request_gets_its_own_instance() {
    // No reuse: each request (the scrapes too) runs in a fresh instance, so the counts can
    // only come from the shared key-value records each instance added to.
    let rig = Rig::builder()
        .args(&["--max-instance-reuse-count", "1"])
        .start();
    for _ in 0..5 {
        assert_eq!(rig.host.get("/health/live").status, 200);
    }
    let first = scrape(&rig.host);
    assert_eq!(value(&first, "order_http_requests_total", &LIVE), Some(5.0));
    assert_eq!(
        value(&first, "order_http_request_duration_ms_count", &LIVE),
        Some(5.0)
    );
    let second = scrape(&rig.host);
    let scrapes = [("route", "/metrics"), ("status", "200")];
    assert_eq!(
        value(&second, "order_http_requests_total", &scrapes),
        Some(1.0)
    );
}

#[test]
fn counts_an_instance_holds_back_reach_the_store_before_it_is_dropped_for_idleness() {
    // With reuse, one instance answers all ten requests: the first is written at once, the
    // other nine wait in its memory for the deferred write. The instance is then left idle
    // well past its 200 ms idle timeout, so the scrape runs in a new instance and sees only
    // what the old one wrote before it went away.
    let rig = Rig::builder()
        .args(&["--idle-instance-timeout-ms", "200"])
        .start();
    for _ in 0..10 {
        assert_eq!(rig.host.get("/health/live").status, 200);
    }
    std::thread::sleep(Duration::from_millis(1_500));
    let samples = scrape(&rig.host);
    assert_eq!(
        value(&samples, "order_http_requests_total", &LIVE),
        Some(10.0)
    );
    assert_eq!(
        value(
            &samples,
            "order_http_request_duration_ms_bucket",
            &[LIVE[1], ("le", "+Inf")]
        ),
        Some(10.0)
    );
}
