//! Several instances on one store: concurrent probe claims and trips, and the residual
//! race of the claim protocol.

use futures::executor::block_on;

use super::*;

#[test]
fn concurrent_probe_claims_from_two_instances_admit_exactly_one() {
    let (store, clock, _) = tripped();
    clock.advance(1_000);
    let version = store.state().unwrap().version;
    let (a, b) = (
        breaker_on(&store, &clock, 100),
        breaker_on(&store, &clock, 200),
    );
    let (first, second) = block_on(async { futures::join!(a.admit(), b.admit()) });
    assert_eq!(
        store.state().unwrap().version,
        version + 1,
        "both read, then both wrote"
    );
    let probes = [first.unwrap(), second.unwrap()]
        .into_iter()
        .filter(|admission| matches!(admission, Admission::Permitted(p) if p.is_probe()))
        .count();
    assert_eq!(probes, 1);
    assert_eq!(store.state().unwrap().transitions.half_opened, 1);
}

#[test]
fn concurrent_claimers_never_exceed_the_configured_probe_slots() {
    let (store, clock, _) = tripped();
    clock.advance(1_000);
    let two_slots = BreakerConfig {
        half_open_max_probes: 2,
        ..config()
    };
    let instances: Vec<TestBreaker> = (0..3)
        .map(|i| {
            Breaker::new(
                two_slots.clone(),
                store.clone(),
                clock.clone(),
                SeqRandom::counting(100 * i + 100),
            )
        })
        .collect();
    let admissions = block_on(futures::future::join_all(
        instances.iter().map(|b| b.admit()),
    ));
    let probes = admissions
        .into_iter()
        .filter(|a| matches!(a, Ok(Admission::Permitted(_))))
        .count();
    assert!((1..=2).contains(&probes), "{probes} probes");
    // Sequentially, both slots fill and the third is refused.
    let state = store.state().unwrap();
    let mut sequential = state.clone();
    sequential.probes.clear();
    sequential.state = BreakerState::HalfOpen;
    store.put_state(sequential);
    assert!(permit(&instances[0]).is_probe());
    assert!(permit(&instances[1]).is_probe());
    assert!(matches!(
        block_on(instances[2].admit()).unwrap(),
        Admission::Refused
    ));
}

#[test]
fn a_writer_stalled_longer_than_the_settle_delay_can_double_a_probe() {
    // The documented residual race, step by step through the pure protocol.
    let config = config();
    let (store, clock, _) = tripped();
    clock.advance(1_000);
    let now = clock.now_ms();
    let read_by_a = store.state().unwrap();
    let read_by_b = store.state().unwrap();
    // B claims, settles and verifies while A is stalled between its read and its write.
    store.put_state(read_by_b.claim_probe(now, &config, "b").unwrap());
    assert!(store.state().unwrap().holds_probe("b"));
    // A wakes up after B's settle delay and writes from its stale read.
    store.put_state(read_by_a.claim_probe(now + 30, &config, "a").unwrap());
    assert!(
        store.state().unwrap().holds_probe("a"),
        "A verifies its own write"
    );
    // B already verified, so two probes run. Had A written within the settle delay, B's
    // verification would have seen A's record and B would have backed off.
    let after = store.state().unwrap();
    assert!(!after.descends_from("b"));
    // Later callers build on A's record: no free slot, refused.
    assert_eq!(after.claim_probe(now + 40, &config, "c"), None);
}

#[test]
fn concurrent_trips_are_reported_once() {
    let (store, clock) = (MemoryStore::default(), ManualClock::new(0));
    let warmup = breaker_on(&store, &clock, 1);
    for _ in 0..3 {
        call(&warmup, OutcomeKind::Failure);
    }
    let (a, b) = (
        breaker_on(&store, &clock, 100),
        breaker_on(&store, &clock, 200),
    );
    let (pa, pb) = (permit(&a), permit(&b));
    let (ta, tb) = block_on(async {
        futures::join!(
            a.record(Some(&pa), outcome(OutcomeKind::Failure)),
            b.record(Some(&pb), outcome(OutcomeKind::Failure))
        )
    });
    let reported = [ta.unwrap(), tb.unwrap()].into_iter().flatten().count();
    assert_eq!(reported, 1);
    assert_eq!(store.state().unwrap().transitions.opened, 1);
}
