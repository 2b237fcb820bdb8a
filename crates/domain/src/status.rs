//! The order state machine (ARCHITECTURE §4). Only the transitions listed in
//! [`OrderStatus::can_become`] exist; everything else is a 409 at the API.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Stored before the first side effect; the saga is running.
    Pending,
    /// Payment answered `pending`; the result arrives on `payments.events` (or reconciliation).
    PaymentPending,
    /// Stock reserved and payment captured.
    Confirmed,
    /// Payment declined; stock released.
    PaymentFailed,
    /// Handed to the carrier.
    Shipped,
    /// Received by the buyer.
    Delivered,
    /// Cancelled; stock released and, if it was paid, a refund requested.
    Cancelled,
    /// Money returned to the buyer.
    Refunded,
}

impl OrderStatus {
    /// Every status, for validation messages and exhaustive tests.
    pub const ALL: [OrderStatus; 8] = [
        Self::Pending,
        Self::PaymentPending,
        Self::Confirmed,
        Self::PaymentFailed,
        Self::Shipped,
        Self::Delivered,
        Self::Cancelled,
        Self::Refunded,
    ];

    /// Whether `self → next` is a legal transition.
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (
                Pending,
                PaymentPending | Confirmed | PaymentFailed | Cancelled
            ) | (PaymentPending, Confirmed | PaymentFailed | Cancelled)
                | (Confirmed, Shipped | Cancelled)
                | (Shipped, Delivered)
                | (Delivered, Refunded)
                | (Cancelled, Refunded)
        )
    }

    /// No transition leaves this status.
    pub fn is_terminal(self) -> bool {
        Self::ALL.iter().all(|next| !self.can_become(*next))
    }

    /// The wire name (`payment_pending`).
    pub fn as_str(self) -> &'static str {
        use OrderStatus::*;
        match self {
            Pending => "pending",
            PaymentPending => "payment_pending",
            Confirmed => "confirmed",
            PaymentFailed => "payment_failed",
            Shipped => "shipped",
            Delivered => "delivered",
            Cancelled => "cancelled",
            Refunded => "refunded",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The CloudEvent type announcing that an order entered this status, if one is defined
    /// (ARCHITECTURE §6). `pending` is announced as `order.created.v1` at creation.
    pub fn event_type(self) -> Option<&'static str> {
        use OrderStatus::*;
        match self {
            Pending => Some("order.created.v1"),
            Confirmed => Some("order.confirmed.v1"),
            PaymentFailed => Some("order.payment_failed.v1"),
            Cancelled => Some("order.cancelled.v1"),
            Shipped => Some("order.shipped.v1"),
            Delivered => Some("order.delivered.v1"),
            Refunded => Some("order.refunded.v1"),
            PaymentPending => None,
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::{self, *};

    #[test]
    fn the_happy_path_is_legal() {
        for (a, b) in [
            (Pending, Confirmed),
            (Confirmed, Shipped),
            (Shipped, Delivered),
        ] {
            assert!(a.can_become(b), "{a} → {b}");
        }
    }

    #[test]
    fn skipping_or_reversing_steps_is_illegal() {
        for (a, b) in [
            (Pending, Shipped),
            (Confirmed, Delivered),
            (Shipped, Confirmed),
            (Delivered, Shipped),
            (Shipped, Cancelled),
        ] {
            assert!(!a.can_become(b), "{a} → {b}");
        }
    }

    #[test]
    fn no_status_becomes_itself() {
        for s in OrderStatus::ALL {
            assert!(!s.can_become(s), "{s}");
        }
    }

    #[test]
    fn failed_and_refunded_orders_are_final() {
        assert!(PaymentFailed.is_terminal());
        assert!(Refunded.is_terminal());
        assert!(
            !Cancelled.is_terminal(),
            "a cancelled paid order still gets its refund"
        );
    }

    #[test]
    fn wire_names_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        assert_eq!(OrderStatus::parse("PENDING"), None);
    }
}
