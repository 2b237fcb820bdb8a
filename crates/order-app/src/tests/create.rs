//! `place_order`: every way a create-order saga ends when nothing crashes.

use super::{TRACEPARENT, World, ran};
use crate::ports::{DependencyError, PaymentStatus, Reservation, UserStatus};
use crate::testing::{ChargeScript, product};
use crate::{KeyState, Outcome, Refusal, Unavailable};
use domain::{OrderStatus, SagaStep};

#[test]
fn a_captured_charge_confirms_in_three_writes_with_two_events_and_the_answer_kept() {
    let world = World::new();
    let outcome = ran(world.place("k1"));
    let Outcome::Confirmed(order) = &outcome else {
        panic!("expected confirmed, got {outcome:?}");
    };
    assert_eq!(order.status, OrderStatus::Confirmed);
    assert_eq!(order.total.amount_minor, 2 * 1000 + 250);
    let stored = world.repo.order(&order.id).unwrap();
    assert_eq!(stored.saga_step, SagaStep::Completed);
    assert_eq!(
        stored.payment_token, None,
        "a finished saga forgets the token"
    );
    assert_eq!(stored.traceparent.as_deref(), Some(TRACEPARENT));
    assert_eq!(
        world.repo.writes(),
        3,
        "insert+claim, reservation+intent, confirm+answer"
    );
    assert_eq!(
        world.repo.events_of(&order.id),
        ["order.created.v1", "order.confirmed.v1"]
    );
    let key = world.repo.key("usr_alice:k1").unwrap();
    assert!(matches!(key.state, KeyState::Done(ref answer) if answer.status == 201));
    assert_eq!(world.services.charges_made(), 1);
    assert!(world.services.holds_stock(&order.id));
}

#[test]
fn a_pending_payment_answers_payment_pending_and_finishes_the_saga() {
    let world = World::new();
    world
        .services
        .next_charge(ChargeScript::Answer(PaymentStatus::Pending));
    let outcome = ran(world.place("k1"));
    let Outcome::PaymentPending(order) = outcome else {
        panic!("expected payment pending, got {outcome:?}");
    };
    let stored = world.repo.order(&order.id).unwrap();
    assert_eq!(stored.order.status, OrderStatus::PaymentPending);
    assert_eq!(stored.saga_step, SagaStep::Completed);
    assert!(stored.order.payment_id.is_some());
}

#[test]
fn a_declined_charge_fails_the_payment_and_releases_the_stock() {
    let world = World::new();
    world
        .services
        .next_charge(ChargeScript::Answer(PaymentStatus::Declined));
    let outcome = ran(world.place("k1"));
    let Outcome::Refused(Refusal::PaymentDeclined { order_id, reason }) = outcome else {
        panic!("expected a decline, got {outcome:?}");
    };
    assert_eq!(reason, "card declined");
    let stored = world.repo.order(&order_id).unwrap();
    assert_eq!(stored.order.status, OrderStatus::PaymentFailed);
    assert_eq!(stored.saga_step, SagaStep::Completed);
    assert!(!world.services.holds_stock(&order_id));
    assert_eq!(
        world.repo.events_of(&order_id),
        ["order.created.v1", "order.payment_failed.v1"]
    );
    let key = world.repo.key("usr_alice:k1").unwrap();
    assert!(
        matches!(key.state, KeyState::Done(ref a) if a.status == 402),
        "a decline is kept"
    );
}

#[test]
fn a_rejected_charge_is_a_decline_with_payments_reason() {
    let world = World::new();
    world
        .services
        .next_charge(ChargeScript::Fail(DependencyError::Rejected(
            "amount too large".into(),
        )));
    let outcome = ran(world.place("k1"));
    assert!(matches!(
        outcome,
        Outcome::Refused(Refusal::PaymentDeclined { ref reason, .. })
            if reason == "payment rejected: amount too large"
    ));
}

#[test]
fn a_decline_whose_release_fails_leaves_the_compensation_to_recovery() {
    let world = World::new();
    world
        .services
        .next_charge(ChargeScript::Answer(PaymentStatus::Declined));
    world.services.fail_next_release(DependencyError::Timeout);
    let outcome = ran(world.place("k1"));
    let order_id = outcome.order_id().unwrap().to_owned();
    let stored = world.repo.order(&order_id).unwrap();
    assert_eq!(stored.order.status, OrderStatus::PaymentFailed);
    assert_eq!(stored.saga_step, SagaStep::Compensating);
    assert!(world.services.holds_stock(&order_id));

    world.wait_for_recovery();
    let report = futures::executor::block_on(world.app().recover(10)).unwrap();
    assert_eq!(report.len(), 1);
    assert!(report[0].finished);
    assert!(!world.services.holds_stock(&order_id));
    assert_eq!(
        world.services.refunds_made(),
        0,
        "a declined payment is never refunded"
    );
}

#[test]
fn an_unknown_charge_outcome_keeps_the_order_pending_with_its_stock_and_answers_202() {
    let world = World::new();
    world
        .services
        .next_charge(ChargeScript::LostAnswer(DependencyError::Timeout));
    let outcome = ran(world.place("k1"));
    let Outcome::ChargeUnresolved {
        order,
        settles_after_s,
        error,
    } = outcome
    else {
        panic!("expected an unresolved charge, got {outcome:?}");
    };
    assert_eq!(settles_after_s, 60);
    assert_eq!(error, DependencyError::Timeout);
    let stored = world.repo.order(&order.id).unwrap();
    assert_eq!(stored.order.status, OrderStatus::Pending);
    assert_eq!(stored.saga_step, SagaStep::ChargeRequested);
    assert!(stored.payment_token.is_some(), "kept to repeat the charge");
    assert!(world.services.holds_stock(&order.id));
    let key = world.repo.key("usr_alice:k1").unwrap();
    assert!(matches!(key.state, KeyState::Done(ref a) if a.status == 202));
}

#[test]
fn an_open_payment_breaker_cancels_at_once_and_gives_the_key_back() {
    let world = World::new();
    world
        .services
        .next_charge(ChargeScript::Fail(DependencyError::CircuitOpen));
    let outcome = ran(world.place("k1"));
    let Outcome::Unavailable(Unavailable::PaymentCircuitOpen { order_id }) = outcome else {
        panic!("expected circuit open, got {outcome:?}");
    };
    let stored = world.repo.order(&order_id).unwrap();
    assert_eq!(stored.order.status, OrderStatus::Cancelled);
    assert_eq!(stored.saga_step, SagaStep::Completed);
    assert!(!world.services.holds_stock(&order_id));
    assert_eq!(world.services.charges_made(), 0);
    assert_eq!(
        world.repo.key("usr_alice:k1"),
        None,
        "an outage gives the key back"
    );
}

#[test]
fn short_stock_cancels_the_order_and_keeps_the_409() {
    let world = World::new();
    world
        .services
        .next_reserve(Ok(Reservation::InsufficientStock {
            product_id: Some("prd_b".into()),
            reason: "0 left".into(),
        }));
    let outcome = ran(world.place("k1"));
    let Outcome::Refused(Refusal::InsufficientStock {
        order_id,
        product_id,
        reason,
    }) = outcome
    else {
        panic!("expected short stock, got {outcome:?}");
    };
    assert_eq!((product_id.as_str(), reason.as_str()), ("prd_b", "0 left"));
    let stored = world.repo.order(&order_id).unwrap();
    assert_eq!(stored.order.status, OrderStatus::Cancelled);
    assert_eq!(world.services.charges_made(), 0);
    let key = world.repo.key("usr_alice:k1").unwrap();
    assert!(matches!(key.state, KeyState::Done(ref a) if a.status == 409));
}

#[test]
fn an_unavailable_inventory_cancels_releases_and_gives_the_key_back() {
    let world = World::new();
    world
        .services
        .next_reserve(Err(DependencyError::Unavailable("503".into())));
    let outcome = ran(world.place("k1"));
    let Outcome::Unavailable(Unavailable::Inventory { order_id, .. }) = outcome else {
        panic!("expected inventory unavailable, got {outcome:?}");
    };
    let stored = world.repo.order(&order_id).unwrap();
    assert_eq!(stored.order.status, OrderStatus::Cancelled);
    assert_eq!(stored.saga_step, SagaStep::Completed);
    assert!(
        world
            .services
            .calls()
            .contains(&format!("inventory.release({order_id})")),
        "a reservation that may have been made is released"
    );
    assert_eq!(world.repo.key("usr_alice:k1"), None);
    // The same key may be used again: a new order.
    let again = ran(world.place("k1"));
    assert!(matches!(again, Outcome::Confirmed(ref o) if o.id != order_id));
}

#[test]
fn an_unavailable_inventory_whose_release_fails_stays_compensating() {
    let world = World::new();
    world.services.next_reserve(Err(DependencyError::Timeout));
    world.services.fail_next_release(DependencyError::Timeout);
    let outcome = ran(world.place("k1"));
    let order_id = outcome.order_id().unwrap();
    let stored = world.repo.order(order_id).unwrap();
    assert_eq!(stored.order.status, OrderStatus::Cancelled);
    assert_eq!(stored.saga_step, SagaStep::Compensating);
    assert_eq!(
        stored.payment_token, None,
        "nothing may be charged any more"
    );
}

#[test]
fn buyers_who_cannot_order_are_refused_before_anything_is_stored() {
    for (status, expected) in [
        (Ok(UserStatus::Suspended), "suspended"),
        (Ok(UserStatus::Deleted), "deleted"),
        (Err(DependencyError::NotFound), "not found"),
    ] {
        let world = World::new();
        world.services.set_user("usr_alice", status);
        let outcome = ran(world.place("k1"));
        match (&outcome, expected) {
            (Outcome::Refused(Refusal::UserCannotOrder { status, .. }), name) => {
                assert_eq!(status.as_str(), name)
            }
            (Outcome::Refused(Refusal::UserNotFound { user_id }), "not found") => {
                assert_eq!(user_id, "usr_alice")
            }
            _ => panic!("{expected}: got {outcome:?}"),
        }
        assert_eq!(world.repo.order_count(), 0);
        assert!(
            !world
                .services
                .calls()
                .iter()
                .any(|c| c.starts_with("products"))
        );
        let key = world.repo.key("usr_alice:k1").unwrap();
        assert!(
            matches!(key.state, KeyState::Done(ref a) if a.status == 422),
            "kept"
        );
    }
}

#[test]
fn an_unavailable_user_service_stores_nothing_not_even_the_key() {
    let world = World::new();
    world
        .services
        .set_user("usr_alice", Err(DependencyError::CircuitOpen));
    let outcome = ran(world.place("k1"));
    assert_eq!(
        outcome,
        Outcome::Unavailable(Unavailable::Users(DependencyError::CircuitOpen))
    );
    assert_eq!(world.repo.writes(), 0);
    assert_eq!(world.repo.key("usr_alice:k1"), None);
}

#[test]
fn products_that_are_missing_inactive_unavailable_or_unpriceable_are_refused_by_line() {
    let world = World::new();
    world
        .services
        .set_product("prd_b", Ok(product("B", 250, false)));
    let outcome = ran(world.place("k1"));
    assert_eq!(
        outcome,
        Outcome::Refused(Refusal::ProductInactive {
            product_id: "prd_b".into(),
            index: 1
        })
    );

    let world = World::new();
    let body = r#"{"userId":"usr_alice","items":[{"productId":"prd_zz","quantity":1}],"paymentMethod":{"type":"card","token":"t"}}"#;
    assert_eq!(
        ran(world.place_body("k1", body)),
        Outcome::Refused(Refusal::ProductNotFound {
            product_id: "prd_zz".into(),
            index: 0
        })
    );

    let world = World::new();
    world
        .services
        .set_product("prd_a", Err(DependencyError::Timeout));
    assert_eq!(
        ran(world.place("k1")),
        Outcome::Unavailable(Unavailable::Products(DependencyError::Timeout))
    );

    let world = World::new();
    let mut usd = product("B", 250, true);
    usd.currency = "USD".into();
    world.services.set_product("prd_b", Ok(usd));
    assert!(matches!(
        ran(world.place("k1")),
        Outcome::Refused(Refusal::NotPriceable(_))
    ));
    assert_eq!(world.repo.order_count(), 0);
}
