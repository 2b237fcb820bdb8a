//! The order application's ports ([`order_app::ports`]) in this component: the four
//! dependency services over the `shop:adapters` WIT imports, the wall clock and random ids,
//! and [`app`], which assembles an [`order_app::App`] over the order store.

use crate::bindings::shop::adapters::types::{self, TraceContext};
use crate::bindings::shop::adapters::{inventory, payments, products, users};
use guest::{clock, ids};
use order_app::ports::{
    ChargeRequest, Clock, DependencyError, Ids, Inventory, Payment, PaymentStatus, Payments,
    Product, Products, Reservation, StockLine, UserStatus, Users,
};
use order_app::{App, Settings};
use order_store::Db;

/// The dependency services, through `dependency-adapters` (breakers, retries, caches and
/// fallbacks live there).
pub(crate) struct Services;

/// The wall clock and random ids of `order-store`.
pub(crate) struct Env;

/// The application over the order store, this instance's settings and the HTTP edge's
/// rendering of answers.
pub(crate) fn app<'a>(db: &'a Db, settings: Settings) -> App<'a, Services, Db, Env> {
    App {
        deps: &Services,
        repo: db,
        env: &Env,
        settings,
        render: crate::answers::render,
    }
}

/// The trace context sent on a call made for `traceparent`, with the inbound `tracestate`
/// while the request that carried it is in flight.
pub(crate) fn trace(traceparent: Option<&str>) -> Option<TraceContext> {
    traceparent.map(|traceparent| TraceContext {
        traceparent: traceparent.to_owned(),
        tracestate: crate::telemetry::tracestate_for(traceparent),
    })
}

/// A WIT `dependency-error` as the application's.
fn error(error: types::DependencyError) -> DependencyError {
    match error {
        types::DependencyError::Unavailable(why) => DependencyError::Unavailable(why),
        types::DependencyError::NotFound => DependencyError::NotFound,
        types::DependencyError::Rejected(why) => DependencyError::Rejected(why),
        types::DependencyError::Timeout => DependencyError::Timeout,
        types::DependencyError::CircuitOpen => DependencyError::CircuitOpen,
    }
}

/// A WIT payment as the application's.
fn payment(payment: payments::Payment) -> Payment {
    Payment {
        payment_id: payment.payment_id,
        status: match payment.status {
            payments::PaymentStatus::Captured => PaymentStatus::Captured,
            payments::PaymentStatus::Pending => PaymentStatus::Pending,
            payments::PaymentStatus::Declined => PaymentStatus::Declined,
            payments::PaymentStatus::Refunded => PaymentStatus::Refunded,
        },
        reason: payment.reason,
    }
}

impl Users for Services {
    async fn user_status(
        &self,
        user_id: &str,
        traceparent: Option<&str>,
    ) -> Result<UserStatus, DependencyError> {
        let lookup = users::get_user(user_id.to_owned(), trace(traceparent))
            .await
            .map_err(error)?;
        Ok(match lookup.user.status {
            users::UserStatus::Active => UserStatus::Active,
            users::UserStatus::Suspended => UserStatus::Suspended,
            users::UserStatus::Deleted => UserStatus::Deleted,
        })
    }
}

impl Products for Services {
    async fn products(
        &self,
        ids: &[String],
        traceparent: Option<&str>,
    ) -> Vec<(String, Result<Product, DependencyError>)> {
        products::get_products(ids.to_vec(), trace(traceparent))
            .await
            .into_iter()
            .map(|outcome| {
                let answer = outcome.lookup.map_err(error).map(|lookup| Product {
                    name: lookup.product.name,
                    price_minor: lookup.product.price.amount_minor,
                    currency: lookup.product.price.currency,
                    active: lookup.product.active,
                });
                (outcome.product_id, answer)
            })
            .collect()
    }
}

impl Inventory for Services {
    async fn reserve(
        &self,
        order_id: &str,
        lines: &[StockLine],
        traceparent: Option<&str>,
    ) -> Result<Reservation, DependencyError> {
        let lines = lines
            .iter()
            .map(|line| inventory::StockLine {
                product_id: line.product_id.clone(),
                quantity: line.quantity,
            })
            .collect();
        let answer = inventory::reserve(order_id.to_owned(), lines, trace(traceparent))
            .await
            .map_err(error)?;
        Ok(match answer {
            inventory::ReservationOutcome::Reserved(id) => Reservation::Reserved(id),
            inventory::ReservationOutcome::InsufficientStock(shortage) => {
                Reservation::InsufficientStock {
                    product_id: shortage.product_id,
                    reason: shortage.reason,
                }
            }
        })
    }

    async fn release(
        &self,
        order_id: &str,
        traceparent: Option<&str>,
    ) -> Result<(), DependencyError> {
        inventory::release(order_id.to_owned(), trace(traceparent))
            .await
            .map_err(error)
    }
}

impl Payments for Services {
    async fn charge(
        &self,
        request: &ChargeRequest,
        traceparent: Option<&str>,
    ) -> Result<Payment, DependencyError> {
        let request = payments::ChargeRequest {
            order_id: request.order_id.clone(),
            amount: types::Money {
                amount_minor: request.amount.amount_minor,
                currency: request.amount.currency.to_string(),
            },
            payment_method: payments::PaymentMethod {
                kind: request.method_kind.clone(),
                token: request.method_token.clone(),
            },
            idempotency_key: request.idempotency_key.clone(),
        };
        payments::charge(request, trace(traceparent))
            .await
            .map(payment)
            .map_err(error)
    }

    async fn refund(
        &self,
        payment_id: &str,
        idempotency_key: &str,
        traceparent: Option<&str>,
    ) -> Result<Payment, DependencyError> {
        payments::refund(
            payment_id.to_owned(),
            idempotency_key.to_owned(),
            trace(traceparent),
        )
        .await
        .map(payment)
        .map_err(error)
    }

    async fn payment(
        &self,
        payment_id: &str,
        traceparent: Option<&str>,
    ) -> Result<Payment, DependencyError> {
        payments::get_payment(payment_id.to_owned(), trace(traceparent))
            .await
            .map(payment)
            .map_err(error)
    }
}

impl Clock for Env {
    fn now_ms(&self) -> i64 {
        clock::now_ms()
    }
}

impl Ids for Env {
    fn order_id(&self) -> String {
        ids::order_id()
    }
}
