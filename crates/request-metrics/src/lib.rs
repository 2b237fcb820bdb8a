//! HTTP request metrics as plain Rust that compiles natively and for `wasm32-wasip2`:
//!
//! - [`RouteRecord`] / [`Series`]: the per-route record kept in the shared key-value store
//!   (`metrics:http:{route}`), which `/metrics` reads; records add up with
//!   [`RouteRecord::merge`];
//! - [`Batch`]: the requests one instance answered since it last wrote, per route;
//! - [`InstanceMetrics`] and [`FlushPolicy`]: when an instance writes its batch, so that a
//!   request costs a fraction of a key-value operation instead of a read-modify-write.
//!
//! Nothing here reads a clock or touches I/O: callers pass `now_ms` and do the writing.

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

mod batch;
mod instance;
mod record;

pub use batch::Batch;
pub use instance::{Flush, FlushPolicy, InstanceMetrics};
pub use record::{BOUNDS_MS, RouteRecord, Series};
