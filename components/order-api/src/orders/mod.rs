//! The `/api/v1` order endpoints: thin HTTP handlers over the order application and the
//! store. Input is read into typed structs (`body.rs`, `params.rs`); every failure is an
//! [`ApiError`], answered by the router.

pub(crate) mod admin;
mod body;
pub(crate) mod create;
mod input;
mod params;
pub(crate) mod read;

use crate::bindings::shop::events::events;
use crate::problem::ApiError;
use crate::reply::Reply;
use crate::store::{Db, StoredOrder};
use serde_json::json;
use spin_sdk::http::StatusCode;

/// Opens the database (a failure is the storage problem).
async fn open_db() -> Result<Db, ApiError> {
    Ok(Db::open().await?)
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
