//! `POST /api/v1/orders` (scope `orders:write`): validate, then hand the request to the order
//! application (`order_app::App::place_order`: key decision, saga, answer kept for replays) and
//! answer its outcome.

use super::input::{header, read_json_body};
use super::{dispatch_events, open_db};
use crate::access::Caller;
use crate::problem::ApiError;
use crate::reply::Reply;
use crate::store::Db;
use crate::{answers, config, ports};
use domain::{CreateOrderRequest, OrderStatus};
use guest::{clock, trace};
use order_app::{Claim, Placed, StoredAnswer};
use sha2::{Digest, Sha256};
use spin_sdk::http::{Request, StatusCode};

/// Longest accepted `Idempotency-Key`.
const MAX_KEY_LEN: usize = 128;
/// Stale sagas a create request finishes on the side, at most.
const OPPORTUNISTIC_RECOVERY: u32 = 5;

/// Handles `POST /api/v1/orders` for `caller` (scope `orders:write`, checked by the router).
pub(crate) async fn create(request: Request, caller: Caller) -> Result<Reply, ApiError> {
    let key = match header(&request, "idempotency-key").map(str::trim) {
        Some(key) if !key.is_empty() && key.len() <= MAX_KEY_LEN => key.to_owned(),
        Some(_) => {
            return Err(ApiError::invalid_request(
                "Idempotency-Key",
                format!("the Idempotency-Key header must be 1–{MAX_KEY_LEN} characters"),
            ));
        }
        None => {
            return Err(ApiError::invalid_request(
                "Idempotency-Key",
                "the Idempotency-Key header is required; send a unique value (e.g. a UUID) per order",
            ));
        }
    };
    // The entry point stamped this request's own `traceparent` (telemetry::stamp).
    let traceparent = header(&request, "traceparent")
        .filter(|t| trace::is_valid_traceparent(t))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("00-{}-{}-01", trace::non_zero_id(16), trace::non_zero_id(8)));
    let body = read_json_body(request).await?;
    let order = CreateOrderRequest::parse(&body).map_err(ApiError::InvalidOrder)?;
    let db = open_db().await?;
    let settings = config::settings().await;
    let app = ports::app(&db, settings);
    let claim = Claim {
        key: format!("{}:{key}", caller.subject),
        request_hash: hex_sha256(&order.canonical_json()),
        stale_before_ms: clock::now_ms() - settings.saga_recovery_after_s * 1000,
    };
    let placed = app.place_order(order, claim, &traceparent).await;
    let answered = match &placed {
        Ok(Placed::Ran(outcome)) => outcome.order_id().map(str::to_owned),
        Ok(Placed::Replay(answer)) => answer.order_id.clone(),
        _ => None,
    };
    let reply = match placed {
        Ok(Placed::Ran(outcome)) => Ok(answers::reply(&outcome)),
        Ok(Placed::Replay(answer)) => Ok(replay(&db, answer).await),
        Ok(Placed::InFlight) => Err(ApiError::RequestInProgress),
        Ok(Placed::KeyReused) => Err(ApiError::IdempotencyKeyReused),
        // The claim stays with its order (if one was stored): recovery finishes the saga and
        // keeps the answer under this key, so a retry never starts a second order and charge.
        Err(error) => Err(error.into()),
    };
    // After the response: relay the order's events, and finish a few stale sagas elsewhere
    // (bounded, best effort: a stuck saga must never slow or fail this request).
    after_response(db, settings, answered);
    reply
}

/// A kept answer, replayed. A 202 was an order still settling: it is answered as it is now,
/// so a client retrying after `Retry-After` learns the outcome (200 once settled, 202 while
/// not).
async fn replay(db: &Db, answer: StoredAnswer) -> Reply {
    if let (202, Some(id)) = (answer.status, answer.order_id.as_deref())
        && let Ok(Some(current)) = db.load_order(id).await
    {
        let settling = matches!(
            current.order.status,
            OrderStatus::Pending | OrderStatus::PaymentPending
        );
        let status = if settling {
            StatusCode::ACCEPTED
        } else {
            StatusCode::OK
        };
        let body = serde_json::to_value(&current.order).unwrap_or_default();
        return answers::http(status, &body, Some(id), None)
            .with_header("idempotent-replayed", "true");
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let body = serde_json::from_str(&answer.body).unwrap_or_default();
    answers::http(status, &body, answer.order_id.as_deref(), None)
        .with_header("idempotent-replayed", "true")
}

/// Post-return work of a create request: the relay pass (coalesced per instance) and, at most
/// once per [`RECOVERY_EVERY_MS`] per instance, a bounded recovery pass over stale sagas on
/// the request's own connection (opening one per order cost more than the pass), leaving
/// alone the order this request `answered` (its client may be polling or retrying it).
fn after_response(db: Db, settings: order_app::Settings, answered: Option<String>) {
    dispatch_events();
    let now = clock::now_ms();
    let due = LAST_RECOVERY
        .get()
        .is_none_or(|at| now - at >= RECOVERY_EVERY_MS);
    if !due {
        return;
    }
    LAST_RECOVERY.set(Some(now));
    spin_sdk::wasip3::spawn(async move {
        super::relay::let_the_response_leave().await;
        let _ = ports::app(&db, settings)
            .recover_except(OPPORTUNISTIC_RECOVERY, answered.as_deref())
            .await;
    });
}

/// How often an instance's create requests look for stale sagas, at most, in milliseconds.
const RECOVERY_EVERY_MS: i64 = 1_000;

thread_local! {
    /// When this instance last ran the opportunistic recovery pass (epoch ms).
    static LAST_RECOVERY: std::cell::Cell<Option<i64>> = const { std::cell::Cell::new(None) };
}

/// Lowercase hex SHA-256.
fn hex_sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}
