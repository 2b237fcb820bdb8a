//! Payment service: `POST /payments` (with `Idempotency-Key`) → 201
//! `{paymentId, status, reason?}`; `POST /payments/{id}/refund` (with its key) → 200
//! `{paymentId, status: refunded}`; `GET /payments/{id}` → 200
//! `{paymentId, orderId, status}`, 404 unknown.
//!
//! Breaker + retry, like Inventory, but a charge or refund is retried **only** with its
//! idempotency key (every attempt carries the same `Idempotency-Key` header, so the
//! service answers a repeat with the first answer and never charges twice); a charge
//! without a key is sent once. `get-payment` is a GET and always safe to repeat.

use resilience::Idempotency;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::bindings::exports::shop::adapters::payments::{ChargeRequest, Payment, PaymentStatus};
use crate::bindings::exports::shop::adapters::types::{DependencyError, TraceContext};
use crate::context::{Context, TransitionLog, dependency_error};
use crate::outbound::{Answer, Call, CallError, segment};
use crate::service::Service;

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
    trace: Option<TraceContext>,
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
    let key = request.idempotency_key.as_str();
    send(trace, Method::Post("/payments".into(), body), Some(key)).await
}

/// Refunds a payment; the key makes a repeated refund safe.
pub(crate) async fn refund(
    payment_id: &str,
    idempotency_key: &str,
    trace: Option<TraceContext>,
) -> Result<Payment, DependencyError> {
    let path = format!("/payments/{}/refund", segment(payment_id));
    send(trace, Method::Post(path, json!({})), Some(idempotency_key)).await
}

/// Reads a payment's current state.
pub(crate) async fn get_payment(
    payment_id: &str,
    trace: Option<TraceContext>,
) -> Result<Payment, DependencyError> {
    let path = format!("/payments/{}", segment(payment_id));
    send(trace, Method::Get(path), None).await
}

enum Method {
    Get(String),
    Post(String, Value),
}

/// Sends with breaker and retries. A POST without a key is never repeated.
async fn send(
    trace: Option<TraceContext>,
    method: Method,
    key: Option<&str>,
) -> Result<Payment, DependencyError> {
    let idempotency = match (&method, key) {
        (Method::Get(_), _) => Idempotency::Idempotent,
        (Method::Post(..), Some(key)) => Idempotency::Key(key.to_owned()),
        (Method::Post(..), None) => Idempotency::NotIdempotent,
    };
    let context = Context::open(trace).await;
    let breaker = context.breaker(Service::Payment);
    let log = TransitionLog(Service::Payment);
    let (context, method) = (&context, &method);
    context
        .guard(&breaker, &log)
        .with_retry(context.settings.retry.clone())
        .run(&idempotency, move |_| async move {
            let mut call = match method {
                Method::Get(path) => Call::get(Service::Payment, path.clone(), context.trace()),
                Method::Post(path, body) => {
                    Call::post_json(Service::Payment, path.clone(), body, context.trace())
                }
            };
            if let Some(key) = key.filter(|key| !key.is_empty()) {
                call = call.idempotency_key(key);
            }
            let answer = context.exchange(call).await?;
            payment_from(&answer)
        })
        .await
        .map_err(dependency_error)
}

fn payment_from(answer: &Answer) -> Result<Payment, CallError> {
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
