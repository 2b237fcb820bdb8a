//! Applying one notification to its order, exactly once: in one `BEGIN IMMEDIATE`
//! transaction the inbox row is claimed (a duplicate id stops here), the order is read,
//! the transition checked, and the order, its history and its outbox event are written.
//!
//! | notification            | from              | to               |
//! |-------------------------|-------------------|------------------|
//! | `payment.captured.v1`   | `payment_pending` | `confirmed`      |
//! | `payment.failed.v1`     | `payment_pending` | `payment_failed` |
//! | `payment.refunded.v1`   | `cancelled`, `delivered` | `refunded` |
//! | `payment.captured.v1`   | `cancelled`       | (unchanged; refund handed to order-api) |
//!
//! A capture of a cancelled order (an admin cancelled it while its payment was pending, and
//! Payment captured it afterwards) took money for an order that will not ship. The status
//! stays `cancelled`; the saga goes back to `compensating`, and order-api's recovery refunds
//! the payment (with the order's refund key) and moves the order to `refunded`.
//!
//! Only `payment_pending` orders take captured/failed: a `pending` order is still in the
//! create-order saga, which learns the charge's outcome from Payment itself.
//!
//! A failed payment leaves stock reserved, and the listener cannot call Inventory. The
//! order becomes `payment_failed` with saga step `compensating`: order-api's recovery pass
//! (`POST /api/v1/admin/orders/recover`, after `saga_recovery_after_s`) resumes the
//! compensation, which for a `payment_failed` order releases the stock and refunds
//! nothing, then completes the saga. The inbox row notes the pending release.

use crate::inbox;
use domain::{OrderStatus, SagaStep, Timestamp};
use events::types::{PAYMENT_CAPTURED, PAYMENT_FAILED, PAYMENT_REFUNDED};
use order_store::{Db, KeyUpdate, StoreError, StoredOrder};

/// A well-formed payment notification.
pub(crate) struct Notification {
    /// CloudEvent `id`: the dedupe key.
    pub(crate) id: String,
    /// CloudEvent `type`.
    pub(crate) event_type: String,
    /// `data.orderId`, when given.
    pub(crate) order_id: Option<String>,
    /// `data.paymentId`, when given.
    pub(crate) payment_id: Option<String>,
    /// `data.reason` (why a payment failed), when given.
    pub(crate) reason: Option<String>,
    /// The inbound `traceparent` extension, already validated.
    pub(crate) traceparent: Option<String>,
}

/// What became of a notification.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Its id was seen before: nothing happened.
    Duplicate,
    /// The order changed to this status.
    Applied(OrderStatus),
    /// A cancelled order's payment was captured: its refund is handed to order-api.
    RefundHandedOver,
    /// Recorded and dropped, for this reason.
    Ignored(String),
}

/// Records and applies `notification` (raw `message`) in one transaction.
pub(crate) async fn apply(
    db: &Db,
    notification: &Notification,
    message: &[u8],
    now: i64,
) -> Result<Outcome, StoreError> {
    db.transaction(async |db| {
        let n = notification;
        if !inbox::claim(db, &n.id, &n.event_type, message, now).await? {
            return Ok(Outcome::Duplicate);
        }
        let outcome = change_order(db, n, now).await?;
        let (status, note) = match &outcome {
            Outcome::Applied(OrderStatus::PaymentFailed) => (
                "applied",
                Some("stock release left to order-api recovery (saga compensating)".into()),
            ),
            Outcome::RefundHandedOver => (
                "applied",
                Some("captured after cancellation: refund left to order-api recovery (saga compensating)".into()),
            ),
            // `Duplicate` returned above; listed only to keep the match exhaustive.
            Outcome::Applied(_) | Outcome::Duplicate => ("applied", None),
            Outcome::Ignored(reason) => ("ignored", Some(reason.clone())),
        };
        inbox::settle(db, &n.id, status, note).await?;
        Ok(outcome)
    })
    .await
}

/// The order part of [`apply`], inside its transaction.
async fn change_order(db: &Db, n: &Notification, now: i64) -> Result<Outcome, StoreError> {
    let Some((from, to, reason)) = plan(n) else {
        return Ok(Outcome::Ignored(format!(
            "`{}` is not a payment notification this service applies",
            n.event_type
        )));
    };
    let order_id = match (&n.order_id, &n.payment_id) {
        (Some(id), _) => Some(id.clone()),
        (None, Some(payment_id)) => db.order_id_by_payment(payment_id).await?,
        (None, None) => None,
    };
    let Some(order_id) = order_id else {
        return Ok(Outcome::Ignored("no order for this notification".into()));
    };
    let Some(mut stored) = db.load_order(&order_id).await? else {
        return Ok(Outcome::Ignored(format!("no order `{order_id}`")));
    };
    if let Some(why) = mismatch(&stored, n) {
        return Ok(Outcome::Ignored(why));
    }
    let current = stored.order.status;
    let traceparent = n.traceparent.clone().or_else(|| stored.traceparent.clone());
    if n.event_type == PAYMENT_CAPTURED && current == OrderStatus::Cancelled {
        if stored.order.payment_id.is_none() {
            return Ok(Outcome::Ignored(format!(
                "order `{order_id}` is `cancelled` and names no payment to refund"
            )));
        }
        db.save_order_change(
            &stored,
            Some(SagaStep::Compensating),
            KeyUpdate::Keep,
            traceparent.as_deref(),
            now,
        )
        .await?;
        return Ok(Outcome::RefundHandedOver);
    }
    if !from.contains(&current) || !current.can_become(to) {
        return Ok(Outcome::Ignored(format!(
            "order `{order_id}` is `{current}`: `{}` cannot make it `{to}`",
            n.event_type
        )));
    }
    stored
        .order
        .transition(to, Timestamp(now), reason)
        .map_err(|error| StoreError::Failed(error.to_string()))?;
    // A failed payment hands the saga to order-api's recovery, which releases the stock.
    let hand_over = (to == OrderStatus::PaymentFailed).then_some(SagaStep::Compensating);
    db.save_order_change(
        &stored,
        hand_over,
        KeyUpdate::Keep,
        traceparent.as_deref(),
        now,
    )
    .await?;
    Ok(Outcome::Applied(to))
}

/// The statuses a notification applies to, the status it leads to and the history reason.
fn plan(n: &Notification) -> Option<(&'static [OrderStatus], OrderStatus, Option<String>)> {
    use OrderStatus::*;
    match n.event_type.as_str() {
        PAYMENT_CAPTURED => Some((&[PaymentPending], Confirmed, None)),
        PAYMENT_FAILED => {
            let reason = n.reason.clone().unwrap_or_else(|| "declined".into());
            Some((&[PaymentPending], PaymentFailed, Some(reason)))
        }
        PAYMENT_REFUNDED => Some((
            &[Cancelled, Delivered],
            Refunded,
            Some("payment refunded".into()),
        )),
        _ => None,
    }
}

/// Why the notification does not belong to this order: its payment id differs from the
/// one the order recorded.
fn mismatch(stored: &StoredOrder, n: &Notification) -> Option<String> {
    match (&n.payment_id, &stored.order.payment_id) {
        (Some(theirs), Some(ours)) if theirs != ours => Some(format!(
            "payment `{theirs}` is not order `{}`'s payment `{ours}`",
            stored.order.id
        )),
        _ => None,
    }
}
