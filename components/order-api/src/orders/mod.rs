//! The `/api/v1` order endpoints: thin HTTP handlers over the saga and the store.

pub(crate) mod admin;
pub(crate) mod create;
mod input;
pub(crate) mod read;

use crate::bindings::shop::events::events;
use crate::problem::Problem;
use crate::reply::Reply;
use crate::store::{Db, StoreError, StoredOrder};
use serde_json::json;
use spin_sdk::http::StatusCode;

/// Opens the database, or answers 500.
async fn open_db() -> Result<Db, Reply> {
    Db::open().await.map_err(|error| storage_problem(&error))
}

/// A storage failure as a 500 problem.
fn storage_problem(error: &StoreError) -> Reply {
    if error.is_busy() {
        // Another writer holds the database; nothing was lost (the saga resumes from its
        // recorded step), so tell clients to retry with the same Idempotency-Key.
        return Problem::typed(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage-busy",
            "The order database is busy",
            "the database stayed locked longer than the busy timeout; retry with the same Idempotency-Key",
        )
        .retry_after(1)
        .into_reply();
    }
    Problem::typed(
        StatusCode::INTERNAL_SERVER_ERROR,
        "storage-failure",
        "The order database failed",
        format!("{error}; retry later"),
    )
    .into_reply()
}

/// 404 for an order id that does not exist.
fn order_not_found(id: &str) -> Reply {
    Problem::typed(
        StatusCode::NOT_FOUND,
        "order-not-found",
        "Order not found",
        format!("no order has id `{id}`; check the id"),
    )
    .with("orderId", id)
    .into_reply()
}

/// An order as JSON with `status`.
fn order_reply(status: StatusCode, stored: &StoredOrder) -> Reply {
    Reply::json(status, &json!(stored.order))
}

/// Asks the relay to deliver pending outbox rows now. Best effort: a relay or Redis failure
/// only delays delivery (the rows stay pending for the next dispatch).
async fn dispatch_events() {
    let _ = events::dispatch(20).await;
}
