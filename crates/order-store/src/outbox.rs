//! The outbox row of an order change: a CloudEvents 1.0 JSON envelope (ARCHITECTURE §6)
//! built with [`events::CloudEvent::builder`], inserted by the statement that changes the
//! order (the `order_inserts` / `order_saves` views of migration 6). The table's definition is
//! [`events::OUTBOX_SCHEMA`].

use crate::StoreError;
use domain::Order;
use events::CloudEvent;

/// The CloudEvent `source` of every order event.
pub const ORDER_EVENT_SOURCE: &str = "/order-service";

/// The `event_type` event `event_id` (a fresh [`guest::ids::uuid_v7`]) about
/// `order` at `now` (epoch ms): the order id as `subject`, the order's full JSON as `data`,
/// and `traceparent` when it is a valid W3C trace context (an invalid one is left out: the
/// relay would refuse the envelope).
pub fn order_event(
    event_id: String,
    order: &Order,
    event_type: &str,
    traceparent: Option<&str>,
    now: i64,
) -> Result<CloudEvent, StoreError> {
    let data = serde_json::to_value(order)
        .map_err(|error| StoreError::Failed(format!("order {} as JSON: {error}", order.id)))?;
    CloudEvent::builder(event_id, ORDER_EVENT_SOURCE, event_type)
        .time_ms(now)
        .subject(order.id.clone())
        .json_data(data)
        .traceparent(traceparent.filter(|t| events::is_valid_traceparent(t)))
        .build()
        .map_err(|error| {
            StoreError::Failed(format!("order {} event {event_type}: {error}", order.id))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Currency, Money, PricedItem, Timestamp};
    use serde_json::json;

    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn order() -> Order {
        let item = PricedItem {
            product_id: "prd_keyboard".into(),
            name: "Keyboard".into(),
            unit_price: Money::new(8999, Currency::parse("EUR").unwrap()),
            quantity: 2,
        };
        Order::new(
            "ord_1".into(),
            "usr_alice".into(),
            vec![item],
            Timestamp(1_000),
        )
        .unwrap()
    }

    #[test]
    fn order_event_is_the_envelope_order_api_used_to_hand_build() {
        let order = order();
        let event = order_event(
            "evt-1".into(),
            &order,
            "order.created.v1",
            Some(TRACEPARENT),
            1_500,
        )
        .unwrap();
        let hand_built = json!({
            "specversion": "1.0",
            "id": "evt-1",
            "source": "/order-service",
            "type": "order.created.v1",
            "time": Timestamp(1_500).to_string(),
            "subject": "ord_1",
            "datacontenttype": "application/json",
            "data": order,
            "traceparent": TRACEPARENT,
        });
        assert_eq!(event.to_string(), hand_built.to_string());
    }

    #[test]
    fn order_event_leaves_out_an_invalid_traceparent_and_a_missing_one() {
        let order = order();
        let upper = TRACEPARENT.to_ascii_uppercase();
        for traceparent in [None, Some(upper.as_str())] {
            let event =
                order_event("evt-2".into(), &order, "order.created.v1", traceparent, 0).unwrap();
            assert_eq!(event.traceparent, None);
            assert!(event.to_json().get("traceparent").is_none());
        }
    }
}
