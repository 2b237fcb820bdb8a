//! Exports `events` (ARCHITECTURE §6): relays the transactional outbox to Redis
//! (`XADD` to the stream `orders.events`, then `PUBLISH` on channel `orders.events`),
//! marks rows delivered once Redis stored them in the stream, retries with backoff and
//! dead-letters after `outbox_max_attempts` (`relay.rs` says why the stream, not the
//! channel, decides delivery).
//!
//! Reusable by any Spin app with an `outbox` table of the same schema (`outbox.rs`), which the
//! app creates itself (the emitter runs no DDL). It has no manifest configuration of its own:
//! composed into its caller, it runs with the caller's `default` SQLite database, its variables
//! (`redis_url`, optional `outbox_max_attempts`, `events_stream_maxlen`) and its outbound hosts.

// The generated export glue is the only unsafe code (allowed below).
#![deny(unsafe_code)]

mod config;
mod link;
mod outbox;
mod relay;

/// Bindings for the `shop:events/event-emitter` world.
mod bindings {
    #![allow(missing_docs, dead_code, clippy::all)]
    wit_bindgen::generate!({
        path: "../../wit",
        world: "shop:events/event-emitter",
        // The interfaces live in `wit/deps/*` packages: generate bindings for them too.
        generate_all,
    });
}

use bindings::exports::shop::events::events::{
    DispatchReport, EventStatus, EventsError, Guest, OutboxEntry, OutboxStats,
};

/// The exported implementation; all state lives in SQLite and Redis, none here.
struct EventEmitter;

/// The canonical-ABI glue that wit-bindgen generates for the exports.
#[allow(unsafe_code)]
mod export {
    use super::EventEmitter;
    crate::bindings::export!(EventEmitter with_types_in crate::bindings);
}

impl Guest for EventEmitter {
    async fn dispatch(max: u32) -> Result<DispatchReport, EventsError> {
        relay::dispatch(max).await
    }

    async fn stats() -> Result<OutboxStats, EventsError> {
        outbox::Outbox::open().await?.stats().await
    }

    async fn replay(event_id: String) -> Result<(), EventsError> {
        outbox::Outbox::open()
            .await?
            .replay(&event_id, guest::clock::now_ms())
            .await
    }

    async fn list_events(status: EventStatus, limit: u32) -> Result<Vec<OutboxEntry>, EventsError> {
        outbox::Outbox::open().await?.list(status, limit).await
    }
}
