//! Domain errors. Each says what is wrong in words a caller can act on; the HTTP edge maps
//! them to problem+json exactly once.

use thiserror::Error;

use crate::OrderStatus;

/// A rule of the order domain was broken.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// The request is malformed; `field` names the JSON pointer-ish path (`items[2].quantity`).
    #[error("{field}: {reason}")]
    Invalid {
        /// Which field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The body repeats a JSON object member (see [`crate::parse_strict`]); `key` names it.
    #[error("the JSON object member `{key}` appears more than once; send each member once")]
    DuplicateMember {
        /// The repeated member name.
        key: String,
    },
    /// Amounts in different currencies were combined.
    #[error("currency mismatch: {left} and {right} cannot be combined in one order")]
    CurrencyMismatch {
        /// One currency.
        left: String,
        /// The other.
        right: String,
    },
    /// A money computation overflowed.
    #[error("amount overflow: the order total does not fit in 64-bit minor units")]
    AmountOverflow,
    /// The state machine forbids this change.
    #[error("an order in status `{from}` cannot become `{to}`")]
    IllegalTransition {
        /// Current status.
        from: OrderStatus,
        /// Requested status.
        to: OrderStatus,
    },
}

impl DomainError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
