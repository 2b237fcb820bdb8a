//! Redis-triggered on channel `payments.events` (ARCHITECTURE §6): applies each payment
//! notification (`payment.captured.v1`, `payment.failed.v1`, `payment.refunded.v1`) to
//! its order exactly once, deduplicated by CloudEvent id in the `payment_inbox` table, in
//! the same transaction as the order change and its outbox event (see [`apply`]).
//!
//! Bad input never fails the trigger: a malformed message is recorded (status
//! `malformed`, keyed by a hash of its body), an inapplicable one (unknown order, illegal
//! transition) is recorded as `ignored` with the reason; both are acknowledged, since
//! redelivering them could never make them apply. Storage failures are returned as
//! errors (the trigger logs them; reconciliation in order-api still resolves the order).

// No `unsafe_code` lint here: `#[redis_subscriber]` expands wit-bindgen's export glue
// (unsafe by nature) into this crate, next to the handler. The handwritten code has none.

mod apply;
mod inbox;

use apply::Notification;
use bytes::Bytes;
use serde_json::Value;

/// Handles one message from `payments.events`.
#[spin_sdk::redis_subscriber]
async fn on_message(message: Bytes) -> anyhow::Result<()> {
    let received_at = guest::clock::now_ms();
    let db = order_store::Db::open_default().await?;
    // The schema (payment_inbox, orders, outbox) is order-store's, applied once per instance.
    order_store::schema::ensure(&db).await?;
    match parse(&message) {
        Ok(notification) => {
            let outcome = apply::apply(&db, &notification, &message, received_at).await?;
            log_outcome(&notification, &outcome);
            Ok(())
        }
        Err(reason) => Ok(inbox::record_malformed(&db, &message, reason, received_at).await?),
    }
}

/// One JSON line on stderr per applied notification, in one write (lines of concurrent
/// instances never interleave).
fn log_outcome(notification: &Notification, outcome: &apply::Outcome) {
    let line = serde_json::json!({
        "level": "info",
        "component": "payment-listener",
        "event": "payment_notification",
        "type": notification.event_type,
        "id": notification.id,
        "outcome": format!("{outcome:?}"),
    });
    guest::log::emit(&line);
}

/// A valid notification is a CloudEvents 1.0 JSON envelope with a JSON object as `data`;
/// `orderId`, `paymentId` and `reason` are read from it when they are strings.
fn parse(message: &[u8]) -> Result<Notification, String> {
    let text = std::str::from_utf8(message).map_err(|_| "not UTF-8".to_owned())?;
    let event =
        events::CloudEvent::parse(text).map_err(|error| format!("not a CloudEvent: {error}"))?;
    let Value::Object(data) = &event.data else {
        return Err("CloudEvent data must be a JSON object".into());
    };
    let field = |name: &str| {
        data.get(name)
            .and_then(Value::as_str)
            .filter(|value| !value.trim().is_empty())
            .map(str::to_owned)
    };
    Ok(Notification {
        order_id: field("orderId"),
        payment_id: field("paymentId"),
        reason: field("reason"),
        id: event.id,
        event_type: event.event_type,
        traceparent: event.traceparent,
    })
}
