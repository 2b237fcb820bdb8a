//! Per-attempt timeout (`call_timeout_ms`): the call races the injected clock's sleep and
//! is dropped (cancelled) when the sleep wins. In a wasm guest the sleep is WASI's
//! monotonic-clock `wait-for`, so a hanging dependency costs the timeout and no more.

use std::future::Future;
use std::pin::pin;

use futures::future::{Either, select};

use crate::clock::Clock;

/// The call did not finish in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed;

impl std::fmt::Display for Elapsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("timed out")
    }
}

impl std::error::Error for Elapsed {}

/// Runs `future` for at most `ms` milliseconds of `clock` time. The future is polled
/// first, so one that is already complete never waits for the clock.
///
/// ```
/// use resilience::{timeout, Elapsed};
/// use resilience::testing::ManualClock;
///
/// let clock = ManualClock::new(0);
/// let done = futures::executor::block_on(timeout(&clock, 100, async { 7 }));
/// assert_eq!(done, Ok(7));
/// let hung = futures::executor::block_on(timeout(&clock, 100, std::future::pending::<()>()));
/// assert_eq!(hung, Err(Elapsed));
/// assert_eq!(clock.sleeps(), [100]);
/// ```
pub async fn timeout<C: Clock, F: Future>(
    clock: &C,
    ms: u64,
    future: F,
) -> Result<F::Output, Elapsed> {
    let call = pin!(future);
    let sleep = pin!(clock.sleep(ms));
    match select(call, sleep).await {
        Either::Left((output, _)) => Ok(output),
        Either::Right(((), _)) => Err(Elapsed),
    }
}
