//! The resilience crate's clock and randomness, from WASI: wall-clock time (shared state
//! is compared across instances and nodes), WASI 0.3 `monotonic-clock.wait-for` for
//! sleeping (so a timeout really cuts a hanging call), and `wasi:random`.

use std::future::Future;
use std::time::Duration;

use resilience::{Clock, Random};

/// The host's clocks.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WasiClock;

impl Clock for WasiClock {
    fn now_ms(&self) -> i64 {
        guest::clock::now_ms()
    }

    fn sleep(&self, ms: u64) -> impl Future<Output = ()> {
        spin_sdk::time::sleep(Duration::from_millis(ms))
    }
}

/// The host's random source.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WasiRandom;

impl Random for WasiRandom {
    fn next_u64(&self) -> u64 {
        spin_sdk::wasip3::random::random::get_random_u64()
    }
}
