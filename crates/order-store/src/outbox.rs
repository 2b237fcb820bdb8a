//! The outbox row of an order change: a CloudEvents 1.0 JSON envelope (ARCHITECTURE §6)
//! built with [`events::CloudEvent::builder`], inserted in the transaction that changes the
//! order. The table's definition is [`events::OUTBOX_SCHEMA`].

use crate::{Db, StoreError, clock};
use domain::Order;
use events::CloudEvent;
use spin_sdk::sqlite::Value;

/// The CloudEvent `source` of every order event.
pub const ORDER_EVENT_SOURCE: &str = "/order-service";

/// The `event_type` event about `order` at `now` (epoch ms): a fresh UUID v4 id, the order
/// id as `subject`, the order's full JSON as `data`, and `traceparent` when it is a valid
/// W3C trace context (an invalid one is left out: the relay would refuse the envelope).
pub fn order_event(
    order: &Order,
    event_type: &str,
    traceparent: Option<&str>,
    now: i64,
) -> Result<CloudEvent, StoreError> {
    let data = serde_json::to_value(order)
        .map_err(|error| StoreError(format!("order {} as JSON: {error}", order.id)))?;
    CloudEvent::builder(clock::uuid_v4(), ORDER_EVENT_SOURCE, event_type)
        .time_ms(now)
        .subject(order.id.clone())
        .json_data(data)
        .traceparent(traceparent.filter(|t| events::is_valid_traceparent(t)))
        .build()
        .map_err(|error| StoreError(format!("order {} event {event_type}: {error}", order.id)))
}

impl Db {
    /// Inserts `event` about the aggregate `aggregate_id` as a pending outbox row, due now:
    /// `status = 'pending'`, `attempts = 0`, `next_attempt_at = created_at = now`, the
    /// envelope's JSON text as `payload`. Runs inside the caller's transaction.
    pub async fn insert_outbox_event(
        &self,
        aggregate_id: &str,
        event: &CloudEvent,
        now: i64,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO outbox (event_id, aggregate_id, event_type, payload, status, attempts,
                                 next_attempt_at, created_at)
             VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)",
            vec![
                Value::Text(event.id.clone()),
                Value::Text(aggregate_id.to_owned()),
                Value::Text(event.event_type.clone()),
                Value::Text(event.to_string()),
                Value::Integer(now),
                Value::Integer(now),
            ],
        )
        .await
        .map(drop)
    }
}
