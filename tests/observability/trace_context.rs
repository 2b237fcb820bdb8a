//! W3C trace context: an inbound `traceparent` (and `tracestate`) reaches every dependency and
//! the delivered event and comes back; a missing or malformed one is replaced by a fresh one.

use std::time::Duration;

use integration_tests::rig;
use integration_tests::trace::{
    INBOUND_TRACE_ID, INBOUND_TRACEPARENT, dependency_requests, events_in_stream,
    is_valid_traceparent, trace_id_of,
};

use crate::create;

#[test]
fn an_inbound_trace_context_reaches_every_dependency_and_event_and_comes_back() {
    let rig = rig();
    let tracestate = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
    let created = create(
        &rig,
        "t-1",
        &[
            ("traceparent", INBOUND_TRACEPARENT),
            ("tracestate", tracestate),
        ],
    );
    assert_eq!(created.status, 201, "{created:?}");
    let returned = created
        .header("traceparent")
        .expect("traceparent on the response");
    assert!(is_valid_traceparent(returned), "{returned}");
    assert_eq!(trace_id_of(returned), INBOUND_TRACE_ID);
    assert_ne!(returned, INBOUND_TRACEPARENT, "this service's own span id");

    for (name, requests) in dependency_requests(&rig.sims) {
        for request in requests {
            let sent = request.traceparent().unwrap_or_default();
            assert_eq!(trace_id_of(sent), INBOUND_TRACE_ID, "{name}: {sent}");
            assert_eq!(request.header("tracestate"), Some(tracestate), "{name}");
        }
    }

    let payloads = events_in_stream(&rig.redis, 1, Duration::from_secs(10), |_| true);
    let traced = payloads
        .iter()
        .filter(|event| {
            event["traceparent"]
                .as_str()
                .is_some_and(|t| trace_id_of(t) == INBOUND_TRACE_ID)
        })
        .count();
    assert!(traced >= 1, "an event carries the trace: {payloads:?}");
}

#[test]
fn a_request_without_or_with_a_malformed_traceparent_gets_a_fresh_valid_one() {
    let rig = rig();
    let plain = rig.host.get("/health/live");
    let fresh = plain.header("traceparent").expect("traceparent").to_owned();
    assert!(is_valid_traceparent(&fresh), "{fresh}");

    let malformed = rig.host.get_with(
        "/health/live",
        &[("traceparent", "00-XYZ-00f067aa0ba902b7-01")],
    );
    let replaced = malformed.header("traceparent").expect("traceparent");
    assert!(is_valid_traceparent(replaced), "{replaced}");
    assert_ne!(
        trace_id_of(replaced),
        trace_id_of(&fresh),
        "a new trace each time"
    );

    // A restarted trace drops the inbound `tracestate` (it belonged to the discarded one).
    let created = create(
        &rig,
        "t-restart",
        &[
            ("traceparent", "00-XYZ-00f067aa0ba902b7-01"),
            ("tracestate", "congo=t61rcWkgMzE"),
        ],
    );
    assert_eq!(created.status, 201, "{created:?}");
    let user_calls = rig.sims.user.requests();
    assert!(!user_calls.is_empty());
    for request in user_calls {
        assert_eq!(request.header("tracestate"), None, "{request:?}");
    }
}
