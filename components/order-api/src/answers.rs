//! The one place the order application's typed outcomes become HTTP: statuses, bodies,
//! `Location` and `Retry-After`, and the form an answer is kept in for `Idempotency-Key`
//! replays. Refusals and failures become problems through [`ApiError::problem`], the one
//! mapping of errors to problem+json.

use crate::problem::ApiError;
use crate::reply::Reply;
use order_app::ports::DependencyError;
use order_app::{Outcome, StoredAnswer};
use serde_json::Value;
use spin_sdk::http::StatusCode;

/// An outcome's status, body and `Retry-After` (seconds), without logging.
fn parts(outcome: &Outcome) -> (StatusCode, Value, Option<u32>) {
    match outcome {
        Outcome::Confirmed(order) => (StatusCode::CREATED, order_json(order), None),
        Outcome::PaymentPending(order) => (StatusCode::ACCEPTED, order_json(order), None),
        Outcome::ChargeUnresolved {
            order,
            settles_after_s,
            ..
        } => (
            StatusCode::ACCEPTED,
            order_json(order),
            Some(*settles_after_s),
        ),
        Outcome::Refused(refusal) => problem_parts(ApiError::Refused(refusal.clone()), outcome),
        Outcome::Unavailable(failure) => {
            problem_parts(ApiError::DependencyUnavailable(failure.clone()), outcome)
        }
    }
}

/// `outcome` as the HTTP response of `POST /api/v1/orders`; an unresolved charge is logged
/// (`charge_unresolved`) for operators.
pub(crate) fn reply(outcome: &Outcome) -> Reply {
    if let Outcome::ChargeUnresolved { order, error, .. } = outcome {
        log_unresolved_charge(&order.id, error);
    }
    let (status, body, retry_after_s) = parts(outcome);
    http(status, &body, outcome.order_id(), retry_after_s)
}

/// `outcome` as kept for replays of its `Idempotency-Key` (`order_app::App::render`).
pub(crate) fn render(outcome: &Outcome) -> StoredAnswer {
    let (status, body, _) = parts(outcome);
    StoredAnswer {
        status: status.as_u16(),
        // In one buffer, not token by token through `Display` (issue 10). Serialising a
        // `Value` cannot fail: all its keys are strings.
        body: serde_json::to_string(&body).unwrap_or_default(),
        order_id: outcome.order_id().map(str::to_owned),
    }
}

/// A saga answer (fresh or replayed) as HTTP: problem+json for errors, `Location` for orders.
pub(crate) fn http(
    status: StatusCode,
    body: &Value,
    order_id: Option<&str>,
    retry_after_s: Option<u32>,
) -> Reply {
    let mut reply = if status.is_success() {
        Reply::json(status, body)
    } else {
        Reply::json_as(status, "application/problem+json", body)
    };
    if let (true, Some(id)) = (status.is_success(), order_id) {
        reply = reply.with_header("location", &format!("/api/v1/orders/{id}"));
    }
    if let Some(seconds) = retry_after_s {
        reply = reply.with_header("retry-after", &seconds.to_string());
    }
    reply
}

fn order_json(order: &domain::Order) -> Value {
    serde_json::to_value(order).unwrap_or_default()
}

/// A refusal or failure as status, problem body (with `orderId` when an order was stored)
/// and `Retry-After`; the one mapping is [`ApiError::problem`].
fn problem_parts(error: ApiError, outcome: &Outcome) -> (StatusCode, Value, Option<u32>) {
    let problem = error.problem();
    let (status, retry_after_s) = (problem.status(), problem.retry_after_s());
    let body = match outcome.order_id() {
        Some(id) => problem.with("orderId", id).body(),
        None => problem.body(),
    };
    (status, body, retry_after_s)
}

/// One JSON line on stderr for an order whose charge awaits recovery.
fn log_unresolved_charge(order_id: &str, error: &DependencyError) {
    crate::telemetry::emit(&serde_json::json!({
        "level": "warn",
        "component": "order-api",
        "event": "charge_unresolved",
        "orderId": order_id,
        "detail": format!("payment service {}; recovery repeats the charge with the same key", error.describe()),
    }));
}
