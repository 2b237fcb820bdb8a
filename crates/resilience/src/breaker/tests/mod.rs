//! Every transition and edge of the shared breaker, against the in-memory store.

mod generation;
mod shared;
mod transitions;
mod window;
mod write_behind;

use futures::executor::block_on;

use super::*;
use crate::outcome::{CallOutcome, OutcomeKind};
use crate::testing::{ManualClock, MemoryStore, SeqRandom};

pub(super) fn config() -> BreakerConfig {
    BreakerConfig {
        volume_threshold: 4,
        rolling_window_ms: 10_000,
        window_buckets: 10,
        reset_timeout_ms: 1_000,
        probe_lease_ms: 500,
        ..BreakerConfig::default()
    }
}

pub(super) type TestBreaker = Breaker<MemoryStore, ManualClock, SeqRandom>;

pub(super) fn breaker_on(store: &MemoryStore, clock: &ManualClock, seed: u64) -> TestBreaker {
    Breaker::new(
        config(),
        store.clone(),
        clock.clone(),
        SeqRandom::counting(seed),
    )
}

pub(super) fn outcome(kind: OutcomeKind) -> Tally {
    Tally {
        outcomes: vec![CallOutcome::new(kind, 5)],
        ..Tally::default()
    }
}

pub(super) fn permit(breaker: &TestBreaker) -> Permit {
    match block_on(breaker.admit()).unwrap() {
        Admission::Permitted(permit) => permit,
        Admission::Refused => panic!("expected a permit"),
    }
}

pub(super) fn refused(breaker: &TestBreaker) -> bool {
    matches!(block_on(breaker.admit()).unwrap(), Admission::Refused)
}

/// One admitted call with `kind`; returns the transition it caused.
pub(super) fn call(breaker: &TestBreaker, kind: OutcomeKind) -> Option<Transition> {
    let permit = permit(breaker);
    block_on(breaker.record(Some(&permit), outcome(kind))).unwrap()
}

/// Trips a fresh breaker with four failures.
pub(super) fn tripped() -> (MemoryStore, ManualClock, TestBreaker) {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(1_000_000));
    let breaker = breaker_on(&store, &clock, 1);
    for _ in 0..4 {
        call(&breaker, OutcomeKind::Failure);
    }
    assert_eq!(store.state().unwrap().state, BreakerState::Open);
    (store, clock, breaker)
}
