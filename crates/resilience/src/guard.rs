//! One logical call with every policy applied, in tower's order from the outside in:
//! fallback ∘ retry (budget, backoff) ∘ breaker ∘ timeout ∘ call.
//!
//! Each attempt asks the breaker first (so a breaker opened by another instance stops our
//! retries too), runs under the per-attempt timeout (clipped to the budget left), and is
//! recorded in the breaker's window before the next one starts.

use std::fmt::Display;
use std::future::Future;

use crate::breaker::{Admission, Breaker, BreakerStore, Permit, Tally, Transition};
use crate::clock::{Clock, Random};
use crate::fallback::Served;
use crate::outcome::{CallOutcome, Classify, OutcomeKind};
use crate::retry::policy::FailedAttempt;
use crate::retry::{Budget, Decision, Idempotency, RetryPolicy};
use crate::timeout::timeout;

/// Told about what the policies did, for logs and metrics.
pub trait Observer {
    /// A breaker transition this caller won (reported once across instances).
    fn transition(&self, transition: &Transition) {
        let _ = transition;
    }

    /// The state store failed; the call went ahead as if the breaker were closed.
    fn store_error(&self, operation: &'static str, error: &dyn Display) {
        let _ = (operation, error);
    }
}

/// An observer that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}

/// Why a guarded call produced no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GuardError<E> {
    /// The breaker refused the call; nothing was sent.
    CircuitOpen,
    /// The (last) attempt did not finish within its timeout or the budget.
    Timeout,
    /// The (last) attempt failed with this error.
    Call(E),
}

impl<E: Display> Display for GuardError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::CircuitOpen => f.write_str("circuit open"),
            Self::Timeout => f.write_str("timed out"),
            Self::Call(error) => error.fmt(f),
        }
    }
}

/// Facts about the attempt being made, for the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// 0 for the first attempt, 1 for the first retry, …
    pub number: u32,
    /// The timeout this attempt runs under.
    pub timeout_ms: u64,
}

/// Breaker, timeout and retry around calls to one dependency.
pub struct Guard<'a, S, C, R, O> {
    breaker: &'a Breaker<S, C, R>,
    retry: RetryPolicy,
    call_timeout_ms: u64,
    observer: &'a O,
}

impl<'a, S: BreakerStore, C: Clock, R: Random, O: Observer> Guard<'a, S, C, R, O> {
    /// A guard with one attempt per call (no retry), each cut at `call_timeout_ms`.
    pub fn new(breaker: &'a Breaker<S, C, R>, call_timeout_ms: u64, observer: &'a O) -> Self {
        let retry = RetryPolicy {
            budget_ms: call_timeout_ms,
            ..RetryPolicy::none()
        };
        Self {
            breaker,
            retry,
            call_timeout_ms,
            observer,
        }
    }

    /// Retries by `policy`.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Runs `call` under every policy, without a fallback.
    pub async fn run<T, E, F, Fut>(
        &self,
        idempotency: &Idempotency,
        call: F,
    ) -> Result<T, GuardError<E>>
    where
        E: Classify + Display,
        F: FnMut(Attempt) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let served = self
            .run_with_fallback(idempotency, call, async |_: &GuardError<E>| None)
            .await?;
        Ok(served.value)
    }

    /// Runs `call` under every policy; when it fails (5xx, connection error, timeout) or
    /// is refused, asks `fallback` for a stand-in answer (see [`crate::fallback`]).
    pub async fn run_with_fallback<T, E, F, Fut, B>(
        &self,
        idempotency: &Idempotency,
        mut call: F,
        fallback: B,
    ) -> Result<Served<T>, GuardError<E>>
    where
        E: Classify + Display,
        F: FnMut(Attempt) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        B: AsyncFnOnce(&GuardError<E>) -> Option<T>,
    {
        let clock = self.breaker.clock();
        let budget = Budget::start(clock.now_ms(), self.retry.budget_ms);
        let mut previous_delay_ms = self.retry.base_delay_ms;
        let mut number = 0;
        // The failure of the last attempt made, if any: a breaker that opens during the
        // retries then reports what happened on the wire, so `CircuitOpen` always means that
        // nothing was sent (a caller may rely on it, e.g. to know a charge was never made).
        let mut last_failure: Option<GuardError<E>> = None;
        loop {
            let permit = match self.breaker.admit().await {
                Ok(Admission::Permitted(permit)) => {
                    if let Some(transition) = permit.transition() {
                        self.observer.transition(transition);
                    }
                    permit
                }
                Ok(Admission::Refused) => {
                    let error = last_failure.take().unwrap_or(GuardError::CircuitOpen);
                    let stand_in = fallback(&error).await;
                    let tally = Tally {
                        short_circuits: 1,
                        fallbacks: stand_in.is_some().into(),
                        ..Tally::default()
                    };
                    self.record(None, tally).await;
                    return stand_in.map(Served::fallback).ok_or(error);
                }
                Err(error) => {
                    self.observer.store_error("admit", &error);
                    Permit::fail_open()
                }
            };

            let remaining_ms = budget.remaining_ms(clock.now_ms());
            let timeout_ms = self.call_timeout_ms.min(remaining_ms).max(1);
            let started = clock.now_ms();
            let result = timeout(clock, timeout_ms, call(Attempt { number, timeout_ms })).await;
            let latency_ms = clock.now_ms().saturating_sub(started).max(0) as u64;
            let error = match result {
                Ok(Ok(value)) => {
                    let outcome = CallOutcome::new(OutcomeKind::Success, latency_ms);
                    self.record(
                        Some(&permit),
                        Tally {
                            outcomes: vec![outcome],
                            ..Tally::default()
                        },
                    )
                    .await;
                    return Ok(Served::live(value));
                }
                Ok(Err(error)) => GuardError::Call(error),
                Err(_) => GuardError::Timeout,
            };
            let (kind, retry_after_ms) = match &error {
                GuardError::Call(error) => (error.kind(), error.retry_after_ms()),
                _ => (OutcomeKind::Timeout, None),
            };
            let mut tally = Tally {
                outcomes: vec![CallOutcome::new(kind, latency_ms)],
                last_error: kind.is_failure().then(|| error.to_string()),
                ..Tally::default()
            };

            // A probe is exactly one attempt: its outcome decides the breaker.
            let decision = if permit.is_probe() {
                Decision::Stop(crate::retry::StopReason::RetriesExhausted)
            } else {
                let attempt = FailedAttempt {
                    kind,
                    retries_done: number,
                    previous_delay_ms,
                    retry_after_ms,
                    remaining_ms: budget.remaining_ms(clock.now_ms()),
                };
                self.retry
                    .decide(attempt, idempotency, self.breaker.random())
            };
            match decision {
                Decision::Retry { delay_ms } => {
                    self.record(Some(&permit), tally).await;
                    last_failure = Some(error);
                    clock.sleep(delay_ms).await;
                    previous_delay_ms = delay_ms;
                    number += 1;
                }
                Decision::Stop(_) => {
                    let stand_in = if kind.wants_fallback() {
                        fallback(&error).await
                    } else {
                        None
                    };
                    tally.fallbacks = stand_in.is_some().into();
                    self.record(Some(&permit), tally).await;
                    return stand_in.map(Served::fallback).ok_or(error);
                }
            }
        }
    }

    async fn record(&self, permit: Option<&Permit>, tally: Tally) {
        match self.breaker.record(permit, tally).await {
            Ok(Some(transition)) => self.observer.transition(&transition),
            Ok(None) => {}
            Err(error) => self.observer.store_error("record", &error),
        }
    }
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
