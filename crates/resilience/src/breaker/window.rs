//! The rolling window: call outcomes counted in time buckets, so old outcomes age out one
//! bucket at a time instead of all at once.
//!
//! Buckets are aligned to multiples of the bucket width in epoch milliseconds, so every
//! instance files an outcome at the same moment into the same bucket.

use serde::{Deserialize, Serialize};

use super::config::BreakerConfig;
use super::histogram::LatencyHistogram;
use crate::outcome::OutcomeKind;

/// Counts for one bucket of time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Bucket {
    /// Start of the bucket (epoch ms, a multiple of the bucket width).
    pub start_ms: i64,
    /// Live calls (attempts) made.
    pub calls: u64,
    /// Calls that failed with a 5xx or a connection error (timeouts are separate).
    pub failures: u64,
    /// Calls that timed out.
    pub timeouts: u64,
    /// Calls at least as slow as the slow-call rule's duration.
    pub slow: u64,
    /// Calls refused because the breaker was open.
    pub short_circuits: u64,
    /// Answers served from a fallback (stale cache, last known good).
    pub fallbacks: u64,
    /// Latencies of the calls.
    pub latency: LatencyHistogram,
}

/// What to add to the window: the outcome of each live attempt plus refusals and
/// fallbacks. One tally is written in one store update.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Every live attempt, in order.
    pub outcomes: Vec<crate::outcome::CallOutcome>,
    /// Calls refused by the breaker.
    pub short_circuits: u64,
    /// Answers served from a fallback.
    pub fallbacks: u64,
    /// The most recent failure's description, kept for operators.
    pub last_error: Option<String>,
}

/// The window of one breaker, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RollingWindow {
    /// The breaker state's [`generation`](super::StateRecord::generation) this window
    /// counts for. Absent in old records: 0.
    pub generation: u64,
    /// Bucket width the buckets were made with; a different configured width resets them.
    pub bucket_ms: u64,
    /// Buckets with something in them, oldest first.
    pub buckets: Vec<Bucket>,
    /// The most recent failure, for operators.
    pub last_error: Option<String>,
}

/// The window summed over its live buckets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowTotals {
    /// Live calls.
    pub calls: u64,
    /// 5xx and connection errors.
    pub failures: u64,
    /// Timeouts.
    pub timeouts: u64,
    /// Slow calls.
    pub slow: u64,
    /// Refused calls.
    pub short_circuits: u64,
    /// Fallback answers.
    pub fallbacks: u64,
    /// Latencies merged.
    pub latency: LatencyHistogram,
}

/// Why the breaker opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum TripReason {
    /// Failures (incl. timeouts) reached the error threshold.
    ErrorRate {
        /// Failed calls in the window.
        failed: u64,
        /// Calls in the window.
        calls: u64,
    },
    /// Slow calls reached the slow-call rate.
    SlowCallRate {
        /// Slow calls in the window.
        slow: u64,
        /// Calls in the window.
        calls: u64,
    },
}

impl RollingWindow {
    /// An empty window for `config` (generation 0).
    pub fn new(config: &BreakerConfig) -> Self {
        Self::for_generation(config, 0)
    }

    /// An empty window for `config`, counting for the state's window `generation`.
    pub fn for_generation(config: &BreakerConfig, generation: u64) -> Self {
        Self {
            generation,
            bucket_ms: config.bucket_ms(),
            buckets: Vec::new(),
            last_error: None,
        }
    }

    fn bucket_start(&self, now_ms: i64) -> i64 {
        let width = self.bucket_ms.max(1) as i64;
        now_ms.div_euclid(width) * width
    }

    /// Drops buckets that have left the window at `now`; resets everything when the
    /// configured bucket width changed.
    pub fn roll(&mut self, now_ms: i64, config: &BreakerConfig) {
        if self.bucket_ms != config.bucket_ms() {
            *self = Self {
                last_error: self.last_error.take(),
                ..Self::for_generation(config, self.generation)
            };
        }
        let oldest = self.oldest_live_start(now_ms, config);
        self.buckets.retain(|b| b.start_ms >= oldest);
    }

    /// The start of the oldest bucket still in the window: the current bucket and the
    /// `window_buckets - 1` before it.
    fn oldest_live_start(&self, now_ms: i64, config: &BreakerConfig) -> i64 {
        let span = (u64::from(config.window_buckets.max(1)) - 1) * self.bucket_ms.max(1);
        self.bucket_start(now_ms) - span as i64
    }

    /// Rolls, then adds `tally` to the current bucket.
    pub fn add(&mut self, now_ms: i64, config: &BreakerConfig, tally: &Tally) {
        self.roll(now_ms, config);
        let start = self.bucket_start(now_ms);
        // Tallies may arrive out of time order (a write-behind adds kept ones at their own
        // time): find the bucket anywhere, not only at the end.
        if !self.buckets.iter().any(|b| b.start_ms == start) {
            self.buckets.push(Bucket {
                start_ms: start,
                ..Bucket::default()
            });
            self.buckets.sort_by_key(|b| b.start_ms);
        }
        let Some(bucket) = self.buckets.iter_mut().find(|b| b.start_ms == start) else {
            return;
        };
        for outcome in tally
            .outcomes
            .iter()
            .filter(|o| o.kind != OutcomeKind::NotSent)
        {
            bucket.calls += 1;
            match outcome.kind {
                OutcomeKind::Failure => bucket.failures += 1,
                OutcomeKind::Timeout => bucket.timeouts += 1,
                OutcomeKind::Success | OutcomeKind::Rejected | OutcomeKind::NotSent => {}
            }
            if config
                .slow_call
                .is_some_and(|rule| outcome.latency_ms >= rule.duration_ms)
            {
                bucket.slow += 1;
            }
            bucket.latency.record(outcome.latency_ms);
        }
        bucket.short_circuits += tally.short_circuits;
        bucket.fallbacks += tally.fallbacks;
        if tally.last_error.is_some() {
            self.last_error.clone_from(&tally.last_error);
        }
    }

    /// Sums of the buckets still in the window at `now`.
    pub fn totals(&self, now_ms: i64, config: &BreakerConfig) -> WindowTotals {
        let oldest = self.oldest_live_start(now_ms, config);
        let mut totals = WindowTotals::default();
        for bucket in self.buckets.iter().filter(|b| b.start_ms >= oldest) {
            totals.calls += bucket.calls;
            totals.failures += bucket.failures;
            totals.timeouts += bucket.timeouts;
            totals.slow += bucket.slow;
            totals.short_circuits += bucket.short_circuits;
            totals.fallbacks += bucket.fallbacks;
            totals.latency.merge(&bucket.latency);
        }
        totals
    }
}

impl WindowTotals {
    /// Whether these totals open a closed breaker, and why. Never before the volume
    /// threshold; at or above the error (or slow-call) percentage.
    pub fn trip_reason(&self, config: &BreakerConfig) -> Option<TripReason> {
        if self.calls == 0 || self.calls < config.volume_threshold {
            return None;
        }
        let failed = self.failures + self.timeouts;
        if failed > 0 && failed * 100 >= u64::from(config.error_threshold_percentage) * self.calls {
            return Some(TripReason::ErrorRate {
                failed,
                calls: self.calls,
            });
        }
        let rule = config.slow_call?;
        (self.slow > 0 && self.slow * 100 >= u64::from(rule.rate_percentage) * self.calls)
            .then_some(TripReason::SlowCallRate {
                slow: self.slow,
                calls: self.calls,
            })
    }
}
