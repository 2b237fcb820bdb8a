//! The per-request JSON log line: one per request, the caller named only for a verified
//! token, never a bearer token or a card token.

use std::time::Duration;

use integration_tests::trace::{INBOUND_TRACE_ID, INBOUND_TRACEPARENT};
use integration_tests::{eventually, rig};
use serde_json::{Value, json};

use crate::create;

#[test]
fn every_request_logs_one_json_line_without_tokens_or_card_tokens() {
    let rig = rig();
    let created = create(&rig, "l-1", &[("traceparent", INBOUND_TRACEPARENT)]);
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(rig.get(&format!("/api/v1/orders/{id}")).status, 200);
    assert_eq!(rig.host.get("/no/such/route").status, 404);
    let forged = rig.host.get_with(
        &format!("/api/v1/orders/{id}"),
        &[(
            "authorization",
            "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5In0.",
        )],
    );
    assert_eq!(forged.status, 401, "{forged:?}");

    let logs = eventually(Duration::from_secs(5), "four request log lines", || {
        let logs = rig.host.log_events("http_request");
        (logs.len() >= 4).then_some(logs)
    });
    assert_eq!(logs.len(), 4, "{logs:?}");
    let seen: Vec<(&str, u64)> = logs
        .iter()
        .map(|l| (l["route"].as_str().unwrap(), l["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("/api/v1/orders", 201),
            ("/api/v1/orders/{orderId}", 200),
            ("unmatched", 404),
            ("/api/v1/orders/{orderId}", 401),
        ]
    );
    assert_eq!(logs[0]["traceId"], INBOUND_TRACE_ID);
    // The caller is named only when its token was verified (`order-host token`'s default
    // subject); never for an anonymous or forged one ("mallory" in an unsigned token).
    let subjects: Vec<&Value> = logs.iter().map(|l| &l["subject"]).collect();
    assert_eq!(
        subjects,
        [
            &json!("admin-service"),
            &json!("admin-service"),
            &Value::Null,
            &Value::Null
        ]
    );
    for line in &logs {
        assert!(
            line["ts"].is_string() && line["latencyMs"].is_i64(),
            "{line}"
        );
        assert!(line["method"].as_str().is_some(), "{line}");
    }
    let stderr = rig.host.stderr();
    assert!(
        !stderr.contains(&rig.token),
        "the bearer token is never logged"
    );
    assert!(
        !stderr.contains("tok_visa"),
        "the card token is never logged"
    );
}
