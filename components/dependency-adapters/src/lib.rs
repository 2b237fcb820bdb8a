//! Exports `users`, `products`, `inventory`, `payments` and `dependency-health`
//! (ARCHITECTURE §2, §9): every call the Order Service makes to another service goes
//! through here, with its resilience strategy (§1):
//!
//! | dependency | strategy | module |
//! |---|---|---|
//! | User | breaker + last-known-good fallback | `users` |
//! | Product | breaker + TTL cache, stale on failure, concurrent fan-out | `products` |
//! | Inventory | breaker + retry (idempotent per order id) | `inventory` |
//! | Payment | breaker + retry, only with an idempotency key | `payments` |
//!
//! The policies are the pure `resilience` crate; this component supplies their clock
//! (WASI), their state store (Spin key-value, shared by every instance: `kv`) and the
//! HTTP calls (`outbound`), with the OAuth2 service token (`token`) and the caller's
//! `traceparent` on every request. Nothing relies on instance globals surviving between
//! requests; the settings and the token are kept in memory only as a saving.
//!
//! This component has no manifest configuration of its own: composed into `order-api`,
//! it runs with order-api's variables, key-value stores and outbound hosts
//! (`dependencies_inherit_configuration = true`).

// The generated export glue is the only unsafe code (allowed below).
#![deny(unsafe_code)]

mod clock;
mod config;
mod context;
mod health;
mod inventory;
mod kv;
mod log;
mod outbound;
mod payments;
mod products;
mod service;
mod token;
mod users;

/// Bindings for the `shop:adapters/dependency-adapters` world.
mod bindings {
    #![allow(missing_docs, dead_code, clippy::all)]
    wit_bindgen::generate!({
        path: "../../wit",
        world: "shop:adapters/dependency-adapters",
        // The interfaces live in `wit/deps/*` packages: generate bindings for them too.
        generate_all,
    });
}

use bindings::exports::shop::adapters::types::{DependencyError, TraceContext};
use bindings::exports::shop::adapters::{
    dependency_health, inventory as inventory_api, payments as payments_api,
    products as products_api, users as users_api,
};

/// The exported implementation; all state lives in the host (key-value), none here.
struct Adapters;

/// The canonical-ABI glue that wit-bindgen generates for the exports.
#[allow(unsafe_code)]
mod export {
    use super::Adapters;
    crate::bindings::export!(Adapters with_types_in crate::bindings);
}

impl users_api::Guest for Adapters {
    async fn get_user(
        user_id: String,
        trace: Option<TraceContext>,
    ) -> Result<users_api::UserLookup, DependencyError> {
        users::get_user(&user_id, trace).await
    }
}

impl products_api::Guest for Adapters {
    async fn get_products(
        product_ids: Vec<String>,
        trace: Option<TraceContext>,
    ) -> Vec<products_api::ProductOutcome> {
        products::get_products(product_ids, trace).await
    }
}

impl inventory_api::Guest for Adapters {
    async fn reserve(
        order_id: String,
        items: Vec<inventory_api::StockLine>,
        trace: Option<TraceContext>,
    ) -> Result<inventory_api::ReservationOutcome, DependencyError> {
        inventory::reserve(&order_id, &items, trace).await
    }

    async fn release(order_id: String, trace: Option<TraceContext>) -> Result<(), DependencyError> {
        inventory::release(&order_id, trace).await
    }
}

impl payments_api::Guest for Adapters {
    async fn charge(
        request: payments_api::ChargeRequest,
        trace: Option<TraceContext>,
    ) -> Result<payments_api::Payment, DependencyError> {
        payments::charge(&request, trace).await
    }

    async fn refund(
        payment_id: String,
        idempotency_key: String,
        trace: Option<TraceContext>,
    ) -> Result<payments_api::Payment, DependencyError> {
        payments::refund(&payment_id, &idempotency_key, trace).await
    }

    async fn get_payment(
        payment_id: String,
        trace: Option<TraceContext>,
    ) -> Result<payments_api::Payment, DependencyError> {
        payments::get_payment(&payment_id, trace).await
    }
}

impl dependency_health::Guest for Adapters {
    async fn status() -> Result<Vec<dependency_health::DependencyStatus>, String> {
        health::status().await
    }

    async fn report() -> Result<Vec<dependency_health::DependencyReport>, String> {
        health::report().await
    }
}
