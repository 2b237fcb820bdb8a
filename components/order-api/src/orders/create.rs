//! `POST /api/v1/orders` (scope `orders:write`): validate, claim the `Idempotency-Key`, run
//! the saga, keep the answer for replays.

use super::input::{header, invalid_input, malformed_body, read_json_body};
use super::{dispatch_events, open_db, storage_problem};
use crate::access::{self, Scope};
use crate::problem::Problem;
use crate::reply::Reply;
use crate::saga::{self, recovery};
use crate::store::Claim;
use domain::{CreateOrderRequest, DomainError, OrderStatus};
use order_store::clock;
use sha2::{Digest, Sha256};
use spin_sdk::http::{Request, StatusCode};

/// Longest accepted `Idempotency-Key`.
const MAX_KEY_LEN: usize = 128;
/// Stale sagas a create request finishes on the side, at most.
const OPPORTUNISTIC_RECOVERY: u32 = 5;

/// Handles `POST /api/v1/orders`.
pub(crate) async fn create(request: Request) -> Reply {
    let caller = match access::require(&request, Scope::OrdersWrite).await {
        Ok(caller) => caller,
        Err(reply) => return reply,
    };
    let key = match header(&request, "idempotency-key").map(str::trim) {
        Some(key) if !key.is_empty() && key.len() <= MAX_KEY_LEN => key.to_owned(),
        Some(_) => {
            return invalid_input(
                "Idempotency-Key",
                format!("the Idempotency-Key header must be 1–{MAX_KEY_LEN} characters"),
            )
            .into_reply();
        }
        None => {
            return invalid_input(
                "Idempotency-Key",
                "the Idempotency-Key header is required; send a unique value (e.g. a UUID) per order",
            )
            .into_reply();
        }
    };
    let traceparent = header(&request, "traceparent")
        .filter(|t| t.len() == 55 && t.is_ascii())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("00-{}-{}-01", clock::random_hex(16), clock::random_hex(8)));
    let body = match read_json_body(request).await {
        Ok(body) => body,
        Err(problem) => return problem.into_reply(),
    };
    let order = match CreateOrderRequest::parse(&body) {
        Ok(order) => order,
        Err(error) => return validation_problem(&error).into_reply(),
    };
    let db = match open_db().await {
        Ok(db) => db,
        Err(reply) => return reply,
    };
    // Bounded, best effort: a stuck saga elsewhere must not fail this request.
    let _ = recovery::recover(&db, OPPORTUNISTIC_RECOVERY).await;

    let claim_key = format!("{}:{key}", caller.subject);
    let hash = hex_sha256(&order.canonical_json());
    let stale_ms = recovery::seconds_variable("saga_recovery_after_s", 60).await * 1000;
    match db.claim_key(&claim_key, &hash, stale_ms).await {
        Ok(Claim::Won) => {}
        Ok(Claim::Replay(stored)) => {
            // A 202 was an order still settling: answer it as it is now, so a client retrying
            // after `Retry-After` learns the outcome (200 once settled, 202 while not).
            if let (202, Some(id)) = (stored.status, stored.order_id.as_deref())
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
                return saga::outcome_reply(status, &body, Some(id), None)
                    .with_header("idempotent-replayed", "true");
            }
            let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
            let body = serde_json::from_str(&stored.body).unwrap_or_default();
            return saga::outcome_reply(status, &body, stored.order_id.as_deref(), None)
                .with_header("idempotent-replayed", "true");
        }
        Ok(Claim::InFlight) => {
            return Problem::typed(
                StatusCode::CONFLICT,
                "request-in-progress",
                "A request with this Idempotency-Key is in progress",
                "a request with the same Idempotency-Key is still being processed; retry shortly to get its result",
            )
            .retry_after(1)
            .into_reply();
        }
        Ok(Claim::Mismatch) => {
            return Problem::typed(
                StatusCode::CONFLICT,
                "idempotency-key-reused",
                "Idempotency-Key reused with a different body",
                "this Idempotency-Key was already used for a different order; use a new key for a new order",
            )
            .into_reply();
        }
        Err(error) => return storage_problem(&error),
    }

    let outcome = match saga::create_order(&db, order, &claim_key, &traceparent).await {
        Ok(outcome) => outcome,
        // The claim stays in flight: if an order was stored, recovery finishes its saga and
        // stores the answer under this key (a retry must not start a second order and charge);
        // if none was, a retry takes the stale claim over after `saga_recovery_after_s`.
        Err(error) => return storage_problem(&error),
    };
    let kept = if outcome.replayable() {
        db.finish_key(&claim_key, &outcome.stored()).await
    } else {
        db.release_key(&claim_key).await
    };
    if let Err(error) = kept {
        return storage_problem(&error);
    }
    dispatch_events();
    outcome.into_reply()
}

/// A refused request body: malformed JSON is 400, a wrong field 422; both name the field.
fn validation_problem(error: &DomainError) -> Problem {
    match error {
        DomainError::Invalid { field, reason } if field == "body" => {
            malformed_body(field, &format!("the body is not a valid order: {reason}"))
        }
        DomainError::DuplicateMember { key } => malformed_body(key, &error.to_string()),
        DomainError::Invalid { field, reason } => Problem::typed(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            "Invalid field",
            format!("{field} {reason}"),
        )
        .with("field", field.as_str()),
        other => Problem::typed(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-order",
            "Invalid order",
            other.to_string(),
        ),
    }
}

/// Lowercase hex SHA-256.
fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
