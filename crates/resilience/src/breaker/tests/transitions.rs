//! Every transition of one breaker: closed → open at the threshold, open → half-open
//! after the reset timeout, half-open → closed / open by the probe.

use futures::executor::block_on;

use super::*;

#[test]
fn breaker_opens_after_volume_threshold_at_exactly_50_percent_errors() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(1_000_000));
    let breaker = breaker_on(&store, &clock, 1);
    assert_eq!(call(&breaker, OutcomeKind::Success), None);
    assert_eq!(call(&breaker, OutcomeKind::Failure), None);
    assert_eq!(call(&breaker, OutcomeKind::Success), None);
    let transition = call(&breaker, OutcomeKind::Timeout).expect("2 of 4 failed: opens");
    assert_eq!(
        (transition.from, transition.to),
        (BreakerState::Closed, BreakerState::Open)
    );
    assert_eq!(
        transition.reason,
        TransitionReason::Tripped {
            reason: TripReason::ErrorRate {
                failed: 2,
                calls: 4
            }
        }
    );
    let state = store.state().unwrap();
    assert_eq!(state.opened_at_ms, Some(clock.now_ms() - 25));
    assert_eq!(state.transitions.opened, 1);
}

#[test]
fn just_below_the_threshold_stays_closed() {
    let totals = |failures, calls| WindowTotals {
        failures,
        calls,
        ..WindowTotals::default()
    };
    let config = BreakerConfig {
        volume_threshold: 100,
        ..config()
    };
    assert_eq!(totals(49, 100).trip_reason(&config), None);
    assert!(totals(50, 100).trip_reason(&config).is_some());
    assert_eq!(
        totals(0, 100).trip_reason(&BreakerConfig {
            error_threshold_percentage: 0,
            ..config
        }),
        None
    );
}

#[test]
fn volume_threshold_not_reached_keeps_it_closed_even_at_100_percent_errors() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(0));
    let breaker = breaker_on(&store, &clock, 1);
    for _ in 0..3 {
        assert_eq!(call(&breaker, OutcomeKind::Failure), None);
    }
    assert!(store.state().is_none(), "no state write while closed");
    assert_eq!(store.window().unwrap().totals(0, &config()).failures, 3);
}

#[test]
fn four_hundreds_never_open_the_breaker() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(0));
    let breaker = breaker_on(&store, &clock, 1);
    for _ in 0..10 {
        assert_eq!(call(&breaker, OutcomeKind::Rejected), None);
    }
    assert!(store.state().is_none());
}

#[test]
fn open_breaker_refuses_until_the_reset_timeout_then_admits_a_probe() {
    let (_store, clock, breaker) = tripped();
    assert!(refused(&breaker));
    clock.advance(1_000 - 25 - 1);
    assert!(refused(&breaker));
    clock.advance(1);
    let probe = permit(&breaker);
    assert!(probe.is_probe());
    let transition = probe.transition().expect("open → half-open");
    assert_eq!(
        (transition.from, transition.to),
        (BreakerState::Open, BreakerState::HalfOpen)
    );
}

#[test]
fn half_open_admits_one_probe_and_refuses_everyone_else() {
    let (store, clock, breaker) = tripped();
    clock.advance(1_000);
    let _probe = permit(&breaker);
    let other_instance = breaker_on(&store, &clock, 100);
    assert!(refused(&other_instance));
    assert!(refused(&breaker));
    assert_eq!(store.state().unwrap().state, BreakerState::HalfOpen);
}

#[test]
fn probe_success_closes_the_breaker_with_an_empty_window() {
    let (store, clock, breaker) = tripped();
    clock.advance(1_000);
    let probe = permit(&breaker);
    let transition = block_on(breaker.record(Some(&probe), outcome(OutcomeKind::Success))).unwrap();
    let transition = transition.expect("half-open → closed");
    assert_eq!(
        (transition.from, transition.to),
        (BreakerState::HalfOpen, BreakerState::Closed)
    );
    assert_eq!(transition.reason, TransitionReason::ProbeSucceeded);
    let totals = store.window().unwrap().totals(clock.now_ms(), &config());
    assert_eq!((totals.calls, totals.failures), (1, 0));
    // The old failures are gone: one new failure does not re-open it.
    assert_eq!(call(&breaker, OutcomeKind::Failure), None);
    assert_eq!(store.state().unwrap().transitions.closed, 1);
}

#[test]
fn probe_failure_reopens_the_breaker_for_another_reset_timeout() {
    let (store, clock, breaker) = tripped();
    clock.advance(1_000);
    let probe = permit(&breaker);
    let transition = block_on(breaker.record(Some(&probe), outcome(OutcomeKind::Failure))).unwrap();
    assert_eq!(
        transition.map(|t| (t.to, t.reason)),
        Some((BreakerState::Open, TransitionReason::ProbeFailed))
    );
    let state = store.state().unwrap();
    assert_eq!(state.opened_at_ms, Some(clock.now_ms() - 25));
    assert!(state.probes.is_empty());
    assert!(refused(&breaker));
    clock.advance(1_000);
    assert!(permit(&breaker).is_probe());
}

#[test]
fn a_rejected_probe_means_the_dependency_answered_and_closes_the_breaker() {
    let (store, clock, breaker) = tripped();
    clock.advance(1_000);
    let probe = permit(&breaker);
    block_on(breaker.record(Some(&probe), outcome(OutcomeKind::Rejected))).unwrap();
    assert_eq!(store.state().unwrap().state, BreakerState::Closed);
}

#[test]
fn an_expired_probe_lease_frees_the_slot_for_another_instance() {
    let (store, clock, breaker) = tripped();
    clock.advance(1_000);
    let lost_probe = permit(&breaker);
    clock.advance(500);
    let other_instance = breaker_on(&store, &clock, 100);
    let probe = permit(&other_instance);
    assert!(
        probe.is_probe() && probe.transition().is_none(),
        "already half-open"
    );
    // The late report of the expired probe only counts; the live probe decides.
    assert_eq!(
        block_on(breaker.record(Some(&lost_probe), outcome(OutcomeKind::Failure))).unwrap(),
        None
    );
    assert_eq!(store.state().unwrap().state, BreakerState::HalfOpen);
    let closed =
        block_on(other_instance.record(Some(&probe), outcome(OutcomeKind::Success))).unwrap();
    assert_eq!(closed.map(|t| t.to), Some(BreakerState::Closed));
}

#[test]
fn a_probe_that_was_never_sent_decides_nothing_and_counts_nothing() {
    let (store, clock, breaker) = tripped();
    clock.advance(1_000);
    let probe = permit(&breaker);
    let calls_before = store
        .window()
        .unwrap()
        .totals(clock.now_ms(), &config())
        .calls;
    assert_eq!(
        block_on(breaker.record(Some(&probe), outcome(OutcomeKind::NotSent))).unwrap(),
        None
    );
    assert_eq!(store.state().unwrap().state, BreakerState::HalfOpen);
    assert_eq!(
        store
            .window()
            .unwrap()
            .totals(clock.now_ms(), &config())
            .calls,
        calls_before
    );
}
