//! The outbox row for an order change: a CloudEvents 1.0 JSON envelope (ARCHITECTURE §6),
//! inserted in the transaction that changes the order.

use super::{Db, StoreError};
use crate::clock;
use domain::Order;
use serde_json::json;
use spin_sdk::sqlite::Value;

/// The CloudEvent `source` of every order event.
const SOURCE: &str = "/order-service";

/// Appends `event_type` about `order` (its full JSON as `data`) as a pending outbox row.
pub(super) async fn append(
    db: &Db,
    order: &Order,
    event_type: &str,
    traceparent: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    let event_id = clock::uuid_v4();
    let mut event = json!({
        "specversion": "1.0",
        "id": event_id,
        "source": SOURCE,
        "type": event_type,
        "time": domain::Timestamp(now).to_string(),
        "subject": order.id,
        "datacontenttype": "application/json",
        "data": order,
    });
    if let Some(traceparent) = traceparent {
        event["traceparent"] = json!(traceparent);
    }
    db.exec(
        "INSERT INTO outbox (event_id, aggregate_id, event_type, payload, status, attempts,
                             next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)",
        vec![
            Value::Text(event_id),
            Value::Text(order.id.clone()),
            Value::Text(event_type.to_owned()),
            Value::Text(event.to_string()),
            Value::Integer(now),
            Value::Integer(now),
        ],
    )
    .await
    .map(drop)
}
