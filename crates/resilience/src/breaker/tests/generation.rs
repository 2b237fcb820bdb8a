//! Window generations: a caller that read the rolling window before a half-open → closed
//! transition and writes it back after must not re-open the breaker with the outage's
//! failures.

use std::cell::Cell;
use std::rc::Rc;

use futures::executor::block_on;

use super::*;
use crate::testing::YieldOnce;

/// A view of a [`MemoryStore`] whose window write waits until the test opens the gate,
/// and which tells when its window read has happened: one instance stalled between the
/// read and the write of its read-modify-write.
#[derive(Clone)]
struct StalledWindowWrite {
    inner: MemoryStore,
    window_read: Rc<Cell<bool>>,
    gate_open: Rc<Cell<bool>>,
}

impl StalledWindowWrite {
    fn on(inner: &MemoryStore) -> Self {
        Self {
            inner: inner.clone(),
            window_read: Rc::default(),
            gate_open: Rc::default(),
        }
    }
}

impl BreakerStore for StalledWindowWrite {
    type Error = std::convert::Infallible;

    async fn load_state(&self) -> Result<Option<StateRecord>, Self::Error> {
        self.inner.load_state().await
    }

    async fn save_state(&self, record: &StateRecord) -> Result<(), Self::Error> {
        self.inner.save_state(record).await
    }

    async fn load_window(&self) -> Result<Option<RollingWindow>, Self::Error> {
        let window = self.inner.load_window().await;
        self.window_read.set(true);
        window
    }

    async fn save_window(&self, window: &RollingWindow) -> Result<(), Self::Error> {
        while !self.gate_open.get() {
            YieldOnce::new().await;
        }
        self.inner.save_window(window).await
    }
}

async fn until(flag: &Cell<bool>) {
    while !flag.get() {
        YieldOnce::new().await;
    }
}

/// Runs `stale` (a record on the stalled store) so that it reads the window, then the
/// probe held by `probe` settles successfully (closing the breaker), then `stale` writes
/// its window back. Returns the stale record's result and the probe's transition.
fn race_against_the_close(
    gated: &StalledWindowWrite,
    stale: impl std::future::Future<Output = Option<Transition>>,
    probe_breaker: &TestBreaker,
    probe: &Permit,
) -> (Option<Transition>, Option<Transition>) {
    block_on(async {
        futures::join!(stale, async {
            until(&gated.window_read).await;
            let closed = probe_breaker
                .record(Some(probe), outcome(OutcomeKind::Success))
                .await
                .unwrap();
            gated.gate_open.set(true);
            closed
        })
    })
}

#[test]
fn a_refusal_writing_back_the_pre_close_window_does_not_reopen_the_breaker() {
    let (store, clock, _) = tripped();
    let failures_before_close = store.window().unwrap();
    assert_eq!(
        failures_before_close
            .totals(clock.now_ms(), &config())
            .failures,
        4
    );
    clock.advance(1_000);
    let prober = breaker_on(&store, &clock, 100);
    let probe = permit(&prober);
    assert!(probe.is_probe());

    // Another instance is refused (the probe slot is taken) and records its refusal:
    // it reads the window full of outage failures, then stalls until after the close.
    let gated = StalledWindowWrite::on(&store);
    let refuser = Breaker::new(
        config(),
        gated.clone(),
        clock.clone(),
        SeqRandom::counting(200),
    );
    assert!(matches!(
        block_on(refuser.admit()).unwrap(),
        Admission::Refused
    ));
    let refusal = Tally {
        short_circuits: 1,
        ..Tally::default()
    };
    let (stale, closed) = race_against_the_close(
        &gated,
        async { refuser.record(None, refusal).await.unwrap() },
        &prober,
        &probe,
    );
    assert_eq!(stale, None);
    let closed = closed.expect("the probe closed the breaker");
    assert_eq!(closed.to, BreakerState::Closed);
    let state = store.state().unwrap();
    assert_eq!((state.state, state.generation), (BreakerState::Closed, 1));
    // The race happened: the stored window is the old one, written back after the close.
    let written_back = store.window().unwrap();
    assert_eq!(written_back.generation, 0);
    assert_eq!(written_back.totals(clock.now_ms(), &config()).failures, 4);

    // It counts as empty: health shows a fresh window, and the next failures (below the
    // volume threshold on their own) do not re-open the breaker.
    let next = breaker_on(&store, &clock, 300);
    assert_eq!(block_on(next.snapshot()).unwrap().totals.calls, 0);
    clock.advance(9);
    for _ in 0..3 {
        assert_eq!(call(&next, OutcomeKind::Failure), None);
    }
    assert_eq!(store.state().unwrap().state, BreakerState::Closed);
    let window = store.window().unwrap();
    assert_eq!(window.generation, 1);
    let totals = window.totals(clock.now_ms(), &config());
    assert_eq!((totals.calls, totals.failures), (3, 3));
}

#[test]
fn a_call_admitted_before_the_trip_and_recorded_after_the_close_cannot_reopen_it() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(1_000_000));
    let gated = StalledWindowWrite::on(&store);
    let slow = Breaker::new(
        config(),
        gated.clone(),
        clock.clone(),
        SeqRandom::counting(50),
    );
    let breaker = breaker_on(&store, &clock, 1);
    // Three failures, then a slow caller is admitted while the breaker is still closed.
    for _ in 0..3 {
        call(&breaker, OutcomeKind::Failure);
    }
    let slow_permit = match block_on(slow.admit()).unwrap() {
        Admission::Permitted(permit) => permit,
        Admission::Refused => panic!("closed: admitted"),
    };
    // The fourth failure trips it; the reset timeout passes; a probe is claimed.
    assert!(call(&breaker, OutcomeKind::Failure).is_some());
    clock.advance(1_000);
    let probe = permit(&breaker);
    assert!(probe.is_probe());

    // The slow caller's failure is recorded across the close: it reads the outage's
    // window (4 failures) before, writes it back with its own failure after. Its
    // permit saw the breaker closed, the window crosses the threshold, and the state it
    // re-reads is closed — but of a newer generation, so it must not trip.
    let (stale, closed) = race_against_the_close(
        &gated,
        async {
            slow.record(Some(&slow_permit), outcome(OutcomeKind::Failure))
                .await
                .unwrap()
        },
        &breaker,
        &probe,
    );
    assert_eq!(closed.map(|t| t.to), Some(BreakerState::Closed));
    assert_eq!(stale, None, "no closed → open right after the close");
    let state = store.state().unwrap();
    assert_eq!(state.state, BreakerState::Closed);
    assert_eq!(state.transitions.opened, 1);
    let written_back = store.window().unwrap();
    assert_eq!(written_back.generation, 0);
    assert_eq!(written_back.totals(clock.now_ms(), &config()).failures, 5);
    // The next call starts from an empty window.
    assert_eq!(call(&breaker, OutcomeKind::Failure), None);
    assert_eq!(store.state().unwrap().state, BreakerState::Closed);
    assert_eq!(block_on(breaker.snapshot()).unwrap().totals.calls, 1);
}

#[test]
fn a_caller_of_an_older_generation_replaces_a_newer_window_instead_of_adding_to_it() {
    // A stale caller that reads the window after the close (fresh, generation 1) must not
    // add its pre-close outcome to it; its generation-0 window is then ignored.
    let (store, clock, breaker) = tripped();
    clock.advance(1_000);
    let stale_refusal = Tally {
        short_circuits: 1,
        ..Tally::default()
    };
    let probe = permit(&breaker);
    assert!(
        block_on(breaker.record(Some(&probe), outcome(OutcomeKind::Success)))
            .unwrap()
            .is_some()
    );
    assert_eq!(store.window().unwrap().generation, 1);
    let stale = Permit {
        generation: Some(0),
        ..Permit::fail_open()
    };
    assert_eq!(
        block_on(breaker.record(Some(&stale), outcome(OutcomeKind::Failure))).unwrap(),
        None
    );
    assert_eq!(store.window().unwrap().generation, 0);
    assert_eq!(block_on(breaker.snapshot()).unwrap().totals.calls, 0);
    // Callers of unknown generation (refusals, fail-open) add to what is stored.
    block_on(breaker.record(None, stale_refusal)).unwrap();
    assert_eq!(store.window().unwrap().generation, 0);
    assert_eq!(call(&breaker, OutcomeKind::Success), None);
    let window = store.window().unwrap();
    assert_eq!(window.generation, 1);
    assert_eq!(window.totals(clock.now_ms(), &config()).calls, 1);
}

#[test]
fn records_without_a_generation_are_generation_zero() {
    let state: StateRecord =
        serde_json::from_str(r#"{"state":"closed","version":7,"lineage":["a"]}"#).unwrap();
    assert_eq!((state.version, state.generation), (7, 0));
    let window: RollingWindow = serde_json::from_str(
        r#"{"bucketMs":1000,"buckets":[{"startMs":0,"calls":2,"failures":1}],"lastError":null}"#,
    )
    .unwrap();
    assert_eq!(window.generation, 0);
    assert_eq!(window.buckets[0].failures, 1);
    // An old window under an old state (both generation 0) keeps counting.
    let store = MemoryStore::default();
    let clock = ManualClock::new(500);
    let breaker = breaker_on(&store, &clock, 1);
    store.put_state(state);
    block_on(store.save_window(&window)).unwrap();
    call(&breaker, OutcomeKind::Success);
    assert_eq!(block_on(breaker.snapshot()).unwrap().totals.calls, 3);
    // And the generation is written out.
    let text = serde_json::to_string(&store.window().unwrap()).unwrap();
    assert!(text.contains(r#""generation":0"#), "{text}");
}
