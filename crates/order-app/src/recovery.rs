//! Recovery (finish or compensate sagas untouched longer than `saga_recovery_after_s`, by
//! [`SagaStep::recovery`](domain::SagaStep::recovery)) and reconciliation of
//! `payment_pending` orders with Payment (a notification may have been lost).

use crate::ports::{
    Clock, Ids, Inventory, KeyUpdate, OrderRepository, PaymentStatus, Payments, Products,
    StoreError, Users,
};
use crate::saga::{Runner, cancelled, finish};
use crate::{App, Outcome, StoredOrder};
use domain::{OrderStatus, RecoveryAction, SagaStep};

/// What a recovery pass did with one saga (`POST /api/v1/admin/orders/recover` reports it).
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryEntry {
    /// The order.
    pub order_id: String,
    /// The action its saga step called for.
    pub action: RecoveryAction,
    /// Its status after the pass.
    pub status: OrderStatus,
    /// Its saga step after the pass.
    pub saga_step: SagaStep,
    /// Whether the saga is over.
    pub finished: bool,
}

/// What reconciliation did with one `payment_pending` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconcileResult {
    /// Payment captured it: confirmed.
    Confirmed,
    /// Payment declined it: `payment_failed`, stock released.
    PaymentFailed,
    /// Still pending (or refunded): nothing changed.
    Unchanged,
    /// Payment did not answer.
    PaymentServiceUnavailable,
    /// The order has no payment to ask about.
    NoPayment,
}

impl ReconcileResult {
    /// The report name (`confirmed`, `payment_failed`, `unchanged`,
    /// `payment_service_unavailable`, `no_payment`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::PaymentFailed => "payment_failed",
            Self::Unchanged => "unchanged",
            Self::PaymentServiceUnavailable => "payment_service_unavailable",
            Self::NoPayment => "no_payment",
        }
    }
}

/// One reconciled order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileEntry {
    /// The order.
    pub order_id: String,
    /// Its payment.
    pub payment_id: String,
    /// What happened.
    pub result: ReconcileResult,
}

impl<D, R, E> App<'_, D, R, E>
where
    D: Users + Products + Inventory + Payments,
    R: OrderRepository,
    E: Clock + Ids,
{
    /// Recovers at most `limit` stale sagas; one entry per saga this pass leased.
    ///
    /// # Errors
    /// A [`StoreError`] from the repository (the sagas recovered so far stay recovered).
    pub async fn recover(&self, limit: u32) -> Result<Vec<RecoveryEntry>, StoreError> {
        self.recover_except(limit, None).await
    }

    /// [`Self::recover`], leaving order `except` alone: a create request's pass after its
    /// response must not race the client (or an operator) for the saga it just answered.
    ///
    /// # Errors
    /// A [`StoreError`] from the repository.
    pub async fn recover_except(
        &self,
        limit: u32,
        except: Option<&str>,
    ) -> Result<Vec<RecoveryEntry>, StoreError> {
        let before = self.stale_before();
        let mut report = Vec::new();
        for id in self.repo.stale_sagas(before, limit).await? {
            if Some(id.as_str()) == except {
                continue;
            }
            if let Some(entry) = self.recover_id(&id, before).await? {
                report.push(entry);
            }
        }
        Ok(report)
    }

    /// [`Self::recover_one`] for a leased saga; `None` when another writer saved the order
    /// first (a concurrent pass or a notification: its write stands, this pass leaves it).
    async fn recover_leased(
        &self,
        stored: &mut StoredOrder,
        action: RecoveryAction,
    ) -> Result<Option<Option<Outcome>>, StoreError> {
        match self.recover_one(stored, action).await {
            Ok(outcome) => Ok(Some(outcome)),
            Err(StoreError::Conflict { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Recovers the saga of order `id` if it is unfinished and stale (e.g. a charge whose
    /// outcome was unknown, read by a polling client). `None` when there was nothing to do or
    /// another pass holds it.
    ///
    /// # Errors
    /// A [`StoreError`] from the repository.
    pub async fn recover_order(&self, id: &str) -> Result<Option<RecoveryEntry>, StoreError> {
        self.recover_id(id, self.stale_before()).await
    }

    /// Leases and recovers one stale saga; `None` when it is not stale, another pass holds it,
    /// or another writer saved it meanwhile.
    async fn recover_id(&self, id: &str, before: i64) -> Result<Option<RecoveryEntry>, StoreError> {
        if !self.repo.lease_saga(id, before, self.now()).await? {
            return Ok(None);
        }
        let Some(mut stored) = self.repo.load_order(id).await? else {
            return Ok(None);
        };
        let action = stored.saga_step.recovery();
        let Some(outcome) = self.recover_leased(&mut stored, action).await? else {
            return Ok(None);
        };
        Ok(Some(RecoveryEntry {
            order_id: id.to_owned(),
            action,
            status: stored.order.status,
            saga_step: stored.saga_step,
            finished: outcome.is_some(),
        }))
    }

    /// Applies one recovery action; `Some` final answer when the saga is over (kept under the
    /// creating request's key in the same transaction, or the key given back for an outage).
    async fn recover_one(
        &self,
        stored: &mut StoredOrder,
        action: RecoveryAction,
    ) -> Result<Option<Outcome>, StoreError> {
        match action {
            RecoveryAction::ReleaseAndCancel => {
                if self.release(stored).await.is_err() {
                    return Ok(None);
                }
                let reason = "the saga was interrupted before payment; stock released";
                self.transition(stored, OrderStatus::Cancelled, Some(reason.into()));
                finish(stored);
                self.repo
                    .save_order(stored, KeyUpdate::Release, self.now())
                    .await?;
                Ok(Some(cancelled(stored)))
            }
            RecoveryAction::RepeatChargeAndFinish => {
                let outcome = self.charge_and_finish(stored, Runner::Recovery).await?;
                if outcome.is_some() {
                    return Ok(outcome);
                }
                // Payment is still unreachable. Past `charge_resolve_max_age_s` the order
                // stops holding its stock: cancelled and compensated, which releases the stock
                // now and keeps resolving the charge (same key) to refund it if it was made.
                let max_age_ms = self.settings.charge_resolve_max_age_s * 1000;
                let age_ms = self.now() - stored.order.created_at.millis();
                if age_ms < max_age_ms {
                    return Ok(None);
                }
                let reason = format!(
                    "payment unresolved after {} s; cancelled, the charge is resolved and refunded if it was made",
                    max_age_ms / 1000
                );
                self.transition(stored, OrderStatus::Cancelled, Some(reason));
                self.resume_compensation(stored).await
            }
            RecoveryAction::ResumeCompensation => self.resume_compensation(stored).await,
            RecoveryAction::Nothing => Ok(None),
        }
    }

    /// Compensates; the cancelled answer when done (key given back), `None` while pending.
    async fn resume_compensation(
        &self,
        stored: &mut StoredOrder,
    ) -> Result<Option<Outcome>, StoreError> {
        let done = self
            .compensate(stored, KeyUpdate::Release, KeyUpdate::Keep)
            .await?;
        Ok(done.then(|| cancelled(stored)))
    }

    /// Checks at most `limit` `payment_pending` orders older than `payment_reconcile_after_s`
    /// against Payment and applies captured / declined.
    ///
    /// # Errors
    /// A [`StoreError`] from the repository.
    pub async fn reconcile(&self, limit: u32) -> Result<Vec<ReconcileEntry>, StoreError> {
        let before = self.now() - self.settings.payment_reconcile_after_s * 1000;
        let mut report = Vec::new();
        for id in self.repo.pending_payments(before, limit).await? {
            let Some(mut stored) = self.repo.load_order(&id).await? else {
                continue;
            };
            let Some(payment_id) = stored.order.payment_id.clone() else {
                continue;
            };
            let result = self.reconcile_order(&mut stored).await?;
            report.push(ReconcileEntry {
                order_id: id,
                payment_id,
                result,
            });
        }
        Ok(report)
    }

    /// Asks Payment about one `payment_pending` order and applies a captured or declined
    /// answer.
    ///
    /// # Errors
    /// A [`StoreError`] from the repository ([`StoreError::Conflict`] when another writer
    /// changed the order meanwhile).
    pub async fn reconcile_order(
        &self,
        stored: &mut StoredOrder,
    ) -> Result<ReconcileResult, StoreError> {
        let Some(payment_id) = stored.order.payment_id.clone() else {
            return Ok(ReconcileResult::NoPayment);
        };
        let answer = self
            .deps
            .payment(&payment_id, stored.traceparent.as_deref())
            .await;
        let payment = match answer {
            Ok(payment) => payment,
            Err(_) => {
                return Ok(ReconcileResult::PaymentServiceUnavailable);
            }
        };
        match payment.status {
            PaymentStatus::Captured => {
                self.transition(stored, OrderStatus::Confirmed, None);
                self.repo
                    .save_order(stored, KeyUpdate::Keep, self.now())
                    .await?;
                Ok(ReconcileResult::Confirmed)
            }
            PaymentStatus::Declined => {
                let released = self.release(stored).await.is_ok();
                let reason = payment.reason.unwrap_or_else(|| "declined".into());
                self.transition(stored, OrderStatus::PaymentFailed, Some(reason));
                if !released {
                    stored.saga_step = SagaStep::Compensating;
                }
                self.repo
                    .save_order(stored, KeyUpdate::Keep, self.now())
                    .await?;
                Ok(ReconcileResult::PaymentFailed)
            }
            PaymentStatus::Pending | PaymentStatus::Refunded => Ok(ReconcileResult::Unchanged),
        }
    }
}

/// The report name of a recovery action (`release_and_cancel`, `repeat_charge_and_finish`,
/// `resume_compensation`, `nothing`).
pub fn action_name(action: RecoveryAction) -> &'static str {
    match action {
        RecoveryAction::ReleaseAndCancel => "release_and_cancel",
        RecoveryAction::RepeatChargeAndFinish => "repeat_charge_and_finish",
        RecoveryAction::ResumeCompensation => "resume_compensation",
        RecoveryAction::Nothing => "nothing",
    }
}
