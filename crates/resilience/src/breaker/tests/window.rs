//! The rolling window and the records as stored: rollover, buckets, slow calls, counts,
//! store operations per call, serialisation.

use futures::executor::block_on;

use super::*;

#[test]
fn window_rollover_forgets_failures_older_than_the_window() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(0));
    let breaker = breaker_on(&store, &clock, 1);
    for _ in 0..3 {
        call(&breaker, OutcomeKind::Failure);
    }
    clock.advance(9_000);
    assert_eq!(
        store
            .window()
            .unwrap()
            .totals(clock.now_ms(), &config())
            .failures,
        3
    );
    clock.advance(1_000);
    assert_eq!(
        store
            .window()
            .unwrap()
            .totals(clock.now_ms(), &config())
            .failures,
        0
    );
    assert_eq!(
        call(&breaker, OutcomeKind::Failure),
        None,
        "one failure in the window"
    );
    assert_eq!(
        store.window().unwrap().buckets.len(),
        1,
        "old buckets dropped on write"
    );
}

#[test]
fn failures_spread_over_buckets_within_the_window_add_up() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(0));
    let breaker = breaker_on(&store, &clock, 1);
    for _ in 0..3 {
        call(&breaker, OutcomeKind::Failure);
        clock.advance(3_000);
    }
    assert!(
        call(&breaker, OutcomeKind::Failure).is_some(),
        "4 failures within 10 s"
    );
}

#[test]
fn slow_calls_open_the_breaker_when_the_slow_call_rule_is_set() {
    let slow = BreakerConfig {
        slow_call: Some(SlowCallRule {
            duration_ms: 100,
            rate_percentage: 75,
        }),
        ..config()
    };
    let (store, clock) = (MemoryStore::default(), ManualClock::new(0));
    let breaker = Breaker::new(slow, store.clone(), clock, SeqRandom::counting(1));
    let slow_success = Tally {
        outcomes: vec![CallOutcome::new(OutcomeKind::Success, 150)],
        ..Tally::default()
    };
    let mut transitions = Vec::new();
    for tally in [
        slow_success.clone(),
        outcome(OutcomeKind::Success),
        slow_success.clone(),
        slow_success,
    ] {
        let permit = permit(&breaker);
        transitions.push(block_on(breaker.record(Some(&permit), tally)).unwrap());
    }
    let reason = transitions.pop().flatten().map(|t| t.reason);
    assert_eq!(
        reason,
        Some(TransitionReason::Tripped {
            reason: TripReason::SlowCallRate { slow: 3, calls: 4 }
        })
    );
}

#[test]
fn refusals_and_fallbacks_are_counted_without_touching_the_state() {
    let (store, clock, breaker) = tripped();
    let version = store.state().unwrap().version;
    let tally = Tally {
        short_circuits: 2,
        fallbacks: 1,
        ..Tally::default()
    };
    assert_eq!(block_on(breaker.record(None, tally)).unwrap(), None);
    let snapshot = block_on(breaker.snapshot()).unwrap();
    assert_eq!(
        (snapshot.totals.short_circuits, snapshot.totals.fallbacks),
        (2, 1)
    );
    assert_eq!(snapshot.state.version, version);
    assert_eq!(snapshot.totals.calls, 4);
    assert_eq!(snapshot.totals.latency.percentile(50), 5);
    let _ = clock;
}

#[test]
fn a_closed_call_costs_three_store_operations_and_a_refusal_three() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(0));
    let breaker = breaker_on(&store, &clock, 1);
    call(&breaker, OutcomeKind::Success);
    assert_eq!(
        store.operations(),
        3,
        "read state, read window, write window"
    );
    let (store, _clock, breaker) = tripped();
    let before = store.operations();
    assert!(refused(&breaker));
    block_on(breaker.record(
        None,
        Tally {
            short_circuits: 1,
            ..Tally::default()
        },
    ))
    .unwrap();
    assert_eq!(store.operations() - before, 3);
}

#[test]
fn state_and_window_round_trip_through_json() {
    let (store, _clock, _breaker) = tripped();
    let state = store.state().unwrap();
    let text = serde_json::to_string(&state).unwrap();
    assert!(text.contains(r#""state":"open""#), "{text}");
    assert_eq!(serde_json::from_str::<StateRecord>(&text).unwrap(), state);
    let window = store.window().unwrap();
    let text = serde_json::to_string(&window).unwrap();
    assert_eq!(
        serde_json::from_str::<RollingWindow>(&text).unwrap(),
        window
    );
    // Unknown and missing fields are tolerated (older and newer writers coexist).
    let lenient: StateRecord = serde_json::from_str(r#"{"state":"half_open","extra":1}"#).unwrap();
    assert_eq!(lenient.state, BreakerState::HalfOpen);
}

#[test]
fn a_changed_bucket_width_starts_a_new_window() {
    let mut window = RollingWindow::new(&config());
    window.add(0, &config(), &outcome(OutcomeKind::Failure));
    let wider = BreakerConfig {
        rolling_window_ms: 60_000,
        ..config()
    };
    window.roll(0, &wider);
    assert_eq!(window.totals(0, &wider).calls, 0);
    assert_eq!(window.bucket_ms, 6_000);
}
