//! Resilience policies for calls to other services, shaped for a serverless host.
//!
//! An instance of a Spin component may live for one request, so a breaker kept in memory
//! protects nothing. Here every piece of state that must outlive a call — the breaker's
//! state and its rolling window, cache entries — is a plain serialisable value, read from
//! and written to an injected [`BreakerStore`] (the component backs it with Spin's
//! key-value store, shared by every instance on every node).
//!
//! Layout, tower-style, one concern per module:
//!
//! | module | what |
//! |---|---|
//! | [`breaker`] | closed / open / half-open state machine ([`breaker::state`]), rolling window in buckets ([`breaker::window`]), the store trait ([`breaker::store`]) |
//! | [`retry`] | policy ([`retry::policy`]), exponential backoff with jitter ([`retry::backoff`]), overall budget ([`retry::budget`]), `Retry-After` ([`retry::retry_after`]) |
//! | [`timeout`] | per-attempt timeout by racing the call against the injected clock's sleep |
//! | [`cache`] | cache entries with TTL and stale-if-error |
//! | [`near_cache`] | an instance's copy of the shared cache's fresh entries |
//! | [`fallback`] | where an answer came from, and the fallback hook's contract |
//! | [`guard`] | breaker + timeout + retry + fallback around one logical call |
//! | [`clock`] | the injected wall clock, sleep and randomness |
//! | [`outcome`] | how a call's result is classified (what a breaker counts, what a retry may repeat) |
//! | [`testing`] | a manual clock, a scripted random source and an in-memory store, for tests |
//!
//! Nothing here sleeps on its own or reads the system clock: time, randomness and storage
//! are passed in, so tests drive every transition without waiting.

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

pub mod breaker;
pub mod cache;
pub mod clock;
pub mod fallback;
pub mod guard;
pub mod near_cache;
pub mod outcome;
pub mod retry;
pub mod timeout;

pub mod testing;

pub use breaker::{
    Admission, Breaker, BreakerConfig, BreakerState, BreakerStore, Permit, Snapshot, Tally,
    Transition, WriteBehind,
};
pub use cache::{CacheEntry, CachePolicy, Freshness};
pub use clock::{Clock, Random};
pub use fallback::{Served, Source};
pub use guard::{Guard, GuardError, Observer};
pub use near_cache::NearCache;
pub use outcome::{CallOutcome, Classify, OutcomeKind};
pub use retry::{Idempotency, Jitter, RetryPolicy};
pub use timeout::{Elapsed, timeout};
