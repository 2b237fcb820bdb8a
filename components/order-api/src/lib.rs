//! The Order Service's HTTP face (ARCHITECTURE §2). Wiring: it routes requests, checks scopes,
//! validates input and turns typed outcomes into HTTP (`answers`); the decisions live in the
//! pure `order-app` crate (saga, recovery, admin changes, idempotency), which runs here over
//! the `ports` module (WIT imports of `dependency-adapters`, the order store).

#![forbid(unsafe_code)]

mod access;
mod answers;
mod config;
mod health;
mod metrics;
mod openapi;
mod orders;
mod outbox_admin;
mod ports;
mod problem;
mod query;
mod reply;
mod routes;
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
        // The interfaces live in `wit/deps/*` packages: generate bindings for them too.
        generate_all,
    });
}

use guest::clock;
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
    let method = metric_method(request.method().as_str());

    let reply = routes::dispatch(request).await;

    let status = reply.status().as_u16();
    let latency_ms = clock::now_ms().saturating_sub(started_ms).max(0);
    telemetry::log_request(&telemetry::RequestLog {
        method,
        route,
        status,
        latency_ms,
        trace_id: &trace.trace_id,
        subject: access::take_verified_subject(&trace.header_value()).as_deref(),
    });
    metrics::record_request(route, method, status, latency_ms.unsigned_abs()).await;
    reply.with_header("traceparent", &trace.header_value())
}

/// The method as logged and counted: the standard ones by name, anything else as `OTHER`
/// (a client must not be able to grow the metrics with made-up methods).
fn metric_method(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}
