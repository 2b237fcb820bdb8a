//! Observability: everything an operator reads from a running service, through the real
//! `.wasm` components on `order-host` against the simulators and a real Redis.
//!
//! - `metrics`: `/metrics` as Prometheus text, by route pattern, adding up across instances;
//! - `health`: `/health/ready` and the breaker gauge when dependencies or stores fail;
//! - `trace_context`: W3C `traceparent` / `tracestate` in, to every dependency and event, out;
//! - `logs`: one JSON line per request, without secrets;
//! - `otlp`: OTLP trace export to real receivers in this process (HTTP and gRPC);
//! - `alerting`: the shipped alert rules and dashboard against `promtool` and a real Prometheus.

use std::time::Duration;

use integration_tests::{Answer, Rig, order_body};
use simulators::demo;

#[path = "observability/alerting.rs"]
mod alerting;
#[path = "observability/exposition.rs"]
mod exposition;
#[path = "observability/health.rs"]
mod health;
#[path = "observability/logs.rs"]
mod logs;
#[path = "observability/metrics.rs"]
mod metrics;
#[path = "observability/otlp.rs"]
mod otlp;
#[path = "observability/otlp_receiver.rs"]
#[allow(dead_code)]
mod otlp_receiver;
#[path = "observability/span_checks.rs"]
mod span_checks;
#[path = "observability/trace_context.rs"]
mod trace_context;

/// How long a test waits for something asynchronous (spans, events) to show.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// `POST /api/v1/orders` for one keyboard for the demo user, paid with `tok_visa`, with extra
/// headers (`traceparent`, `tracestate`).
pub(crate) fn create(rig: &Rig, key: &str, extra: &[(&str, &str)]) -> Answer {
    let body = order_body(demo::ACTIVE_USER, &[(demo::KEYBOARD, 1)], "tok_visa");
    rig.create_with(key, &body, extra)
}
