//! The create-order saga as run by `POST /api/v1/orders`, after the idempotency claim.

use super::steps::{Runner, charge_and_finish, finish, release, transition};
use super::{Outcome, describe, trace};
use crate::bindings::shop::adapters::inventory::{self, ReservationOutcome, StockLine};
use crate::bindings::shop::adapters::products;
use crate::bindings::shop::adapters::types::DependencyError;
use crate::bindings::shop::adapters::users::{self, UserStatus};
use crate::problem::Problem;
use crate::store::{Db, StoreError, StoredOrder};
use domain::{
    Currency, DomainError, Money, Order, OrderStatus, PricedItem, SagaStep, Timestamp,
    ValidatedOrder,
};
use order_store::clock;
use spin_sdk::http::StatusCode;

/// Runs the saga for a validated request whose `Idempotency-Key` claim is `claim_key`.
pub(crate) async fn create_order(
    db: &Db,
    request: ValidatedOrder,
    claim_key: &str,
    traceparent: &str,
) -> Result<Outcome, StoreError> {
    let trace = trace(Some(traceparent));
    if let Err(outcome) = check_buyer(&request.user_id, trace.clone()).await {
        return Ok(outcome);
    }
    let priced = match price(&request, trace.clone()).await {
        Ok(priced) => priced,
        Err(outcome) => return Ok(outcome),
    };
    let now = clock::now_ms();
    let order = match Order::new(
        clock::order_id(),
        request.user_id.clone(),
        priced,
        Timestamp(now),
    ) {
        Ok(order) => order,
        Err(error) => return Ok(pricing_problem(&error)),
    };
    let mut stored = StoredOrder::new(
        order,
        request.payment_method.kind.clone(),
        request.payment_method.token.clone(),
        request.shipping_address.as_ref().map(|a| a.to_string()),
        Some(traceparent.to_owned()),
    );
    db.insert_order(&mut stored, claim_key, now).await?;

    // `reserve` records the reservation together with the intent to charge (saga step
    // `charge_requested`): one write, still before the charge is sent.
    if let Some(outcome) = reserve(db, &mut stored).await? {
        return Ok(outcome);
    }
    let outcome = charge_and_finish(db, &mut stored, Runner::Request).await?;
    Ok(outcome.unwrap_or_else(|| super::steps::cancelled_outcome(&stored)))
}

/// The buyer exists and may order.
async fn check_buyer(
    user_id: &str,
    trace: Option<crate::bindings::shop::adapters::types::TraceContext>,
) -> Result<(), Outcome> {
    match users::get_user(user_id.to_owned(), trace).await {
        Ok(lookup) if lookup.user.status == UserStatus::Active => Ok(()),
        Ok(lookup) => {
            let status = match lookup.user.status {
                UserStatus::Suspended => "suspended",
                _ => "deleted",
            };
            Err(Outcome::problem(
                Problem::typed(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "user-cannot-order",
                    "User cannot order",
                    format!("user `{user_id}` is {status} and cannot place orders"),
                )
                .with("field", "userId")
                .with("userStatus", status),
                None,
            ))
        }
        Err(DependencyError::NotFound) => Err(Outcome::problem(
            Problem::typed(
                StatusCode::UNPROCESSABLE_ENTITY,
                "user-not-found",
                "User not found",
                format!("user `{user_id}` does not exist; check userId"),
            )
            .with("field", "userId"),
            None,
        )),
        Err(error) => Err(Outcome::unavailable(
            format!("the user service {}; retry later", describe(&error)),
            None,
        )),
    }
}

/// Fetches every product concurrently and prices the lines.
async fn price(
    request: &ValidatedOrder,
    trace: Option<crate::bindings::shop::adapters::types::TraceContext>,
) -> Result<Vec<PricedItem>, Outcome> {
    let ids: Vec<String> = request.items.iter().map(|i| i.product_id.clone()).collect();
    let outcomes = products::get_products(ids, trace).await;
    let mut priced = Vec::with_capacity(request.items.len());
    for (index, item) in request.items.iter().enumerate() {
        let field = format!("items[{index}].productId");
        let id = &item.product_id;
        let lookup = outcomes
            .iter()
            .find(|o| &o.product_id == id)
            .map(|o| o.lookup.clone())
            .unwrap_or(Err(DependencyError::NotFound));
        let product = match lookup {
            Ok(lookup) => lookup.product,
            Err(DependencyError::NotFound) => {
                return Err(product_problem(
                    "product-not-found",
                    "Product not found",
                    format!("product `{id}` does not exist; remove it or fix {field}"),
                    &field,
                    id,
                ));
            }
            Err(error) => {
                return Err(Outcome::unavailable(
                    format!("the product service {}; retry later", describe(&error)),
                    None,
                ));
            }
        };
        if !product.active {
            return Err(product_problem(
                "product-inactive",
                "Product not available",
                format!("product `{id}` is no longer sold; remove it from the order"),
                &field,
                id,
            ));
        }
        let currency = Currency::parse(&product.price.currency).map_err(|e| pricing_problem(&e))?;
        priced.push(PricedItem {
            product_id: id.clone(),
            name: product.name,
            unit_price: Money::new(product.price.amount_minor, currency),
            quantity: item.quantity,
        });
    }
    Ok(priced)
}

/// A 422 about one requested product.
fn product_problem(
    slug: &'static str,
    title: &'static str,
    detail: String,
    field: &str,
    id: &str,
) -> Outcome {
    Outcome::problem(
        Problem::typed(StatusCode::UNPROCESSABLE_ENTITY, slug, title, detail)
            .with("field", field)
            .with("productId", id),
        None,
    )
}

/// A 422 for prices that cannot make one order (mixed currencies, overflow).
fn pricing_problem(error: &DomainError) -> Outcome {
    Outcome::problem(
        Problem::typed(
            StatusCode::UNPROCESSABLE_ENTITY,
            "order-not-priceable",
            "The order cannot be priced",
            format!("{error}; order products of one currency, in smaller quantities"),
        ),
        None,
    )
}

/// Reserves the stock of a stored order and records it with the intent to charge (saga step
/// `charge_requested`); `Some` answer when the saga ends here.
async fn reserve(db: &Db, stored: &mut StoredOrder) -> Result<Option<Outcome>, StoreError> {
    let lines: Vec<StockLine> = stored
        .order
        .items
        .iter()
        .map(|l| StockLine {
            product_id: l.product_id.clone(),
            quantity: l.quantity,
        })
        .collect();
    let answer = inventory::reserve(
        stored.order.id.clone(),
        lines,
        trace(stored.traceparent.as_deref()),
    )
    .await;
    let order_id = stored.order.id.clone();
    match answer {
        Ok(ReservationOutcome::Reserved(reservation_id)) => {
            // The reservation and the intent to charge in one write: a crash from here on is
            // recovered forward (the charge repeated with its key), never by guessing.
            stored.reservation_id = Some(reservation_id);
            stored.saga_step = SagaStep::ChargeRequested;
            db.save_order(stored, clock::now_ms()).await?;
            Ok(None)
        }
        Ok(ReservationOutcome::InsufficientStock(shortage)) => {
            let product = shortage.product_id.unwrap_or_default();
            let reason = format!("insufficient stock for product `{product}`");
            transition(stored, OrderStatus::Cancelled, Some(reason.clone()));
            finish(stored);
            db.save_order(stored, clock::now_ms()).await?;
            Ok(Some(Outcome::problem(
                Problem::typed(
                    StatusCode::CONFLICT,
                    "insufficient-stock",
                    "Insufficient stock",
                    format!(
                        "{reason} ({}); order fewer units or remove the product",
                        shortage.reason
                    ),
                )
                .with("productId", product),
                Some(&order_id),
            )))
        }
        Err(error) => {
            // The reservation may have been made before the failure: release it (idempotent).
            let released = release(stored).await.is_ok();
            transition(
                stored,
                OrderStatus::Cancelled,
                Some(format!("inventory service {}", describe(&error))),
            );
            if released {
                finish(stored);
            } else {
                stored.payment_token = None;
                stored.saga_step = SagaStep::Compensating;
            }
            db.save_order(stored, clock::now_ms()).await?;
            Ok(Some(Outcome::unavailable(
                format!(
                    "the inventory service {}; the order was cancelled. Retry later",
                    describe(&error)
                ),
                Some(&order_id),
            )))
        }
    }
}
