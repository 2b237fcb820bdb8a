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

/// A storage failure as a problem: 409 when another writer changed the order first, 503 when
/// the database stayed busy or (libSQL) its server did not answer, else 500 (the driver's
/// text only in the log).
fn storage_problem(error: &StoreError) -> Reply {
    if let StoreError::Conflict { order_id } = error {
        return order_changed(order_id, None);
    }
    if let StoreError::Busy(_) = error {
        // Another writer holds the database, or its server is down or restarting; nothing was
        // lost (the saga resumes from its recorded step), so clients retry with the same key.
        return Problem::typed(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage-busy",
            "The order database is busy",
            "the order database stayed locked past its busy timeout or did not answer; nothing was lost: retry with the same Idempotency-Key",
        )
        .retry_after(1)
        .into_reply();
    }
    Problem::internal(
        StatusCode::INTERNAL_SERVER_ERROR,
        "storage-failure",
        "The order database failed",
        "the order database failed; nothing was changed by this request unless its order reports otherwise; retry later",
        &error.to_string(),
    )
    .into_reply()
}

/// 409 `order-changed`: another writer changed the order between this request's read and its
/// write, so nothing was applied; `current` is the status it has now, when known.
fn order_changed(id: &str, current: Option<&str>) -> Reply {
    let detail = match current {
        Some(status) => format!(
            "order `{id}` changed while this request was processed and is now `{status}`; nothing was applied. Read it again and decide"
        ),
        None => format!(
            "order `{id}` changed while this request was processed; nothing was applied. Read it again and decide"
        ),
    };
    let problem = Problem::typed(
        StatusCode::CONFLICT,
        "order-changed",
        "Order changed",
        detail,
    )
    .with("orderId", id);
    match current {
        Some(status) => problem.with("status", status),
        None => problem,
    }
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

/// Asks the relay to deliver pending outbox rows, as post-return work: the response never
/// waits for Redis (Spin keeps the instance until its tasks end, as for the metrics batch).
/// One relay pass at a time per instance: a request that ends while a pass runs makes that
/// pass go round once more instead of starting another, so concurrent requests do not race
/// each other for the same rows. Best effort: a relay or Redis failure only delays delivery
/// (the rows stay pending for the next pass, an admin dispatch or the next order).
fn dispatch_events() {
    RELAY.with_borrow_mut(|relay| {
        if relay.running {
            relay.again = true;
            return;
        }
        relay.running = true;
        spin_sdk::wasip3::spawn(async {
            loop {
                let _ = events::dispatch(RELAY_BATCH).await;
                let again = RELAY.with_borrow_mut(|relay| {
                    let again = relay.again;
                    relay.again = false;
                    relay.running = again;
                    again
                });
                if !again {
                    break;
                }
            }
        });
    });
}

/// Rows one relay pass delivers at most.
const RELAY_BATCH: u32 = 64;

/// This instance's relay pass: whether one runs, and whether it must go round again.
#[derive(Default)]
struct RelayState {
    running: bool,
    again: bool,
}

thread_local! {
    static RELAY: std::cell::RefCell<RelayState> = std::cell::RefCell::new(RelayState::default());
}
