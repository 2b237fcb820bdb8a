//! What the four components (and apps reusing them) share inside Wasm, so each concern has
//! one implementation:
//!
//! - [`clock`]: wall-clock time in epoch milliseconds (the unit every table and record uses);
//! - [`ids`]: identifiers from WASI `random` — hex ([`hex`] crate), time-ordered UUID v7
//!   ([`uuid`] crate) and order ids;
//! - [`trace`]: the W3C `traceparent` ([`events::trace`] parses it, for envelopes and headers
//!   alike) and new trace and span ids;
//! - [`log`]: one JSON object per stderr line, in one write;
//! - [`sqlite`]: the SQLite settings the app chooses itself (WAL, `synchronous = NORMAL`),
//!   since Spin leaves SQLite's defaults, the connections a reused instance keeps and its
//!   requests take turns on (`PooledConnection`), since Spin opens a new one per `open`, and
//!   their combined inserts (group commit);
//! - [`turns`]: turn-taking between the concurrent requests of one instance, woken through
//!   component-model futures.
//!
//! Its I/O (WASI random, `spin:sqlite`, unit futures) only works inside a `wasm32-wasip2`
//! component.

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

pub mod clock;
pub mod ids;
pub mod log;
pub mod sqlite;
pub mod trace;
pub mod turns;
