//! The recovery pass (finish or compensate sagas stuck longer than `saga_recovery_after_s`,
//! by [`SagaStep::recovery`]) and reconciliation of `payment_pending` orders with Payment.

use super::steps::{
    Runner, cancelled_outcome, charge_and_finish, compensate, finish, release, transition,
};
use super::{Outcome, trace};
use crate::bindings::shop::adapters::payments::{self, PaymentStatus};
use crate::store::{Db, StoreError, StoredOrder};
use domain::{OrderStatus, RecoveryAction};
use order_store::clock;
use serde_json::{Value, json};

/// Reads a whole-seconds variable, falling back to `default`.
pub(crate) async fn seconds_variable(name: &str, default: i64) -> i64 {
    spin_sdk::variables::get(name)
        .await
        .ok()
        .and_then(|value| value.trim().parse::<i64>().ok())
        .filter(|seconds| *seconds >= 0)
        .unwrap_or(default)
}

/// Recovers at most `limit` sagas whose last step is older than `saga_recovery_after_s`;
/// returns one report entry per saga taken.
pub(crate) async fn recover(db: &Db, limit: u32) -> Result<Vec<Value>, StoreError> {
    let before = stale_before().await;
    let mut report = Vec::new();
    for id in db.stale_sagas(before, limit).await? {
        if let Some(entry) = recover_id(db, &id, before).await? {
            report.push(entry);
        }
    }
    Ok(report)
}

/// Recovers the saga of order `id` if it is unfinished and older than
/// `saga_recovery_after_s` (e.g. a charge whose outcome was unknown, read by a polling client).
/// `None` when there was nothing to do or another pass holds it.
pub(crate) async fn recover_order(db: &Db, id: &str) -> Result<Option<Value>, StoreError> {
    recover_id(db, id, stale_before().await).await
}

/// Sagas last touched before this instant are stale.
pub(crate) async fn stale_before() -> i64 {
    clock::now_ms() - seconds_variable("saga_recovery_after_s", 60).await * 1000
}

/// Leases and recovers one stale saga; its report entry.
async fn recover_id(db: &Db, id: &str, before: i64) -> Result<Option<Value>, StoreError> {
    if !db.lease_saga(id, before, clock::now_ms()).await? {
        return Ok(None);
    }
    let Some(mut stored) = db.load_order(id).await? else {
        return Ok(None);
    };
    let action = stored.saga_step.recovery();
    let outcome = recover_one(db, &mut stored, action).await?;
    let finished = outcome.is_some();
    if let Some(outcome) = outcome {
        if outcome.replayable() {
            db.finish_key_of_order(id, &outcome.stored()).await?;
        } else {
            db.release_key_of_order(id).await?;
        }
    }
    Ok(Some(json!({
        "orderId": id,
        "action": action_name(action),
        "status": stored.order.status,
        "sagaStep": stored.saga_step.as_str(),
        "finished": finished,
    })))
}

/// Applies one recovery action; `Some` final answer when the saga is over.
async fn recover_one(
    db: &Db,
    stored: &mut StoredOrder,
    action: RecoveryAction,
) -> Result<Option<Outcome>, StoreError> {
    match action {
        RecoveryAction::ReleaseAndCancel => {
            if release(stored).await.is_err() {
                return Ok(None);
            }
            let reason = "the saga was interrupted before payment; stock released";
            transition(stored, OrderStatus::Cancelled, Some(reason.into()));
            finish(stored);
            db.save_order(stored, clock::now_ms()).await?;
            Ok(Some(cancelled_outcome(stored)))
        }
        RecoveryAction::RepeatChargeAndFinish => {
            let outcome = charge_and_finish(db, stored, Runner::Recovery).await?;
            if outcome.is_some() {
                return Ok(outcome);
            }
            // Payment is still unreachable. Past `charge_resolve_max_age_s` the order stops
            // holding its stock: it is cancelled and compensated, which releases the stock now
            // and keeps resolving the charge (same key) to refund it if it was made.
            let max_age_ms = seconds_variable("charge_resolve_max_age_s", 900).await * 1000;
            let age_ms = clock::now_ms() - stored.order.created_at.millis();
            if age_ms < max_age_ms {
                return Ok(None);
            }
            let reason = format!(
                "payment unresolved after {} s; cancelled, the charge is resolved and refunded if it was made",
                max_age_ms / 1000
            );
            transition(stored, OrderStatus::Cancelled, Some(reason));
            Ok(compensate(db, stored)
                .await?
                .then(|| cancelled_outcome(stored)))
        }
        RecoveryAction::ResumeCompensation => Ok(compensate(db, stored)
            .await?
            .then(|| cancelled_outcome(stored))),
        RecoveryAction::Nothing => Ok(None),
    }
}

/// The report name of a recovery action.
fn action_name(action: RecoveryAction) -> &'static str {
    match action {
        RecoveryAction::ReleaseAndCancel => "release_and_cancel",
        RecoveryAction::RepeatChargeAndFinish => "repeat_charge_and_finish",
        RecoveryAction::ResumeCompensation => "resume_compensation",
        RecoveryAction::Nothing => "nothing",
    }
}

/// Checks at most `limit` `payment_pending` orders older than `payment_reconcile_after_s`
/// against Payment and applies captured / declined.
pub(crate) async fn reconcile(db: &Db, limit: u32) -> Result<Vec<Value>, StoreError> {
    let before = clock::now_ms() - reconcile_after_ms().await;
    let mut report = Vec::new();
    for id in db.pending_payments(before, limit).await? {
        let Some(mut stored) = db.load_order(&id).await? else {
            continue;
        };
        let Some(payment_id) = stored.order.payment_id.clone() else {
            continue;
        };
        let result = reconcile_order(db, &mut stored).await?;
        report.push(json!({ "orderId": id, "paymentId": payment_id, "result": result }));
    }
    Ok(report)
}

/// `payment_reconcile_after_s` in milliseconds.
pub(crate) async fn reconcile_after_ms() -> i64 {
    seconds_variable("payment_reconcile_after_s", 300).await * 1000
}

/// Asks Payment about one `payment_pending` order (a notification on `payments.events` may have
/// been lost) and applies a captured or declined answer. Returns what happened.
pub(crate) async fn reconcile_order(
    db: &Db,
    stored: &mut StoredOrder,
) -> Result<&'static str, StoreError> {
    let Some(payment_id) = stored.order.payment_id.clone() else {
        return Ok("no_payment");
    };
    let answer = payments::get_payment(payment_id, trace(stored.traceparent.as_deref())).await;
    Ok(match answer {
        Ok(payment) => match payment.status {
            PaymentStatus::Captured => {
                transition(stored, OrderStatus::Confirmed, None);
                db.save_order(stored, clock::now_ms()).await?;
                "confirmed"
            }
            PaymentStatus::Declined => {
                let released = release(stored).await.is_ok();
                let reason = payment.reason.unwrap_or_else(|| "declined".into());
                transition(stored, OrderStatus::PaymentFailed, Some(reason));
                if !released {
                    stored.saga_step = domain::SagaStep::Compensating;
                }
                db.save_order(stored, clock::now_ms()).await?;
                "payment_failed"
            }
            PaymentStatus::Pending | PaymentStatus::Refunded => "unchanged",
        },
        Err(_) => "payment_service_unavailable",
    })
}
