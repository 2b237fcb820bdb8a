//! Redis-triggered on channel `payments.events` (ARCHITECTURE §6): records each payment
//! notification in the `payment_inbox` table, deduplicated by CloudEvent id, so the
//! notification survives and is applied exactly once (applying it to orders comes with
//! the saga issue).
//!
//! A malformed message is recorded too (status `malformed`, keyed by a hash of its body)
//! and acknowledged: redelivering it could never make it valid, and an error would only
//! make the trigger log the same failure again. Storage failures are returned as errors.

// No `unsafe_code` lint here: `#[redis_subscriber]` expands wit-bindgen's export glue
// (unsafe by nature) into this crate, next to the handler. The handwritten code has none.

mod inbox;

use bytes::Bytes;
use serde::Deserialize;

/// The CloudEvent fields this listener needs; the whole message is stored as-is.
#[derive(Deserialize)]
struct CloudEvent {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    /// Interpreted when the notification is applied; here it only has to be present.
    data: serde_json::Value,
}

/// Handles one message from `payments.events`.
#[spin_sdk::redis_subscriber]
async fn on_message(message: Bytes) -> anyhow::Result<()> {
    let received_at = inbox::now_ms();
    let entry = match parse(&message) {
        Ok(event) => inbox::Entry::received(event.id, event.event_type, &message, received_at),
        Err(reason) => inbox::Entry::malformed(&message, reason, received_at),
    };
    inbox::record(&entry).await
}

/// A valid notification has a non-empty `id`, a `type` and `data`.
fn parse(message: &[u8]) -> Result<CloudEvent, String> {
    let event: CloudEvent =
        serde_json::from_slice(message).map_err(|error| format!("not a CloudEvent: {error}"))?;
    if event.id.trim().is_empty() {
        return Err("CloudEvent id is empty".into());
    }
    if event.data.is_null() {
        return Err("CloudEvent has no data".into());
    }
    Ok(event)
}
