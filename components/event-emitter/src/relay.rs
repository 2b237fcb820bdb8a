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
//! turn the whole outbox into dead letters. The pass then fails with `broker`.

use crate::bindings::exports::shop::events::events::{DispatchReport, EventsError};
use crate::config::RelayConfig;
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

    let redis = match connect(&config.redis_url).await {
        Ok(redis) => redis,
        Err(error) => {
            let postponed = postpone_all(&outbox, due, now, &error, schedule).await?;
            return Err(EventsError::Broker(format!(
                "{error}; {postponed} event(s) stay pending"
            )));
        }
    };

    // One write to take every due row and one to mark the clean deliveries: two short
    // transactions per pass however many events it carries.
    let ids: Vec<String> = due.iter().map(|e| e.event_id.clone()).collect();
    let taken = outbox
        .claim_all(&ids, now, now.saturating_add(LEASE_MS))
        .await?;
    let mut delivered = Vec::new();
    for event in due.into_iter().filter(|e| taken.contains(&e.event_id)) {
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
            Err(error) => {
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

/// Takes a due row for this pass by pushing its next attempt past a lease; false when
/// another pass took it first. If this pass dies, the row is due again after the lease.
async fn claim(outbox: &Outbox, event: &DueEvent, now: i64) -> Result<bool, EventsError> {
    outbox
        .claim(&event.event_id, now, now.saturating_add(LEASE_MS))
        .await
}

/// Redis is unreachable: counts an attempt on every due row and backs it off, never
/// dead-lettering. Returns how many rows this pass postponed.
async fn postpone_all(
    outbox: &Outbox,
    due: Vec<DueEvent>,
    now: i64,
    error: &str,
    schedule: RetrySchedule,
) -> Result<u32, EventsError> {
    let mut postponed = 0;
    for event in due {
        if !claim(outbox, &event, now).await? {
            continue;
        }
        let attempts = event.attempts.saturating_add(1);
        let retry_at = schedule.retry_at(attempts, now);
        outbox
            .mark_failed(&event.event_id, attempts, error, Some(retry_at))
            .await?;
        postponed += 1;
    }
    Ok(postponed)
}

/// Checks the envelope, appends it to the stream, then publishes it. `Ok(Some(note))`:
/// stored in the stream, but the publish failed (see the module docs).
async fn deliver(
    redis: &Connection,
    event: &DueEvent,
    config: &RelayConfig,
) -> Result<Option<String>, String> {
    check_envelope(event)?;
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
        .map_err(|error| format!("XADD {stream}: {error:?}"))?;
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

/// Opens Redis and checks it answers: a host may open connections lazily, and an
/// unreachable Redis must surface here, as an outage. The URL stays out of error texts (it
/// may hold a password), even where the host's own message quotes it.
async fn connect(address: &str) -> Result<Connection, String> {
    let redact =
        |error: spin_sdk::redis::Error| format!("{error:?}").replace(address, "<redis_url>");
    let redis = Connection::open(address)
        .await
        .map_err(|error| format!("cannot open redis_url: {}", redact(error)))?;
    redis
        .execute("PING", [])
        .await
        .map_err(|error| format!("redis_url does not answer: {}", redact(error)))?;
    Ok(redis)
}
