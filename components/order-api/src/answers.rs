//! The one place the order application's typed answers become HTTP: statuses, problem slugs
//! and texts (ARCHITECTURE §3), `Location` and `Retry-After`, and the form an answer is kept
//! in for `Idempotency-Key` replays.

use crate::problem::Problem;
use crate::reply::Reply;
use order_app::ports::DependencyError;
use order_app::{Outcome, RETRY_AFTER_S, Refusal, StoredAnswer, Unavailable};
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
        Outcome::Refused(refusal) => {
            let problem = refusal_problem(refusal);
            (problem.status(), problem_body(problem, outcome), None)
        }
        Outcome::Unavailable(failure) => {
            let problem = Problem::typed(
                StatusCode::SERVICE_UNAVAILABLE,
                "dependency-unavailable",
                "A service the order depends on is unavailable",
                unavailable_detail(failure),
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                problem_body(problem, outcome),
                Some(RETRY_AFTER_S),
            )
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
        body: body.to_string(),
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

/// The problem's body, with `orderId` when an order was stored.
fn problem_body(problem: Problem, outcome: &Outcome) -> Value {
    match outcome.order_id() {
        Some(id) => problem.with("orderId", id).body(),
        None => problem.body(),
    }
}

/// The 4xx of a refusal.
fn refusal_problem(refusal: &Refusal) -> Problem {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    match refusal {
        Refusal::UserCannotOrder { user_id, status } => Problem::typed(
            unprocessable,
            "user-cannot-order",
            "User cannot order",
            format!(
                "user `{user_id}` is {} and cannot place orders",
                status.as_str()
            ),
        )
        .with("field", "userId")
        .with("userStatus", status.as_str()),
        Refusal::UserNotFound { user_id } => Problem::typed(
            unprocessable,
            "user-not-found",
            "User not found",
            format!("user `{user_id}` does not exist; check userId"),
        )
        .with("field", "userId"),
        Refusal::ProductNotFound { product_id, index } => {
            let field = format!("items[{index}].productId");
            Problem::typed(
                unprocessable,
                "product-not-found",
                "Product not found",
                format!("product `{product_id}` does not exist; remove it or fix {field}"),
            )
            .with("field", field.as_str())
            .with("productId", product_id.as_str())
        }
        Refusal::ProductInactive { product_id, index } => Problem::typed(
            unprocessable,
            "product-inactive",
            "Product not available",
            format!("product `{product_id}` is no longer sold; remove it from the order"),
        )
        .with("field", format!("items[{index}].productId").as_str())
        .with("productId", product_id.as_str()),
        Refusal::NotPriceable(error) => Problem::typed(
            unprocessable,
            "order-not-priceable",
            "The order cannot be priced",
            format!("{error}; order products of one currency, in smaller quantities"),
        ),
        Refusal::InsufficientStock {
            product_id, reason, ..
        } => Problem::typed(
            StatusCode::CONFLICT,
            "insufficient-stock",
            "Insufficient stock",
            format!(
                "insufficient stock for product `{product_id}` ({reason}); order fewer units or remove the product"
            ),
        )
        .with("productId", product_id.as_str()),
        Refusal::PaymentDeclined { reason, .. } => Problem::typed(
            StatusCode::PAYMENT_REQUIRED,
            "payment-declined",
            "Payment declined",
            format!(
                "the payment was declined ({reason}); no money was taken and the stock was released. Use another payment method"
            ),
        )
        .with("reason", reason.as_str()),
    }
}

/// The `detail` of a 503.
fn unavailable_detail(failure: &Unavailable) -> String {
    match failure {
        Unavailable::Users(error) => {
            format!("the user service {}; retry later", error.describe())
        }
        Unavailable::Products(error) => {
            format!("the product service {}; retry later", error.describe())
        }
        Unavailable::Inventory { error, .. } => format!(
            "the inventory service {}; the order was cancelled. Retry later",
            error.describe()
        ),
        Unavailable::PaymentCircuitOpen { .. } => "the payment service is failing (its circuit breaker is open); nothing was charged, the order was cancelled and its stock released. Retry later".into(),
        Unavailable::Cancelled { .. } => {
            "the order could not be completed and was cancelled; retry later".into()
        }
    }
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
