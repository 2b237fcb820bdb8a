//! Exports `users`, `products`, `inventory`, `payments` and `dependency-health`
//! (ARCHITECTURE §2, §9): every call the Order Service makes to another service goes
//! through here, so resilience (breakers, retries, caches; next issue) has one home.
//!
//! This component has no manifest configuration of its own: composed into `order-api`,
//! it runs with order-api's variables, key-value stores and outbound hosts
//! (`dependencies_inherit_configuration = true`).

// The generated export glue is the only unsafe code (allowed below).
#![deny(unsafe_code)]

mod health;
mod inventory;
mod outbound;
mod payments;
mod products;
mod users;

/// Bindings for the `shop:order/dependency-adapters` world.
mod bindings {
    #![allow(missing_docs, dead_code, clippy::all)]
    wit_bindgen::generate!({
        path: "../../wit",
        world: "shop:order/dependency-adapters",
    });
}

use bindings::exports::shop::order::{
    dependency_health, inventory as inventory_api, payments as payments_api,
    products as products_api, users as users_api,
};
use bindings::shop::order::types::{DependencyError, TraceContext};

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
        users::get_user(&user_id, trace.as_ref()).await
    }
}

impl products_api::Guest for Adapters {
    async fn get_products(
        product_ids: Vec<String>,
        trace: Option<TraceContext>,
    ) -> Vec<products_api::ProductOutcome> {
        products::get_products(product_ids, trace.as_ref()).await
    }
}

impl inventory_api::Guest for Adapters {
    async fn reserve(
        order_id: String,
        items: Vec<inventory_api::StockLine>,
        trace: Option<TraceContext>,
    ) -> Result<inventory_api::ReservationOutcome, DependencyError> {
        inventory::reserve(&order_id, &items, trace.as_ref()).await
    }

    async fn release(order_id: String, trace: Option<TraceContext>) -> Result<(), DependencyError> {
        inventory::release(&order_id, trace.as_ref()).await
    }
}

impl payments_api::Guest for Adapters {
    async fn charge(
        request: payments_api::ChargeRequest,
        trace: Option<TraceContext>,
    ) -> Result<payments_api::Payment, DependencyError> {
        payments::charge(&request, trace.as_ref()).await
    }

    async fn refund(
        payment_id: String,
        idempotency_key: String,
        trace: Option<TraceContext>,
    ) -> Result<payments_api::Payment, DependencyError> {
        payments::refund(&payment_id, &idempotency_key, trace.as_ref()).await
    }

    async fn get_payment(
        payment_id: String,
        trace: Option<TraceContext>,
    ) -> Result<payments_api::Payment, DependencyError> {
        payments::get_payment(&payment_id, trace.as_ref()).await
    }
}

impl dependency_health::Guest for Adapters {
    async fn status() -> Result<Vec<dependency_health::DependencyStatus>, String> {
        health::status().await
    }
}
