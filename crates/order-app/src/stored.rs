//! [`StoredOrder`]: an order as the repository keeps it, with its saga bookkeeping.

use domain::{Order, SagaStep};

/// An order as stored: the domain order and its saga bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOrder {
    /// The order itself.
    pub order: Order,
    /// The last saga step recorded.
    pub saga_step: SagaStep,
    /// Payment method type (`card`, …).
    pub payment_method_type: String,
    /// Payment token, kept only while the saga may have to (re)send the charge.
    pub payment_token: Option<String>,
    /// Inventory's reservation id.
    pub reservation_id: Option<String>,
    /// Shipping address JSON, passed through.
    pub shipping_address: Option<String>,
    /// `traceparent` of the creating request, for events and recovery calls.
    pub traceparent: Option<String>,
    /// History entries already stored; later ones are new (and get their events).
    saved_history: usize,
    /// The row's `version` when it was read (0 for a new order); every save is conditional
    /// on it and moves it on by one.
    version: i64,
}

impl StoredOrder {
    /// A new order, not stored yet (saga `created`, version 0).
    pub fn new(
        order: Order,
        payment_method_type: String,
        payment_token: String,
        shipping_address: Option<String>,
        traceparent: Option<String>,
    ) -> Self {
        Self {
            order,
            saga_step: SagaStep::Created,
            payment_method_type,
            payment_token: Some(payment_token),
            reservation_id: None,
            shipping_address,
            traceparent,
            saved_history: 0,
            version: 0,
        }
    }

    /// This copy as read from storage at `version`: every history entry it has is stored.
    pub fn loaded_at(mut self, version: i64) -> Self {
        self.version = version;
        self.saved_history = self.order.status_history.len();
        self
    }

    /// The `version` this copy was read at (or last saved as).
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The history entries not stored yet, with their positions (`seq`).
    pub fn unsaved_history(&self) -> impl Iterator<Item = (usize, &domain::StatusChange)> {
        self.order
            .status_history
            .iter()
            .enumerate()
            .skip(self.saved_history)
    }

    /// Records that every history entry is stored now. Call it only once the transaction
    /// that wrote them committed, so a rolled-back save writes them again next time.
    pub fn mark_saved(&mut self) {
        self.saved_history = self.order.status_history.len();
    }

    /// Records that a conditional save of this copy committed: the row is at the next version
    /// now. Call it only after the commit.
    pub fn mark_changed(&mut self) {
        self.mark_saved();
        self.version += 1;
    }
}
