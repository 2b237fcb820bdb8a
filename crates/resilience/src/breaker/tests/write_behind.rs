//! The per-instance write-behind: fewer store operations, the same trips.

use std::rc::Rc;

use futures::executor::block_on;

use super::*;

const DELAY_MS: u64 = 100;

/// A breaker of one "instance" (its own write-behind) on the shared `store`.
fn instance(store: &MemoryStore, clock: &ManualClock, behind: &Rc<WriteBehind>) -> TestBreaker {
    Breaker::new(
        BreakerConfig {
            write_behind_ms: DELAY_MS,
            ..config()
        },
        store.clone(),
        clock.clone(),
        SeqRandom::counting(7),
    )
    .with_write_behind(behind.clone())
}

fn calls_in_window(store: &MemoryStore, clock: &ManualClock) -> u64 {
    store
        .window()
        .map(|w| w.totals(clock.now_ms(), &config()).calls)
        .unwrap_or(0)
}

#[test]
fn a_fresh_instance_writes_its_first_call_so_one_instance_per_request_loses_nothing() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(1_000_000));
    for _ in 0..5 {
        // A new instance per call: nothing kept, every success reaches the window.
        let behind = Rc::new(WriteBehind::new());
        call(&instance(&store, &clock, &behind), OutcomeKind::Success);
        assert_eq!(behind.kept_len(), 0);
        clock.advance(1);
    }
    assert_eq!(calls_in_window(&store, &clock), 5);
}

#[test]
fn a_reused_instance_reads_the_state_once_and_writes_the_window_once_per_delay() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(1_000_000));
    let behind = Rc::new(WriteBehind::new());
    let breaker = instance(&store, &clock, &behind);
    call(&breaker, OutcomeKind::Success);
    // First call: state read, window read + write.
    assert_eq!(store.operations(), 3);
    for _ in 0..9 {
        clock.advance(5);
        call(&breaker, OutcomeKind::Success);
    }
    // 45 ms later: nine more successes, no store operation at all.
    assert_eq!(store.operations(), 3);
    assert_eq!(behind.kept_len(), 9);
    assert_eq!(calls_in_window(&store, &clock), 1);
    clock.advance(DELAY_MS);
    call(&breaker, OutcomeKind::Success);
    // Past the delay: the state is read again and every kept success is written.
    assert_eq!(store.operations(), 6);
    assert_eq!(behind.kept_len(), 0);
    assert_eq!(calls_in_window(&store, &clock), 11);
}

#[test]
fn kept_successes_land_in_the_bucket_of_the_time_they_happened() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(1_000_000));
    let behind = Rc::new(WriteBehind::new());
    let breaker = instance(&store, &clock, &behind);
    call(&breaker, OutcomeKind::Success);
    clock.advance(50);
    call(&breaker, OutcomeKind::Success); // kept, bucket 1_000_000
    clock.advance(DELAY_MS * 10); // 1 s on: the next bucket
    call(&breaker, OutcomeKind::Success);
    let window = store.window().unwrap();
    let starts: Vec<(i64, u64)> = window
        .buckets
        .iter()
        .map(|b| (b.start_ms, b.calls))
        .collect();
    assert_eq!(starts, [(1_000_000, 2), (1_001_000, 1)]);
}

#[test]
fn a_failure_is_written_at_once_with_the_kept_successes_and_can_trip() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(1_000_000));
    let behind = Rc::new(WriteBehind::new());
    let breaker = instance(&store, &clock, &behind);
    call(&breaker, OutcomeKind::Success);
    for _ in 0..3 {
        clock.advance(1);
        call(&breaker, OutcomeKind::Success);
    }
    assert_eq!(behind.kept_len(), 3);
    clock.advance(1);
    assert_eq!(call(&breaker, OutcomeKind::Failure), None);
    assert_eq!(behind.kept_len(), 0);
    let totals = store.window().unwrap().totals(clock.now_ms(), &config());
    assert_eq!((totals.calls, totals.failures), (5, 1));
    // Three failures more: 4 of 8 calls failed (≥ 50 %), over the volume threshold.
    let mut transitions = Vec::new();
    for _ in 0..3 {
        clock.advance(1);
        transitions.extend(call(&breaker, OutcomeKind::Failure));
    }
    assert_eq!(transitions.len(), 1);
    assert_eq!(store.state().unwrap().state, BreakerState::Open);
    // Its own trip is never served from the cache.
    assert!(refused(&breaker));
}

#[test]
fn another_instances_trip_is_seen_within_the_delay() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(1_000_000));
    let (a, b) = (Rc::new(WriteBehind::new()), Rc::new(WriteBehind::new()));
    let (first, second) = (instance(&store, &clock, &a), instance(&store, &clock, &b));
    let read_at = clock.now_ms();
    call(&second, OutcomeKind::Success); // `second` caches "closed"
    // 3 of 4 calls failed: open (the trip's settle delay moves the clock on).
    for _ in 0..3 {
        call(&first, OutcomeKind::Failure);
    }
    assert_eq!(store.state().unwrap().state, BreakerState::Open);
    let since_read = (clock.now_ms() - read_at) as u64;
    clock.advance(DELAY_MS - 1 - since_read);
    assert!(
        !refused(&second),
        "a closed state read within the delay is reused"
    );
    clock.advance(1);
    assert!(refused(&second), "past the delay the trip is seen");
}

#[test]
fn after_its_own_failure_an_instance_reads_the_state_again_and_sees_another_instances_trip() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(1_000_000));
    let (a, b) = (Rc::new(WriteBehind::new()), Rc::new(WriteBehind::new()));
    let (first, second) = (instance(&store, &clock, &a), instance(&store, &clock, &b));
    call(&second, OutcomeKind::Success); // `second` caches "closed"
    for _ in 0..3 {
        call(&first, OutcomeKind::Failure);
    }
    assert_eq!(store.state().unwrap().state, BreakerState::Open);
    // Within the delay: `second` still trusts its closed state and sends a call, which fails.
    assert_eq!(call(&second, OutcomeKind::Failure), None);
    // That failure made it forget the cached state: the very next call sees the trip.
    assert!(
        refused(&second),
        "a failure ends the reuse of a closed state"
    );
    assert!(
        ((clock.now_ms() - 1_000_000) as u64) < DELAY_MS,
        "seen before the delay ran out"
    );
}

#[test]
fn a_deferred_flush_writes_the_kept_successes_once_and_is_claimed_once() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(1_000_000));
    let behind = Rc::new(WriteBehind::new());
    let breaker = instance(&store, &clock, &behind);
    call(&breaker, OutcomeKind::Success);
    assert!(!behind.claim_flush(), "nothing kept: nothing to schedule");
    for _ in 0..3 {
        clock.advance(1);
        call(&breaker, OutcomeKind::Success);
    }
    assert!(behind.claim_flush(), "kept successes ask for one flush");
    assert!(!behind.claim_flush(), "only once while it is scheduled");
    let operations = store.operations();
    clock.advance(DELAY_MS);
    block_on(breaker.flush()).unwrap();
    assert_eq!(
        store.operations(),
        operations + 2,
        "one window read and write"
    );
    assert_eq!(calls_in_window(&store, &clock), 4);
    assert_eq!(behind.kept_len(), 0);
    block_on(breaker.flush()).unwrap();
    assert_eq!(
        store.operations(),
        operations + 2,
        "nothing kept: no store operation"
    );
    clock.advance(1);
    call(&breaker, OutcomeKind::Success);
    assert!(behind.claim_flush(), "the next kept success asks again");
}

#[test]
fn a_flush_claimed_before_a_later_window_write_writes_nothing() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(1_000_000));
    let behind = Rc::new(WriteBehind::new());
    let breaker = instance(&store, &clock, &behind);
    call(&breaker, OutcomeKind::Success);
    clock.advance(1);
    call(&breaker, OutcomeKind::Success); // kept
    assert!(behind.claim_flush());
    // The instance's own next write, past the delay, takes the kept success first …
    clock.advance(DELAY_MS);
    call(&breaker, OutcomeKind::Success);
    clock.advance(1);
    call(&breaker, OutcomeKind::Success); // kept again
    assert!(
        behind.claim_flush(),
        "a flush of its own for the newly kept success"
    );
    // … so the first flush, waking now, writes nothing; the second one, later, does.
    let operations = store.operations();
    clock.advance(1);
    block_on(breaker.flush()).unwrap();
    assert_eq!(
        store.operations(),
        operations,
        "no second write within the delay"
    );
    assert_eq!(behind.kept_len(), 1);
    clock.advance(DELAY_MS);
    block_on(breaker.flush()).unwrap();
    assert_eq!(store.operations(), operations + 2);
    assert_eq!(calls_in_window(&store, &clock), 4);
}

#[test]
fn a_state_read_that_began_before_a_forget_is_not_remembered() {
    let behind = WriteBehind::new();
    let closed = StateRecord::default();
    let epoch = behind.epoch();
    // Another request of the instance records a failure while this read is under way.
    behind.forget_state();
    behind.remember_state(&closed, 1_000_000, epoch);
    assert_eq!(behind.fresh_state(1_000_001, DELAY_MS), None);
    behind.remember_state(&closed, 1_000_000, behind.epoch());
    assert_eq!(behind.fresh_state(1_000_001, DELAY_MS), Some(closed));
}

#[test]
fn kept_successes_of_an_older_window_generation_are_dropped() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(1_000_000));
    let behind = Rc::new(WriteBehind::new());
    let breaker = instance(&store, &clock, &behind);
    call(&breaker, OutcomeKind::Success);
    clock.advance(1);
    call(&breaker, OutcomeKind::Success); // kept for generation 0
    // Meanwhile the breaker went round (open, probe, closed) elsewhere: generation 1.
    let mut state = store.state().unwrap_or_default();
    state.generation = 1;
    store.put_state(state);
    clock.advance(DELAY_MS);
    call(&breaker, OutcomeKind::Success);
    let window = store.window().unwrap();
    assert_eq!(window.generation, 1);
    assert_eq!(window.totals(clock.now_ms(), &config()).calls, 1);
}

#[test]
fn slow_successes_and_fallbacks_are_never_kept() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(1_000_000));
    let behind = Rc::new(WriteBehind::new());
    let slow_rule = BreakerConfig {
        write_behind_ms: DELAY_MS,
        slow_call: Some(SlowCallRule {
            duration_ms: 5,
            rate_percentage: 100,
        }),
        ..config()
    };
    let breaker = Breaker::new(
        slow_rule,
        store.clone(),
        clock.clone(),
        SeqRandom::counting(3),
    )
    .with_write_behind(behind.clone());
    call(&breaker, OutcomeKind::Success);
    clock.advance(1);
    // `outcome()` takes 5 ms: slow by this rule, so written at once.
    call(&breaker, OutcomeKind::Success);
    assert_eq!(behind.kept_len(), 0);
    assert_eq!(calls_in_window(&store, &clock), 2);

    let plain = instance(&store, &clock, &behind);
    clock.advance(1);
    let permit = permit(&plain);
    let fallback = Tally {
        fallbacks: 1,
        ..outcome(OutcomeKind::Success)
    };
    block_on(plain.record(Some(&permit), fallback)).unwrap();
    assert_eq!(behind.kept_len(), 0);
    assert_eq!(calls_in_window(&store, &clock), 3);
}

#[test]
fn a_zero_delay_reads_and_writes_every_call() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(1_000_000));
    let behind = Rc::new(WriteBehind::new());
    let breaker = breaker_on(&store, &clock, 1).with_write_behind(behind.clone());
    for _ in 0..3 {
        call(&breaker, OutcomeKind::Success);
    }
    assert_eq!(store.operations(), 9);
    assert_eq!(behind.kept_len(), 0);
}
