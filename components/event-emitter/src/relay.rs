//! One relay pass: due outbox rows → Redis.
//!
//! Each event is appended to the stream `orders.events` as the fields `id`, `type` and
//! `event` (the full CloudEvent JSON), then the CloudEvent JSON is published on the
//! channel `orders.events`. A row is marked delivered only after both succeeded; if the
//! publish fails after the append, the retry appends again, which at-least-once delivery
//! allows (consumers dedupe by `id`).

use crate::bindings::exports::shop::order::events::{DispatchReport, EventsError};
use crate::clock;
use crate::outbox::{DueEvent, Outbox};
use spin_sdk::redis::{Connection, RedisParameter};

/// The Redis Stream durable consumers (Notification, Analytics) read.
const STREAM: &str = "orders.events";
/// The Redis channel push subscribers (Spin Redis triggers) listen on.
const CHANNEL: &str = "orders.events";
/// How long a claimed row stays invisible to other relay passes.
const LEASE_MS: i64 = 30_000;
/// Used when the app does not define `outbox_max_attempts`.
const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// First retry delay; it doubles per attempt up to `MAX_BACKOFF_MS`.
const BASE_BACKOFF_MS: i64 = 1_000;
const MAX_BACKOFF_MS: i64 = 300_000;

/// Delivers up to `max` due rows.
pub(crate) async fn dispatch(max: u32) -> Result<DispatchReport, EventsError> {
    let mut report = DispatchReport {
        attempted: 0,
        delivered: 0,
        failed: 0,
        dead_lettered: 0,
    };
    let outbox = Outbox::open().await?;
    let now = clock::now_ms();
    let due = outbox.due(now, max).await?;
    if due.is_empty() {
        return Ok(report);
    }

    let max_attempts = max_attempts().await?;
    // Not reaching Redis at all is an outage, not a fault of these events: charge no
    // attempt, so a long outage cannot dead-letter the whole outbox.
    let redis = connect().await?;

    for event in due {
        if !outbox
            .claim(&event.event_id, now, now.saturating_add(LEASE_MS))
            .await?
        {
            continue;
        }
        report.attempted += 1;
        let attempts = event.attempts.saturating_add(1);
        match deliver(&redis, &event).await {
            Ok(()) => {
                outbox
                    .mark_delivered(&event.event_id, attempts, clock::now_ms())
                    .await?;
                report.delivered += 1;
            }
            Err(error) if attempts >= max_attempts => {
                outbox
                    .mark_failed(&event.event_id, attempts, &error, None)
                    .await?;
                report.dead_lettered += 1;
            }
            Err(error) => {
                let retry_at = clock::now_ms().saturating_add(backoff_ms(attempts));
                outbox
                    .mark_failed(&event.event_id, attempts, &error, Some(retry_at))
                    .await?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// Appends the event to the stream, then publishes it.
async fn deliver(redis: &Connection, event: &DueEvent) -> Result<(), String> {
    let field = |text: &str| RedisParameter::Binary(text.as_bytes().to_vec());
    redis
        .execute(
            "XADD",
            [
                field(STREAM),
                field("*"),
                field("id"),
                field(&event.event_id),
                field("type"),
                field(&event.event_type),
                field("event"),
                field(&event.payload),
            ],
        )
        .await
        .map_err(|error| format!("XADD {STREAM}: {error:?}"))?;
    redis
        .publish(CHANNEL, event.payload.as_bytes())
        .await
        .map_err(|error| format!("PUBLISH {CHANNEL}: {error:?}"))
}

/// Opens Redis at `redis_url` and checks it answers: a host may open connections
/// lazily, and an unreachable Redis must surface here, before any attempt is charged.
/// The URL itself stays out of error texts: it may hold a password.
async fn connect() -> Result<Connection, EventsError> {
    let address = spin_sdk::variables::get("redis_url")
        .await
        .map_err(|error| EventsError::InvalidConfig(format!("redis_url: {error:?}")))?;
    let redis = Connection::open(&address)
        .await
        .map_err(|error| EventsError::Broker(format!("cannot open redis_url: {error:?}")))?;
    redis
        .execute("PING", [])
        .await
        .map_err(|error| EventsError::Broker(format!("redis_url does not answer: {error:?}")))?;
    Ok(redis)
}

/// `outbox_max_attempts`, or the default when the app does not define it.
async fn max_attempts() -> Result<u32, EventsError> {
    match spin_sdk::variables::get("outbox_max_attempts").await {
        Ok(value) => match value.trim().parse::<u32>() {
            Ok(attempts) if attempts > 0 => Ok(attempts),
            _ => Err(EventsError::InvalidConfig(format!(
                "outbox_max_attempts must be a positive integer, got {value:?}"
            ))),
        },
        Err(spin_sdk::variables::Error::Undefined(_)) => Ok(DEFAULT_MAX_ATTEMPTS),
        Err(error) => Err(EventsError::InvalidConfig(format!(
            "outbox_max_attempts: {error:?}"
        ))),
    }
}

/// Delay before retry number `attempts` (1-based): 1 s, 2 s, 4 s, … capped at 5 min.
fn backoff_ms(attempts: u32) -> i64 {
    let doublings = attempts.saturating_sub(1).min(20);
    BASE_BACKOFF_MS
        .saturating_mul(1_i64 << doublings)
        .min(MAX_BACKOFF_MS)
}
