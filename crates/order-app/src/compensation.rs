//! Compensation (ARCHITECTURE §2): undoing a saga's side effects with the same idempotency
//! keys — release the stock, resolve a charge whose outcome is unknown, refund a capture —
//! shared by the create request, recovery and admin cancellation.

use crate::ports::{
    Clock, DependencyError, Ids, Inventory, KeyUpdate, OrderRepository, PaymentStatus, Payments,
    Products, StoreError, Users,
};
use crate::saga::{charge_request, finish};
use crate::{App, StoredOrder};
use domain::{OrderStatus, SagaStep};

impl<D, R, E> App<'_, D, R, E>
where
    D: Users + Products + Inventory + Payments,
    R: OrderRepository,
    E: Clock + Ids,
{
    /// Releases the order's stock (idempotent at Inventory).
    pub(crate) async fn release(&self, stored: &StoredOrder) -> Result<(), DependencyError> {
        self.deps
            .release(&stored.order.id, stored.traceparent.as_deref())
            .await
    }

    /// Compensates an order (saga step `compensating`): release its stock, resolve a charge
    /// whose outcome is unknown (same key), and refund a captured payment with
    /// [`SagaStep::refund_key`]. Saves with `key_if_done` or `key_if_pending`. Returns
    /// `false` when a dependency failed and the saga stays `compensating` for recovery.
    pub(crate) async fn compensate(
        &self,
        stored: &mut StoredOrder,
        key_if_done: KeyUpdate<'_>,
        key_if_pending: KeyUpdate<'_>,
    ) -> Result<bool, StoreError> {
        stored.saga_step = SagaStep::Compensating;
        let done = self.resolve(stored).await;
        if done {
            finish(stored);
        }
        let key = if done { key_if_done } else { key_if_pending };
        self.repo.save_order(stored, key, self.now()).await?;
        Ok(done)
    }

    /// The dependency calls of [`Self::compensate`]; `false` when one failed.
    async fn resolve(&self, stored: &mut StoredOrder) -> bool {
        let trace = stored.traceparent.clone();
        let trace = trace.as_deref();
        if self.release(stored).await.is_err() {
            return false;
        }
        // A token without a payment id: a charge was sent but its answer was lost.
        if let (None, Some(token)) = (&stored.order.payment_id, &stored.payment_token) {
            let request = charge_request(stored, token.clone());
            match self.deps.charge(&request, trace).await {
                Ok(payment) => match payment.status {
                    PaymentStatus::Declined => return true,
                    PaymentStatus::Pending => {
                        stored.order.payment_id = Some(payment.payment_id);
                        return false;
                    }
                    _ => stored.order.payment_id = Some(payment.payment_id),
                },
                Err(DependencyError::Rejected(_)) => return true,
                Err(_) => return false,
            }
        }
        let Some(payment_id) = stored.order.payment_id.clone() else {
            return true;
        };
        if stored.order.status == OrderStatus::PaymentFailed {
            return true;
        }
        // Ask before refunding: a refund of a payment not captured yet would be refused, and
        // Payment may answer that refusal to every later refund with the same key. A pending
        // payment keeps the saga compensating, so recovery asks again until it settles.
        match self.deps.payment(&payment_id, trace).await {
            Ok(payment) => match payment.status {
                PaymentStatus::Captured => {}
                PaymentStatus::Pending => return false,
                PaymentStatus::Declined => return true,
                PaymentStatus::Refunded => {
                    self.transition(
                        stored,
                        OrderStatus::Refunded,
                        Some("payment refunded".into()),
                    );
                    return true;
                }
            },
            Err(DependencyError::NotFound) => return true,
            Err(_) => return false,
        }
        let key = SagaStep::refund_key(&stored.order.id);
        match self.deps.refund(&payment_id, &key, trace).await {
            Ok(_) => {
                self.transition(
                    stored,
                    OrderStatus::Refunded,
                    Some("payment refunded".into()),
                );
                true
            }
            // Captured a moment ago but refused now, or a failure: ask again next pass.
            Err(_) => false,
        }
    }
}
