//! The order aggregate: priced lines, a total in one currency, and a status that changes only
//! through the state machine, each change recorded in the history.

use serde::Serialize;

use crate::time::Timestamp;
use crate::{DomainError, Money, OrderStatus};

/// A product line as priced from the Product service at order time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedItem {
    /// Product id.
    pub product_id: String,
    /// Product name at order time.
    pub name: String,
    /// Unit price at order time.
    pub unit_price: Money,
    /// Quantity ordered.
    pub quantity: u32,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    /// Product id.
    pub product_id: String,
    /// Product name at order time.
    pub name: String,
    /// Unit price at order time.
    pub unit_price: Money,
    /// Quantity.
    pub quantity: u32,
    /// `unit_price × quantity`.
    pub line_total: Money,
}

/// One entry of the status history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    /// The status entered.
    pub status: OrderStatus,
    /// When.
    pub at: Timestamp,
    /// Why, when there is something to say (e.g. the decline reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An order (ARCHITECTURE §9 response shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Order id.
    pub id: String,
    /// Buyer.
    pub user_id: String,
    /// Current status.
    pub status: OrderStatus,
    /// Lines, in request order.
    pub items: Vec<OrderLine>,
    /// Sum of the line totals.
    pub total: Money,
    /// The Payment service's id, once charged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Every status the order has been in, oldest first.
    pub status_history: Vec<StatusChange>,
}

impl Order {
    /// A new `pending` order from priced items; all lines must share one currency.
    pub fn new(
        id: String,
        user_id: String,
        items: Vec<PricedItem>,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        let first = items
            .first()
            .ok_or_else(|| DomainError::invalid("items", "an order needs at least one item"))?;
        let mut total = Money::zero(first.unit_price.currency.clone());
        let mut lines = Vec::with_capacity(items.len());
        for item in items {
            let line_total = item.unit_price.checked_mul(item.quantity)?;
            total = total.checked_add(&line_total)?;
            lines.push(OrderLine {
                product_id: item.product_id,
                name: item.name,
                unit_price: item.unit_price,
                quantity: item.quantity,
                line_total,
            });
        }
        Ok(Self {
            id,
            user_id,
            status: OrderStatus::Pending,
            items: lines,
            total,
            payment_id: None,
            created_at: now,
            updated_at: now,
            status_history: vec![StatusChange {
                status: OrderStatus::Pending,
                at: now,
                reason: None,
            }],
        })
    }

    /// Moves to `next` if the state machine allows it, recording the change.
    pub fn transition(
        &mut self,
        next: OrderStatus,
        now: Timestamp,
        reason: Option<String>,
    ) -> Result<(), DomainError> {
        if !self.status.can_become(next) {
            return Err(DomainError::IllegalTransition {
                from: self.status,
                to: next,
            });
        }
        self.status = next;
        self.updated_at = now;
        self.status_history.push(StatusChange {
            status: next,
            at: now,
            reason,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;

    fn item(id: &str, minor: i64, currency: &str, quantity: u32) -> PricedItem {
        PricedItem {
            product_id: id.into(),
            name: format!("product {id}"),
            unit_price: Money::new(minor, Currency::parse(currency).unwrap()),
            quantity,
        }
    }

    #[test]
    fn a_new_order_is_pending_with_exact_totals() {
        let order = Order::new(
            "o1".into(),
            "u1".into(),
            vec![item("p1", 1999, "EUR", 2), item("p2", 1, "EUR", 3)],
            Timestamp(5),
        )
        .unwrap();
        assert_eq!(order.status, OrderStatus::Pending);
        assert_eq!(order.items[0].line_total.amount_minor, 3998);
        assert_eq!(order.total.amount_minor, 4001);
        assert_eq!(order.status_history.len(), 1);
    }

    #[test]
    fn lines_in_different_currencies_are_refused() {
        let err = Order::new(
            "o".into(),
            "u".into(),
            vec![item("a", 1, "EUR", 1), item("b", 1, "USD", 1)],
            Timestamp(0),
        );
        assert!(matches!(err, Err(DomainError::CurrencyMismatch { .. })));
    }

    #[test]
    fn transitions_follow_the_state_machine_and_are_recorded() {
        let mut order = Order::new(
            "o".into(),
            "u".into(),
            vec![item("a", 100, "EUR", 1)],
            Timestamp(0),
        )
        .unwrap();
        order
            .transition(OrderStatus::Confirmed, Timestamp(10), None)
            .unwrap();
        let err = order
            .transition(OrderStatus::Delivered, Timestamp(20), None)
            .unwrap_err();
        assert_eq!(
            err,
            DomainError::IllegalTransition {
                from: OrderStatus::Confirmed,
                to: OrderStatus::Delivered
            }
        );
        assert_eq!(order.status, OrderStatus::Confirmed);
        assert_eq!(order.updated_at, Timestamp(10));
        assert_eq!(order.status_history.len(), 2);
    }

    #[test]
    fn json_is_camel_case_with_rfc3339_times() {
        let order = Order::new(
            "o".into(),
            "u".into(),
            vec![item("a", 100, "EUR", 1)],
            Timestamp(0),
        )
        .unwrap();
        let json = serde_json::to_value(&order).unwrap();
        assert_eq!(json["userId"], "u");
        assert_eq!(json["items"][0]["unitPrice"]["amountMinor"], 100);
        assert_eq!(json["statusHistory"][0]["at"], "1970-01-01T00:00:00.000Z");
        assert!(json.get("paymentId").is_none());
    }
}
