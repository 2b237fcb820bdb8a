//! The Order Service's HTTP face (ARCHITECTURE §2). A thin shell: it routes requests and
//! turns outcomes into HTTP; the work happens behind WIT imports (`dependency-adapters`,
//! `event-emitter`) and, in later issues, in the pure domain crates.

#![forbid(unsafe_code)]

mod access;
mod health;
mod metrics;
mod openapi;
mod orders;
mod outbox_admin;
mod problem;
mod reply;
mod routes;
mod saga;
mod stats;
mod store;
mod telemetry;

/// Bindings for the `shop:order/order-api` world: the interfaces this component imports.
/// They are satisfied by composition (spin.toml `dependencies`), never by the host.
mod bindings {
    #![allow(missing_docs, dead_code, clippy::all)]
    wit_bindgen::generate!({
        path: "../../wit",
        world: "shop:order/order-api",
    });
}

use order_store::clock;
use spin_sdk::http::{IntoResponse, Request};

/// Entry point for every HTTP request routed to this component: continues or starts the
/// W3C trace, routes, then returns `traceparent`, writes the request log line and records
/// the request's metrics (in instance memory, written to key-value in batches).
#[spin_sdk::http_service]
async fn handle(mut request: Request) -> impl IntoResponse {
    let started_ms = clock::now_ms();
    let trace = telemetry::TraceParent::continue_or_start(telemetry::inbound(&request).as_deref());
    telemetry::stamp(&mut request, &trace);
    let _tracestate = telemetry::hold_tracestate(&request, &trace);
    let route = routes::pattern(&request);
    let method = request.method().as_str().to_owned();
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);

    let reply = routes::dispatch(request).await;

    let status = reply.status().as_u16();
    let latency_ms = clock::now_ms().saturating_sub(started_ms).max(0);
    telemetry::log_request(&telemetry::RequestLog {
        method: &method,
        route,
        status,
        latency_ms,
        trace_id: &trace.trace_id,
        subject: authorization
            .as_deref()
            .and_then(access::verified_subject)
            .as_deref(),
    });
    metrics::record_request(route, &method, status, latency_ms.unsigned_abs()).await;
    reply.with_header("traceparent", &trace.header_value())
}
