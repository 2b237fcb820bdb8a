//! State changes, as reported to observers (and logged once across instances).

use serde::Serialize;

use super::state::BreakerState;
use super::window::TripReason;

/// A state change, reported once by the writer that won it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    /// State before.
    pub from: BreakerState,
    /// State after.
    pub to: BreakerState,
    /// When (epoch ms).
    pub at_ms: i64,
    /// Why.
    pub reason: TransitionReason,
}

/// Why a transition happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TransitionReason {
    /// The window crossed a threshold.
    Tripped {
        /// Which threshold.
        #[serde(flatten)]
        reason: TripReason,
    },
    /// The reset timeout elapsed and a probe was admitted.
    ResetTimeoutElapsed,
    /// The probe succeeded.
    ProbeSucceeded,
    /// The probe failed.
    ProbeFailed,
}
