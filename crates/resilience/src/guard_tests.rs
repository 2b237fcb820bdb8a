//! The guard's retry, timeout, breaker and fallback interplay.

use std::cell::Cell;
use std::fmt;

use futures::executor::block_on;

use super::*;
use crate::breaker::{BreakerConfig, BreakerState, StateRecord};
use crate::fallback::Source;
use crate::retry::Jitter;
use crate::testing::{ManualClock, MemoryStore, SeqRandom};

#[derive(Debug, PartialEq)]
struct TestError {
    kind: OutcomeKind,
    retry_after_ms: Option<u64>,
}

impl TestError {
    fn status(status: u16) -> Self {
        Self {
            kind: OutcomeKind::from_status(status),
            retry_after_ms: None,
        }
    }
}

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.kind)
    }
}

impl Classify for TestError {
    fn kind(&self) -> OutcomeKind {
        self.kind
    }
    fn retry_after_ms(&self) -> Option<u64> {
        self.retry_after_ms
    }
}

struct Fixture {
    store: MemoryStore,
    clock: ManualClock,
    breaker: Breaker<MemoryStore, ManualClock, SeqRandom>,
}

fn fixture(volume_threshold: u64) -> Fixture {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(1_000_000));
    let config = BreakerConfig {
        volume_threshold,
        reset_timeout_ms: 1_000,
        ..BreakerConfig::default()
    };
    let breaker = Breaker::new(config, store.clone(), clock.clone(), SeqRandom::fixed(0));
    Fixture {
        store,
        clock,
        breaker,
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay_ms: 100,
        max_delay_ms: 1_000,
        budget_ms: 5_000,
        jitter: Jitter::None,
    }
}

#[test]
fn retries_exactly_max_retries_on_5xx_and_returns_the_last_error() {
    let f = fixture(100);
    let calls = Cell::new(0);
    let guard = Guard::new(&f.breaker, 1_000, &NoObserver).with_retry(policy());
    let result: Result<(), _> = block_on(guard.run(&Idempotency::Idempotent, |attempt| {
        assert_eq!(attempt.number, calls.get());
        calls.set(calls.get() + 1);
        async { Err(TestError::status(503)) }
    }));
    assert_eq!(result, Err(GuardError::Call(TestError::status(503))));
    assert_eq!(calls.get(), 4);
    assert_eq!(f.clock.sleeps(), [100, 200, 400]);
    let totals = block_on(f.breaker.snapshot()).unwrap().totals;
    assert_eq!((totals.calls, totals.failures), (4, 4));
}

#[test]
fn never_retries_a_4xx_and_does_not_count_it_as_a_failure() {
    let f = fixture(1);
    let calls = Cell::new(0);
    let guard = Guard::new(&f.breaker, 1_000, &NoObserver).with_retry(policy());
    let result: Result<(), _> = block_on(guard.run(&Idempotency::Idempotent, |_| {
        calls.set(calls.get() + 1);
        async { Err(TestError::status(422)) }
    }));
    assert!(matches!(result, Err(GuardError::Call(_))));
    assert_eq!(calls.get(), 1);
    assert!(f.store.state().is_none(), "volume 1 and still closed");
}

#[test]
fn a_hanging_call_is_cut_at_the_timeout_and_retried() {
    let f = fixture(100);
    let calls = Cell::new(0);
    let guard = Guard::new(&f.breaker, 300, &NoObserver).with_retry(policy());
    let result = block_on(guard.run(&Idempotency::Idempotent, |attempt| {
        assert_eq!(attempt.timeout_ms, 300);
        calls.set(calls.get() + 1);
        std::future::pending::<Result<(), TestError>>()
    }));
    assert_eq!(result, Err(GuardError::Timeout));
    assert_eq!(calls.get(), 4);
    assert_eq!(f.clock.sleeps(), [300, 100, 300, 200, 300, 400, 300]);
    let totals = block_on(f.breaker.snapshot()).unwrap().totals;
    assert_eq!((totals.timeouts, totals.failures), (4, 0));
}

#[test]
fn a_call_without_idempotency_is_tried_once() {
    let f = fixture(100);
    let calls = Cell::new(0);
    let guard = Guard::new(&f.breaker, 1_000, &NoObserver).with_retry(policy());
    let _: Result<(), _> = block_on(guard.run(&Idempotency::NotIdempotent, |_| {
        calls.set(calls.get() + 1);
        async { Err(TestError::status(500)) }
    }));
    assert_eq!(calls.get(), 1);
}

#[test]
fn the_budget_clips_attempt_timeouts_and_ends_retries() {
    let f = fixture(100);
    let budget = RetryPolicy {
        budget_ms: 1_000,
        ..policy()
    };
    let guard = Guard::new(&f.breaker, 600, &NoObserver).with_retry(budget);
    let timeouts = std::cell::RefCell::new(Vec::new());
    let result = block_on(guard.run(&Idempotency::Idempotent, |attempt| {
        timeouts.borrow_mut().push(attempt.timeout_ms);
        std::future::pending::<Result<(), TestError>>()
    }));
    assert_eq!(result, Err(GuardError::Timeout));
    // 600 ms attempt, 100 ms wait, then only 300 ms left: the second attempt is clipped,
    // and no time is left for a third.
    assert_eq!(*timeouts.borrow(), [600, 300]);
    assert_eq!(f.clock.sleeps().iter().sum::<u64>(), 1_000);
}

#[test]
fn retry_after_from_the_dependency_is_honoured() {
    let f = fixture(100);
    let guard = Guard::new(&f.breaker, 1_000, &NoObserver).with_retry(policy());
    let calls = Cell::new(0);
    let result = block_on(guard.run(&Idempotency::Key("k".into()), |_| {
        calls.set(calls.get() + 1);
        let first = calls.get() == 1;
        async move {
            if first {
                Err(TestError {
                    kind: OutcomeKind::Failure,
                    retry_after_ms: Some(2_000),
                })
            } else {
                Ok("charged")
            }
        }
    }));
    assert_eq!(result, Ok("charged"));
    assert_eq!(f.clock.sleeps(), [2_000]);
}

#[test]
fn a_breaker_opened_during_the_retries_stops_them_and_reports_the_last_attempt() {
    let f = fixture(2);
    let calls = Cell::new(0);
    let guard = Guard::new(&f.breaker, 1_000, &NoObserver).with_retry(policy());
    let result: Result<(), _> = block_on(guard.run(&Idempotency::Idempotent, |_| {
        calls.set(calls.get() + 1);
        async { Err(TestError::status(502)) }
    }));
    // Not `CircuitOpen`: calls were made, and `CircuitOpen` means none was.
    assert_eq!(result, Err(GuardError::Call(TestError::status(502))));
    assert_eq!(
        calls.get(),
        2,
        "opened after the 2nd failure; the 3rd attempt is refused"
    );
    assert_eq!(f.store.state().unwrap().state, BreakerState::Open);
}

#[test]
fn a_failed_call_is_answered_by_the_fallback_and_counted_once() {
    let f = fixture(100);
    let guard = Guard::new(&f.breaker, 1_000, &NoObserver);
    let served = block_on(guard.run_with_fallback(
        &Idempotency::Idempotent,
        |_| async { Err::<&str, _>(TestError::status(500)) },
        async |error: &GuardError<TestError>| {
            assert!(matches!(error, GuardError::Call(_)));
            Some("last known good")
        },
    ));
    assert_eq!(
        served,
        Ok(Served {
            value: "last known good",
            source: Source::Fallback
        })
    );
    let totals = block_on(f.breaker.snapshot()).unwrap().totals;
    assert_eq!((totals.calls, totals.failures, totals.fallbacks), (1, 1, 1));
}

#[test]
fn a_rejection_never_falls_back() {
    let f = fixture(100);
    let guard = Guard::new(&f.breaker, 1_000, &NoObserver);
    let served = block_on(guard.run_with_fallback(
        &Idempotency::Idempotent,
        |_| async { Err::<&str, _>(TestError::status(404)) },
        async |_: &GuardError<TestError>| panic!("no fallback for a 404"),
    ));
    assert!(matches!(served, Err(GuardError::Call(_))));
}

#[test]
fn a_refused_call_is_not_made_and_falls_back_or_reports_circuit_open() {
    let f = fixture(100);
    f.store.put_state(StateRecord {
        state: BreakerState::Open,
        opened_at_ms: Some(f.clock.now_ms()),
        ..StateRecord::default()
    });
    let guard = Guard::new(&f.breaker, 1_000, &NoObserver);
    let refused: Result<(), _> = block_on(guard.run(&Idempotency::Idempotent, |_| async {
        panic!("no call while open");
        #[allow(unreachable_code)]
        Err::<(), _>(TestError::status(500))
    }));
    assert_eq!(refused, Err(GuardError::CircuitOpen));
    let served = block_on(guard.run_with_fallback(
        &Idempotency::Idempotent,
        |_| async { Ok::<_, TestError>("live") },
        async |error: &GuardError<TestError>| {
            (*error == GuardError::CircuitOpen).then_some("cached")
        },
    ));
    assert_eq!(served.map(|s| s.source), Ok(Source::Fallback));
    let totals = block_on(f.breaker.snapshot()).unwrap().totals;
    assert_eq!(
        (totals.calls, totals.short_circuits, totals.fallbacks),
        (0, 2, 1)
    );
}

#[test]
fn a_probe_is_a_single_attempt_even_with_retries_configured() {
    let f = fixture(100);
    f.store.put_state(StateRecord {
        state: BreakerState::Open,
        opened_at_ms: Some(0),
        ..StateRecord::default()
    });
    let calls = Cell::new(0);
    let transitions = std::cell::RefCell::new(Vec::new());
    struct Recorder<'a>(&'a std::cell::RefCell<Vec<(BreakerState, BreakerState)>>);
    impl Observer for Recorder<'_> {
        fn transition(&self, t: &Transition) {
            self.0.borrow_mut().push((t.from, t.to));
        }
    }
    let observer = Recorder(&transitions);
    let guard = Guard::new(&f.breaker, 1_000, &observer).with_retry(policy());
    let result: Result<(), _> = block_on(guard.run(&Idempotency::Idempotent, |_| {
        calls.set(calls.get() + 1);
        async { Err(TestError::status(503)) }
    }));
    assert!(matches!(result, Err(GuardError::Call(_))));
    assert_eq!(calls.get(), 1);
    assert_eq!(
        *transitions.borrow(),
        [
            (BreakerState::Open, BreakerState::HalfOpen),
            (BreakerState::HalfOpen, BreakerState::Open)
        ]
    );
}
