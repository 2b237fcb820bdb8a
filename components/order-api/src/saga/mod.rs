//! The create-order saga (ARCHITECTURE §2, issue 4 point 3): validate the buyer, price the
//! products, store the order `pending`, reserve stock, charge, confirm. Each step is recorded
//! before the next side effect, so [`recovery`] can finish or compensate a saga whose instance
//! died, with the same idempotency keys (nothing reserved or charged twice).

mod create;
mod outcome;
pub(crate) mod recovery;
mod steps;

pub(crate) use create::create_order;
pub(crate) use outcome::{Outcome, RETRY_AFTER_S, reply as outcome_reply};
pub(crate) use steps::{compensate, transition};

use crate::bindings::shop::adapters::types::{DependencyError, TraceContext};

/// The trace context to send on every call made for `traceparent`, with the inbound
/// `tracestate` while the request that carried it is in flight.
pub(crate) fn trace(traceparent: Option<&str>) -> Option<TraceContext> {
    traceparent.map(|traceparent| TraceContext {
        traceparent: traceparent.to_owned(),
        tracestate: crate::telemetry::tracestate_for(traceparent),
    })
}

/// A short, operator-readable description of a dependency failure.
pub(crate) fn describe(error: &DependencyError) -> String {
    match error {
        DependencyError::Unavailable(why) => format!("unavailable ({why})"),
        DependencyError::NotFound => "not found".into(),
        DependencyError::Rejected(why) => format!("rejected the request ({why})"),
        DependencyError::Timeout => "did not answer in time".into(),
        DependencyError::CircuitOpen => "is failing; its circuit breaker is open".into(),
    }
}
