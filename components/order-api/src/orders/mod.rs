//! The `/api/v1` order endpoints: thin HTTP handlers over the order application and the
//! store. Input is read into typed structs (`body.rs`, `params.rs`); every failure is an
//! [`ApiError`], answered by the router.

pub(crate) mod admin;
mod body;
pub(crate) mod create;
mod input;
mod params;
pub(crate) mod read;
mod relay;

pub(crate) use relay::dispatch_events;

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
