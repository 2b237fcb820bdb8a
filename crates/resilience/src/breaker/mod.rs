//! A circuit breaker whose state lives in a shared store, so every instance on every node
//! sees — and protects — the same dependency.
//!
//! # Shared state without compare-and-swap
//!
//! `spin:key-value` has get and set, nothing atomic. Two things need care:
//!
//! * **Counting** (every call): the window is one read-modify-write of one key. Two
//!   instances updating it within the same store round trip can lose one increment. The
//!   window is statistical, losses hit successes and failures alike, so the error *rate*
//!   holds; at worst a trip comes a call or two later under heavy concurrency.
//! * **Resetting the window** (on close): a caller that read the old window before the
//!   close can write it back after. So every close bumps the state's window
//!   [`generation`](StateRecord::generation) and every window is stamped with the
//!   generation it counts for. A caller knows the generation from the state it read to be
//!   admitted (no extra read): a window of another generation counts as empty, and it
//!   writes back a fresh one of its own generation. A stale write-back therefore carries
//!   an old generation and is ignored by the next current reader (and by the trip check),
//!   so the outage's failures cannot re-open a breaker that just closed.
//! * **Transitions and probe slots** (rare, and they must not be doubled): Fischer's timed
//!   mutual exclusion. A writer reads the state record, writes its change stamped with a
//!   fresh token, waits the settle delay ([`BreakerConfig::claim_settle_ms`]), and reads
//!   again. It has won only if the record it reads still descends from its write (its
//!   token is in the record's lineage, and for a probe its lease is still listed). A
//!   competitor who read before our write and wrote after it erased our token: we see
//!   that and back off. A competitor who read after our write builds on it.
//!
//! **Residual race.** The protocol assumes every writer's read-to-write gap is shorter
//! than the settle delay. A writer stalled longer (a paused VM, a store request stuck in
//! a queue) can overwrite a verified claim after it was verified: then two probes run
//! (or a transition is logged twice). The consequence is one extra real call to a
//! dependency that is being tested anyway, so the protocol bounds the damage to "a few
//! probes" instead of "every instance stampedes", without atomic primitives. Lost writes
//! only ever make a claimer back off, never admit extra calls.
//!
//! # Costs in store operations
//!
//! | situation | reads | writes |
//! |---|---|---|
//! | closed, call recorded | 2 (state, window) | 1 (window) |
//! | open, refusal recorded | 2 | 1 |
//! | trip, probe claim, probe settled | +2 | +1 (+ settle delay) |

mod config;
mod histogram;
mod permit;
pub mod state;
pub mod store;
mod transition;
pub mod window;
pub mod write_behind;

#[cfg(test)]
mod tests;

pub use config::{BreakerConfig, SlowCallRule};
pub use histogram::LatencyHistogram;
pub use permit::{Admission, Permit};
pub use state::{BreakerState, StateRecord};
pub use store::BreakerStore;
pub use transition::{Transition, TransitionReason};
pub use window::{RollingWindow, Tally, TripReason, WindowTotals};
pub use write_behind::WriteBehind;

use std::rc::Rc;

use crate::clock::{Clock, Random};
use crate::outcome::{CallOutcome, OutcomeKind};
use state::AdmissionPlan;

/// A breaker over a store, a clock and a source of randomness.
pub struct Breaker<S, C, R> {
    config: BreakerConfig,
    store: S,
    clock: C,
    random: R,
    /// This instance's write-behind for the breaker, if any (and `write_behind_ms > 0`).
    write_behind: Option<Rc<WriteBehind>>,
}

/// A breaker's state and window totals, for health reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The state record (default when none is stored).
    pub state: StateRecord,
    /// The window's totals now.
    pub totals: WindowTotals,
    /// The most recent failure.
    pub last_error: Option<String>,
}

impl<S: BreakerStore, C: Clock, R: Random> Breaker<S, C, R> {
    /// A breaker deciding by `config`, keeping its state in `store`.
    pub fn new(config: BreakerConfig, store: S, clock: C, random: R) -> Self {
        Self {
            config,
            store,
            clock,
            random,
            write_behind: None,
        }
    }

    /// Uses `write_behind` (shared by every breaker this instance builds for the same
    /// dependency) to reuse closed states and keep quiet successes for up to
    /// [`BreakerConfig::write_behind_ms`]; see [`write_behind`] for the trade.
    pub fn with_write_behind(mut self, write_behind: Rc<WriteBehind>) -> Self {
        self.write_behind = Some(write_behind);
        self
    }

    /// The write-behind, when configured and on.
    fn behind(&self) -> Option<&WriteBehind> {
        self.write_behind
            .as_deref()
            .filter(|_| self.config.write_behind_ms > 0)
    }

    /// Its configuration.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// Its clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Its random source.
    pub fn random(&self) -> &R {
        &self.random
    }

    /// Decides whether a call may go ahead. One store read when closed or open (none when a
    /// write-behind holds a closed state read less than `write_behind_ms` ago); a probe claim
    /// adds a write, the settle delay and a read.
    pub async fn admit(&self) -> Result<Admission, S::Error> {
        let now = self.clock.now_ms();
        let cached = self
            .behind()
            .and_then(|behind| behind.fresh_state(now, self.config.write_behind_ms));
        let record = match cached {
            Some(record) => record,
            None => {
                let epoch = self.behind().map(WriteBehind::epoch);
                let record = self.store.load_state().await?.unwrap_or_default();
                if let (Some(behind), Some(epoch)) = (self.behind(), epoch) {
                    behind.remember_state(&record, now, epoch);
                }
                record
            }
        };
        match record.plan(now, &self.config) {
            AdmissionPlan::Pass => Ok(Admission::Permitted(Permit {
                observed: record.state,
                probe_token: None,
                transition: None,
                generation: Some(record.generation),
            })),
            AdmissionPlan::Refuse => Ok(Admission::Refused),
            AdmissionPlan::ClaimProbe => self.claim_probe(record, now).await,
        }
    }

    async fn claim_probe(&self, record: StateRecord, now: i64) -> Result<Admission, S::Error> {
        let token = self.random.token();
        let Some(claim) = record.claim_probe(now, &self.config, &token) else {
            return Ok(Admission::Refused);
        };
        let seen = self.write_and_reread(&claim).await?;
        if !seen.holds_probe(&token) {
            return Ok(Admission::Refused);
        }
        let transition = (record.state == BreakerState::Open).then_some(Transition {
            from: BreakerState::Open,
            to: BreakerState::HalfOpen,
            at_ms: now,
            reason: TransitionReason::ResetTimeoutElapsed,
        });
        Ok(Admission::Permitted(Permit {
            observed: BreakerState::HalfOpen,
            probe_token: Some(token),
            transition,
            generation: Some(seen.generation),
        }))
    }

    /// Step two and three of the claim protocol: write, wait the settle delay, re-read.
    async fn write_and_reread(&self, record: &StateRecord) -> Result<StateRecord, S::Error> {
        if let Some(behind) = self.behind() {
            behind.forget_state();
        }
        self.store.save_state(record).await?;
        // Again once the write landed: a read another request began while it was on its way
        // may have seen the old state, and must not be cached.
        if let Some(behind) = self.behind() {
            behind.forget_state();
        }
        self.clock.sleep(self.config.claim_settle_ms).await;
        Ok(self.store.load_state().await?.unwrap_or_default())
    }

    /// Records what happened: the outcomes of the attempts made under `permit` (none when
    /// the call was refused), refusals and fallbacks. Returns the transition this caused
    /// and won, if any: closed → open when the window crosses a threshold, half-open →
    /// closed / open when this was the probe.
    pub async fn record(
        &self,
        permit: Option<&Permit>,
        tally: Tally,
    ) -> Result<Option<Transition>, S::Error> {
        let now = self.clock.now_ms();
        // A probe that was never sent decides nothing; its lease runs out.
        if let Some(token) = permit.and_then(|p| p.probe_token.as_deref())
            && let Some(probe) = tally.outcomes.first().copied()
            && probe.kind != OutcomeKind::NotSent
        {
            return self.settle_probe(token, probe, tally, now).await;
        }
        if let (Some(behind), Some(permit)) = (self.behind(), permit)
            && let Some(generation) = permit.generation
            && permit.observed == BreakerState::Closed
            && !self.any_slow(&tally)
            && behind.keep(&tally, generation, now, self.config.write_behind_ms)
        {
            return Ok(None);
        }
        // Anything but a quiet success may mean the dependency is failing, perhaps already
        // tripped elsewhere: the next admission reads the shared state again instead of
        // trusting a closed state up to `write_behind_ms` old.
        if let Some(behind) = self.behind()
            && (self.any_slow(&tally) || !write_behind::quiet(&tally))
        {
            behind.forget_state();
        }
        let window = self
            .count(&tally, now, permit.and_then(|p| p.generation))
            .await?;
        let closed_before = permit.is_some_and(|p| p.observed == BreakerState::Closed);
        if !closed_before
            || tally
                .outcomes
                .iter()
                .all(|o| o.kind == OutcomeKind::NotSent)
        {
            return Ok(None);
        }
        let Some(reason) = window.totals(now, &self.config).trip_reason(&self.config) else {
            return Ok(None);
        };
        // Trip only a breaker that is still closed (another instance may have tripped it),
        // and only on a window of its current generation (not one counted before a close).
        let state = self.store.load_state().await?.unwrap_or_default();
        if state.state != BreakerState::Closed || state.generation != window.generation {
            return Ok(None);
        }
        let token = self.random.token();
        let seen = self.write_and_reread(&state.tripped(now, &token)).await?;
        Ok(seen.descends_from(&token).then_some(Transition {
            from: BreakerState::Closed,
            to: BreakerState::Open,
            at_ms: now,
            reason: TransitionReason::Tripped { reason },
        }))
    }

    /// Writes the quiet successes this instance's write-behind keeps, if any: one window
    /// read-modify-write, each success in the bucket of its own time (successes of another
    /// window generation are dropped, as at any write). The deferred flush a caller runs
    /// `write_behind_ms` after [`WriteBehind::claim_flush`] asked for it. Nothing to write, no
    /// write-behind, or a window write by this instance less than `write_behind_ms` ago (a
    /// later flush is due for what it kept since): no store operation.
    pub async fn flush(&self) -> Result<(), S::Error> {
        let now = self.clock.now_ms();
        // Nothing kept, or this instance wrote the window within the delay: that write took
        // what was kept then, and what was kept since asked for a flush of its own.
        if self.behind().is_none_or(|behind| {
            behind.kept_len() == 0 || behind.wrote_within(now, self.config.write_behind_ms)
        }) {
            return Ok(());
        }
        self.count(&Tally::default(), now, None).await.map(drop)
    }

    /// Whether any live attempt of `tally` was slow by the slow-call rule.
    fn any_slow(&self, tally: &Tally) -> bool {
        self.config.slow_call.is_some_and(|rule| {
            tally
                .outcomes
                .iter()
                .any(|outcome| outcome.latency_ms >= rule.duration_ms)
        })
    }

    /// One read-modify-write of the window, for the window `generation` of the state this
    /// caller read (`None` when unknown: refusals, fail-open). A stored window of another
    /// generation is stale (written back across a close, or this caller is the stale one):
    /// it counts as empty and is replaced by a fresh window of `generation`. The successes a
    /// write-behind kept are added first, each at its own time, if they count for the
    /// window's generation.
    async fn count(
        &self,
        tally: &Tally,
        now: i64,
        generation: Option<u64>,
    ) -> Result<RollingWindow, S::Error> {
        let kept = self
            .behind()
            .map(|behind| behind.take_kept(now))
            .unwrap_or_default();
        let fresh = || RollingWindow::for_generation(&self.config, generation.unwrap_or(0));
        let mut window = match self.store.load_window().await? {
            Some(window) if generation.is_none_or(|g| g == window.generation) => window,
            _ => fresh(),
        };
        let generation = window.generation;
        for kept in kept.iter().filter(|k| k.generation == generation) {
            window.add(kept.at_ms, &self.config, &kept.tally);
        }
        window.add(now, &self.config, tally);
        self.store.save_window(&window).await?;
        Ok(window)
    }

    fn probe_failed(&self, probe: CallOutcome) -> bool {
        probe.kind.is_failure()
            || self
                .config
                .slow_call
                .is_some_and(|rule| probe.latency_ms >= rule.duration_ms)
    }

    /// Closes or re-opens the breaker after its probe.
    async fn settle_probe(
        &self,
        probe_token: &str,
        probe: CallOutcome,
        tally: Tally,
        now: i64,
    ) -> Result<Option<Transition>, S::Error> {
        let succeeded = !self.probe_failed(probe);
        let state = self.store.load_state().await?.unwrap_or_default();
        if !state.holds_probe(probe_token) {
            // Our lease expired and someone else decided; just count.
            self.count(&tally, now, Some(state.generation)).await?;
            return Ok(None);
        }
        let token = self.random.token();
        let next = state.after_probe(succeeded, now, &token);
        let seen = self.write_and_reread(&next).await?;
        let won = seen.descends_from(&token);
        if succeeded && won {
            // A closed breaker starts from an empty window of its new generation: the
            // failures that opened it must not re-open it on the next error, even when a
            // concurrent caller writes back the window it read before the close.
            let mut window = RollingWindow::for_generation(&self.config, next.generation);
            window.add(now, &self.config, &tally);
            self.store.save_window(&window).await?;
        } else {
            self.count(&tally, now, Some(seen.generation)).await?;
        }
        Ok(won.then_some(Transition {
            from: BreakerState::HalfOpen,
            to: if succeeded {
                BreakerState::Closed
            } else {
                BreakerState::Open
            },
            at_ms: now,
            reason: if succeeded {
                TransitionReason::ProbeSucceeded
            } else {
                TransitionReason::ProbeFailed
            },
        }))
    }

    /// The state and the window's totals (two reads). A window of another generation than
    /// the state's is stale and reported empty.
    pub async fn snapshot(&self) -> Result<Snapshot, S::Error> {
        let now = self.clock.now_ms();
        let state = self.store.load_state().await?.unwrap_or_default();
        let window = match self.store.load_window().await? {
            Some(window) if window.generation == state.generation => window,
            _ => RollingWindow::for_generation(&self.config, state.generation),
        };
        Ok(Snapshot {
            totals: window.totals(now, &self.config),
            last_error: window.last_error,
            state,
        })
    }
}
