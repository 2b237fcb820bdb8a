//! The injected environment: wall-clock time, sleeping and randomness.
//!
//! Shared breaker state is compared across instances and nodes, so times are **wall-clock**
//! Unix epoch milliseconds (a monotonic clock is per process and means nothing to another
//! node). Clock skew between nodes shifts when an open breaker becomes half-open by the
//! skew; that is accepted (NTP keeps it in the milliseconds).

use std::future::Future;

/// Time as the policies see it.
///
/// ```
/// use resilience::Clock;
/// use resilience::testing::ManualClock;
///
/// let clock = ManualClock::new(1_000);
/// clock.advance(250);
/// assert_eq!(clock.now_ms(), 1_250);
/// ```
pub trait Clock {
    /// Now, in Unix epoch milliseconds.
    fn now_ms(&self) -> i64;

    /// Completes after `ms` milliseconds. Used for backoff delays, per-attempt timeouts and
    /// the settle delay of the breaker's claim protocol.
    fn sleep(&self, ms: u64) -> impl Future<Output = ()>;
}

/// A source of random numbers: jitter and claim tokens.
pub trait Random {
    /// A uniformly distributed 64-bit value.
    fn next_u64(&self) -> u64;

    /// A uniformly distributed value in `[0, 1)`.
    fn unit(&self) -> f64 {
        // The top 53 bits fill an f64 mantissa exactly.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A token that names one writer of shared state (16 hex digits).
    fn token(&self) -> String {
        format!("{:016x}", self.next_u64())
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_ms(&self) -> i64 {
        (**self).now_ms()
    }

    fn sleep(&self, ms: u64) -> impl Future<Output = ()> {
        (**self).sleep(ms)
    }
}

impl<R: Random + ?Sized> Random for &R {
    fn next_u64(&self) -> u64 {
        (**self).next_u64()
    }
}
