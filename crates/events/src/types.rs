//! Event type names and where events travel (ARCHITECTURE §6). Types carry their schema
//! version (`.v1`): a breaking change to `data` is a new type, never a new meaning.

/// An order was accepted and stored (`pending`).
pub const ORDER_CREATED: &str = "order.created.v1";
/// Payment was captured and stock reserved: the order is `confirmed`.
pub const ORDER_CONFIRMED: &str = "order.confirmed.v1";
/// Payment was declined: the order is `payment_failed`.
pub const ORDER_PAYMENT_FAILED: &str = "order.payment_failed.v1";
/// The order was cancelled (with compensation).
pub const ORDER_CANCELLED: &str = "order.cancelled.v1";
/// The order left the warehouse.
pub const ORDER_SHIPPED: &str = "order.shipped.v1";
/// The order reached the buyer.
pub const ORDER_DELIVERED: &str = "order.delivered.v1";
/// The payment was refunded.
pub const ORDER_REFUNDED: &str = "order.refunded.v1";

/// Every outbound order event type.
pub const ORDER_EVENT_TYPES: &[&str] = &[
    ORDER_CREATED,
    ORDER_CONFIRMED,
    ORDER_PAYMENT_FAILED,
    ORDER_CANCELLED,
    ORDER_SHIPPED,
    ORDER_DELIVERED,
    ORDER_REFUNDED,
];

/// Inbound: Payment captured an asynchronous payment.
pub const PAYMENT_CAPTURED: &str = "payment.captured.v1";
/// Inbound: Payment declined an asynchronous payment.
pub const PAYMENT_FAILED: &str = "payment.failed.v1";
/// Inbound: Payment refunded a payment.
pub const PAYMENT_REFUNDED: &str = "payment.refunded.v1";

/// Every inbound payment notification type.
pub const PAYMENT_EVENT_TYPES: &[&str] = &[PAYMENT_CAPTURED, PAYMENT_FAILED, PAYMENT_REFUNDED];

/// The Redis Stream order events are appended to (durable; consumer groups read it).
pub const ORDERS_STREAM: &str = "orders.events";
/// The Redis channel order events are published on (push subscribers, at-most-once).
pub const ORDERS_CHANNEL: &str = "orders.events";
/// The Redis channel Payment publishes its notifications on.
pub const PAYMENTS_CHANNEL: &str = "payments.events";

/// Whether `event_type` is one of the order events this service emits.
pub fn is_order_event(event_type: &str) -> bool {
    ORDER_EVENT_TYPES.contains(&event_type)
}

/// Whether `event_type` is one of the payment notifications this service accepts.
pub fn is_payment_event(event_type: &str) -> bool {
    PAYMENT_EVENT_TYPES.contains(&event_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_payment_types_are_versioned_and_disjoint() {
        for name in ORDER_EVENT_TYPES.iter().chain(PAYMENT_EVENT_TYPES) {
            assert!(name.ends_with(".v1"), "{name}");
        }
        assert!(is_order_event("order.created.v1"));
        assert!(is_payment_event("payment.refunded.v1"));
        assert!(!is_order_event(PAYMENT_CAPTURED));
        assert!(!is_payment_event(ORDER_CREATED));
        assert!(!is_order_event("order.created"));
    }
}
