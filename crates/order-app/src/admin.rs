//! Admin status changes (`POST /api/v1/admin/orders/{id}/cancel` and `/status`): legal
//! transitions only, on finished sagas only; cancellation compensates, refund refunds first.

use crate::ports::{
    Clock, Ids, Inventory, KeyUpdate, OrderRepository, Payments, Products, StoreError, Users,
};
use crate::{App, StoredOrder};
use domain::{OrderStatus, SagaStep};

/// What an admin status change did.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusChangeOutcome {
    /// Applied (HTTP 200).
    Changed(StoredOrder),
    /// Applied; compensation continues in recovery (HTTP 202).
    Continuing(StoredOrder),
    /// No such order (HTTP 404).
    NotFound,
    /// The order's saga is still running (HTTP 409 `saga-in-progress`).
    SagaInProgress(SagaStep),
    /// The state machine forbids it (HTTP 409 `illegal-transition`).
    Illegal {
        /// The order's status.
        from: OrderStatus,
        /// The status asked for.
        to: OrderStatus,
    },
    /// Payment could not refund; nothing changed (HTTP 503).
    RefundUnavailable,
    /// Another writer changed the order first; nothing applied (HTTP 409 `order-changed`).
    /// `current` is the status it has now, when it could be read.
    ChangedByOther(Option<OrderStatus>),
}

impl<D, R, E> App<'_, D, R, E>
where
    D: Users + Products + Inventory + Payments,
    R: OrderRepository,
    E: Clock + Ids,
{
    /// Moves order `id` to `next` with `reason`. A cancellation stores its intent
    /// (`cancelled`, saga `compensating`) before any side effect, then compensates (release,
    /// refund); `refunded` refunds first and changes nothing if Payment refuses.
    ///
    /// # Errors
    /// A [`StoreError`] other than a lost race (which is
    /// [`StatusChangeOutcome::ChangedByOther`]).
    pub async fn change_status(
        &self,
        id: &str,
        next: OrderStatus,
        reason: Option<String>,
    ) -> Result<StatusChangeOutcome, StoreError> {
        let Some(mut stored) = self.repo.load_order(id).await? else {
            return Ok(StatusChangeOutcome::NotFound);
        };
        if stored.saga_step != SagaStep::Completed {
            return Ok(StatusChangeOutcome::SagaInProgress(stored.saga_step));
        }
        let from = stored.order.status;
        if !from.can_become(next) {
            return Ok(StatusChangeOutcome::Illegal { from, to: next });
        }
        if next == OrderStatus::Refunded && !self.refund(&stored).await {
            return Ok(StatusChangeOutcome::RefundUnavailable);
        }
        match self.apply(&mut stored, next, reason).await {
            Ok(true) => Ok(StatusChangeOutcome::Changed(stored)),
            Ok(false) => Ok(StatusChangeOutcome::Continuing(stored)),
            Err(StoreError::Conflict { .. }) => {
                // Lost the race: report the status the winner left, read after the fact.
                let current = self.repo.load_order(id).await.ok().flatten();
                Ok(StatusChangeOutcome::ChangedByOther(
                    current.map(|now| now.order.status),
                ))
            }
            Err(error) => Err(error),
        }
    }

    /// `true` when the change is complete; `false` when compensation continues in recovery.
    async fn apply(
        &self,
        stored: &mut StoredOrder,
        next: OrderStatus,
        reason: Option<String>,
    ) -> Result<bool, StoreError> {
        self.transition(stored, next, reason);
        if next == OrderStatus::Cancelled {
            // The intent is stored before any side effect: a capture notification arriving
            // during the calls below finds the order `cancelled` and hands its refund to
            // recovery, and a change that won the race makes this write fail before any
            // stock is released.
            stored.saga_step = SagaStep::Compensating;
            self.repo
                .save_order(stored, KeyUpdate::Keep, self.now())
                .await?;
            return self
                .compensate(stored, KeyUpdate::Keep, KeyUpdate::Keep)
                .await;
        }
        self.repo
            .save_order(stored, KeyUpdate::Keep, self.now())
            .await?;
        Ok(true)
    }

    /// Refunds the order's payment (same key on every attempt); `true` when refunded or
    /// unpaid.
    async fn refund(&self, stored: &StoredOrder) -> bool {
        let Some(payment_id) = stored.order.payment_id.as_deref() else {
            return true;
        };
        let key = SagaStep::refund_key(&stored.order.id);
        self.deps
            .refund(payment_id, &key, stored.traceparent.as_deref())
            .await
            .is_ok()
    }
}
