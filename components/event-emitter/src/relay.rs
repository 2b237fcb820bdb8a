//! One relay pass: due outbox rows → Redis.
//!
//! Each event is appended to the app's stream (`events_stream`, default `orders.events`;
//! `XADD … MAXLEN ~ n`) as the fields `id`, `type` and `event` (the full CloudEvent JSON), then
//! the same JSON is published on the app's channel (`events_channel`, default `orders.events`).
//!
//! **One round trip per pass.** Every event of a pass goes to Redis in one `EVAL` of
//! [`DELIVER_SCRIPT`], which runs each event's `XADD` and `PUBLISH` in Redis and answers one
//! outcome per event; the pass then marks the rows in one write. A Redis that refuses scripts
//! (an ACL without `@scripting`, say) but answers a `PING` gets each event as its own `XADD`
//! and `PUBLISH` instead, for the rest of the instance's life.
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
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};
use std::sync::atomic::{AtomicBool, Ordering};

/// How long a claimed row stays invisible to other relay passes.
const LEASE_MS: i64 = 30_000;

/// Delivers a batch in Redis: `KEYS[1]` the stream; `ARGV[1]` the channel, `ARGV[2]` the
/// stream's `MAXLEN ~` (`0`: no cap), then `id`, `type`, `event` per event. Answers one text
/// per event, in order: `ok`, `publish <error>` (in the stream, the publish failed) or
/// `xadd <error>` (not in the stream). `redis.pcall` keeps one event's refusal from
/// stopping the others.
const DELIVER_SCRIPT: &str = r"
local answers = {}
for i = 3, #ARGV, 3 do
  local added
  if ARGV[2] == '0' then
    added = redis.pcall('XADD', KEYS[1], '*', 'id', ARGV[i], 'type', ARGV[i + 1], 'event', ARGV[i + 2])
  else
    added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*',
      'id', ARGV[i], 'type', ARGV[i + 1], 'event', ARGV[i + 2])
  end
  if type(added) == 'table' and added.err then
    answers[#answers + 1] = 'xadd ' .. added.err
  else
    local published = redis.pcall('PUBLISH', ARGV[1], ARGV[i + 2])
    if type(published) == 'table' and published.err then
      answers[#answers + 1] = 'publish ' .. published.err
    else
      answers[#answers + 1] = 'ok'
    end
  end
end
return answers
";

/// Cleared in this instance once Redis refused [`DELIVER_SCRIPT`] while answering a `PING`.
static SCRIPTS_ALLOWED: AtomicBool = AtomicBool::new(true);

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
    let mut outcomes = VecDeque::new();
    if SCRIPTS_ALLOWED.load(Ordering::Relaxed) {
        match deliver_all(&redis, &queue, &config).await {
            Ok(answers) => outcomes = answers,
            Err(error) => {
                if let Err(down) = reachable(&redis, &config.redis_url).await {
                    let error = format!("{error}; {down}");
                    return Err(postpone(&outbox, queue, &error, schedule).await?);
                }
                // Redis is there but will not run the script: one event at a time from now on.
                SCRIPTS_ALLOWED.store(false, Ordering::Relaxed);
            }
        }
    }
    while let Some(event) = queue.pop_front() {
        report.attempted += 1;
        let attempts = event.attempts.saturating_add(1);
        let outcome = match outcomes.pop_front() {
            Some(outcome) => outcome,
            None => deliver(&redis, &event, &config).await,
        };
        match outcome {
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
    /// Redis answered and refused this row's XADD.
    Refused(String),
    /// Redis did not take the XADD: a refusal, or Redis is gone (a `PING` tells which).
    Redis(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(error) | Self::Refused(error) | Self::Redis(error) => f.write_str(error),
        }
    }
}

/// One event's outcome: `Ok(None)` delivered, `Ok(Some(note))` stored in the stream but the
/// publish failed (see the module docs), `Err` not delivered.
type Outcome = Result<Option<String>, Failure>;

/// Delivers every event of `queue` in one `EVAL` of [`DELIVER_SCRIPT`] and returns their
/// outcomes in order. Rows that are not valid envelopes are not sent and fail as
/// [`Failure::Invalid`]. `Err`: the script did not run (Redis is gone, or refuses scripts).
async fn deliver_all(
    redis: &Connection,
    queue: &VecDeque<DueEvent>,
    config: &RelayConfig,
) -> Result<VecDeque<Outcome>, String> {
    let checked: Vec<Result<(), String>> = queue.iter().map(check_envelope).collect();
    let field = |text: &str| RedisParameter::Binary(text.as_bytes().to_vec());
    let mut arguments = vec![
        field(DELIVER_SCRIPT),
        field("1"),
        field(&config.stream),
        field(&config.channel),
        field(&config.stream_maxlen.to_string()),
    ];
    for (event, _) in queue.iter().zip(&checked).filter(|(_, c)| c.is_ok()) {
        arguments.extend([
            field(&event.event_id),
            field(&event.event_type),
            field(&event.payload),
        ]);
    }
    let sent = checked.iter().filter(|c| c.is_ok()).count();
    let mut answers = if sent == 0 {
        Vec::new().into_iter()
    } else {
        let answers = redis
            .execute("EVAL", arguments)
            .await
            .map_err(|error| format!("EVAL (XADD {}): {error:?}", config.stream))?;
        if answers.len() != sent {
            return Err(format!(
                "EVAL (XADD {}) answered {} outcomes for {sent} events",
                config.stream,
                answers.len()
            ));
        }
        answers.into_iter()
    };
    Ok(checked
        .into_iter()
        .map(|checked| {
            checked.map_err(Failure::Invalid)?;
            script_outcome(answers.next(), config)
        })
        .collect())
}

/// One event's answer from [`DELIVER_SCRIPT`] as an [`Outcome`].
fn script_outcome(answer: Option<RedisResult>, config: &RelayConfig) -> Outcome {
    let text = match answer {
        Some(RedisResult::Binary(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        Some(RedisResult::Status(text)) => text,
        other => return Err(Failure::Redis(format!("EVAL answered {other:?}"))),
    };
    if text == "ok" {
        Ok(None)
    } else if let Some(error) = text.strip_prefix("publish ") {
        Ok(Some(format!(
            "stored in stream {}; PUBLISH {} failed: {error}",
            config.stream, config.channel
        )))
    } else {
        let error = text.strip_prefix("xadd ").unwrap_or(&text);
        Err(Failure::Refused(format!("XADD {}: {error}", config.stream)))
    }
}

/// Checks the envelope, appends it to the stream, then publishes it: the one-event path
/// for a Redis that refuses [`DELIVER_SCRIPT`].
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RelayConfig {
        RelayConfig {
            redis_url: "redis://secret@127.0.0.1:6379".to_owned(),
            max_attempts: 3,
            stream_maxlen: 0,
            stream: "orders.events".to_owned(),
            channel: "orders.events".to_owned(),
        }
    }

    fn answer(text: &str) -> Option<RedisResult> {
        Some(RedisResult::Binary(text.as_bytes().to_vec()))
    }

    #[test]
    fn the_scripts_answers_become_delivered_noted_or_refused_rows() {
        let config = config();
        assert!(matches!(script_outcome(answer("ok"), &config), Ok(None)));
        match script_outcome(answer("publish ERR no permission"), &config) {
            Ok(Some(note)) => assert_eq!(
                note,
                "stored in stream orders.events; PUBLISH orders.events failed: ERR no permission"
            ),
            _ => panic!("a failed publish is a delivery with a note"),
        }
        match script_outcome(answer("xadd WRONGTYPE Operation against a key"), &config) {
            Err(Failure::Refused(error)) => {
                assert_eq!(
                    error,
                    "XADD orders.events: WRONGTYPE Operation against a key"
                );
            }
            _ => panic!("a refused XADD is the row's failure, without a PING"),
        }
    }

    #[test]
    fn a_missing_or_unexpected_answer_is_a_redis_failure_that_asks_for_a_ping() {
        let config = config();
        assert!(matches!(
            script_outcome(None, &config),
            Err(Failure::Redis(_))
        ));
        assert!(matches!(
            script_outcome(Some(RedisResult::Int64(1)), &config),
            Err(Failure::Redis(_))
        ));
    }
}
