//! Every problem type this service answers with, once: its status, its `type` slug (the URI is
//! `https://order-service.dev/problems/{slug}`) and its `title`. Clients branch on the slug, so
//! a slug is never reused for another meaning; `openapi.json` describes the shape they share.

use spin_sdk::http::StatusCode;

/// One problem type: status, slug and title always travel together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProblemType {
    /// The HTTP status of every problem of this type.
    pub(crate) status: StatusCode,
    /// The last segment of the `type` URI.
    pub(crate) slug: &'static str,
    /// The `title`: the same for every occurrence (RFC 9457 §3.1.3).
    pub(crate) title: &'static str,
}

const fn problem(status: StatusCode, slug: &'static str, title: &'static str) -> ProblemType {
    ProblemType {
        status,
        slug,
        title,
    }
}

// Routing.
/// 404: no resource at this path.
pub(crate) const NOT_FOUND: ProblemType = problem(StatusCode::NOT_FOUND, "not-found", "Not found");
/// 405: the path exists, not for this method (with `Allow`).
pub(crate) const METHOD_NOT_ALLOWED: ProblemType = problem(
    StatusCode::METHOD_NOT_ALLOWED,
    "method-not-allowed",
    "Method not allowed",
);

// Request input.
/// 413: the body is larger than the limit.
pub(crate) const BODY_TOO_LARGE: ProblemType = problem(
    StatusCode::PAYLOAD_TOO_LARGE,
    "body-too-large",
    "Request body too large",
);
/// 415: the body is not JSON (with `Accept-Post`).
pub(crate) const UNSUPPORTED_MEDIA_TYPE: ProblemType = problem(
    StatusCode::UNSUPPORTED_MEDIA_TYPE,
    "unsupported-media-type",
    "Unsupported media type",
);
/// 400: the body is not the JSON it must be (syntax, duplicate member, not an object).
pub(crate) const MALFORMED_BODY: ProblemType = problem(
    StatusCode::BAD_REQUEST,
    "malformed-body",
    "Malformed request body",
);
/// 400: a header or body member is wrong (`field` names it).
pub(crate) const INVALID_REQUEST: ProblemType = problem(
    StatusCode::BAD_REQUEST,
    "invalid-request",
    "Invalid request",
);
/// 400: a query parameter is wrong (`parameter` names it).
pub(crate) const INVALID_PARAMETER: ProblemType = problem(
    StatusCode::BAD_REQUEST,
    "invalid-parameter",
    "Invalid query parameter",
);
/// 422: a create-order field breaks a rule (`field` names it).
pub(crate) const INVALID_FIELD: ProblemType = problem(
    StatusCode::UNPROCESSABLE_ENTITY,
    "invalid-field",
    "Invalid field",
);
/// 422: the order as a whole breaks a domain rule.
pub(crate) const INVALID_ORDER: ProblemType = problem(
    StatusCode::UNPROCESSABLE_ENTITY,
    "invalid-order",
    "Invalid order",
);

// Idempotency keys.
/// 409: the first request with this key is still running (with `Retry-After`).
pub(crate) const REQUEST_IN_PROGRESS: ProblemType = problem(
    StatusCode::CONFLICT,
    "request-in-progress",
    "A request with this Idempotency-Key is in progress",
);
/// 409: this key was used for another body.
pub(crate) const IDEMPOTENCY_KEY_REUSED: ProblemType = problem(
    StatusCode::CONFLICT,
    "idempotency-key-reused",
    "Idempotency-Key reused with a different body",
);

// Orders and their saga.
/// 404: no order has this id.
pub(crate) const ORDER_NOT_FOUND: ProblemType =
    problem(StatusCode::NOT_FOUND, "order-not-found", "Order not found");
/// 409: another writer changed the order first; nothing was applied.
pub(crate) const ORDER_CHANGED: ProblemType =
    problem(StatusCode::CONFLICT, "order-changed", "Order changed");
/// 409: the order's saga has not finished.
pub(crate) const SAGA_IN_PROGRESS: ProblemType = problem(
    StatusCode::CONFLICT,
    "saga-in-progress",
    "Order saga in progress",
);
/// 409: the state machine forbids the change.
pub(crate) const ILLEGAL_TRANSITION: ProblemType = problem(
    StatusCode::CONFLICT,
    "illegal-transition",
    "Illegal status transition",
);
/// 422: the buyer may not order (suspended, deleted).
pub(crate) const USER_CANNOT_ORDER: ProblemType = problem(
    StatusCode::UNPROCESSABLE_ENTITY,
    "user-cannot-order",
    "User cannot order",
);
/// 422: the buyer does not exist.
pub(crate) const USER_NOT_FOUND: ProblemType = problem(
    StatusCode::UNPROCESSABLE_ENTITY,
    "user-not-found",
    "User not found",
);
/// 422: a product does not exist.
pub(crate) const PRODUCT_NOT_FOUND: ProblemType = problem(
    StatusCode::UNPROCESSABLE_ENTITY,
    "product-not-found",
    "Product not found",
);
/// 422: a product is no longer sold.
pub(crate) const PRODUCT_INACTIVE: ProblemType = problem(
    StatusCode::UNPROCESSABLE_ENTITY,
    "product-inactive",
    "Product not available",
);
/// 422: the lines cannot be totalled (currencies mixed, overflow).
pub(crate) const ORDER_NOT_PRICEABLE: ProblemType = problem(
    StatusCode::UNPROCESSABLE_ENTITY,
    "order-not-priceable",
    "The order cannot be priced",
);
/// 409: Inventory has too few units.
pub(crate) const INSUFFICIENT_STOCK: ProblemType = problem(
    StatusCode::CONFLICT,
    "insufficient-stock",
    "Insufficient stock",
);
/// 402: Payment declined the charge.
pub(crate) const PAYMENT_DECLINED: ProblemType = problem(
    StatusCode::PAYMENT_REQUIRED,
    "payment-declined",
    "Payment declined",
);
/// 503: a dependency (User, Product, Inventory, Payment) failed (with `Retry-After`).
pub(crate) const DEPENDENCY_UNAVAILABLE: ProblemType = problem(
    StatusCode::SERVICE_UNAVAILABLE,
    "dependency-unavailable",
    "A service the order depends on is unavailable",
);

// Storage.
/// 503: the order database stayed locked or did not answer (with `Retry-After`).
pub(crate) const STORAGE_BUSY: ProblemType = problem(
    StatusCode::SERVICE_UNAVAILABLE,
    "storage-busy",
    "The order database is busy",
);
/// 500: the order database failed (`errorId` in the body and the log).
pub(crate) const STORAGE_FAILURE: ProblemType = problem(
    StatusCode::INTERNAL_SERVER_ERROR,
    "storage-failure",
    "The order database failed",
);

// The outbox.
/// 404: no outbox event has this id.
pub(crate) const EVENT_NOT_FOUND: ProblemType =
    problem(StatusCode::NOT_FOUND, "event-not-found", "Event not found");
/// 503: Redis could not be reached or refused the events (with `Retry-After`).
pub(crate) const BROKER_UNAVAILABLE: ProblemType = problem(
    StatusCode::SERVICE_UNAVAILABLE,
    "broker-unavailable",
    "Event broker unavailable",
);
/// 500: the relay's configuration is unusable.
pub(crate) const EVENTS_MISCONFIGURED: ProblemType = problem(
    StatusCode::INTERNAL_SERVER_ERROR,
    "events-misconfigured",
    "Event relay misconfigured",
);

// Inbound auth (ARCHITECTURE §5).
/// 403 without a challenge: the client address is not on the allowlist.
pub(crate) const ADDRESS_NOT_ALLOWED: ProblemType = problem(
    StatusCode::FORBIDDEN,
    "address-not-allowed",
    "Client address not allowed",
);
/// 403: the token lacks the route's scope.
pub(crate) const INSUFFICIENT_SCOPE: ProblemType = problem(
    StatusCode::FORBIDDEN,
    "insufficient-scope",
    "Insufficient scope",
);
/// 401: no token, or one that does not verify.
pub(crate) const UNAUTHORIZED: ProblemType = problem(
    StatusCode::UNAUTHORIZED,
    "unauthorized",
    "Authentication required",
);
/// 500: auth configuration the operator must fix.
pub(crate) const AUTH_MISCONFIGURED: ProblemType = problem(
    StatusCode::INTERNAL_SERVER_ERROR,
    "auth-misconfigured",
    "Auth misconfigured",
);
/// 503: tokens cannot be checked right now (with `Retry-After`).
pub(crate) const AUTH_UNAVAILABLE: ProblemType = problem(
    StatusCode::SERVICE_UNAVAILABLE,
    "auth-unavailable",
    "Auth unavailable",
);

// Anything else.
/// 500: a failure no other type describes (`errorId` in the body and the log).
pub(crate) const INTERNAL: ProblemType = problem(
    StatusCode::INTERNAL_SERVER_ERROR,
    "internal",
    "Internal error",
);

/// Every problem type above, for the checks below and for anyone listing them.
#[cfg(test)]
const ALL: &[ProblemType] = &[
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    BODY_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    MALFORMED_BODY,
    INVALID_REQUEST,
    INVALID_PARAMETER,
    INVALID_FIELD,
    INVALID_ORDER,
    REQUEST_IN_PROGRESS,
    IDEMPOTENCY_KEY_REUSED,
    ORDER_NOT_FOUND,
    ORDER_CHANGED,
    SAGA_IN_PROGRESS,
    ILLEGAL_TRANSITION,
    USER_CANNOT_ORDER,
    USER_NOT_FOUND,
    PRODUCT_NOT_FOUND,
    PRODUCT_INACTIVE,
    ORDER_NOT_PRICEABLE,
    INSUFFICIENT_STOCK,
    PAYMENT_DECLINED,
    DEPENDENCY_UNAVAILABLE,
    STORAGE_BUSY,
    STORAGE_FAILURE,
    EVENT_NOT_FOUND,
    BROKER_UNAVAILABLE,
    EVENTS_MISCONFIGURED,
    ADDRESS_NOT_ALLOWED,
    INSUFFICIENT_SCOPE,
    UNAUTHORIZED,
    AUTH_MISCONFIGURED,
    AUTH_UNAVAILABLE,
    INTERNAL,
];

#[cfg(test)]
mod tests {
    use super::ALL;
    use std::collections::BTreeSet;

    #[test]
    fn every_problem_type_of_this_file_is_listed_once_with_its_own_slug() {
        let declared = include_str!("types.rs")
            .lines()
            .filter(|line| line.starts_with("pub(crate) const "))
            .count();
        assert_eq!(declared, ALL.len(), "ALL lists every problem type");
        let slugs: BTreeSet<&str> = ALL.iter().map(|kind| kind.slug).collect();
        assert_eq!(slugs.len(), ALL.len(), "no slug names two problem types");
    }

    #[test]
    fn every_problem_type_is_an_error_status_with_a_lowercase_slug() {
        for kind in ALL {
            assert!(
                kind.status.is_client_error() || kind.status.is_server_error(),
                "{kind:?}"
            );
            assert!(
                kind.slug
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-'),
                "{kind:?}"
            );
        }
    }
}
