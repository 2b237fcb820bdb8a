//! What a saga run answers: an order (201/202) or a problem, and whether that answer may be
//! replayed for the same `Idempotency-Key`.

use crate::problem::Problem;
use crate::reply::Reply;
use crate::store::{StoredOrder, StoredResponse};
use serde_json::Value;
use spin_sdk::http::StatusCode;

/// Seconds a client should wait before retrying after a dependency outage.
pub(crate) const RETRY_AFTER_S: u32 = 5;

/// The answer of a saga run.
pub(crate) struct Outcome {
    status: StatusCode,
    body: Value,
    order_id: Option<String>,
    retry_after_s: Option<u32>,
}

impl Outcome {
    /// The order, with `status` (201 confirmed, 202 payment pending).
    pub(crate) fn order(status: StatusCode, stored: &StoredOrder) -> Self {
        Self {
            status,
            body: serde_json::to_value(&stored.order).unwrap_or_default(),
            order_id: Some(stored.order.id.clone()),
            retry_after_s: None,
        }
    }

    /// Asks the client to come back after `seconds` (`Retry-After`).
    pub(crate) fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }

    /// A problem; `order_id` is the order it concerns, if one was stored.
    pub(crate) fn problem(problem: Problem, order_id: Option<&str>) -> Self {
        let problem = match order_id {
            Some(id) => problem.with("orderId", id),
            None => problem,
        };
        let retry_after_s =
            (problem.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(RETRY_AFTER_S);
        Self {
            status: problem.status(),
            body: problem.body(),
            order_id: order_id.map(str::to_owned),
            retry_after_s,
        }
    }

    /// A 503 naming the dependency that failed.
    pub(crate) fn unavailable(detail: String, order_id: Option<&str>) -> Self {
        Self::problem(
            Problem::typed(
                StatusCode::SERVICE_UNAVAILABLE,
                "dependency-unavailable",
                "A service the order depends on is unavailable",
                detail,
            ),
            order_id,
        )
    }

    /// Whether the same `Idempotency-Key` should get this answer again. Outages (5xx) are not
    /// kept: the client is told to retry, so the key is given back.
    pub(crate) fn replayable(&self) -> bool {
        !self.status.is_server_error()
    }

    /// The answer as stored for replay.
    pub(crate) fn stored(&self) -> StoredResponse {
        StoredResponse {
            status: self.status.as_u16(),
            body: self.body.to_string(),
            order_id: self.order_id.clone(),
        }
    }

    /// The HTTP response.
    pub(crate) fn into_reply(self) -> Reply {
        reply(
            self.status,
            &self.body,
            self.order_id.as_deref(),
            self.retry_after_s,
        )
    }
}

/// A saga answer (fresh or replayed) as HTTP: problem+json for errors, `Location` for orders.
pub(crate) fn reply(
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
