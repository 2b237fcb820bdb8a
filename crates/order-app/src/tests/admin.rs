//! Admin status changes.

use super::{World, ran};
use crate::StatusChangeOutcome;
use crate::ports::DependencyError;
use crate::testing::ChargeScript;
use domain::{OrderStatus, SagaStep};
use futures::executor::block_on;

fn confirmed(world: &World) -> String {
    ran(world.place("k1")).order_id().unwrap().to_owned()
}

#[test]
fn a_legal_change_is_saved_with_its_event() {
    let world = World::new();
    let id = confirmed(&world);
    let outcome = block_on(world.app().change_status(&id, OrderStatus::Shipped, None)).unwrap();
    assert!(
        matches!(outcome, StatusChangeOutcome::Changed(ref s) if s.order.status == OrderStatus::Shipped)
    );
    assert_eq!(
        world.repo.events_of(&id).last().map(String::as_str),
        Some("order.shipped.v1")
    );
}

#[test]
fn illegal_changes_unknown_orders_and_running_sagas_change_nothing() {
    let world = World::new();
    let id = confirmed(&world);
    let writes = world.repo.writes();
    assert_eq!(
        block_on(world.app().change_status(&id, OrderStatus::Delivered, None)).unwrap(),
        StatusChangeOutcome::Illegal {
            from: OrderStatus::Confirmed,
            to: OrderStatus::Delivered
        }
    );
    assert_eq!(
        block_on(
            world
                .app()
                .change_status("ord_nope", OrderStatus::Shipped, None)
        )
        .unwrap(),
        StatusChangeOutcome::NotFound
    );
    assert_eq!(world.repo.writes(), writes);

    let world = World::new();
    world
        .services
        .next_charge(ChargeScript::LostAnswer(DependencyError::Timeout));
    let id = ran(world.place("k1")).order_id().unwrap().to_owned();
    assert_eq!(
        block_on(world.app().change_status(&id, OrderStatus::Cancelled, None)).unwrap(),
        StatusChangeOutcome::SagaInProgress(SagaStep::ChargeRequested)
    );
}

#[test]
fn cancelling_a_confirmed_order_releases_and_refunds() {
    let world = World::new();
    let id = confirmed(&world);
    let reason = Some("customer asked".to_owned());
    let outcome = block_on(
        world
            .app()
            .change_status(&id, OrderStatus::Cancelled, reason),
    )
    .unwrap();
    let StatusChangeOutcome::Changed(stored) = outcome else {
        panic!("expected a finished cancellation, got {outcome:?}");
    };
    assert_eq!(stored.order.status, OrderStatus::Refunded);
    assert_eq!(stored.saga_step, SagaStep::Completed);
    assert!(!world.services.holds_stock(&id));
    assert_eq!(world.services.refunds_made(), 1);
    let history: Vec<_> = stored
        .order
        .status_history
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(
        history,
        [
            OrderStatus::Pending,
            OrderStatus::Confirmed,
            OrderStatus::Cancelled,
            OrderStatus::Refunded
        ]
    );
    assert_eq!(
        stored.order.status_history[2].reason.as_deref(),
        Some("customer asked")
    );
}

#[test]
fn a_refund_payment_refuses_changes_nothing() {
    let world = World::new();
    let id = confirmed(&world);
    for next in [OrderStatus::Shipped, OrderStatus::Delivered] {
        block_on(world.app().change_status(&id, next, None)).unwrap();
    }
    world
        .services
        .fail_next_refund(DependencyError::Unavailable("down".into()));
    assert_eq!(
        block_on(world.app().change_status(&id, OrderStatus::Refunded, None)).unwrap(),
        StatusChangeOutcome::RefundUnavailable
    );
    assert_eq!(
        world.repo.order(&id).unwrap().order.status,
        OrderStatus::Delivered
    );
    let outcome = block_on(world.app().change_status(&id, OrderStatus::Refunded, None)).unwrap();
    assert!(
        matches!(outcome, StatusChangeOutcome::Changed(ref s) if s.order.status == OrderStatus::Refunded)
    );
    assert_eq!(world.services.refunds_made(), 1);
}
