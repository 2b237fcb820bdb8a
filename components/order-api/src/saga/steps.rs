//! Saga steps shared by the create-order request, the recovery pass and admin cancellation:
//! charging (always with [`SagaStep::charge_key`]), releasing stock and compensating.

use super::{Outcome, RETRY_AFTER_S, describe, trace};
use crate::bindings::shop::adapters::inventory;
use crate::bindings::shop::adapters::payments::{
    self, ChargeRequest, PaymentMethod, PaymentStatus,
};
use crate::bindings::shop::adapters::types::{DependencyError, Money};
use crate::problem::Problem;
use crate::store::{Db, StoreError, StoredOrder};
use domain::{OrderStatus, SagaStep, Timestamp};
use order_store::clock;
use spin_sdk::http::StatusCode;

/// Who runs a charge: the request (a charge with an unknown outcome is answered 202 and left
/// to recovery) or a recovery pass (an outage leaves the saga for the next pass).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runner {
    /// The create-order request.
    Request,
    /// `POST /api/v1/admin/orders/recover` or its opportunistic run.
    Recovery,
}

/// Moves the order to `next` (when the state machine allows it) with `reason`.
pub(crate) fn transition(stored: &mut StoredOrder, next: OrderStatus, reason: Option<String>) {
    let now = Timestamp(clock::now_ms());
    // An illegal change here means the order already moved on (e.g. a late notification);
    // the status then stays as it is.
    let _ = stored.order.transition(next, now, reason);
}

/// Sends the charge for a stored order (saga step `charge_requested`) and finishes the saga
/// from Payment's answer. `None` when the runner is recovery and Payment was unreachable.
pub(crate) async fn charge_and_finish(
    db: &Db,
    stored: &mut StoredOrder,
    runner: Runner,
) -> Result<Option<Outcome>, StoreError> {
    let order_id = stored.order.id.clone();
    let Some(token) = stored.payment_token.clone() else {
        // The token is gone, so the charge cannot be repeated: resolve by compensation.
        compensate(db, stored).await?;
        return Ok(Some(cancelled_outcome(stored)));
    };
    let request = charge_request(stored, token);
    let answer = payments::charge(request, trace(stored.traceparent.as_deref())).await;
    let now = clock::now_ms();
    match answer {
        Ok(payment) => match payment.status {
            PaymentStatus::Captured => {
                stored.order.payment_id = Some(payment.payment_id);
                transition(stored, OrderStatus::Confirmed, None);
                finish(stored);
                db.save_order(stored, now).await?;
                Ok(Some(Outcome::order(StatusCode::CREATED, stored)))
            }
            PaymentStatus::Pending => {
                stored.order.payment_id = Some(payment.payment_id);
                transition(stored, OrderStatus::PaymentPending, None);
                finish(stored);
                db.save_order(stored, now).await?;
                Ok(Some(Outcome::order(StatusCode::ACCEPTED, stored)))
            }
            PaymentStatus::Declined | PaymentStatus::Refunded => {
                stored.order.payment_id = Some(payment.payment_id);
                let reason = payment.reason.unwrap_or_else(|| "declined".into());
                payment_failed(db, stored, reason).await.map(Some)
            }
        },
        Err(DependencyError::Rejected(why)) => {
            payment_failed(db, stored, format!("payment rejected: {why}"))
                .await
                .map(Some)
        }
        Err(_) if runner == Runner::Recovery => Ok(None),
        Err(DependencyError::CircuitOpen) => {
            // Payment's breaker refused the call before anything was sent: certainly nothing
            // was charged, so the order is undone at once and the client may retry.
            let released = release(stored).await.is_ok();
            transition(
                stored,
                OrderStatus::Cancelled,
                Some("payment service circuit open; nothing was charged".into()),
            );
            stored.payment_token = None;
            stored.saga_step = if released {
                SagaStep::Completed
            } else {
                SagaStep::Compensating
            };
            db.save_order(stored, now).await?;
            Ok(Some(Outcome::unavailable(
                "the payment service is failing (its circuit breaker is open); nothing was charged, the order was cancelled and its stock released. Retry later".into(),
                Some(&order_id),
            )))
        }
        Err(error) => {
            // The charge may have been made (a timeout, a lost answer, a 5xx after Payment
            // processed it): its outcome is unknown, so nothing is undone. The order stays
            // `pending` with its stock held and its saga at `charge_requested`; recovery
            // repeats the charge with the same key (Payment answers with its first result and
            // never charges twice) and confirms or fails the order. The client gets 202 with
            // the order, and its Idempotency-Key stays bound to it: a retry is not a new order.
            log_unresolved_charge(&order_id, &error);
            // The order settles once its saga is stale for recovery: say when that is.
            let settles_after_s = super::recovery::seconds_variable("saga_recovery_after_s", 60)
                .await
                .clamp(i64::from(RETRY_AFTER_S), 3600) as u32;
            Ok(Some(
                Outcome::order(StatusCode::ACCEPTED, stored).with_retry_after(settles_after_s),
            ))
        }
    }
}

/// One JSON line on stderr for an order whose charge awaits recovery.
fn log_unresolved_charge(order_id: &str, error: &DependencyError) {
    crate::telemetry::emit(&serde_json::json!({
        "level": "warn",
        "component": "order-api",
        "event": "charge_unresolved",
        "orderId": order_id,
        "detail": format!("payment service {}; recovery repeats the charge with the same key", describe(error)),
    }));
}

/// The charge for a stored order, always with its one payment key ([`SagaStep::charge_key`]):
/// a repeat is answered with the first result, never charged twice.
fn charge_request(stored: &StoredOrder, token: String) -> ChargeRequest {
    ChargeRequest {
        order_id: stored.order.id.clone(),
        amount: Money {
            amount_minor: stored.order.total.amount_minor,
            currency: stored.order.total.currency.to_string(),
        },
        payment_method: PaymentMethod {
            kind: stored.payment_method_type.clone(),
            token,
        },
        idempotency_key: SagaStep::charge_key(&stored.order.id),
    }
}

/// Payment refused: release stock, `payment_failed`, 402 carrying the order id.
async fn payment_failed(
    db: &Db,
    stored: &mut StoredOrder,
    reason: String,
) -> Result<Outcome, StoreError> {
    let released = release(stored).await.is_ok();
    transition(stored, OrderStatus::PaymentFailed, Some(reason.clone()));
    stored.payment_token = None;
    stored.saga_step = if released {
        SagaStep::Completed
    } else {
        SagaStep::Compensating
    };
    db.save_order(stored, clock::now_ms()).await?;
    Ok(Outcome::problem(
        Problem::typed(
            StatusCode::PAYMENT_REQUIRED,
            "payment-declined",
            "Payment declined",
            format!("the payment was declined ({reason}); no money was taken and the stock was released. Use another payment method"),
        )
        .with("reason", reason),
        Some(&stored.order.id),
    ))
}

/// Releases the order's stock (idempotent at Inventory).
pub(crate) async fn release(stored: &StoredOrder) -> Result<(), DependencyError> {
    inventory::release(
        stored.order.id.clone(),
        trace(stored.traceparent.as_deref()),
    )
    .await
}

/// Marks the saga finished: nothing left to repeat, so the payment token is dropped.
pub(crate) fn finish(stored: &mut StoredOrder) {
    stored.payment_token = None;
    stored.saga_step = SagaStep::Completed;
}

/// Compensates an order (saga step `compensating`): release its stock, resolve a charge whose
/// outcome is unknown (same key: Payment answers the first result, never a second charge), and
/// refund a captured payment with [`SagaStep::refund_key`]. `false` when a dependency failed
/// and the saga stays `compensating` for the next recovery pass.
pub(crate) async fn compensate(db: &Db, stored: &mut StoredOrder) -> Result<bool, StoreError> {
    stored.saga_step = SagaStep::Compensating;
    let trace = trace(stored.traceparent.as_deref());
    let done = resolve(stored, trace).await;
    if done {
        finish(stored);
    }
    db.save_order(stored, clock::now_ms()).await?;
    Ok(done)
}

/// The dependency calls of [`compensate`]; `false` when one failed.
async fn resolve(
    stored: &mut StoredOrder,
    trace: Option<crate::bindings::shop::adapters::types::TraceContext>,
) -> bool {
    if release(stored).await.is_err() {
        return false;
    }
    // A token without a payment id: a charge was sent but its answer was lost.
    if let (None, Some(token)) = (&stored.order.payment_id, &stored.payment_token) {
        let request = charge_request(stored, token.clone());
        match payments::charge(request, trace.clone()).await {
            Ok(payment) => match payment.status {
                PaymentStatus::Declined => return true,
                PaymentStatus::Pending => {
                    stored.order.payment_id = Some(payment.payment_id);
                    return false;
                }
                _ => stored.order.payment_id = Some(payment.payment_id),
            },
            Err(DependencyError::Rejected(_)) => return true,
            Err(_) => return false,
        }
    }
    let Some(payment_id) = stored.order.payment_id.clone() else {
        return true;
    };
    if stored.order.status == OrderStatus::PaymentFailed {
        return true;
    }
    // Ask before refunding: a refund of a payment that is not captured yet would be refused,
    // and Payment may answer that same refusal to every later refund with the same key. A
    // pending payment keeps the saga compensating, so recovery asks again until it settles
    // (a capture after the cancellation is then refunded, even if its notification is lost).
    let trace_context = trace.clone();
    match payments::get_payment(payment_id.clone(), trace_context).await {
        Ok(payment) => match payment.status {
            PaymentStatus::Captured => {}
            PaymentStatus::Pending => return false,
            PaymentStatus::Declined => return true,
            PaymentStatus::Refunded => {
                transition(
                    stored,
                    OrderStatus::Refunded,
                    Some("payment refunded".into()),
                );
                return true;
            }
        },
        Err(DependencyError::NotFound) => return true,
        Err(_) => return false,
    }
    let key = SagaStep::refund_key(&stored.order.id);
    match payments::refund(payment_id, key, trace).await {
        Ok(_) => {
            transition(
                stored,
                OrderStatus::Refunded,
                Some("payment refunded".into()),
            );
            true
        }
        // Captured a moment ago but refused now, or a failure: ask again on the next pass.
        Err(_) => false,
    }
}

/// The answer for an order that ended cancelled.
pub(crate) fn cancelled_outcome(stored: &StoredOrder) -> Outcome {
    Outcome::unavailable(
        "the order could not be completed and was cancelled; retry later".into(),
        Some(&stored.order.id),
    )
}
