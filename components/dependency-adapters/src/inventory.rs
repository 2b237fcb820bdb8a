//! Inventory service: `POST /inventory/reserve` `{orderId, items}` → 200
//! `{success: true, reservationId}` or 409 `{success: false, reason, productId}`;
//! `POST /inventory/release` `{orderId}` → 200. Both idempotent per order id.

use crate::bindings::exports::shop::order::inventory::{
    ReservationOutcome, StockLine, StockShortage,
};
use crate::bindings::shop::order::types::{DependencyError, TraceContext};
use crate::outbound::{Call, Service};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReservationWire {
    success: bool,
    reservation_id: Option<String>,
    reason: Option<String>,
    product_id: Option<String>,
}

/// Reserves stock; a 409 is the business answer "insufficient stock", not an error.
pub(crate) async fn reserve(
    order_id: &str,
    items: &[StockLine],
    trace: Option<&TraceContext>,
) -> Result<ReservationOutcome, DependencyError> {
    let items: Vec<_> = items
        .iter()
        .map(|line| json!({ "productId": line.product_id, "quantity": line.quantity }))
        .collect();
    let body = json!({ "orderId": order_id, "items": items });
    let answer = Call::post_json(
        Service::Inventory,
        "/inventory/reserve".into(),
        &body,
        trace,
    )
    .send()
    .await?;
    if answer.status != 200 && answer.status != 409 {
        return Err(answer.unexpected());
    }
    let wire: ReservationWire = answer.json()?;
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
    trace: Option<&TraceContext>,
) -> Result<(), DependencyError> {
    let body = json!({ "orderId": order_id });
    let answer = Call::post_json(
        Service::Inventory,
        "/inventory/release".into(),
        &body,
        trace,
    )
    .send()
    .await?;
    if answer.is_success() {
        Ok(())
    } else {
        Err(answer.unexpected())
    }
}
