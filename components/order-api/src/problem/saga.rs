//! The problems of the create-order saga's typed refusals and failures (`order_app::Refusal`,
//! `order_app::Unavailable`), part of [`super::ApiError::problem`]'s mapping.

use super::Problem;
use super::types::*;
use order_app::{RETRY_AFTER_S, Refusal, Unavailable};

/// The 4xx of a refusal, naming the field at fault where there is one.
pub(super) fn refusal(refusal: &Refusal) -> Problem {
    match refusal {
        Refusal::UserCannotOrder { user_id, status } => Problem::new(
            USER_CANNOT_ORDER,
            format!(
                "user `{user_id}` is {} and cannot place orders",
                status.as_str()
            ),
        )
        .with("field", "userId")
        .with("userStatus", status.as_str()),
        Refusal::UserNotFound { user_id } => Problem::new(
            USER_NOT_FOUND,
            format!("user `{user_id}` does not exist; check userId"),
        )
        .with("field", "userId"),
        Refusal::ProductNotFound { product_id, index } => {
            let field = format!("items[{index}].productId");
            Problem::new(
                PRODUCT_NOT_FOUND,
                format!("product `{product_id}` does not exist; remove it or fix {field}"),
            )
            .with("field", field.as_str())
            .with("productId", product_id.as_str())
        }
        Refusal::ProductInactive { product_id, index } => Problem::new(
            PRODUCT_INACTIVE,
            format!("product `{product_id}` is no longer sold; remove it from the order"),
        )
        .with("field", format!("items[{index}].productId").as_str())
        .with("productId", product_id.as_str()),
        Refusal::NotPriceable(error) => Problem::new(
            ORDER_NOT_PRICEABLE,
            format!("{error}; order products of one currency, in smaller quantities"),
        ),
        Refusal::InsufficientStock {
            product_id, reason, ..
        } => Problem::new(
            INSUFFICIENT_STOCK,
            format!(
                "insufficient stock for product `{product_id}` ({reason}); order fewer units or remove the product"
            ),
        )
        .with("productId", product_id.as_str()),
        Refusal::PaymentDeclined { reason, .. } => Problem::new(
            PAYMENT_DECLINED,
            format!(
                "the payment was declined ({reason}); no money was taken and the stock was released. Use another payment method"
            ),
        )
        .with("reason", reason.as_str()),
    }
}

/// The 503 of a dependency failure, with `Retry-After`.
pub(super) fn unavailable(failure: &Unavailable) -> Problem {
    let detail = match failure {
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
    };
    Problem::new(DEPENDENCY_UNAVAILABLE, detail).retry_after(RETRY_AFTER_S)
}
