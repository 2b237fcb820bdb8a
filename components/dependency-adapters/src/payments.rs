//! Payment service: `POST /payments` (with `Idempotency-Key`) → 201
//! `{paymentId, status, reason?}`; `POST /payments/{id}/refund` → 200
//! `{paymentId, status: refunded}`; `GET /payments/{id}` → 200
//! `{paymentId, orderId, status}`, 404 unknown.

use crate::bindings::exports::shop::order::payments::{ChargeRequest, Payment, PaymentStatus};
use crate::bindings::shop::order::types::{DependencyError, TraceContext};
use crate::outbound::{Answer, Call, Service, segment};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentWire {
    payment_id: String,
    order_id: Option<String>,
    status: PaymentStatusWire,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum PaymentStatusWire {
    Captured,
    Pending,
    Declined,
    Refunded,
}

/// Charges the buyer. A declined charge is an answer (`status: declined`).
pub(crate) async fn charge(
    request: &ChargeRequest,
    trace: Option<&TraceContext>,
) -> Result<Payment, DependencyError> {
    let body = json!({
        "orderId": request.order_id,
        "amount": {
            "amountMinor": request.amount.amount_minor,
            "currency": request.amount.currency,
        },
        "paymentMethod": {
            "type": request.payment_method.kind,
            "token": request.payment_method.token,
        },
    });
    let answer = Call::post_json(Service::Payment, "/payments".into(), &body, trace)
        .idempotency_key(&request.idempotency_key)
        .send()
        .await?;
    payment_from(&answer)
}

/// Refunds a payment; the key makes a repeated refund safe.
pub(crate) async fn refund(
    payment_id: &str,
    idempotency_key: &str,
    trace: Option<&TraceContext>,
) -> Result<Payment, DependencyError> {
    let path = format!("/payments/{}/refund", segment(payment_id));
    let answer = Call::post_json(Service::Payment, path, &json!({}), trace)
        .idempotency_key(idempotency_key)
        .send()
        .await?;
    payment_from(&answer)
}

/// Reads a payment's current state.
pub(crate) async fn get_payment(
    payment_id: &str,
    trace: Option<&TraceContext>,
) -> Result<Payment, DependencyError> {
    let path = format!("/payments/{}", segment(payment_id));
    let answer = Call::get(Service::Payment, path, trace).send().await?;
    payment_from(&answer)
}

fn payment_from(answer: &Answer) -> Result<Payment, DependencyError> {
    if !answer.is_success() {
        return Err(answer.unexpected());
    }
    let wire: PaymentWire = answer.json()?;
    Ok(Payment {
        payment_id: wire.payment_id,
        order_id: wire.order_id,
        status: match wire.status {
            PaymentStatusWire::Captured => PaymentStatus::Captured,
            PaymentStatusWire::Pending => PaymentStatus::Pending,
            PaymentStatusWire::Declined => PaymentStatus::Declined,
            PaymentStatusWire::Refunded => PaymentStatus::Refunded,
        },
        reason: wire.reason,
    })
}
