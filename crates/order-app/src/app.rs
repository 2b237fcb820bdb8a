//! [`App`]: the ports and settings the application runs with.

use crate::ports::{Clock, Ids, Inventory, OrderRepository, Payments, Products, Users};
use crate::{Outcome, StoredAnswer, StoredOrder};
use domain::{OrderStatus, Timestamp};

/// Timing settings, from the Spin variables of the same names (ARCHITECTURE §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `saga_recovery_after_s`: a saga untouched this long is stale and recovery takes it.
    /// Must exceed the longest create request.
    pub saga_recovery_after_s: i64,
    /// `charge_resolve_max_age_s`: past this age an order whose charge Payment still cannot
    /// resolve is cancelled and compensated (its stock released).
    pub charge_resolve_max_age_s: i64,
    /// `payment_reconcile_after_s`: a `payment_pending` order older than this is checked
    /// against Payment by reconciliation.
    pub payment_reconcile_after_s: i64,
}

impl Default for Settings {
    /// The defaults of `spin.toml`: 60 s, 900 s, 300 s.
    fn default() -> Self {
        Self {
            saga_recovery_after_s: 60,
            charge_resolve_max_age_s: 900,
            payment_reconcile_after_s: 300,
        }
    }
}

/// The order application over its ports: `deps` (the four dependency services), `repo`
/// (orders, outbox, idempotency keys), `env` (clock and ids), and `render`, the HTTP edge's
/// one rendering of an [`Outcome`] as the answer kept for replays.
pub struct App<'a, D, R, E> {
    /// Users, Products, Inventory and Payment.
    pub deps: &'a D,
    /// The order repository.
    pub repo: &'a R,
    /// Clock and id source.
    pub env: &'a E,
    /// Timing settings.
    pub settings: Settings,
    /// How an outcome is kept for replays (status and body as the client saw them).
    pub render: fn(&Outcome) -> StoredAnswer,
}

impl<D, R, E> App<'_, D, R, E>
where
    D: Users + Products + Inventory + Payments,
    R: OrderRepository,
    E: Clock + Ids,
{
    /// Now, epoch ms.
    pub(crate) fn now(&self) -> i64 {
        self.env.now_ms()
    }

    /// Moves the order to `next` when the state machine allows it. An illegal change means
    /// the order already moved on (e.g. a late notification); the status then stays.
    pub(crate) fn transition(
        &self,
        stored: &mut StoredOrder,
        next: OrderStatus,
        reason: Option<String>,
    ) {
        let _ = stored.order.transition(next, Timestamp(self.now()), reason);
    }

    /// Sagas last touched before this instant are stale.
    pub(crate) fn stale_before(&self) -> i64 {
        self.now() - self.settings.saga_recovery_after_s * 1000
    }
}
