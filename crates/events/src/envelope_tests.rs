use super::*;
use crate::types::ORDER_CREATED;
use serde_json::json;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn order_created() -> CloudEvent {
    CloudEvent::builder("evt-1", "/order-service", ORDER_CREATED)
        .time_ms(1_795_643_328_123)
        .subject("ord-1")
        .json_data(json!({"id": "ord-1", "status": "pending"}))
        .traceparent(Some(TRACEPARENT))
        .build()
        .expect("valid event")
}

#[test]
fn builder_writes_every_section_6_attribute() {
    let json = order_created().to_json();
    assert_eq!(
        json,
        json!({
            "specversion": "1.0",
            "id": "evt-1",
            "source": "/order-service",
            "type": "order.created.v1",
            "time": "2026-11-25T21:48:48.123Z",
            "subject": "ord-1",
            "datacontenttype": "application/json",
            "data": {"id": "ord-1", "status": "pending"},
            "traceparent": TRACEPARENT,
        })
    );
}

#[test]
fn parse_round_trips_what_the_builder_wrote() {
    let event = order_created();
    let parsed = CloudEvent::parse(&event.to_string()).expect("parses");
    assert_eq!(parsed, event);
    assert_eq!(parsed.time_ms(), Some(1_795_643_328_123));
}

#[test]
fn parse_accepts_the_minimal_event_and_ignores_unknown_extensions() {
    let parsed = CloudEvent::parse(
        r#"{"specversion":"1.0","id":"p-1","source":"/payments","type":"payment.captured.v1","region":"eu1"}"#,
    )
    .expect("minimal event");
    assert_eq!(parsed.event_type, "payment.captured.v1");
    assert_eq!(parsed.data, Value::Null);
    assert_eq!(parsed.time, None);
}

#[test]
fn parse_refuses_malformed_envelopes() {
    let base = order_created().to_json();
    let with = |name: &str, value: Value| {
        let mut json = base.clone();
        json[name] = value;
        json.to_string()
    };
    let without = |name: &str| {
        let mut json = base.clone();
        json.as_object_mut().map(|m| m.remove(name));
        json.to_string()
    };
    let cases = [
        ("not json".to_owned(), "not a JSON object"),
        ("[1]".to_owned(), "not a JSON object"),
        (with("specversion", json!("0.3")), "specversion"),
        (without("specversion"), "specversion"),
        (without("id"), "`id`"),
        (with("id", json!("")), "`id`"),
        (with("source", json!(7)), "`source`"),
        (without("type"), "`type`"),
        (with("time", json!("yesterday")), "`time`"),
        (with("subject", json!(" ")), "`subject`"),
        (with("traceparent", json!("00-abc")), "`traceparent`"),
        (with("Bad-Name", json!("x")), "`Bad-Name`"),
        (with("data_base64", json!("AA==")), "`data_base64`"),
    ];
    for (text, expected) in cases {
        let error = CloudEvent::parse(&text).expect_err(&text).to_string();
        assert!(error.contains(expected), "{text}: {error}");
    }
}

#[test]
fn builder_refuses_an_empty_type_and_a_bad_traceparent() {
    let empty_type = CloudEvent::builder("evt-1", "/order-service", "").build();
    assert_eq!(empty_type, Err(EnvelopeError::Missing("type")));
    let bad_trace = CloudEvent::builder("evt-1", "/order-service", ORDER_CREATED)
        .traceparent(Some("nope"))
        .build();
    assert!(matches!(bad_trace, Err(EnvelopeError::Invalid { .. })));
}
