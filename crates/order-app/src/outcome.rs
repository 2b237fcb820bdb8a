//! What a create-order saga run answers, typed. The HTTP edge (order-api's `answers` module)
//! turns each case into a status and a problem+json or order body, in one place.

use crate::ports::{DependencyError, UserStatus};
use domain::{DomainError, Order};

/// Seconds a client should wait before retrying after a dependency outage (`Retry-After`).
pub const RETRY_AFTER_S: u32 = 5;

/// The answer of a create-order saga run.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Charged and confirmed (HTTP 201).
    Confirmed(Order),
    /// Payment accepted the charge but has not settled it (HTTP 202).
    PaymentPending(Order),
    /// The charge's outcome is unknown (a timeout, a lost answer): the order stays `pending`
    /// with its stock held and recovery repeats the charge with the same key after
    /// `settles_after_s` (HTTP 202 with `Retry-After`). `error` is why, for the log.
    ChargeUnresolved {
        /// The order as stored.
        order: Order,
        /// When recovery settles it, in seconds.
        settles_after_s: u32,
        /// What Payment did.
        error: DependencyError,
    },
    /// The request cannot succeed as sent (HTTP 4xx); kept for replays.
    Refused(Refusal),
    /// A dependency failed; the client should retry (HTTP 503, never kept for replays).
    Unavailable(Unavailable),
}

/// Why a create-order request was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The buyer exists but may not order.
    UserCannotOrder {
        /// `userId`.
        user_id: String,
        /// Its status (`suspended`, `deleted`).
        status: UserStatus,
    },
    /// No such buyer.
    UserNotFound {
        /// `userId`.
        user_id: String,
    },
    /// A requested product does not exist.
    ProductNotFound {
        /// The product.
        product_id: String,
        /// Its index in `items`.
        index: usize,
    },
    /// A requested product is no longer sold.
    ProductInactive {
        /// The product.
        product_id: String,
        /// Its index in `items`.
        index: usize,
    },
    /// The prices cannot make one order (mixed currencies, overflow, a bad currency code).
    NotPriceable(DomainError),
    /// Inventory is short; the order was stored and cancelled.
    InsufficientStock {
        /// The cancelled order.
        order_id: String,
        /// The product short (empty when Inventory did not say).
        product_id: String,
        /// Inventory's reason.
        reason: String,
    },
    /// Payment declined or rejected the charge; the stock was released.
    PaymentDeclined {
        /// The order, now `payment_failed`.
        order_id: String,
        /// Payment's reason.
        reason: String,
    },
}

/// A dependency failure that ended the saga; the client should retry with the same key.
#[derive(Debug, Clone, PartialEq)]
pub enum Unavailable {
    /// The User service failed; nothing was stored.
    Users(DependencyError),
    /// The Product service failed; nothing was stored.
    Products(DependencyError),
    /// Inventory failed; the order was stored and cancelled.
    Inventory {
        /// The cancelled order.
        order_id: String,
        /// What Inventory did.
        error: DependencyError,
    },
    /// Payment's breaker refused the charge before anything was sent: the order was
    /// cancelled and its stock released.
    PaymentCircuitOpen {
        /// The cancelled order.
        order_id: String,
    },
    /// The order could not be completed and was cancelled (compensated).
    Cancelled {
        /// The cancelled order.
        order_id: String,
    },
}

impl Outcome {
    /// Whether the same `Idempotency-Key` gets this answer again. Outages are not kept: the
    /// client is told to retry, so the key is given back.
    pub fn replayable(&self) -> bool {
        !matches!(self, Self::Unavailable(_))
    }

    /// The order this answer concerns, if one was stored.
    pub fn order_id(&self) -> Option<&str> {
        match self {
            Self::Confirmed(order) | Self::PaymentPending(order) => Some(&order.id),
            Self::ChargeUnresolved { order, .. } => Some(&order.id),
            Self::Refused(refusal) => match refusal {
                Refusal::InsufficientStock { order_id, .. }
                | Refusal::PaymentDeclined { order_id, .. } => Some(order_id),
                _ => None,
            },
            Self::Unavailable(failure) => match failure {
                Unavailable::Inventory { order_id, .. }
                | Unavailable::PaymentCircuitOpen { order_id }
                | Unavailable::Cancelled { order_id } => Some(order_id),
                Unavailable::Users(_) | Unavailable::Products(_) => None,
            },
        }
    }
}
