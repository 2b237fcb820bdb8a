//! One relay pass: due outbox rows → Redis.
//!
//! Each event is appended to the app's stream (`events_stream`, default `orders.events`;
//! `XADD … MAXLEN ~ n`) as the fields `id`, `type` and `event` (the full CloudEvent JSON), then
//! the same JSON is published on the app's channel (`events_channel`, default `orders.events`).
//!
//! **One round trip per pass.** Every valid event of a pass goes to Redis in one `EVAL` of
//! [`DELIVER_SCRIPT`], which runs each event's `XADD` and `PUBLISH` in Redis and answers one
//! outcome per event; the clean deliveries are then marked in one write (a delivery with a
//! note, and each failure, is one write of its own). A Redis that refuses scripts (`NOPERM`
//! from an ACL without `@scripting`, or `unknown command` where `EVAL` is renamed away) gets
//! each event as its own `XADD` and `PUBLISH` instead, for the rest of the instance's life.
//! Any other failed `EVAL` leaves the outcome unknown (the script may have run, in part): the
//! pass is postponed like an outage, and its events may reach the stream twice (at-least-once).
//!
//! **One connection per instance.** Passes of a reused instance share the Redis connection
//! the first one opened ([`crate::link`]); a pass whose `EVAL` fails on a kept connection that
//! no longer answers (a Redis restart closed it) tries once more on a new one before it counts
//! as an outage. (Without scripts, the first failed `XADD` postpones the pass and the next
//! pass opens a new connection.)
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
//! sends no `PING`: only a failed `EVAL` (or, without scripts, a failed `XADD`) is followed by
//! one, which tells the two apart (Redis answers: a refusal; it does not: an outage, and the
//! rest of the pass waits). An `XADD` the script reports as refused is that row's failure and
//! needs no `PING`: Redis answered.

use crate::bindings::exports::shop::events::events::{DispatchReport, EventsError};
use crate::config::RelayConfig;
use crate::link;
use std::collections::VecDeque;

use crate::outbox::{DueEvent, Outbox};
use events::{AfterFailure, CloudEvent, RetrySchedule};
use guest::clock;
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};
use std::cell::Cell;

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
    added = redis.pcall('XADD', KEYS[1], '*',
      'id', ARGV[i], 'type', ARGV[i + 1], 'event', ARGV[i + 2])
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

thread_local! {
    /// Cleared in this instance once Redis refused [`DELIVER_SCRIPT`] as a command it will
    /// not run ([`refuses_scripts`]).
    static SCRIPTS_ALLOWED: Cell<bool> = const { Cell::new(true) };
}

/// One command argument (`XADD`/`EVAL` fields are text; Redis takes them as bytes).
fn field(text: &str) -> RedisParameter {
    RedisParameter::Binary(text.as_bytes().to_vec())
}

/// Whether a failed `EVAL`'s error says Redis will never run it for this client: an ACL
/// refusal (`NOPERM`; the redis crate under Spin's host prints it as `NoPerm:`) or a renamed or
/// disabled command (`unknown command`). Case-insensitive.
fn refuses_scripts(error: &str) -> bool {
    let error = error.to_ascii_lowercase();
    error.contains("noperm") || error.contains("unknown command")
}

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
    // One write to take every due row and one to mark the clean deliveries: two short
    // transactions per pass however many events it carries.
    let ids: Vec<String> = due.iter().map(|e| e.event_id.clone()).collect();
    let taken = outbox
        .claim_all(&ids, now, now.saturating_add(LEASE_MS))
        .await?;
    // Rows that are not valid envelopes for themselves fail on their own: Redis is not asked.
    let mut queue = VecDeque::with_capacity(taken.len());
    for event in due.into_iter().filter(|e| taken.contains(&e.event_id)) {
        match check_envelope(&event) {
            Ok(()) => queue.push_back(event),
            Err(error) => {
                report.attempted += 1;
                record_failure(
                    &outbox,
                    &event,
                    &Failure::Invalid(error),
                    &config,
                    &mut report,
                )
                .await?;
            }
        }
    }
    if queue.is_empty() {
        return Ok(report);
    }
    let (mut redis, mut kept) = match link::connection(&config.redis_url).await {
        Ok(opened) => opened,
        Err(error) => return Err(postpone(&outbox, queue, &error).await?),
    };
    let mut delivered = Vec::new();
    let mut outcomes = VecDeque::new();
    while SCRIPTS_ALLOWED.get() {
        match deliver_all(&redis, &queue, &config).await {
            Ok(answers) => {
                outcomes = answers;
                break;
            }
            Err(error) if refuses_scripts(&error) => {
                // Redis will not run the script for us: one event at a time from now on.
                SCRIPTS_ALLOWED.set(false);
            }
            Err(error) => {
                link::forget(&redis);
                let down = link::reachable(&redis, &config.redis_url).await.err();
                if kept && down.is_some() {
                    // Kept from an earlier pass and closed since (a Redis restart, a proxy, an
                    // idle timeout): once more, on a new connection. Whether the script ran
                    // before the connection died is unknown, so the events may be appended
                    // twice, as when the pass is postponed (at-least-once). Two tries at most
                    // stay well inside the rows' lease ([`LEASE_MS`]).
                    kept = false;
                    match link::connection(&config.redis_url).await {
                        Ok((fresh, _)) => {
                            redis = fresh;
                            continue;
                        }
                        Err(open) => return Err(postpone(&outbox, queue, &open).await?),
                    }
                }
                // Redis is gone, or the outcome is unknown (the script may have run, in
                // part): every event of the pass waits, none dead-lettered.
                let error = match down {
                    None => format!("{error}; outcome unknown, the pass is retried"),
                    Some(down) => format!("{error}; {down}"),
                };
                return Err(postpone(&outbox, queue, &error).await?);
            }
        }
    }
    while let Some(event) = queue.pop_front() {
        report.attempted += 1;
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
                let attempts = event.attempts.saturating_add(1);
                outbox
                    .mark_delivered(&event.event_id, attempts, clock::now_ms(), Some(&note))
                    .await?;
                report.delivered += 1;
            }
            Err(failure) => {
                // A refusal may come from a server this connection should no longer use (a
                // demoted primary answers `READONLY`): the next pass opens a new one.
                link::forget(&redis);
                if let Failure::Redis(error) = &failure
                    && let Err(down) = link::reachable(&redis, &config.redis_url).await
                {
                    // Redis is gone, not this row's fault: it and the rest of the pass wait
                    // for Redis, none dead-lettered.
                    record_delivered(&outbox, &delivered).await?;
                    queue.push_front(event);
                    let error = format!("{error}; {down}");
                    return Err(postpone(&outbox, queue, &error).await?);
                }
                record_failure(&outbox, &event, &failure, &config, &mut report).await?;
            }
        }
    }
    record_delivered(&outbox, &delivered).await?;
    Ok(report)
}

/// Records the deliveries Redis accepted cleanly. Redis has them already, so a failed write
/// (the database locked past the busy timeout, a libSQL server restarting) is tried once
/// more, [`MARK_RETRY_AFTER_MS`] later and on another connection (a libSQL connection whose
/// request failed keeps failing), before the pass gives up: a row left claimed is sent again
/// only when its lease ends ([`LEASE_MS`]), a duplicate for consumers to drop (at-least-once).
/// The pass runs after the response, so the wait delays no client.
async fn record_delivered(outbox: &Outbox, delivered: &[String]) -> Result<(), EventsError> {
    match outbox.mark_all_delivered(delivered, clock::now_ms()).await {
        Ok(()) => Ok(()),
        Err(_) => {
            spin_sdk::time::sleep(std::time::Duration::from_millis(MARK_RETRY_AFTER_MS)).await;
            Outbox::open()
                .await?
                .mark_all_delivered(delivered, clock::now_ms())
                .await
        }
    }
}

/// How long a pass waits before its second try at recording deliveries, in milliseconds:
/// longer than the sub-second restart of a libSQL server the fault report measures.
const MARK_RETRY_AFTER_MS: u64 = 1_000;

/// Counts a failed attempt on `event`: due again after the relay's backoff, or dead-lettered
/// when that was its last allowed attempt.
async fn record_failure(
    outbox: &Outbox,
    event: &DueEvent,
    failure: &Failure,
    config: &RelayConfig,
    report: &mut DispatchReport,
) -> Result<(), EventsError> {
    let attempts = event.attempts.saturating_add(1);
    let error = failure.to_string();
    match RetrySchedule::RELAY.after_failure(attempts, config.max_attempts, clock::now_ms()) {
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
    Ok(())
}

/// Redis is unreachable: counts an attempt on every row of `events` (taken by this pass) and
/// backs it off, never dead-lettering. Returns the pass's `broker` error.
async fn postpone(
    outbox: &Outbox,
    events: VecDeque<DueEvent>,
    error: &str,
) -> Result<EventsError, EventsError> {
    let now = clock::now_ms();
    let postponed = events.len();
    for event in events {
        let attempts = event.attempts.saturating_add(1);
        let retry_at = RetrySchedule::RELAY.retry_at(attempts, now);
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
    /// Redis answered and refused this row's XADD (or answered the script with something
    /// that is not an outcome): the row's failure, no `PING` needed.
    Refused(String),
    /// A one-event `XADD` failed: a refusal, or Redis is gone (a `PING` tells which).
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

/// Delivers every event of `queue` (valid envelopes) in one `EVAL` of [`DELIVER_SCRIPT`] and
/// returns their outcomes in order. `Err`: the `EVAL` failed (Redis is gone, refuses scripts,
/// or answered something else than one outcome per event); whether the script ran is unknown.
async fn deliver_all(
    redis: &Connection,
    queue: &VecDeque<DueEvent>,
    config: &RelayConfig,
) -> Result<VecDeque<Outcome>, String> {
    let mut arguments = vec![
        field(DELIVER_SCRIPT),
        field("1"),
        field(&config.stream),
        field(&config.channel),
        field(&config.stream_maxlen.to_string()),
    ];
    for event in queue {
        arguments.extend([
            field(&event.event_id),
            field(&event.event_type),
            field(&event.payload),
        ]);
    }
    let answers = redis
        .execute("EVAL", arguments)
        .await
        .map_err(|error| format!("EVAL (XADD {}): {error:?}", config.stream))?;
    if answers.len() != queue.len() {
        return Err(format!(
            "EVAL (XADD {}) answered {} outcomes for {} events",
            config.stream,
            answers.len(),
            queue.len()
        ));
    }
    Ok(answers
        .into_iter()
        .map(|answer| script_outcome(answer, config))
        .collect())
}

/// One event's answer from [`DELIVER_SCRIPT`] as an [`Outcome`]; an answer that is not one
/// of the script's texts is the row's failure ([`Failure::Refused`]: Redis did answer).
fn script_outcome(answer: RedisResult, config: &RelayConfig) -> Outcome {
    let text = match answer {
        RedisResult::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        RedisResult::Status(text) => text,
        other => {
            return Err(Failure::Refused(format!(
                "EVAL (XADD {}) answered {other:?}",
                config.stream
            )));
        }
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

/// Appends one checked event to the stream, then publishes it: the one-event path for a
/// Redis that refuses [`DELIVER_SCRIPT`].
async fn deliver(
    redis: &Connection,
    event: &DueEvent,
    config: &RelayConfig,
) -> Result<Option<String>, Failure> {
    let (stream, channel, stream_maxlen) = (&config.stream, &config.channel, config.stream_maxlen);
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

    fn answer(text: &str) -> RedisResult {
        RedisResult::Binary(text.as_bytes().to_vec())
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
            _ => panic!("a refused XADD is the row's failure"),
        }
    }

    #[test]
    fn an_answer_that_is_not_an_outcome_is_the_rows_failure_since_redis_answered() {
        let config = config();
        assert!(matches!(
            script_outcome(RedisResult::Int64(1), &config),
            Err(Failure::Refused(_))
        ));
        assert!(matches!(
            script_outcome(RedisResult::Nil, &config),
            Err(Failure::Refused(_))
        ));
    }

    #[test]
    fn only_an_acl_refusal_or_an_unknown_command_turns_scripts_off() {
        assert!(refuses_scripts(
            "EVAL (XADD orders.events): Other(\"NOPERM User default has no permissions to run the 'eval' command\")"
        ));
        assert!(refuses_scripts(
            "ERR unknown command 'EVAL', with args beginning with:"
        ));
        assert!(refuses_scripts("ERR Unknown Command"));
        assert!(refuses_scripts(
            "EVAL (XADD orders.events): Other(\"NoPerm: this user has no permissions to run the 'eval' command\")"
        ));
        for transient in [
            "EVAL (XADD orders.events): Io(\"timed out\")",
            "EVAL (XADD orders.events) answered 1 outcomes for 2 events",
            "BUSY Redis is busy running a script",
            "LOADING Redis is loading the dataset in memory",
        ] {
            assert!(!refuses_scripts(transient), "{transient}");
        }
    }
}
