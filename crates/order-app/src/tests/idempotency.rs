//! `Idempotency-Key` decisions: replay, in flight, reuse with another body, takeover.

use super::{USUAL, World, ran};
use crate::ports::OrderRepository;
use crate::{KeyRecord, KeyState, Outcome, Placed};
use futures::executor::block_on;

/// The calls that change something at a dependency (reads of the buyer and prices do not).
fn side_effects(world: &World) -> Vec<String> {
    let reads = ["users.get", "products.get", "payments.get"];
    let calls = world.services.calls();
    calls
        .into_iter()
        .filter(|call| !reads.iter().any(|read| call.starts_with(read)))
        .collect()
}

#[test]
fn a_new_key_is_claimed_by_the_orders_insert_without_a_lookup_first() {
    let world = World::new();
    assert!(matches!(ran(world.place("k1")), Outcome::Confirmed(_)));
    assert_eq!(world.repo.key_reads(), 0, "the insert's claim is the check");
    assert!(world.repo.key("usr_alice:k1").is_some());
}

#[test]
fn a_replay_answers_the_kept_answer_and_changes_nothing() {
    let world = World::new();
    let first = ran(world.place("k1"));
    let effects = side_effects(&world);
    let writes = world.repo.writes();
    let Placed::Replay(answer) = world.place("k1") else {
        panic!("expected a replay");
    };
    assert_eq!(answer.status, 201);
    assert_eq!(answer.order_id.as_deref(), first.order_id());
    assert_eq!(side_effects(&world), effects, "no reservation, no charge");
    assert_eq!(world.repo.writes(), writes, "no write");
    assert_eq!(world.repo.order_count(), 1);
}

#[test]
fn a_replay_keeps_its_first_answer_whatever_the_buyer_and_prices_say_now() {
    use crate::ports::{DependencyError, UserStatus};
    let world = World::new();
    let first = ran(world.place("k1"));
    // Refusals this time: the key's record still wins.
    world
        .services
        .set_user("usr_alice", Ok(UserStatus::Suspended));
    assert!(
        matches!(world.place("k1"), Placed::Replay(ref a) if a.order_id.as_deref() == first.order_id())
    );
    world.services.set_user("usr_alice", Ok(UserStatus::Active));
    world
        .services
        .set_product("prd_b", Ok(crate::testing::product("B", 250, false)));
    assert!(matches!(world.place("k1"), Placed::Replay(ref a) if a.status == 201));
    // Outages this time: read from the record too.
    world
        .services
        .set_user("usr_alice", Err(DependencyError::CircuitOpen));
    assert!(matches!(world.place("k1"), Placed::Replay(ref a) if a.status == 201));
    assert_eq!(world.repo.order_count(), 1);
    assert_eq!(world.services.charges_made(), 1);
}

#[test]
fn a_kept_refusal_is_replayed_even_when_the_buyer_may_order_now() {
    use crate::ports::UserStatus;
    let world = World::new();
    world
        .services
        .set_user("usr_alice", Ok(UserStatus::Suspended));
    let refused = ran(world.place("k1"));
    assert!(matches!(refused, Outcome::Refused(_)));
    let Some(KeyRecord {
        state: KeyState::Done(kept),
        ..
    }) = world.repo.key("usr_alice:k1")
    else {
        panic!("the refusal is kept under the key");
    };
    world.services.set_user("usr_alice", Ok(UserStatus::Active));
    assert_eq!(world.place("k1"), Placed::Replay(kept));
    assert_eq!(world.repo.order_count(), 0, "no order for a kept refusal");
}

#[test]
fn another_body_under_a_taken_key_is_refused_whatever_ends_it_this_time() {
    use crate::ports::{DependencyError, UserStatus};
    let world = World::new();
    ran(world.place("k1"));
    let other = USUAL.replace("\"quantity\":2", "\"quantity\":3");
    // Refused by the buyer check: the refusal's write is refused, the record answers.
    world
        .services
        .set_user("usr_alice", Ok(UserStatus::Suspended));
    assert_eq!(world.place_body("k1", &other), Placed::KeyReused);
    // An outage: not kept, the record answers.
    world
        .services
        .set_user("usr_alice", Err(DependencyError::Timeout));
    assert_eq!(world.place_body("k1", &other), Placed::KeyReused);
    assert_eq!(world.repo.order_count(), 1);
}

#[test]
fn a_replay_is_answered_from_the_record_when_its_write_fails() {
    let world = World::new();
    let first = ran(world.place("k1"));
    // Every write fails from now on (the write lock held past the wait, say); reads work.
    world.repo.crash_before_write(1);
    assert!(
        matches!(world.place("k1"), Placed::Replay(ref a) if a.order_id.as_deref() == first.order_id())
    );
    // A new key has no record to answer from: the write's error stands.
    let request = super::order(USUAL);
    let claim = world.claim("k2", &request);
    assert!(block_on(world.app().place_order(request, claim, super::TRACEPARENT)).is_err());
}

#[test]
fn a_retry_while_the_first_request_runs_answers_in_flight_without_side_effects() {
    let world = World::new();
    // The first request stores its order with the key, then its instance dies before the
    // next write: the key stays in flight with that order until recovery finishes it.
    world.repo.crash_before_write(2);
    let request = super::order(USUAL);
    let claim = world.claim("k1", &request);
    assert!(block_on(world.app().place_order(request, claim, super::TRACEPARENT)).is_err());
    world.repo.restart();
    let effects = side_effects(&world);
    assert_eq!(world.place("k1"), Placed::InFlight);
    assert_eq!(
        side_effects(&world),
        effects,
        "no second reservation or charge"
    );
    assert_eq!(world.repo.order_count(), 1);
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
    // The second now tries to store its own order: refused, it answers from the first's
    // record (no request reads its key before its write, so this is any replay's path).
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
