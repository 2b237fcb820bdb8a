//! The breaker's knobs (ARCHITECTURE §7 names in brackets).

use serde::{Deserialize, Serialize};

/// How a breaker decides; the same for every instance sharing its state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BreakerConfig {
    /// Opens when failures (5xx, connection errors, timeouts) are at least this percentage
    /// of the calls in the window (`breaker_error_threshold_percentage`, 50: exactly half
    /// opens it).
    pub error_threshold_percentage: u32,
    /// Calls the window must hold before the error rate may open the breaker
    /// (`breaker_volume_threshold`).
    pub volume_threshold: u64,
    /// Length of the rolling window (`breaker_rolling_window_ms`).
    pub rolling_window_ms: u64,
    /// Buckets the window is divided into; it rolls one bucket at a time.
    pub window_buckets: u32,
    /// How long the breaker stays open before admitting a probe (`breaker_reset_timeout_ms`).
    pub reset_timeout_ms: u64,
    /// Probes admitted at once in half-open, across all instances
    /// (`breaker_half_open_max_probes`).
    pub half_open_max_probes: u32,
    /// How long a claimed probe slot stays taken if its holder never reports back (it
    /// crashed, or its instance was dropped). Should exceed the per-attempt timeout.
    pub probe_lease_ms: u64,
    /// The settle delay of the claim protocol (see [`crate::breaker`]): a state write is
    /// verified this long after it was made. Must exceed the longest plausible gap between
    /// another writer's read and its write (a few store round trips).
    pub claim_settle_ms: u64,
    /// Optional slow-call rule: calls slower than this count as slow, and the breaker also
    /// opens when slow calls reach a percentage of the window.
    pub slow_call: Option<SlowCallRule>,
    /// How long an instance may reuse a closed state it read and keep its quiet successes
    /// before writing them to the window (`breaker_write_behind_ms`; 0 = read and write on
    /// every call). Only used by a breaker given a [`WriteBehind`](super::WriteBehind); see
    /// [`super::write_behind`] for what it trades.
    pub write_behind_ms: u64,
}

/// Opens the breaker on latency even when calls succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlowCallRule {
    /// A call taking at least this long is slow.
    pub duration_ms: u64,
    /// Opens when slow calls are at least this percentage of the window's calls.
    pub rate_percentage: u32,
}

impl Default for BreakerConfig {
    /// The ARCHITECTURE §7 defaults: 50 %, 20 calls, 10 s window in 10 buckets, 30 s open,
    /// one probe with a 6 s lease, 25 ms settle, no slow-call rule, no write-behind.
    fn default() -> Self {
        Self {
            error_threshold_percentage: 50,
            volume_threshold: 20,
            rolling_window_ms: 10_000,
            window_buckets: 10,
            reset_timeout_ms: 30_000,
            half_open_max_probes: 1,
            probe_lease_ms: 6_000,
            claim_settle_ms: 25,
            slow_call: None,
            write_behind_ms: 0,
        }
    }
}

impl BreakerConfig {
    /// Width of one bucket of the rolling window (at least 1 ms).
    pub fn bucket_ms(&self) -> u64 {
        (self.rolling_window_ms / u64::from(self.window_buckets.max(1))).max(1)
    }
}
