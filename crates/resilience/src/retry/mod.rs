//! Retry: which outcomes may be repeated ([`policy`]), how long to wait between attempts
//! ([`backoff`]), how long the whole call may take ([`budget`]) and what the dependency
//! asked for ([`retry_after`]).
//!
//! A retry is only ever considered for a retryable outcome (5xx, connection error,
//! timeout; never a 4xx) of a call that is safe to repeat ([`Idempotency`]). The loop that
//! applies the policy is [`crate::guard::Guard`].

pub mod backoff;
pub mod budget;
pub mod policy;
pub mod retry_after;

pub use backoff::{Backoff, Jitter};
pub use budget::Budget;
pub use policy::{Decision, Idempotency, RetryPolicy, StopReason};
pub use retry_after::parse_retry_after;
