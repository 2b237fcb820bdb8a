//! How the result of one call is classified.
//!
//! The breaker counts *failures of the dependency*: 5xx answers, connection errors and
//! timeouts. A 4xx is the dependency working correctly and telling us our request was
//! wrong, so it never counts against the breaker and is never retried.

use serde::{Deserialize, Serialize};

/// What one attempt amounted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// A usable answer (including business refusals that are part of the contract).
    Success,
    /// A 4xx: the dependency is healthy and refused the request. Not a failure, not retried.
    Rejected,
    /// A 5xx, a connection error or an unreadable answer. Counts as a failure; retryable.
    Failure,
    /// No answer within the per-attempt timeout. Counts as a failure; retryable.
    Timeout,
    /// The request was never sent (no credentials could be obtained, say): the dependency
    /// is not judged, nothing is counted, nothing is retried.
    NotSent,
}

impl OutcomeKind {
    /// The classification of an HTTP status: 5xx → failure, 4xx → rejected, else success.
    ///
    /// ```
    /// use resilience::OutcomeKind;
    /// assert_eq!(OutcomeKind::from_status(503), OutcomeKind::Failure);
    /// assert_eq!(OutcomeKind::from_status(404), OutcomeKind::Rejected);
    /// assert_eq!(OutcomeKind::from_status(201), OutcomeKind::Success);
    /// ```
    pub fn from_status(status: u16) -> Self {
        match status {
            500..=599 => Self::Failure,
            400..=499 => Self::Rejected,
            _ => Self::Success,
        }
    }

    /// Whether a breaker counts it against the dependency.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failure | Self::Timeout)
    }

    /// Whether repeating the same request could give a different answer.
    pub fn is_retryable(self) -> bool {
        self.is_failure()
    }

    /// Whether the dependency could not give an answer (it failed, or it was never
    /// asked): the cases a fallback may stand in for.
    pub fn wants_fallback(self) -> bool {
        self.is_failure() || self == Self::NotSent
    }
}

/// One completed attempt as the breaker's window records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallOutcome {
    /// Its classification.
    pub kind: OutcomeKind,
    /// How long it took, in milliseconds.
    pub latency_ms: u64,
}

impl CallOutcome {
    /// An outcome of `kind` that took `latency_ms`.
    pub fn new(kind: OutcomeKind, latency_ms: u64) -> Self {
        Self { kind, latency_ms }
    }
}

/// Implemented by a call's error type so the policies can classify it.
pub trait Classify {
    /// The error's classification (never [`OutcomeKind::Success`] for a real error; a
    /// business answer belongs in the `Ok` side).
    fn kind(&self) -> OutcomeKind;

    /// The delay the dependency asked for (`Retry-After`), in milliseconds from now.
    fn retry_after_ms(&self) -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_hundreds_and_timeouts_are_failures_four_hundreds_are_not() {
        for status in [500, 502, 503, 504, 599] {
            assert!(OutcomeKind::from_status(status).is_failure(), "{status}");
        }
        for status in [400, 401, 404, 409, 422, 429] {
            let kind = OutcomeKind::from_status(status);
            assert!(!kind.is_failure() && !kind.is_retryable(), "{status}");
        }
        assert!(OutcomeKind::Timeout.is_failure() && OutcomeKind::Timeout.is_retryable());
        assert!(!OutcomeKind::Success.is_failure());
        assert!(!OutcomeKind::NotSent.is_failure() && OutcomeKind::NotSent.wants_fallback());
    }
}
