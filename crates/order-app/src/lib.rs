//! The order application (ARCHITECTURE §2, issue 14): everything the Order Service decides,
//! with no Spin, WIT or HTTP type in sight.
//!
//! - [`ports`]: the small traits the application calls — [`Users`](ports::Users),
//!   [`Products`](ports::Products), [`Inventory`](ports::Inventory),
//!   [`Payments`](ports::Payments), the [`OrderRepository`](ports::OrderRepository), the
//!   [`Clock`](ports::Clock) and [`Ids`](ports::Ids) — with the data they exchange;
//! - [`StoredOrder`]: an order with its saga bookkeeping, as the repository keeps it;
//! - [`App`]: the create-order saga ([`App::place_order`]), recovery ([`App::recover`]),
//!   reconciliation ([`App::reconcile`]) and admin status changes ([`App::change_status`]);
//! - [`Outcome`] and friends: typed answers the HTTP edge turns into responses in one place;
//! - [`testing`]: in-memory fakes of every port and a manual clock, for unit tests here and
//!   in the components.
//!
//! The durable-saga rules (ARCHITECTURE §2): the order is stored before the first side effect
//! (together with its `Idempotency-Key` claim), and each step is recorded before the next, so
//! a recovery pass can finish or compensate a saga whose instance died with the same
//! idempotency keys (nothing reserved, charged or refunded twice).
//!
//! Async without `Send`: a Wasm component instance runs on one thread, so the ports' futures
//! need not be `Send` (hence `async fn` in traits, and `#[allow(async_fn_in_trait)]`).

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![allow(async_fn_in_trait)]

mod admin;
mod app;
mod compensation;
mod idempotency;
mod outcome;
pub mod ports;
mod recovery;
mod saga;
mod stored;
pub mod testing;

pub use admin::StatusChangeOutcome;
pub use app::{App, Settings};
pub use idempotency::{Claim, KeyRecord, KeyState, Placed, StoredAnswer};
pub use outcome::{Outcome, RETRY_AFTER_S, Refusal, Unavailable};
pub use recovery::{ReconcileEntry, ReconcileResult, RecoveryEntry, action_name};
pub use stored::StoredOrder;

#[cfg(test)]
mod tests;
