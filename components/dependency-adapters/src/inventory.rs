//! Inventory service: `POST /inventory/reserve` `{orderId, items}` → 200
//! `{success: true, reservationId}` or 409 `{success: false, reason, productId}`;
//! `POST /inventory/release` `{orderId}` → 200. Both idempotent per order id.
//!
//! Breaker + retry: 5xx, connection errors and timeouts are retried with exponential
//! backoff and full jitter (`retry_max`, `retry_base_delay_ms`, within `retry_budget_ms`),
//! honouring `Retry-After`; a 4xx never is. Safe because both calls are idempotent per
//! order id. A 409 is the business answer "insufficient stock", not an error.

use resilience::Idempotency;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::bindings::exports::shop::adapters::inventory::{
    ReservationOutcome, StockLine, StockShortage,
};
use crate::bindings::exports::shop::adapters::types::{DependencyError, TraceContext};
use crate::context::{Context, TransitionLog, dependency_error};
use crate::outbound::{Answer, Call, CallError};
use crate::service::Service;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReservationWire {
    success: bool,
    reservation_id: Option<String>,
    reason: Option<String>,
    product_id: Option<String>,
}

/// Reserves stock for an order.
pub(crate) async fn reserve(
    order_id: &str,
    items: &[StockLine],
    trace: Option<TraceContext>,
) -> Result<ReservationOutcome, DependencyError> {
    let items: Vec<_> = items
        .iter()
        .map(|line| json!({ "productId": line.product_id, "quantity": line.quantity }))
        .collect();
    let body = json!({ "orderId": order_id, "items": items });
    let wire: ReservationWire =
        post(trace, "/inventory/reserve", &body, |answer| answer.json()).await?;
    match (wire.success, wire.reservation_id) {
        (true, Some(reservation_id)) => Ok(ReservationOutcome::Reserved(reservation_id)),
        (true, None) => Err(DependencyError::Unavailable(
            "inventory service reported success without a reservationId".into(),
        )),
        (false, _) => Ok(ReservationOutcome::InsufficientStock(StockShortage {
            product_id: wire.product_id,
            reason: wire
                .reason
                .unwrap_or_else(|| "insufficient stock".to_owned()),
        })),
    }
}

/// Releases the order's reservation (compensation).
pub(crate) async fn release(
    order_id: &str,
    trace: Option<TraceContext>,
) -> Result<(), DependencyError> {
    post(
        trace,
        "/inventory/release",
        &json!({ "orderId": order_id }),
        |_| Ok(()),
    )
    .await
}

/// POSTs `body` with breaker and retries; a 2xx (and for reserve, a 409) is an answer,
/// read by `read` inside the attempt (so an unreadable body counts as a failure).
async fn post<T>(
    trace: Option<TraceContext>,
    path: &'static str,
    body: &Value,
    read: impl Fn(Answer) -> Result<T, CallError> + Copy,
) -> Result<T, DependencyError> {
    let context = Context::open(trace).await;
    let breaker = context.breaker(Service::Inventory);
    let log = TransitionLog(Service::Inventory);
    let context = &context;
    context
        .guard(&breaker, &log)
        .with_retry(context.settings.retry.clone())
        .run(&Idempotency::Idempotent, move |_| async move {
            let call = Call::post_json(Service::Inventory, path.to_owned(), body, context.trace());
            let answer = context.exchange(call).await?;
            match answer.status {
                200..=299 | 409 => read(answer),
                _ => Err(answer.unexpected()),
            }
        })
        .await
        .map_err(dependency_error)
}
