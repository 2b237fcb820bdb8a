//! Exponential backoff with jitter, so instances that failed together do not retry
//! together (AWS Architecture Blog, "Exponential Backoff And Jitter").

use serde::{Deserialize, Serialize};

use crate::clock::Random;

/// How the exponential delay is randomised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// `min(cap, base · 2ⁿ)`: deterministic, for tests and comparisons.
    None,
    /// Uniform in `[0, min(cap, base · 2ⁿ))`: spreads retries the most.
    #[default]
    Full,
    /// Uniform in `[base, 3 · previous)`, capped: grows from the previous delay rather
    /// than from the attempt number.
    Decorrelated,
}

/// Delays between attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay's scale (`retry_base_delay_ms`).
    pub base_ms: u64,
    /// No computed delay exceeds this (a `Retry-After` may).
    pub cap_ms: u64,
    /// The randomisation.
    pub jitter: Jitter,
}

impl Backoff {
    /// The delay before retry number `retry` (0 = the first) without jitter:
    /// `min(cap_ms, base_ms · 2^retry)`, saturating instead of overflowing. Also the schedule
    /// of callers whose retries are already spread (the event relay's, in `events`).
    pub fn exponential(&self, retry: u32) -> u64 {
        self.base_ms
            .saturating_mul(1u64.checked_shl(retry.min(63)).unwrap_or(u64::MAX))
            .min(self.cap_ms)
    }

    /// The delay before retry number `retry` (0 = the first retry), given the previous
    /// delay (the base for the first).
    ///
    /// ```
    /// use resilience::retry::{Backoff, Jitter};
    /// use resilience::testing::SeqRandom;
    ///
    /// let backoff = Backoff { base_ms: 300, cap_ms: 2_000, jitter: Jitter::None };
    /// let random = SeqRandom::fixed(0);
    /// let delays: Vec<u64> = (0..4).map(|n| backoff.delay(n, 300, &random)).collect();
    /// assert_eq!(delays, [300, 600, 1_200, 2_000]);
    /// ```
    pub fn delay(&self, retry: u32, previous_ms: u64, random: &impl Random) -> u64 {
        let exponential = self.exponential(retry);
        match self.jitter {
            Jitter::None => exponential,
            Jitter::Full => scale(exponential, random.unit()),
            Jitter::Decorrelated => {
                let upper = previous_ms.max(self.base_ms).saturating_mul(3);
                let spread = upper.saturating_sub(self.base_ms);
                (self.base_ms + scale(spread, random.unit())).min(self.cap_ms)
            }
        }
    }
}

/// `value · unit`, rounded down, for `unit` in `[0, 1)`.
fn scale(value: u64, unit: f64) -> u64 {
    (value as f64 * unit) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeqRandom;

    const MAX_UNIT: u64 = u64::MAX; // unit() just below 1.0

    #[test]
    fn full_jitter_stays_within_zero_and_the_exponential_ceiling() {
        let backoff = Backoff {
            base_ms: 300,
            cap_ms: 5_000,
            jitter: Jitter::Full,
        };
        for retry in 0..6 {
            let ceiling = (300u64 << retry).min(5_000);
            assert_eq!(backoff.delay(retry, 0, &SeqRandom::fixed(0)), 0);
            let top = backoff.delay(retry, 0, &SeqRandom::fixed(MAX_UNIT));
            assert!(
                top < ceiling && top >= ceiling - 1,
                "retry {retry}: {top} vs {ceiling}"
            );
        }
    }

    #[test]
    fn decorrelated_jitter_stays_between_base_and_three_times_the_previous_delay() {
        let backoff = Backoff {
            base_ms: 300,
            cap_ms: 10_000,
            jitter: Jitter::Decorrelated,
        };
        assert_eq!(backoff.delay(0, 300, &SeqRandom::fixed(0)), 300);
        let top = backoff.delay(1, 800, &SeqRandom::fixed(MAX_UNIT));
        assert!((2_398..2_400).contains(&top), "{top}");
        let capped = backoff.delay(5, 9_000, &SeqRandom::fixed(MAX_UNIT));
        assert_eq!(capped, 10_000);
    }

    #[test]
    fn jitter_draws_are_spread_over_the_whole_range() {
        let backoff = Backoff {
            base_ms: 1_000,
            cap_ms: 1_000,
            jitter: Jitter::Full,
        };
        // Units 0, 1/8, …, 7/8 of the range.
        let delays: Vec<u64> = (0..8u64)
            .map(|i| backoff.delay(0, 0, &SeqRandom::fixed(i << 61)))
            .collect();
        assert_eq!(delays, [0, 125, 250, 375, 500, 625, 750, 875]);
    }

    #[test]
    fn huge_retry_numbers_saturate_at_the_cap() {
        let backoff = Backoff {
            base_ms: 300,
            cap_ms: 4_000,
            jitter: Jitter::None,
        };
        assert_eq!(backoff.delay(200, 0, &SeqRandom::fixed(0)), 4_000);
    }
}
