//! `Idempotency-Key` decisions: replay, in flight, reuse with another body, takeover.

use super::{USUAL, World, ran};
use crate::ports::OrderRepository;
use crate::{KeyRecord, KeyState, Outcome, Placed};
use futures::executor::block_on;

#[test]
fn a_replay_answers_the_kept_answer_without_calling_anyone() {
    let world = World::new();
    let first = ran(world.place("k1"));
    let calls = world.services.calls().len();
    let writes = world.repo.writes();
    let Placed::Replay(answer) = world.place("k1") else {
        panic!("expected a replay");
    };
    assert_eq!(answer.status, 201);
    assert_eq!(answer.order_id.as_deref(), first.order_id());
    assert_eq!(world.services.calls().len(), calls, "no dependency call");
    assert_eq!(world.repo.writes(), writes, "no write");
}

#[test]
fn the_same_key_with_another_body_is_refused() {
    let world = World::new();
    ran(world.place("k1"));
    let other = USUAL.replace("\"quantity\":2", "\"quantity\":3");
    assert_eq!(world.place_body("k1", &other), Placed::KeyReused);
    assert_eq!(world.repo.order_count(), 1);
}

#[test]
fn a_key_claimed_by_a_running_request_answers_in_flight() {
    let world = World::new();
    let request = super::order(USUAL);
    let claim = world.claim("k1", &request);
    let hash = claim.request_hash.clone();
    block_on(world.repo.store_answer(
        &claim,
        &crate::StoredAnswer {
            status: 0,
            body: String::new(),
            order_id: None,
        },
        super::T0,
    ))
    .unwrap();
    // Overwrite as an in-flight record with an order, as a running request leaves it.
    let mut stored = world.repo.key("usr_alice:k1").unwrap();
    stored.state = KeyState::InFlight;
    stored.order_id = Some("ord_x".into());
    assert_eq!(stored.request_hash, hash);
    let decided = crate::idempotency::decide(Some(stored), &claim);
    assert_eq!(decided, Some(Placed::InFlight));
}

#[test]
fn an_abandoned_claim_without_an_order_is_taken_over_once_stale() {
    let world = World::new();
    let request = super::order(USUAL);
    let claim = world.claim("k1", &request);
    let abandoned = KeyRecord {
        request_hash: claim.request_hash.clone(),
        state: KeyState::InFlight,
        order_id: None,
        updated_at_ms: super::T0,
    };
    assert_eq!(
        crate::idempotency::decide(Some(abandoned.clone()), &claim),
        Some(Placed::InFlight),
        "fresh: still running"
    );
    world.wait_for_recovery();
    let claim = world.claim("k1", &request);
    assert_eq!(crate::idempotency::decide(Some(abandoned), &claim), None);
}

#[test]
fn a_request_that_loses_the_claim_to_a_concurrent_one_answers_from_its_record() {
    let world = World::new();
    // Two instances: the first stores the order with the key while the second is pricing.
    let request = super::order(USUAL);
    let claim = world.claim("k1", &request);
    let first = ran(world.place("k1"));
    // The second, having seen no record earlier, now tries to store its own order.
    let second = block_on(world.app().place_order(request, claim, super::TRACEPARENT)).unwrap();
    assert!(matches!(second, Placed::Replay(ref a) if a.order_id.as_deref() == first.order_id()));
    assert_eq!(world.repo.order_count(), 1);
    assert_eq!(world.services.charges_made(), 1);
}

#[test]
fn outages_are_not_kept_so_a_retry_runs_the_saga() {
    let world = World::new();
    world.services.set_user(
        "usr_alice",
        Err(crate::ports::DependencyError::Unavailable("503".into())),
    );
    assert!(matches!(ran(world.place("k1")), Outcome::Unavailable(_)));
    world
        .services
        .set_user("usr_alice", Ok(crate::ports::UserStatus::Active));
    assert!(matches!(ran(world.place("k1")), Outcome::Confirmed(_)));
}
