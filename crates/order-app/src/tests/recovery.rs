//! Crashes after each recorded step, recovery, reconciliation and the charge deadline.

use super::{World, ran};
use crate::ports::{DependencyError, PaymentStatus};
use crate::testing::ChargeScript;
use crate::{KeyState, Outcome, Placed, ReconcileResult};
use domain::{OrderStatus, RecoveryAction, SagaStep};
use futures::executor::block_on;

/// The only order stored.
fn only_order(world: &World) -> String {
    assert_eq!(world.repo.order_count(), 1);
    (1..=9)
        .map(|n| format!("ord_{n}"))
        .find(|id| world.repo.order(id).is_some())
        .unwrap()
}

#[test]
fn a_crash_before_the_order_is_stored_leaves_nothing_and_the_key_free() {
    let world = World::new();
    world.repo.crash_before_write(1);
    let request = super::order(super::USUAL);
    let claim = world.claim("k1", &request);
    let result = block_on(world.app().place_order(request, claim, super::TRACEPARENT));
    assert!(result.is_err());
    assert_eq!(world.repo.order_count(), 0);
    assert_eq!(world.services.charges_made(), 0);
    assert!(
        !world
            .services
            .calls()
            .iter()
            .any(|c| c.starts_with("inventory")),
        "no side effect before the order is stored"
    );
    world.repo.restart();
    assert!(matches!(ran(world.place("k1")), Outcome::Confirmed(_)));
}

#[test]
fn a_crash_after_the_reservation_and_before_recording_it_is_released_and_cancelled() {
    let world = World::new();
    world.repo.crash_before_write(2);
    let request = super::order(super::USUAL);
    let claim = world.claim("k1", &request);
    assert!(block_on(world.app().place_order(request, claim, super::TRACEPARENT)).is_err());
    let id = only_order(&world);
    assert!(world.services.holds_stock(&id), "the reservation was made");
    assert_eq!(world.repo.order(&id).unwrap().saga_step, SagaStep::Created);

    world.repo.restart();
    assert!(
        block_on(world.app().recover(10)).unwrap().is_empty(),
        "not stale yet"
    );
    world.wait_for_recovery();
    let report = block_on(world.app().recover(10)).unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].action, RecoveryAction::ReleaseAndCancel);
    assert!(report[0].finished);
    let stored = world.repo.order(&id).unwrap();
    assert_eq!(stored.order.status, OrderStatus::Cancelled);
    assert!(!world.services.holds_stock(&id));
    assert_eq!(world.services.charges_made(), 0, "never charged");
    assert_eq!(
        world.repo.key("usr_alice:k1"),
        None,
        "the key is given back"
    );
}

#[test]
fn a_crash_after_the_charge_and_before_confirming_is_confirmed_by_recovery_once() {
    let world = World::new();
    world.repo.crash_before_write(3);
    let request = super::order(super::USUAL);
    let claim = world.claim("k1", &request);
    assert!(block_on(world.app().place_order(request, claim, super::TRACEPARENT)).is_err());
    let id = only_order(&world);
    assert_eq!(world.services.charges_made(), 1, "the charge was made");
    assert_eq!(
        world.repo.order(&id).unwrap().saga_step,
        SagaStep::ChargeRequested
    );
    // A retry meanwhile is told the request is in flight: no second order, no second charge.
    world.repo.restart();
    assert_eq!(world.place("k1"), Placed::InFlight);

    world.wait_for_recovery();
    let report = block_on(world.app().recover(10)).unwrap();
    assert_eq!(report[0].action, RecoveryAction::RepeatChargeAndFinish);
    assert_eq!(report[0].status, OrderStatus::Confirmed);
    assert_eq!(
        world.services.charges_made(),
        1,
        "the repeat used the same key"
    );
    let key = world.repo.key("usr_alice:k1").unwrap();
    assert!(matches!(key.state, KeyState::Done(ref a) if a.status == 201));
    assert!(matches!(world.place("k1"), Placed::Replay(ref a) if a.status == 201));
    assert_eq!(
        world.repo.events_of(&id),
        ["order.created.v1", "order.confirmed.v1"]
    );
}

#[test]
fn an_unknown_charge_is_settled_by_repeating_it_with_the_same_key() {
    let world = World::new();
    world
        .services
        .next_charge(ChargeScript::LostAnswer(DependencyError::Timeout));
    let id = ran(world.place("k1")).order_id().unwrap().to_owned();
    world.wait_for_recovery();
    // Recovery of one order, as a polling client's read triggers it.
    let entry = block_on(world.app().recover_order(&id)).unwrap().unwrap();
    assert_eq!(entry.status, OrderStatus::Confirmed);
    assert_eq!(world.services.charges_made(), 1);
    assert_eq!(
        block_on(world.app().recover_order(&id)).unwrap(),
        None,
        "a finished saga is not taken again"
    );
}

#[test]
fn a_charge_payment_cannot_resolve_before_the_deadline_is_cancelled_and_refunded() {
    let world = World::new();
    world
        .services
        .next_charge(ChargeScript::LostAnswer(DependencyError::Timeout));
    let id = ran(world.place("k1")).order_id().unwrap().to_owned();

    // Payment stays unreachable: before the deadline recovery waits, holding the stock.
    world
        .services
        .next_charge(ChargeScript::Fail(DependencyError::Unavailable(
            "down".into(),
        )));
    world.wait_for_recovery();
    let report = block_on(world.app().recover(10)).unwrap();
    assert!(!report[0].finished);
    assert!(world.services.holds_stock(&id));

    // Past `charge_resolve_max_age_s`: cancelled, stock released, the charge resolved with
    // its key (it was captured) and refunded. Payment is still down for this pass (the
    // repeated charge and the compensation's attempt to resolve it).
    for _ in 0..2 {
        world
            .services
            .next_charge(ChargeScript::Fail(DependencyError::Unavailable(
                "down".into(),
            )));
    }
    world
        .env
        .clock
        .advance(world.settings.charge_resolve_max_age_s * 1000);
    let report = block_on(world.app().recover(10)).unwrap();
    assert_eq!(report[0].status, OrderStatus::Cancelled);
    assert!(
        !report[0].finished,
        "Payment is still down: compensation continues"
    );
    assert!(!world.services.holds_stock(&id));

    world.wait_for_recovery();
    let report = block_on(world.app().recover(10)).unwrap();
    assert!(report[0].finished);
    assert_eq!(report[0].status, OrderStatus::Refunded);
    assert_eq!(world.services.charges_made(), 1);
    assert_eq!(world.services.refunds_made(), 1);
}

#[test]
fn compensation_waits_for_a_pending_payment_then_refunds_its_capture() {
    let world = World::new();
    world
        .services
        .next_charge(ChargeScript::Answer(PaymentStatus::Pending));
    let id = ran(world.place("k1")).order_id().unwrap().to_owned();
    let outcome = block_on(world.app().change_status(&id, OrderStatus::Cancelled, None)).unwrap();
    assert!(
        matches!(outcome, crate::StatusChangeOutcome::Continuing(ref s) if s.saga_step == SagaStep::Compensating),
        "got {outcome:?}"
    );
    assert!(!world.services.holds_stock(&id), "stock released at once");
    assert_eq!(
        world.services.refunds_made(),
        0,
        "nothing to refund while pending"
    );

    // The capture races the cancellation and wins at Payment: recovery refunds it.
    let payment = world.services.payment_of(&id).unwrap();
    world
        .services
        .settle(&payment.payment_id, PaymentStatus::Captured);
    world.wait_for_recovery();
    let report = block_on(world.app().recover(10)).unwrap();
    assert_eq!(report[0].action, RecoveryAction::ResumeCompensation);
    assert!(report[0].finished);
    assert_eq!(report[0].status, OrderStatus::Refunded);
    assert_eq!(world.services.refunds_made(), 1);
    assert_eq!(
        world.repo.events_of(&id),
        [
            "order.created.v1",
            "order.cancelled.v1",
            "order.refunded.v1"
        ]
    );
}

#[test]
fn reconciliation_applies_what_payment_settled_and_reports_the_rest() {
    let world = World::new();
    for _ in 0..3 {
        world
            .services
            .next_charge(ChargeScript::Answer(PaymentStatus::Pending));
    }
    let ids: Vec<String> = ["k1", "k2", "k3"]
        .iter()
        .map(|k| ran(world.place(k)).order_id().unwrap().to_owned())
        .collect();
    let pay = |id: &str| world.services.payment_of(id).unwrap().payment_id;
    world
        .services
        .settle(&pay(&ids[0]), PaymentStatus::Captured);
    world
        .services
        .settle(&pay(&ids[1]), PaymentStatus::Declined);

    assert!(
        block_on(world.app().reconcile(10)).unwrap().is_empty(),
        "too young"
    );
    world
        .env
        .clock
        .advance(world.settings.payment_reconcile_after_s * 1000 + 1);
    let report = block_on(world.app().reconcile(10)).unwrap();
    let result = |id: &str| report.iter().find(|e| e.order_id == id).unwrap().result;
    assert_eq!(result(&ids[0]), ReconcileResult::Confirmed);
    assert_eq!(result(&ids[1]), ReconcileResult::PaymentFailed);
    assert_eq!(result(&ids[2]), ReconcileResult::Unchanged);
    assert!(!world.services.holds_stock(&ids[1]));
    assert!(world.services.holds_stock(&ids[0]));

    world.services.fail_next_lookup(DependencyError::Timeout);
    let report = block_on(world.app().reconcile(10)).unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].result, ReconcileResult::PaymentServiceUnavailable);
}

#[test]
fn a_release_that_keeps_failing_keeps_the_saga_for_the_next_pass() {
    let world = World::new();
    world.repo.crash_before_write(2);
    let request = super::order(super::USUAL);
    let claim = world.claim("k1", &request);
    assert!(block_on(world.app().place_order(request, claim, super::TRACEPARENT)).is_err());
    world.repo.restart();
    let id = only_order(&world);
    world.wait_for_recovery();
    world.services.fail_next_release(DependencyError::Timeout);
    let report = block_on(world.app().recover(10)).unwrap();
    assert!(!report[0].finished);
    assert_eq!(
        world.repo.order(&id).unwrap().order.status,
        OrderStatus::Pending
    );
    // The lease moved the saga's clock: the next pass takes it only once stale again.
    assert!(block_on(world.app().recover(10)).unwrap().is_empty());
    world.wait_for_recovery();
    assert!(block_on(world.app().recover(10)).unwrap()[0].finished);
    assert!(!world.services.holds_stock(&id));
}

#[test]
fn a_pass_whose_saga_another_writer_saved_first_leaves_it_and_goes_on() {
    let world = World::new();
    world
        .services
        .next_charge(ChargeScript::LostAnswer(DependencyError::Timeout));
    let first = ran(world.place("k1")).order_id().unwrap().to_owned();
    world
        .services
        .next_charge(ChargeScript::LostAnswer(DependencyError::Timeout));
    let second = ran(world.place("k2")).order_id().unwrap().to_owned();
    world.wait_for_recovery();
    world.repo.change_behind_next_load();
    let report = block_on(world.app().recover(10)).unwrap();
    let ids: Vec<&str> = report.iter().map(|e| e.order_id.as_str()).collect();
    assert_eq!(
        ids,
        [second.as_str()],
        "the first was changed behind this pass"
    );
    assert_eq!(
        world.repo.order(&first).unwrap().saga_step,
        SagaStep::ChargeRequested,
        "this pass wrote nothing over the other writer's save"
    );
    assert_eq!(
        world.services.charges_made(),
        2,
        "one payment per order, repeats included"
    );
}

#[test]
fn a_pass_after_a_response_leaves_the_answered_saga_alone() {
    let world = World::new();
    world
        .services
        .next_charge(ChargeScript::LostAnswer(DependencyError::Timeout));
    let id = ran(world.place("k1")).order_id().unwrap().to_owned();
    world.wait_for_recovery();
    assert!(
        block_on(world.app().recover_except(10, Some(&id)))
            .unwrap()
            .is_empty()
    );
    assert_eq!(block_on(world.app().recover(10)).unwrap().len(), 1);
}
