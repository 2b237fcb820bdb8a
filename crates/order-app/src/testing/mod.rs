//! In-memory fakes of every port and a manual clock, so each saga branch runs in a unit test
//! in microseconds: [`FakeServices`] (Users, Products, Inventory and Payment with Payment's
//! idempotency-key rules), [`MemoryRepository`] (versioned rows, key records, outbox events,
//! and injected crashes before a chosen write), [`TestEnv`] (a [`ManualClock`] and
//! sequential ids) and [`render`], a stand-in for the HTTP edge's rendering.

mod repository;
mod services;

pub use repository::MemoryRepository;
pub use services::{ChargeScript, FakeServices, product};

use crate::ports::{Clock, Ids};
use crate::{Outcome, StoredAnswer};
use std::cell::Cell;

/// A clock that moves only when told.
#[derive(Debug, Default)]
pub struct ManualClock(Cell<i64>);

impl ManualClock {
    /// A clock at `now_ms`.
    pub fn at(now_ms: i64) -> Self {
        Self(Cell::new(now_ms))
    }

    /// Moves the clock `ms` milliseconds on.
    pub fn advance(&self, ms: i64) {
        self.0.set(self.0.get() + ms);
    }
}

/// A [`ManualClock`] and sequential order ids (`ord_1`, `ord_2`, …).
#[derive(Debug, Default)]
pub struct TestEnv {
    /// The clock.
    pub clock: ManualClock,
    next_id: Cell<u32>,
}

impl TestEnv {
    /// An environment whose clock reads `now_ms`.
    pub fn at(now_ms: i64) -> Self {
        Self {
            clock: ManualClock::at(now_ms),
            next_id: Cell::new(0),
        }
    }
}

impl Clock for TestEnv {
    fn now_ms(&self) -> i64 {
        self.clock.0.get()
    }
}

impl Ids for TestEnv {
    fn order_id(&self) -> String {
        self.next_id.set(self.next_id.get() + 1);
        format!("ord_{}", self.next_id.get())
    }
}

/// A stand-in for the HTTP edge's rendering: the status the edge uses for each outcome and
/// the outcome's debug text as the body.
pub fn render(outcome: &Outcome) -> StoredAnswer {
    let status = match outcome {
        Outcome::Confirmed(_) => 201,
        Outcome::PaymentPending(_) | Outcome::ChargeUnresolved { .. } => 202,
        Outcome::Refused(crate::Refusal::PaymentDeclined { .. }) => 402,
        Outcome::Refused(crate::Refusal::InsufficientStock { .. }) => 409,
        Outcome::Refused(_) => 422,
        Outcome::Unavailable(_) => 503,
    };
    StoredAnswer {
        status,
        body: format!("{outcome:?}"),
        order_id: outcome.order_id().map(str::to_owned),
    }
}
