//! [`ApiError`], the HTTP layer's one error type, and [`ApiError::problem`], the one mapping
//! from an error to problem+json. Handlers return `Result<Reply, ApiError>` and use `?`; the
//! router turns the error into its reply. Texts are for the caller and say how to fix the
//! request; internal error text (driver, SQL, Redis) only reaches the log, under an `errorId`
//! the body carries too.

use super::types::*;
use super::{Problem, ProblemType};
use crate::bindings::shop::events::events::EventsError;
use crate::reply::Reply;
use crate::store::StoreError;
use auth::AuthError;
use domain::{DomainError, OrderStatus, SagaStep, StrictJsonError};
use order_app::{RETRY_AFTER_S, Refusal, Unavailable};

/// Why a request was not answered with success.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// No route matches the path.
    NotFound {
        /// The path asked for.
        path: String,
    },
    /// The path exists but not for `method`; `allow` lists the methods it has (sent as
    /// `Allow`, RFC 9110 §15.5.6).
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The path asked for.
        path: String,
        /// The `Allow` value.
        allow: String,
    },
    /// The body exceeds the limit, in bytes.
    BodyTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The body is not of a JSON media type; `given` is the `Content-Type` sent, if any.
    UnsupportedMediaType {
        /// The `Content-Type` sent.
        given: Option<String>,
    },
    /// The body is not strict JSON (syntax, a duplicate member).
    MalformedJson(StrictJsonError),
    /// The body is JSON but not of the required shape; `field` names the member at fault
    /// (or `body`).
    MalformedBody {
        /// The member at fault, or `body`.
        field: String,
        /// What is wrong, for the caller.
        detail: String,
    },
    /// A header or body member is wrong (400 `invalid-request`).
    InvalidRequest {
        /// The header or member at fault.
        field: String,
        /// What is wrong, for the caller.
        detail: String,
    },
    /// A query parameter is wrong (400 `invalid-parameter`).
    InvalidParameter {
        /// The parameter at fault.
        name: String,
        /// What is wrong, for the caller (names the parameter).
        detail: String,
    },
    /// The create-order body breaks a rule of `domain` (400 for a body that is no order at
    /// all, 422 for a field).
    InvalidOrder(DomainError),
    /// The first request with this `Idempotency-Key` is still running.
    RequestInProgress,
    /// The `Idempotency-Key` was used for another body.
    IdempotencyKeyReused,
    /// No order has this id.
    OrderNotFound {
        /// The id asked for.
        id: String,
    },
    /// Another writer changed the order first; `current` is its status now, when known.
    OrderChanged {
        /// The order.
        id: String,
        /// Its status now.
        current: Option<OrderStatus>,
    },
    /// The order's saga has not finished (`step` is where it is).
    SagaInProgress {
        /// The order.
        id: String,
        /// Its saga step.
        step: SagaStep,
    },
    /// The state machine forbids `from` → `to`.
    IllegalTransition {
        /// The order.
        id: String,
        /// Its status.
        from: OrderStatus,
        /// The status asked for.
        to: OrderStatus,
    },
    /// Payment could not refund the order; nothing was changed.
    RefundUnavailable {
        /// The order.
        id: String,
    },
    /// The order application refused the order (4xx).
    Refused(Refusal),
    /// A dependency failed while placing the order (503).
    DependencyUnavailable(Unavailable),
    /// The order store failed.
    Storage(StoreError),
    /// No outbox event has this id.
    EventNotFound {
        /// The id asked for.
        id: String,
    },
    /// The event relay failed.
    Events(EventsError),
    /// Inbound auth refused the request.
    Auth(AuthError),
    /// Auth configuration the operator must fix (bad JWKS, allowlist, JWKS URL).
    AuthMisconfigured(String),
    /// Auth cannot check tokens right now (not configured, keys unreachable).
    AuthUnavailable(String),
    /// A failure no other variant describes: `detail` for the caller, `raw` for the log.
    Internal {
        /// What failed, in the service's words.
        detail: &'static str,
        /// The underlying error, logged only.
        raw: String,
    },
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self::Storage(error)
    }
}

impl From<EventsError> for ApiError {
    fn from(error: EventsError) -> Self {
        Self::Events(error)
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        Self::Auth(error)
    }
}

impl From<StrictJsonError> for ApiError {
    fn from(error: StrictJsonError) -> Self {
        Self::MalformedJson(error)
    }
}

impl ApiError {
    /// 400 `invalid-parameter` for query parameter `name`.
    pub(crate) fn invalid_parameter(name: &str, detail: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name: name.to_owned(),
            detail: detail.into(),
        }
    }

    /// 400 `invalid-request` for header or member `field`.
    pub(crate) fn invalid_request(field: &str, detail: impl Into<String>) -> Self {
        Self::InvalidRequest {
            field: field.to_owned(),
            detail: detail.into(),
        }
    }

    /// 400 `malformed-body` for member `field` (or `body`).
    pub(crate) fn malformed_body(field: &str, detail: impl Into<String>) -> Self {
        Self::MalformedBody {
            field: field.to_owned(),
            detail: detail.into(),
        }
    }

    /// The response.
    pub(crate) fn into_reply(self) -> Reply {
        self.problem().into_reply()
    }

    /// The problem this error is, with its extension members and headers. Internal failures
    /// are logged here, once, under the `errorId` the problem carries.
    pub(crate) fn problem(&self) -> Problem {
        match self {
            Self::NotFound { path } => Problem::new(NOT_FOUND, format!("no resource at {path}")),
            Self::MethodNotAllowed {
                method,
                path,
                allow,
            } => Problem::new(
                METHOD_NOT_ALLOWED,
                format!("{method} is not supported on {path}; use {allow}"),
            )
            .with_header("allow", allow.as_str()),
            Self::BodyTooLarge { limit } => Problem::new(
                BODY_TOO_LARGE,
                format!("the body must be at most {limit} bytes"),
            ),
            Self::UnsupportedMediaType { given } => {
                let detail = match given {
                    Some(given) => format!(
                        "the body must be JSON: send `Content-Type: application/json` (got `{given}`)"
                    ),
                    None => "the body must be JSON: send `Content-Type: application/json`".into(),
                };
                Problem::new(UNSUPPORTED_MEDIA_TYPE, detail)
                    .with("accept", vec!["application/json", "application/*+json"])
                    .with_header("accept-post", "application/json")
            }
            Self::MalformedJson(error) => {
                let field = match error {
                    StrictJsonError::DuplicateKey { key } => key.as_str(),
                    StrictJsonError::Syntax(_) => "body",
                };
                with_field(MALFORMED_BODY, field, error.to_string())
            }
            Self::MalformedBody { field, detail } => with_field(MALFORMED_BODY, field, detail),
            Self::InvalidRequest { field, detail } => with_field(INVALID_REQUEST, field, detail),
            Self::InvalidParameter { name, detail } => {
                Problem::new(INVALID_PARAMETER, detail.as_str()).with("parameter", name.as_str())
            }
            Self::InvalidOrder(error) => invalid_order(error),
            Self::RequestInProgress => Problem::new(
                REQUEST_IN_PROGRESS,
                "a request with the same Idempotency-Key is still being processed; retry shortly to get its result",
            )
            .retry_after(1),
            Self::IdempotencyKeyReused => Problem::new(
                IDEMPOTENCY_KEY_REUSED,
                "this Idempotency-Key was already used for a different order; use a new key for a new order",
            ),
            Self::OrderNotFound { id } => {
                Problem::new(ORDER_NOT_FOUND, format!("no order has id `{id}`; check the id"))
                    .with("orderId", id.as_str())
            }
            Self::OrderChanged { id, current } => order_changed(id, *current),
            Self::SagaInProgress { id, step } => Problem::new(
                SAGA_IN_PROGRESS,
                format!(
                    "order `{id}` is still being processed (saga step `{}`); retry later or run POST /api/v1/admin/orders/recover",
                    step.as_str()
                ),
            )
            .with("orderId", id.as_str()),
            Self::IllegalTransition { id, from, to } => Problem::new(
                ILLEGAL_TRANSITION,
                format!("an order in status `{from}` cannot become `{to}`"),
            )
            .with("orderId", id.as_str())
            .with("from", from.as_str())
            .with("to", to.as_str()),
            Self::RefundUnavailable { id } => Problem::new(
                DEPENDENCY_UNAVAILABLE,
                "the payment service could not refund the order; nothing was changed. Retry later",
            )
            .with("orderId", id.as_str())
            .retry_after(RETRY_AFTER_S),
            Self::Refused(refusal) => super::saga::refusal(refusal),
            Self::DependencyUnavailable(failure) => super::saga::unavailable(failure),
            Self::Storage(error) => storage(error),
            Self::EventNotFound { id } => {
                Problem::new(EVENT_NOT_FOUND, format!("no outbox event has id {id}"))
                    .with("eventId", id.as_str())
            }
            Self::Events(error) => events(error),
            Self::Auth(error) => auth_refusal(error),
            Self::AuthMisconfigured(detail) => {
                Problem::new(AUTH_MISCONFIGURED, format!("auth configuration: {detail}"))
            }
            Self::AuthUnavailable(detail) => {
                Problem::new(AUTH_UNAVAILABLE, detail.as_str()).retry_after(30)
            }
            Self::Internal { detail, raw } => Problem::internal(INTERNAL, detail, raw),
        }
    }
}

/// A problem naming the member or header at fault in `field`.
fn with_field(kind: ProblemType, field: &str, detail: impl Into<String>) -> Problem {
    Problem::new(kind, detail).with("field", field)
}

/// A refused create-order body: one that is no order at all is 400 `malformed-body`, a wrong
/// field 422 `invalid-field`; both name the field.
fn invalid_order(error: &DomainError) -> Problem {
    match error {
        DomainError::Invalid { field, reason } if field == "body" => with_field(
            MALFORMED_BODY,
            field,
            format!("the body is not a valid order: {reason}"),
        ),
        DomainError::DuplicateMember { key } => with_field(MALFORMED_BODY, key, error.to_string()),
        DomainError::Invalid { field, reason } => {
            with_field(INVALID_FIELD, field, format!("{field} {reason}"))
        }
        other => Problem::new(INVALID_ORDER, other.to_string()),
    }
}

/// 409 `order-changed`: nothing was applied; `current` is the order's status now, when known.
fn order_changed(id: &str, current: Option<OrderStatus>) -> Problem {
    let detail = match current {
        Some(status) => format!(
            "order `{id}` changed while this request was processed and is now `{}`; nothing was applied. Read it again and decide",
            status.as_str()
        ),
        None => format!(
            "order `{id}` changed while this request was processed; nothing was applied. Read it again and decide"
        ),
    };
    let problem = Problem::new(ORDER_CHANGED, detail).with("orderId", id);
    match current {
        Some(status) => problem.with("status", status.as_str()),
        None => problem,
    }
}

/// A storage failure: 409 when another writer changed the order first, 503 when the
/// database stayed busy or (libSQL) its server did not answer, else 500 (the driver's text
/// only in the log).
fn storage(error: &StoreError) -> Problem {
    match error {
        StoreError::Conflict { order_id } => order_changed(order_id, None),
        // Another writer holds the database, or its server is down or restarting; nothing was
        // lost (the saga resumes from its recorded step), so clients retry with the same key.
        StoreError::Busy(_) => Problem::new(
            STORAGE_BUSY,
            "the order database stayed locked past its busy timeout or did not answer; nothing was lost: retry (a create with the same Idempotency-Key)",
        )
        .retry_after(1),
        StoreError::Constraint(_) | StoreError::Failed(_) => Problem::internal(
            STORAGE_FAILURE,
            "the order database failed; nothing was changed by this request unless its order reports otherwise; retry later",
            &error.to_string(),
        ),
    }
}

/// A failed outbox operation: an unreachable Redis is a 503 worth retrying; the outbox table's
/// storage errors answer as the orders' do ([`storage`]); configuration is a 500 the
/// operator must fix.
fn events(error: &EventsError) -> Problem {
    match error {
        EventsError::Broker(raw) => Problem::internal(
            BROKER_UNAVAILABLE,
            "the event broker (Redis) could not be reached or refused the events; they stay pending, retry later",
            raw,
        )
        .retry_after(5),
        // The same database as the orders: the same two answers (busy, failed).
        EventsError::Storage(raw) => storage(&order_store::classify(raw.clone())),
        EventsError::InvalidConfig(detail) => Problem::new(EVENTS_MISCONFIGURED, detail.as_str()),
        EventsError::NotFound => Problem::new(EVENT_NOT_FOUND, "no such outbox event"),
    }
}

/// A refused request: the error's message as `detail` (fixed phrases, never the token), its
/// RFC 6750 code as `error`, its challenge, and `Cache-Control: no-store`.
fn auth_refusal(error: &AuthError) -> Problem {
    let kind = match error {
        AuthError::AddressNotAllowed => ADDRESS_NOT_ALLOWED,
        AuthError::InsufficientScope(_) => INSUFFICIENT_SCOPE,
        _ => UNAUTHORIZED,
    };
    let mut problem = Problem::new(kind, error.to_string());
    if let Some(code) = error.error_code() {
        problem = problem.with("error", code);
    }
    problem = problem.with_header("cache-control", "no-store");
    if let Some(challenge) = error.www_authenticate() {
        problem = problem.with_header("www-authenticate", challenge);
    }
    problem
}
