//! The Order Service's HTTP face (ARCHITECTURE §2). A thin shell: it routes requests and
//! turns outcomes into HTTP; the work happens behind WIT imports (`dependency-adapters`,
//! `event-emitter`) and, in later issues, in the pure domain crates.

#![forbid(unsafe_code)]

mod access;
mod clock;
mod health;
mod openapi;
mod orders;
mod problem;
mod reply;
mod routes;
mod saga;
mod stats;
mod store;

/// Bindings for the `shop:order/order-api` world: the interfaces this component imports.
/// They are satisfied by composition (spin.toml `dependencies`), never by the host.
mod bindings {
    #![allow(missing_docs, dead_code, clippy::all)]
    wit_bindgen::generate!({
        path: "../../wit",
        world: "shop:order/order-api",
    });
}

use spin_sdk::http::{IntoResponse, Request};

/// Entry point for every HTTP request routed to this component.
#[spin_sdk::http_service]
async fn handle(request: Request) -> impl IntoResponse {
    routes::dispatch(request).await
}
