//! When the relay tries a failed delivery again: exponential backoff with a cap, and a
//! dead-letter decision after the last allowed attempt. Pure: callers pass `now`.

/// Delay before each retry: `base_ms`, doubled per failed attempt, never above `cap_ms`.
///
/// No jitter: relay passes are already spread by when orders change and when operators or
/// cron call dispatch, and a claimed row is leased to one pass, so retries do not stampede.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    /// Delay after the first failed attempt, in milliseconds.
    pub base_ms: u64,
    /// Longest delay, in milliseconds.
    pub cap_ms: u64,
}

/// What happens to an event after a failed delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Stay pending; due again at this instant (Unix epoch milliseconds).
    RetryAt(i64),
    /// That was the last allowed attempt: move to the dead-letter state.
    DeadLetter,
}

impl RetrySchedule {
    /// The relay's schedule: 1 s, 2 s, 4 s, … capped at 5 minutes.
    pub const RELAY: Self = Self {
        base_ms: 1_000,
        cap_ms: 300_000,
    };

    /// Delay after `failed_attempts` failures (1-based; 0 is treated as 1): the resilience
    /// crate's exponential backoff without jitter.
    pub fn delay_ms(&self, failed_attempts: u32) -> u64 {
        resilience::retry::Backoff {
            base_ms: self.base_ms,
            cap_ms: self.cap_ms,
            jitter: resilience::retry::Jitter::None,
        }
        .exponential(failed_attempts.saturating_sub(1))
    }

    /// The decision after attempt number `attempts` (1-based, counting this one) failed at
    /// `now_ms`, when at most `max_attempts` are allowed.
    pub fn after_failure(&self, attempts: u32, max_attempts: u32, now_ms: i64) -> AfterFailure {
        if attempts >= max_attempts {
            return AfterFailure::DeadLetter;
        }
        AfterFailure::RetryAt(self.retry_at(attempts, now_ms))
    }

    /// When an event that failed `attempts` times at `now_ms` is due again.
    pub fn retry_at(&self, attempts: u32, now_ms: i64) -> i64 {
        let delay = i64::try_from(self.delay_ms(attempts)).unwrap_or(i64::MAX);
        now_ms.saturating_add(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::{AfterFailure, RetrySchedule};

    #[test]
    fn relay_delay_doubles_from_one_second_up_to_five_minutes() {
        let delays: Vec<u64> = (1..=11).map(|n| RetrySchedule::RELAY.delay_ms(n)).collect();
        assert_eq!(
            delays,
            [
                1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000,
                300_000
            ]
        );
        assert_eq!(RetrySchedule::RELAY.delay_ms(0), 1_000);
        assert_eq!(RetrySchedule::RELAY.delay_ms(u32::MAX), 300_000);
    }

    #[test]
    fn huge_bases_saturate_instead_of_overflowing() {
        let schedule = RetrySchedule {
            base_ms: u64::MAX / 2,
            cap_ms: u64::MAX,
        };
        assert_eq!(schedule.delay_ms(5), u64::MAX);
        assert_eq!(schedule.retry_at(5, i64::MAX - 1), i64::MAX);
    }

    #[test]
    fn failed_attempt_retries_later_until_the_last_allowed_one_dead_letters() {
        let schedule = RetrySchedule::RELAY;
        assert_eq!(
            schedule.after_failure(1, 3, 10_000),
            AfterFailure::RetryAt(11_000)
        );
        assert_eq!(
            schedule.after_failure(2, 3, 10_000),
            AfterFailure::RetryAt(12_000)
        );
        assert_eq!(
            schedule.after_failure(3, 3, 10_000),
            AfterFailure::DeadLetter
        );
        assert_eq!(
            schedule.after_failure(7, 3, 10_000),
            AfterFailure::DeadLetter
        );
        assert_eq!(
            schedule.after_failure(1, 1, 10_000),
            AfterFailure::DeadLetter
        );
    }
}
