//! The ports the application calls, and the data they exchange. The components implement them
//! over WIT imports and `spin:sqlite` (order-api's `ports` module); [`crate::testing`]
//! implements them in memory.
//!
//! Every dependency call takes the `traceparent` of the order or request it serves (W3C Trace
//! Context), so the adapters can send it on.

use crate::StoredOrder;
use crate::idempotency::{Claim, KeyRecord, StoredAnswer};
use domain::Money;

/// Why a dependency call failed: the `dependency-error` variant of `shop:adapters/types`
/// (wit/deps/adapters/types.wit), which says when each case is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DependencyError {
    /// The service could not be reached or failed (5xx); the text says how, for operators.
    Unavailable(String),
    /// The service answered that the entity does not exist.
    NotFound,
    /// The service refused the request (4xx other than not found); the text is its reason.
    Rejected(String),
    /// No answer within the adapter's timeout (the request may have been processed).
    Timeout,
    /// The adapter's circuit breaker refused the call: nothing was sent.
    CircuitOpen,
}

impl DependencyError {
    /// A short, operator-readable description, e.g. "did not answer in time".
    pub fn describe(&self) -> String {
        match self {
            Self::Unavailable(why) => format!("unavailable ({why})"),
            Self::NotFound => "not found".into(),
            Self::Rejected(why) => format!("rejected the request ({why})"),
            Self::Timeout => "did not answer in time".into(),
            Self::CircuitOpen => "is failing; its circuit breaker is open".into(),
        }
    }
}

/// Whether a user may order (User service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    /// May order.
    Active,
    /// Exists but may not order.
    Suspended,
    /// Gone.
    Deleted,
}

impl UserStatus {
    /// The status's name as the User service spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deleted => "deleted",
        }
    }
}

/// A product as the Product service prices it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Display name, copied onto the order line.
    pub name: String,
    /// Unit price in minor units.
    pub price_minor: i64,
    /// ISO 4217 code as the service sent it (validated when the order is priced).
    pub currency: String,
    /// Whether it is still sold.
    pub active: bool,
}

/// One line to reserve at Inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLine {
    /// Product id.
    pub product_id: String,
    /// Units.
    pub quantity: u32,
}

/// Inventory's answer to a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Reserved, with Inventory's reservation id.
    Reserved(String),
    /// Not enough stock: the product short (when Inventory says) and its reason.
    InsufficientStock {
        /// The product that is short.
        product_id: Option<String>,
        /// Inventory's text.
        reason: String,
    },
}

/// The state of a payment at Payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Money taken.
    Captured,
    /// Accepted, not settled yet (a notification on `payments.events` follows).
    Pending,
    /// Refused.
    Declined,
    /// Given back.
    Refunded,
}

/// A payment as Payment reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Payment's id.
    pub payment_id: String,
    /// Its state.
    pub status: PaymentStatus,
    /// Why it was declined, when it was.
    pub reason: Option<String>,
}

/// A charge for an order, always sent with the order's one charge key
/// ([`domain::SagaStep::charge_key`]): Payment answers a repeat with the first result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    /// The order paid.
    pub order_id: String,
    /// The order's total.
    pub amount: Money,
    /// Payment method type (`card`, …).
    pub method_kind: String,
    /// Payment method token.
    pub method_token: String,
    /// `order-{id}-charge`.
    pub idempotency_key: String,
}

/// The User service.
pub trait Users {
    /// The status of user `user_id`; [`DependencyError::NotFound`] when there is none.
    async fn user_status(
        &self,
        user_id: &str,
        traceparent: Option<&str>,
    ) -> Result<UserStatus, DependencyError>;
}

/// The Product service.
pub trait Products {
    /// Every product of `ids`, looked up concurrently: one `(id, answer)` per distinct id. An
    /// id missing from the answer counts as not found.
    async fn products(
        &self,
        ids: &[String],
        traceparent: Option<&str>,
    ) -> Vec<(String, Result<Product, DependencyError>)>;
}

/// The Inventory service. Both calls are idempotent by order id.
pub trait Inventory {
    /// Reserves `lines` for `order_id`.
    async fn reserve(
        &self,
        order_id: &str,
        lines: &[StockLine],
        traceparent: Option<&str>,
    ) -> Result<Reservation, DependencyError>;

    /// Releases whatever is reserved for `order_id` (nothing reserved is a success).
    async fn release(
        &self,
        order_id: &str,
        traceparent: Option<&str>,
    ) -> Result<(), DependencyError>;
}

/// The Payment service. Charges and refunds carry idempotency keys: a repeat answers the
/// first result and never moves money twice.
pub trait Payments {
    /// Charges an order.
    async fn charge(
        &self,
        request: &ChargeRequest,
        traceparent: Option<&str>,
    ) -> Result<Payment, DependencyError>;

    /// Refunds payment `payment_id` with `idempotency_key` (`order-{id}-refund`).
    async fn refund(
        &self,
        payment_id: &str,
        idempotency_key: &str,
        traceparent: Option<&str>,
    ) -> Result<Payment, DependencyError>;

    /// Payment `payment_id` as Payment sees it now.
    async fn payment(
        &self,
        payment_id: &str,
        traceparent: Option<&str>,
    ) -> Result<Payment, DependencyError>;
}

/// Why a storage operation failed, typed where a caller decides something from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Optimistic concurrency: the order's `version` moved since this writer read it, so
    /// another writer changed it first and this write was not applied.
    #[error("order `{order_id}` changed since it was read")]
    Conflict {
        /// The order that changed.
        order_id: String,
    },
    /// The database stayed locked past the busy timeout: transient, retry. The text is the
    /// driver's, for logs only.
    #[error("database busy: {0}")]
    Busy(String),
    /// A constraint refused the write (a duplicate primary key, a failed check). The text is
    /// the driver's, for logs only.
    #[error("constraint: {0}")]
    Constraint(String),
    /// Any other failure (I/O, corrupt row). The text is the driver's, for logs only.
    #[error("{0}")]
    Failed(String),
}

/// What a save does with the `Idempotency-Key` of the request that created the order, in the
/// same transaction as the order's change.
#[derive(Debug, Clone, Copy)]
pub enum KeyUpdate<'a> {
    /// Leave it as it is.
    Keep,
    /// Keep `answer` for replays (the key becomes done), if it is still in flight.
    Finish(&'a StoredAnswer),
    /// Give the key back (the saga ended in a retryable failure), if it is still in flight.
    Release,
}

/// Where orders, their history, their outbox events and idempotency keys live. Every write is
/// one transaction; a status change is saved with its history rows and its outbox events.
pub trait OrderRepository {
    /// The record of idempotency key `key`, if any. A read: takes no write lock.
    async fn find_key(&self, key: &str) -> Result<Option<KeyRecord>, StoreError>;

    /// Stores a new order (`pending`, saga `created`, its lines, history and
    /// `order.created.v1` event) and claims `claim` for it, in one transaction. A claim that is
    /// in flight without an order and older than `claim.stale_before_ms` is taken over.
    /// `Ok(false)` when the key was taken: nothing was stored. Marks `stored` saved on commit.
    async fn insert_order(
        &self,
        stored: &mut StoredOrder,
        claim: &Claim,
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Keeps `answer` under `claim` for a request that stored no order (a refusal before the
    /// order existed). `Ok(false)` when the key was taken.
    async fn store_answer(
        &self,
        claim: &Claim,
        answer: &StoredAnswer,
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Saves the order's status, payment, reservation, token and saga step, every status
    /// change since the last save with its event, and `key` for the order's idempotency key,
    /// in one transaction, conditional on the version `stored` was read at.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when another writer saved the order first (nothing applied).
    async fn save_order(
        &self,
        stored: &mut StoredOrder,
        key: KeyUpdate<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError>;

    /// Applies `key` to the idempotency key of order `order_id` alone.
    async fn update_key(
        &self,
        order_id: &str,
        key: KeyUpdate<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError>;

    /// One order with its lines and history; `None` when there is none.
    async fn load_order(&self, id: &str) -> Result<Option<StoredOrder>, StoreError>;

    /// Ids of at most `limit` orders whose saga is unfinished and was last touched before
    /// `before_ms`, oldest first.
    async fn stale_sagas(&self, before_ms: i64, limit: u32) -> Result<Vec<String>, StoreError>;

    /// Leases a stale saga to this pass (compare-and-set on its last touch, which moves to
    /// `now_ms`); `false` when it is no longer stale or another pass took it.
    async fn lease_saga(&self, id: &str, before_ms: i64, now_ms: i64) -> Result<bool, StoreError>;

    /// Ids of at most `limit` `payment_pending` orders last updated before `before_ms`.
    async fn pending_payments(&self, before_ms: i64, limit: u32)
    -> Result<Vec<String>, StoreError>;
}

/// Wall-clock time.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// New identifiers.
pub trait Ids {
    /// A new order id (`ord_` + 24 lowercase hex characters in production).
    fn order_id(&self) -> String;
}
