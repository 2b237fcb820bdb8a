//! Where a breaker keeps its shared state.
//!
//! Two records per breaker, so the hot path never rewrites the rarely changing one:
//!
//! | record | written | size |
//! |---|---|---|
//! | [`StateRecord`] | on transitions and probe claims only | ~150 bytes |
//! | [`RollingWindow`] | after every call (one read-modify-write) | ~0.2–1 KB |
//!
//! The store needs nothing but get and set of one key (no compare-and-swap, no
//! increment), which is what `spin:key-value` offers. Reads must see the latest completed
//! write of the same key (true of Spin's SQLite and Redis stores).

use std::future::Future;

use super::state::StateRecord;
use super::window::RollingWindow;

/// Storage for one breaker's two records.
///
/// Implementations that find a record they cannot decode should return `Ok(None)` (and
/// report it): a corrupt record then resets to closed instead of blocking every call.
pub trait BreakerStore {
    /// A storage failure.
    type Error: std::fmt::Display;

    /// Reads the state record; `None` when there is none (a closed breaker).
    fn load_state(&self) -> impl Future<Output = Result<Option<StateRecord>, Self::Error>>;

    /// Replaces the state record.
    fn save_state(&self, record: &StateRecord) -> impl Future<Output = Result<(), Self::Error>>;

    /// Reads the rolling window; `None` when there is none (no calls yet).
    fn load_window(&self) -> impl Future<Output = Result<Option<RollingWindow>, Self::Error>>;

    /// Replaces the rolling window.
    fn save_window(&self, window: &RollingWindow) -> impl Future<Output = Result<(), Self::Error>>;
}

impl<S: BreakerStore + ?Sized> BreakerStore for &S {
    type Error = S::Error;

    fn load_state(&self) -> impl Future<Output = Result<Option<StateRecord>, Self::Error>> {
        (**self).load_state()
    }

    fn save_state(&self, record: &StateRecord) -> impl Future<Output = Result<(), Self::Error>> {
        (**self).save_state(record)
    }

    fn load_window(&self) -> impl Future<Output = Result<Option<RollingWindow>, Self::Error>> {
        (**self).load_window()
    }

    fn save_window(&self, window: &RollingWindow) -> impl Future<Output = Result<(), Self::Error>> {
        (**self).save_window(window)
    }
}
