//! Outbox administration (ARCHITECTURE §4, scope `orders:admin`): list events by state,
//! relay pending ones now, replay a dead or delivered one. The work happens in the composed
//! `event-emitter` behind the `events` WIT import; this module is the HTTP edge (its errors
//! become problem+json as [`ApiError::Events`]). The emitter runs no DDL: each handler first
//! makes sure order-store's migrations (the outbox table among them) are applied.

use crate::bindings::shop::events::events::{
    self, EventStatus, EventsError, OutboxEntry, OutboxStats,
};
use crate::problem::ApiError;
use crate::query::Query;
use crate::reply::Reply;
use crate::store::ensure_schema;
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
pub(crate) async fn list(request: &Request) -> Result<Reply, ApiError> {
    let query = ListQuery::from_query(&Query::of(request))?;
    ensure_schema().await?;
    let (entries, stats) = futures::join!(
        events::list_events(query.status, query.limit),
        events::stats()
    );
    Ok(Reply::json(
        StatusCode::OK,
        &json!({
            "status": status_name(query.status),
            "events": entries?.iter().map(entry_json).collect::<Vec<_>>(),
            "stats": stats_json(&stats?),
        }),
    ))
}

/// `POST /api/v1/admin/outbox/dispatch?max=`: one relay pass,
/// `{attempted, delivered, failed, deadLettered}`.
pub(crate) async fn dispatch(request: &Request) -> Result<Reply, ApiError> {
    let max = bounded(&Query::of(request), "max", DISPATCH_DEFAULT, DISPATCH_MAX)?;
    ensure_schema().await?;
    let report = events::dispatch(max).await?;
    Ok(Reply::json(
        StatusCode::OK,
        &json!({
            "attempted": report.attempted,
            "delivered": report.delivered,
            "failed": report.failed,
            "deadLettered": report.dead_lettered,
        }),
    ))
}

/// `POST /api/v1/admin/outbox/{eventId}/replay`: 202 `{eventId, status: "pending"}`; the
/// event goes out with the next relay pass (after each order change, or a dispatch call).
pub(crate) async fn replay(event_id: &str) -> Result<Reply, ApiError> {
    ensure_schema().await?;
    match events::replay(event_id.to_owned()).await {
        Ok(()) => Ok(Reply::json(
            StatusCode::ACCEPTED,
            &json!({ "eventId": event_id, "status": "pending" }),
        )),
        Err(EventsError::NotFound) => Err(ApiError::EventNotFound {
            id: event_id.to_owned(),
        }),
        Err(error) => Err(error.into()),
    }
}

/// The parameters of the outbox list: `status` (default `pending`) and `limit` (1..=100,
/// default 20).
struct ListQuery {
    status: EventStatus,
    limit: u32,
}

impl ListQuery {
    /// Reads `query` (status first); a bad value is 400 `invalid-parameter` naming it.
    fn from_query(query: &Query) -> Result<Self, ApiError> {
        let status = match query.first("status") {
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
        let limit = bounded(query, "limit", LIST_DEFAULT, LIST_MAX)?;
        Ok(Self { status, limit })
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
fn bounded(query: &Query, name: &str, default: u32, max: u32) -> Result<u32, ApiError> {
    match query.first(name) {
        None => Ok(default),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|value| (1..=max).contains(value))
            .ok_or_else(|| invalid_query(name, format!("must be an integer from 1 to {max}"))),
    }
}

/// 400 naming the query parameter that is wrong (the same shape as the order endpoints').
fn invalid_query(name: &str, detail: String) -> ApiError {
    ApiError::invalid_parameter(name, format!("`{name}` {detail}"))
}
