//! One relay pass: due outbox rows → Redis.
//!
//! Each event is appended to the app's stream (`events_stream`, default `orders.events`;
//! `XADD … MAXLEN ~ n`) as the fields `id`, `type` and `event` (the full CloudEvent JSON), then
//! the same JSON is published on the app's channel (`events_channel`, default `orders.events`).
//!
//! **The stream is the delivery.** A row is marked delivered once Redis accepted the XADD.
//! A PUBLISH that fails afterwards is noted on the row (`last_error`) but not retried:
//! retrying would append the event to the stream a second time for every consumer group,
//! to repair a channel that is at-most-once anyway (a subscriber that is disconnected at
//! that moment misses the message just the same, and Redis accepts a PUBLISH nobody hears).
//! Guaranteed consumers read the stream; push subscribers get best effort.
//!
//! **Failures.** A row whose payload is not a valid CloudEvent for that row, or that Redis
//! refuses, counts an attempt and is due again after the [`RetrySchedule::RELAY`] backoff;
//! the attempt that reaches `outbox_max_attempts` dead-letters it. When Redis cannot be
//! reached at all, every due row counts an attempt and backs off the same way (so the relay
//! after each order change does not hammer a dead Redis, and operators see the attempts),
//! but an outage never dead-letters: it is not the events' fault, and a long outage must not
//! turn the whole outbox into dead letters. The pass then fails with `broker`. A healthy pass
//! sends no `PING`: only a failed `XADD` is followed by one, which tells the two apart (Redis
//! answers: the row was refused; it does not: an outage, and the rest of the pass waits).

use crate::bindings::exports::shop::events::events::{DispatchReport, EventsError};
use crate::config::RelayConfig;
use std::collections::VecDeque;

use crate::outbox::{DueEvent, Outbox};
use events::{AfterFailure, CloudEvent, RetrySchedule};
use guest::clock;
use spin_sdk::redis::{Connection, RedisParameter};

/// How long a claimed row stays invisible to other relay passes.
const LEASE_MS: i64 = 30_000;

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
    let config = RelayConfig::load().await?;
    let schedule = RetrySchedule::RELAY;

    // One write to take every due row and one to mark the clean deliveries: two short
    // transactions per pass however many events it carries.
    let ids: Vec<String> = due.iter().map(|e| e.event_id.clone()).collect();
    let taken = outbox
        .claim_all(&ids, now, now.saturating_add(LEASE_MS))
        .await?;
    let mut queue: VecDeque<DueEvent> = due
        .into_iter()
        .filter(|e| taken.contains(&e.event_id))
        .collect();
    let redis = match open(&config.redis_url).await {
        Ok(redis) => redis,
        Err(error) => return Err(postpone(&outbox, queue, &error, schedule).await?),
    };
    let mut delivered = Vec::new();
    while let Some(event) = queue.pop_front() {
        report.attempted += 1;
        let attempts = event.attempts.saturating_add(1);
        match deliver(&redis, &event, &config).await {
            Ok(None) => {
                delivered.push(event.event_id.clone());
                report.delivered += 1;
            }
            Ok(Some(note)) => {
                outbox
                    .mark_delivered(&event.event_id, attempts, clock::now_ms(), Some(&note))
                    .await?;
                report.delivered += 1;
            }
            Err(failure) => {
                if let Failure::Redis(error) = &failure
                    && let Err(down) = reachable(&redis, &config.redis_url).await
                {
                    // Redis is gone, not this row's fault: it and the rest of the pass wait
                    // for Redis, none dead-lettered.
                    outbox
                        .mark_all_delivered(&delivered, clock::now_ms())
                        .await?;
                    queue.push_front(event);
                    let error = format!("{error}; {down}");
                    return Err(postpone(&outbox, queue, &error, schedule).await?);
                }
                let error = failure.to_string();
                match schedule.after_failure(attempts, config.max_attempts, clock::now_ms()) {
                    AfterFailure::RetryAt(at) => {
                        outbox
                            .mark_failed(&event.event_id, attempts, &error, Some(at))
                            .await?;
                        report.failed += 1;
                    }
                    AfterFailure::DeadLetter => {
                        outbox
                            .mark_failed(&event.event_id, attempts, &error, None)
                            .await?;
                        report.dead_lettered += 1;
                    }
                }
            }
        }
    }
    outbox
        .mark_all_delivered(&delivered, clock::now_ms())
        .await?;
    Ok(report)
}

/// Redis is unreachable: counts an attempt on every row of `events` (taken by this pass) and
/// backs it off, never dead-lettering. Returns the pass's `broker` error.
async fn postpone(
    outbox: &Outbox,
    events: VecDeque<DueEvent>,
    error: &str,
    schedule: RetrySchedule,
) -> Result<EventsError, EventsError> {
    let now = clock::now_ms();
    let postponed = events.len();
    for event in events {
        let attempts = event.attempts.saturating_add(1);
        let retry_at = schedule.retry_at(attempts, now);
        outbox
            .mark_failed(&event.event_id, attempts, error, Some(retry_at))
            .await?;
    }
    Ok(EventsError::Broker(format!(
        "{error}; {postponed} event(s) stay pending"
    )))
}

/// Why one row was not delivered.
enum Failure {
    /// The row is not a valid envelope for itself: Redis was not asked.
    Invalid(String),
    /// Redis did not take the XADD: a refusal, or Redis is gone (a `PING` tells which).
    Redis(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(error) | Self::Redis(error) => f.write_str(error),
        }
    }
}

/// Checks the envelope, appends it to the stream, then publishes it. `Ok(Some(note))`:
/// stored in the stream, but the publish failed (see the module docs).
async fn deliver(
    redis: &Connection,
    event: &DueEvent,
    config: &RelayConfig,
) -> Result<Option<String>, Failure> {
    check_envelope(event).map_err(Failure::Invalid)?;
    let (stream, channel, stream_maxlen) = (&config.stream, &config.channel, config.stream_maxlen);
    let field = |text: &str| RedisParameter::Binary(text.as_bytes().to_vec());
    let mut arguments = vec![field(stream)];
    if stream_maxlen > 0 {
        // `~`: Redis trims whole macro nodes, which is far cheaper than an exact cap.
        arguments.extend([
            field("MAXLEN"),
            field("~"),
            field(&stream_maxlen.to_string()),
        ]);
    }
    arguments.extend([
        field("*"),
        field("id"),
        field(&event.event_id),
        field("type"),
        field(&event.event_type),
        field("event"),
        field(&event.payload),
    ]);
    redis
        .execute("XADD", arguments)
        .await
        .map_err(|error| Failure::Redis(format!("XADD {stream}: {error:?}")))?;
    match redis.publish(channel, event.payload.as_bytes()).await {
        Ok(()) => Ok(None),
        Err(error) => Ok(Some(format!(
            "stored in stream {stream}; PUBLISH {channel} failed: {error:?}"
        ))),
    }
}

/// A row is only sent as what it claims to be: a valid CloudEvent with the row's id and type.
fn check_envelope(event: &DueEvent) -> Result<(), String> {
    let envelope = CloudEvent::parse(&event.payload)
        .map_err(|error| format!("payload is not a valid CloudEvent: {error}"))?;
    if envelope.id != event.event_id || envelope.event_type != event.event_type {
        return Err(format!(
            "payload is CloudEvent {} of type {}, row is {} of type {}",
            envelope.id, envelope.event_type, event.event_id, event.event_type
        ));
    }
    Ok(())
}

/// Opens Redis (a host may connect lazily: an unreachable Redis then shows at the first
/// command). The URL stays out of error texts (it may hold a password), even where the host's
/// own message quotes it.
async fn open(address: &str) -> Result<Connection, String> {
    Connection::open(address)
        .await
        .map_err(|error| format!("cannot open redis_url: {}", redact(error, address)))
}

/// Whether Redis answers a `PING`: asked only after a command failed, to tell an outage
/// (nothing answers: every row waits) from a refusal of that one row (it counts an attempt
/// towards dead-lettering). A healthy pass sends no `PING`.
async fn reachable(redis: &Connection, address: &str) -> Result<(), String> {
    redis
        .execute("PING", [])
        .await
        .map(drop)
        .map_err(|error| format!("redis_url does not answer: {}", redact(error, address)))
}

/// `error` as text, with the Redis URL (which may hold a password) taken out.
fn redact(error: spin_sdk::redis::Error, address: &str) -> String {
    format!("{error:?}").replace(address, "<redis_url>")
}
