//! What the four components (and apps reusing them) share inside Wasm, so each concern has
//! one implementation:
//!
//! - [`clock`]: wall-clock time in epoch milliseconds (the unit every table and record uses);
//! - [`ids`]: random identifiers from WASI `random` — hex ([`hex`] crate), UUID v4
//!   ([`uuid`] crate), order ids;
//! - [`trace`]: the W3C `traceparent` ([`events::trace`] parses it, for envelopes and headers
//!   alike) and new trace and span ids;
//! - [`log`]: one JSON object per stderr line, in one write;
//! - [`sqlite`]: the SQLite settings the app chooses itself (WAL, `synchronous = NORMAL`),
//!   since Spin leaves SQLite's defaults, and the connections a reused instance keeps
//!   (`PooledConnection`), since Spin opens a new one per `open`.
//!
//! Its I/O (WASI random, `spin:sqlite`) only works inside a `wasm32-wasip2` component.

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

pub mod clock;
pub mod ids;
pub mod log;
pub mod sqlite;
pub mod trace;
