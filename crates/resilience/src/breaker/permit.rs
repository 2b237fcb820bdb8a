//! The answer to "may I call?": a permit (possibly for the half-open probe) or a refusal.

use super::state::BreakerState;
use super::transition::Transition;

/// Whether a call may go ahead.
#[derive(Debug)]
pub enum Admission {
    /// Call, then report with [`Breaker::record`].
    Permitted(Permit),
    /// Do not call: the breaker is open (or every probe slot is taken).
    Refused,
}

/// Permission for one call (for a probe: exactly one attempt).
#[derive(Clone, Debug)]
pub struct Permit {
    pub(super) observed: BreakerState,
    pub(super) probe_token: Option<String>,
    pub(super) transition: Option<Transition>,
    /// The window generation of the state read at admission (`None` when unknown).
    pub(super) generation: Option<u64>,
}

impl Permit {
    /// A permit for when the store could not be read: fail open, as if closed, so an
    /// outage of the state store does not become an outage of every dependency.
    pub fn fail_open() -> Self {
        Self {
            observed: BreakerState::Closed,
            probe_token: None,
            transition: None,
            generation: None,
        }
    }

    /// Whether this is a half-open probe.
    pub fn is_probe(&self) -> bool {
        self.probe_token.is_some()
    }

    /// The open → half-open transition this admission made, if it made one.
    pub fn transition(&self) -> Option<&Transition> {
        self.transition.as_ref()
    }
}
