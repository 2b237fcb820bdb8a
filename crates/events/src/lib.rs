//! Order events (ARCHITECTURE §6), as plain Rust that compiles natively and for
//! `wasm32-wasip2`:
//!
//! - [`CloudEvent`]: the CloudEvents 1.0 JSON envelope every event travels in, with a
//!   builder for writers and strict parsing for the relay and for consumers;
//! - [`types`]: the event type names (`order.created.v1`, …, `payment.captured.v1`, …) and
//!   the Redis stream and channel names;
//! - [`outbox_schema`] / [`OUTBOX_SCHEMA`]: the one definition of the transactional outbox
//!   table, for any (checked) table name;
//! - [`RetrySchedule`]: when the relay tries a failed delivery again, and when it gives up.
//!
//! Nothing here reads a clock or touches I/O: callers pass `now`.

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

mod backoff;
mod envelope;
mod schema;
pub mod trace;
pub mod types;

pub use backoff::{AfterFailure, RetrySchedule};
pub use envelope::{CloudEvent, CloudEventBuilder, EnvelopeError, JSON_CONTENT_TYPE, SPEC_VERSION};
pub use schema::{OUTBOX_SCHEMA, check_table_name, outbox_schema};
pub use trace::is_valid_traceparent;
