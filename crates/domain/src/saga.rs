//! The create-order saga: validate user → price products → **store the order `pending`** →
//! reserve stock → charge → confirm. The step reached is stored with the order before each
//! next side effect, so a crashed instance leaves a record a recovery pass can act on, using
//! the same idempotency keys so nothing is reserved or charged twice.

use serde::{Deserialize, Serialize};

/// The last step the saga recorded for an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SagaStep {
    /// Stored `pending`; a reservation may be in flight.
    Created,
    /// Inventory confirmed the reservation; no charge sent yet.
    StockReserved,
    /// A charge was sent; its outcome may be unknown.
    ChargeRequested,
    /// Compensation started (release stock, refund if paid).
    Compensating,
    /// Nothing left to do.
    Completed,
}

/// What a recovery pass does with a saga stuck at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryAction {
    /// No charge was sent: release the reservation (idempotent) and cancel the order. A late
    /// charge for a request the client already saw fail would surprise the buyer more than a
    /// cancelled order they can place again.
    ReleaseAndCancel,
    /// A charge may have been made: send it again with the same idempotency key (Payment
    /// returns the first answer, never a second charge) and finish from that answer.
    RepeatChargeAndFinish,
    /// Finish the compensation: release stock, refund if a charge was captured.
    ResumeCompensation,
    /// The saga is over.
    Nothing,
}

impl SagaStep {
    /// The recovery for a saga stuck at this step.
    pub fn recovery(self) -> RecoveryAction {
        match self {
            Self::Created | Self::StockReserved => RecoveryAction::ReleaseAndCancel,
            Self::ChargeRequested => RecoveryAction::RepeatChargeAndFinish,
            Self::Compensating => RecoveryAction::ResumeCompensation,
            Self::Completed => RecoveryAction::Nothing,
        }
    }

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::StockReserved => "stock_reserved",
            Self::ChargeRequested => "charge_requested",
            Self::Compensating => "compensating",
            Self::Completed => "completed",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Created,
            Self::StockReserved,
            Self::ChargeRequested,
            Self::Compensating,
            Self::Completed,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// The `Idempotency-Key` of the charge for `order_id`: derived from the order alone, so a
    /// retry, a replay or a recovery pass can never charge twice.
    pub fn charge_key(order_id: &str) -> String {
        format!("order-{order_id}-charge")
    }

    /// The idempotency key of the refund for `order_id`.
    pub fn refund_key(order_id: &str) -> String {
        format!("order-{order_id}-refund")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saga_that_never_charged_is_compensated() {
        assert_eq!(
            SagaStep::Created.recovery(),
            RecoveryAction::ReleaseAndCancel
        );
        assert_eq!(
            SagaStep::StockReserved.recovery(),
            RecoveryAction::ReleaseAndCancel
        );
    }

    #[test]
    fn a_saga_that_may_have_charged_repeats_the_same_charge() {
        assert_eq!(
            SagaStep::ChargeRequested.recovery(),
            RecoveryAction::RepeatChargeAndFinish
        );
        assert_eq!(SagaStep::charge_key("o-1"), SagaStep::charge_key("o-1"));
        assert_ne!(SagaStep::charge_key("o-1"), SagaStep::charge_key("o-2"));
        assert_ne!(SagaStep::charge_key("o-1"), SagaStep::refund_key("o-1"));
    }

    #[test]
    fn stored_names_round_trip() {
        for s in [
            SagaStep::Created,
            SagaStep::StockReserved,
            SagaStep::ChargeRequested,
            SagaStep::Compensating,
            SagaStep::Completed,
        ] {
            assert_eq!(SagaStep::parse(s.as_str()), Some(s));
        }
        assert_eq!(SagaStep::parse("nope"), None);
    }
}
