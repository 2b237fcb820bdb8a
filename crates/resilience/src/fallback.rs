//! Where an answer came from, and the contract of the fallback hook.
//!
//! A fallback (last known good record, stale cache entry) stands in for a live answer
//! when the dependency *failed* — 5xx, connection error, timeout — or could not be asked
//! (the breaker refused the call, or the request could not be sent). It is never used for a 4xx or a 404: the dependency answered, and the answer
//! is the truth. [`crate::Guard::run_with_fallback`] calls the hook at most once, after the
//! last attempt, and counts a served fallback in the same window write as the call.

/// Where an answer came from (mirrors the WIT `data-source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A live call made for this request.
    Live,
    /// A fresh cache entry; no call was made.
    Cache,
    /// A stale entry or last known good record, because the call failed or was refused.
    Fallback,
}

/// A value and its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served<T> {
    /// The answer.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

impl<T> Served<T> {
    /// A live answer.
    pub fn live(value: T) -> Self {
        Self {
            value,
            source: Source::Live,
        }
    }

    /// A fallback answer.
    pub fn fallback(value: T) -> Self {
        Self {
            value,
            source: Source::Fallback,
        }
    }
}
