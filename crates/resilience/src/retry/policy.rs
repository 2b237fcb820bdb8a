//! When to retry, and after how long.

use serde::{Deserialize, Serialize};

use super::backoff::{Backoff, Jitter};
use crate::clock::Random;
use crate::outcome::OutcomeKind;

/// The retry knobs (ARCHITECTURE §7 names in brackets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Retries after the first attempt (`retry_max`, 3: at most 4 attempts).
    pub max_retries: u32,
    /// Backoff scale (`retry_base_delay_ms`, 300).
    pub base_delay_ms: u64,
    /// Cap of a computed delay.
    pub max_delay_ms: u64,
    /// Time for all attempts and waits together (`retry_budget_ms`, 5000).
    pub budget_ms: u64,
    /// Randomisation of the delay.
    pub jitter: Jitter,
}

impl Default for RetryPolicy {
    /// 3 retries, 300 ms base, 3 s cap, 5 s budget, full jitter.
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay_ms: 300,
            max_delay_ms: 3_000,
            budget_ms: 5_000,
            jitter: Jitter::Full,
        }
    }
}

/// Whether a call may be sent twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Repeating it has no further effect (a GET; a reservation keyed by order id).
    Idempotent,
    /// It carries an idempotency key: the dependency answers a repeat with the first
    /// answer instead of acting again.
    Key(String),
    /// Repeating it could act twice: never retried.
    NotIdempotent,
}

impl Idempotency {
    /// Whether a retry is safe.
    pub fn allows_retry(&self) -> bool {
        match self {
            Self::Idempotent => true,
            Self::Key(key) => !key.is_empty(),
            Self::NotIdempotent => false,
        }
    }
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    Retry {
        /// The wait in milliseconds.
        delay_ms: u64,
    },
    /// Give up and return the attempt's error.
    Stop(StopReason),
}

/// Why no retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Not a retryable outcome (success, 4xx).
    NotRetryable,
    /// The call is not safe to repeat.
    NotIdempotent,
    /// `max_retries` retries were made.
    RetriesExhausted,
    /// Waiting would leave no time for another attempt within the budget.
    BudgetExhausted,
}

/// What the policy needs to know about the attempt that just failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailedAttempt {
    /// Its classification.
    pub kind: OutcomeKind,
    /// Retries made before it (0 for the first attempt).
    pub retries_done: u32,
    /// The previous wait (the base delay before the first retry).
    pub previous_delay_ms: u64,
    /// The wait the dependency asked for (`Retry-After`).
    pub retry_after_ms: Option<u64>,
    /// Budget left now.
    pub remaining_ms: u64,
}

impl RetryPolicy {
    /// No retries at all (one attempt, budget = one timeout).
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The backoff this policy uses.
    pub fn backoff(&self) -> Backoff {
        Backoff {
            base_ms: self.base_delay_ms,
            cap_ms: self.max_delay_ms,
            jitter: self.jitter,
        }
    }

    /// Decides after a failed attempt. A `Retry-After` longer than the computed delay wins
    /// (even over the cap); one that does not fit in the budget ends the call.
    pub fn decide(
        &self,
        attempt: FailedAttempt,
        idempotency: &Idempotency,
        random: &impl Random,
    ) -> Decision {
        if !attempt.kind.is_retryable() {
            return Decision::Stop(StopReason::NotRetryable);
        }
        if !idempotency.allows_retry() {
            return Decision::Stop(StopReason::NotIdempotent);
        }
        if attempt.retries_done >= self.max_retries {
            return Decision::Stop(StopReason::RetriesExhausted);
        }
        let computed =
            self.backoff()
                .delay(attempt.retries_done, attempt.previous_delay_ms, random);
        let delay_ms = computed.max(attempt.retry_after_ms.unwrap_or(0));
        if delay_ms >= attempt.remaining_ms {
            return Decision::Stop(StopReason::BudgetExhausted);
        }
        Decision::Retry { delay_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeqRandom;

    fn failed(kind: OutcomeKind, retries_done: u32) -> FailedAttempt {
        FailedAttempt {
            kind,
            retries_done,
            previous_delay_ms: 300,
            retry_after_ms: None,
            remaining_ms: 5_000,
        }
    }

    fn exact() -> RetryPolicy {
        RetryPolicy {
            jitter: Jitter::None,
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn retries_failures_and_timeouts_up_to_max_retries_with_growing_delays() {
        let policy = exact();
        let random = SeqRandom::fixed(0);
        let delays: Vec<Decision> = (0..4)
            .map(|n| {
                policy.decide(
                    failed(OutcomeKind::Failure, n),
                    &Idempotency::Idempotent,
                    &random,
                )
            })
            .collect();
        assert_eq!(
            delays,
            [
                Decision::Retry { delay_ms: 300 },
                Decision::Retry { delay_ms: 600 },
                Decision::Retry { delay_ms: 1_200 },
                Decision::Stop(StopReason::RetriesExhausted),
            ]
        );
        let timeout = policy.decide(
            failed(OutcomeKind::Timeout, 0),
            &Idempotency::Idempotent,
            &random,
        );
        assert_eq!(timeout, Decision::Retry { delay_ms: 300 });
    }

    #[test]
    fn never_retries_four_hundreds_or_successes() {
        let random = SeqRandom::fixed(0);
        for kind in [OutcomeKind::Rejected, OutcomeKind::Success] {
            let decision = exact().decide(failed(kind, 0), &Idempotency::Idempotent, &random);
            assert_eq!(decision, Decision::Stop(StopReason::NotRetryable));
        }
    }

    #[test]
    fn retries_only_idempotent_calls_or_calls_with_a_key() {
        let random = SeqRandom::fixed(0);
        let policy = exact();
        let attempt = failed(OutcomeKind::Failure, 0);
        assert_eq!(
            policy.decide(attempt, &Idempotency::NotIdempotent, &random),
            Decision::Stop(StopReason::NotIdempotent)
        );
        assert_eq!(
            policy.decide(attempt, &Idempotency::Key(String::new()), &random),
            Decision::Stop(StopReason::NotIdempotent)
        );
        assert_eq!(
            policy.decide(attempt, &Idempotency::Key("order-1".into()), &random),
            Decision::Retry { delay_ms: 300 }
        );
    }

    #[test]
    fn retry_after_longer_than_the_backoff_is_honoured_even_beyond_the_cap() {
        let policy = exact();
        let random = SeqRandom::fixed(0);
        let attempt = FailedAttempt {
            retry_after_ms: Some(4_000),
            ..failed(OutcomeKind::Failure, 0)
        };
        assert_eq!(
            policy.decide(attempt, &Idempotency::Idempotent, &random),
            Decision::Retry { delay_ms: 4_000 }
        );
        let shorter = FailedAttempt {
            retry_after_ms: Some(10),
            ..failed(OutcomeKind::Failure, 0)
        };
        assert_eq!(
            policy.decide(shorter, &Idempotency::Idempotent, &random),
            Decision::Retry { delay_ms: 300 }
        );
    }

    #[test]
    fn a_wait_that_does_not_fit_the_budget_ends_the_call() {
        let policy = exact();
        let random = SeqRandom::fixed(0);
        let late = FailedAttempt {
            remaining_ms: 300,
            ..failed(OutcomeKind::Failure, 0)
        };
        assert_eq!(
            policy.decide(late, &Idempotency::Idempotent, &random),
            Decision::Stop(StopReason::BudgetExhausted)
        );
        let asked_too_much = FailedAttempt {
            retry_after_ms: Some(60_000),
            ..failed(OutcomeKind::Failure, 0)
        };
        assert_eq!(
            policy.decide(asked_too_much, &Idempotency::Idempotent, &random),
            Decision::Stop(StopReason::BudgetExhausted)
        );
    }
}
