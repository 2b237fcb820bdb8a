//! Outbox administration (ARCHITECTURE §4, scope `orders:admin`): list events by state,
//! relay pending ones now, replay a dead or delivered one. The work happens in the composed
//! `event-emitter` behind the `events` WIT import; this module is the HTTP edge, where its
//! errors become problem+json.

use crate::bindings::shop::events::events::{
    self, EventStatus, EventsError, OutboxEntry, OutboxStats,
};
use crate::problem::Problem;
use crate::reply::Reply;
use domain::Timestamp;
use serde_json::{Value, json};
use spin_sdk::http::{Request, StatusCode};

/// Events a list answers by default, and at most.
const LIST_DEFAULT: u32 = 20;
const LIST_MAX: u32 = 100;
/// Rows one operator-triggered relay pass handles by default, and at most.
const DISPATCH_DEFAULT: u32 = 100;
const DISPATCH_MAX: u32 = 1_000;

/// `GET /api/v1/admin/outbox?status=pending|dead|delivered&limit=`:
/// `{status, events: [...], stats: {...}}`, oldest first.
pub(crate) async fn list(request: Request) -> Reply {
    let parsed = (|| {
        let status = match query_param(&request, "status").as_deref() {
            None | Some("pending") => EventStatus::Pending,
            Some("dead") => EventStatus::Dead,
            Some("delivered") => EventStatus::Delivered,
            Some(other) => {
                return Err(invalid_query(
                    "status",
                    format!("`{other}` is not one of pending, dead, delivered"),
                ));
            }
        };
        let limit = bounded(&request, "limit", LIST_DEFAULT, LIST_MAX)?;
        Ok((status, limit))
    })();
    let (status, limit) = match parsed {
        Ok(parsed) => parsed,
        Err(problem) => return problem.into_reply(),
    };
    let (entries, stats) = futures::join!(events::list_events(status, limit), events::stats());
    match (entries, stats) {
        (Ok(entries), Ok(stats)) => Reply::json(
            StatusCode::OK,
            &json!({
                "status": status_name(status),
                "events": entries.iter().map(entry_json).collect::<Vec<_>>(),
                "stats": stats_json(&stats),
            }),
        ),
        (Err(error), _) | (_, Err(error)) => events_problem(&error).into_reply(),
    }
}

/// `POST /api/v1/admin/outbox/dispatch?max=`: one relay pass,
/// `{attempted, delivered, failed, deadLettered}`.
pub(crate) async fn dispatch(request: Request) -> Reply {
    let max = match bounded(&request, "max", DISPATCH_DEFAULT, DISPATCH_MAX) {
        Ok(max) => max,
        Err(problem) => return problem.into_reply(),
    };
    match events::dispatch(max).await {
        Ok(report) => Reply::json(
            StatusCode::OK,
            &json!({
                "attempted": report.attempted,
                "delivered": report.delivered,
                "failed": report.failed,
                "deadLettered": report.dead_lettered,
            }),
        ),
        Err(error) => events_problem(&error).into_reply(),
    }
}

/// `POST /api/v1/admin/outbox/{eventId}/replay`: 202 `{eventId, status: "pending"}`; the
/// event goes out with the next relay pass (after each order change, or a dispatch call).
pub(crate) async fn replay(event_id: &str) -> Reply {
    match events::replay(event_id.to_owned()).await {
        Ok(()) => Reply::json(
            StatusCode::ACCEPTED,
            &json!({ "eventId": event_id, "status": "pending" }),
        ),
        Err(EventsError::NotFound) => Problem::typed(
            StatusCode::NOT_FOUND,
            "event-not-found",
            "Event not found",
            format!("no outbox event has id {event_id}"),
        )
        .with("eventId", event_id)
        .into_reply(),
        Err(error) => events_problem(&error).into_reply(),
    }
}

/// The problem for a failed outbox operation: storage or configuration is a 500 the
/// operator must fix; an unreachable Redis is a 503 worth retrying.
fn events_problem(error: &EventsError) -> Problem {
    match error {
        EventsError::Broker(detail) => Problem::internal(
            StatusCode::SERVICE_UNAVAILABLE,
            "broker-unavailable",
            "Event broker unavailable",
            "the event broker (Redis) could not be reached or refused the events; they stay pending, retry later",
            detail,
        )
        .retry_after(5),
        EventsError::Storage(detail) => Problem::internal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "outbox-storage",
            "Outbox storage failed",
            "the outbox could not be read or written; retry later",
            detail,
        ),
        EventsError::InvalidConfig(detail) => Problem::typed(
            StatusCode::INTERNAL_SERVER_ERROR,
            "events-misconfigured",
            "Event relay misconfigured",
            detail.clone(),
        ),
        EventsError::NotFound => Problem::typed(
            StatusCode::NOT_FOUND,
            "event-not-found",
            "Event not found",
            "no such outbox event",
        ),
    }
}

/// One outbox row as camelCase JSON; times as RFC 3339.
fn entry_json(entry: &OutboxEntry) -> Value {
    json!({
        "eventId": entry.event_id,
        "aggregateId": entry.aggregate_id,
        "eventType": entry.event_type,
        "status": status_name(entry.status),
        "attempts": entry.attempts,
        "nextAttemptAt": Timestamp(entry.next_attempt_at_ms).to_string(),
        "lastError": entry.last_error,
        "createdAt": Timestamp(entry.created_at_ms).to_string(),
        "deliveredAt": entry.delivered_at_ms.map(|ms| Timestamp(ms).to_string()),
    })
}

/// Outbox depth as camelCase JSON.
fn stats_json(stats: &OutboxStats) -> Value {
    json!({
        "pending": stats.pending,
        "dead": stats.dead,
        "delivered": stats.delivered,
        "oldestPendingAt": stats.oldest_pending_at_ms.map(|ms| Timestamp(ms).to_string()),
    })
}

/// The wire name of a status.
fn status_name(status: EventStatus) -> &'static str {
    match status {
        EventStatus::Pending => "pending",
        EventStatus::Delivered => "delivered",
        EventStatus::Dead => "dead",
    }
}

/// An integer query parameter in `1..=max`, or `default` when absent.
fn bounded(request: &Request, name: &str, default: u32, max: u32) -> Result<u32, Problem> {
    match query_param(request, name) {
        None => Ok(default),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|value| (1..=max).contains(value))
            .ok_or_else(|| invalid_query(name, format!("must be an integer from 1 to {max}"))),
    }
}

/// A query parameter's raw value (these parameters are plain tokens: no decoding needed).
fn query_param(request: &Request, name: &str) -> Option<String> {
    request
        .uri()
        .query()?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// 400 naming the query parameter that is wrong (the same shape as the order endpoints').
fn invalid_query(name: &str, detail: String) -> Problem {
    Problem::invalid_parameter(name, format!("`{name}` {detail}"))
}
