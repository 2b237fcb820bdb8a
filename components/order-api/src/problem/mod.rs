//! RFC 9457 problem details: the only shape errors leave this service in, and the one place
//! they get it. [`ApiError`] is the HTTP layer's error type; [`ApiError::problem`] is the one
//! mapping from an error to its status, `type` slug, `title`, `detail`, extension members and
//! headers; [`types`] names every problem type once.

mod error;
mod saga;
pub(crate) mod types;

pub(crate) use error::ApiError;
pub(crate) use types::ProblemType;

use crate::reply::Reply;
use serde_json::{Map, Value, json};
use spin_sdk::http::StatusCode;

/// Base of every specific problem `type` URI.
const TYPE_BASE: &str = "https://order-service.dev/problems/";

/// A problem+json answer (`{type, title, status, detail}` plus extension members), with the
/// headers that go with it.
pub(crate) struct Problem {
    kind: ProblemType,
    detail: String,
    extensions: Map<String, Value>,
    headers: Vec<(&'static str, String)>,
    retry_after_s: Option<u32>,
}

impl Problem {
    /// A problem of type `kind`: `type` is `https://order-service.dev/problems/{slug}`, status
    /// and title are the type's.
    fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            extensions: Map::new(),
            headers: Vec::new(),
            retry_after_s: None,
        }
    }

    /// A failure inside the service (storage, broker): `detail` says what failed in the
    /// service's words; the raw error (driver, SQL or Redis text) goes only to the log line
    /// `internal_error`, which carries the same `errorId` as the body (issue 16: no internal
    /// text in responses).
    fn internal(kind: ProblemType, detail: &str, raw_error: &str) -> Self {
        let error_id = guest::ids::random_hex(8);
        crate::telemetry::log_internal_error(&error_id, kind.slug, raw_error);
        Self::new(kind, format!("{detail} (error id {error_id})")).with("errorId", error_id)
    }

    /// Adds an extension member (`orderId`, `field`, `productId`, …).
    pub(crate) fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(name.to_owned(), value.into());
        self
    }

    /// Adds a response header (`Allow`, `Accept-Post`, `WWW-Authenticate`, …).
    fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Adds `Retry-After: seconds`.
    fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }

    /// The HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        self.kind.status
    }

    /// `Retry-After`, in seconds, when the problem says when to retry.
    pub(crate) fn retry_after_s(&self) -> Option<u32> {
        self.retry_after_s
    }

    /// The body as JSON.
    pub(crate) fn body(&self) -> Value {
        let type_uri = format!("{TYPE_BASE}{}", self.kind.slug);
        let mut body = json!({
            "type": type_uri,
            "title": self.kind.title,
            "status": self.kind.status.as_u16(),
            "detail": self.detail,
        });
        if let Value::Object(members) = &mut body {
            for (name, value) in &self.extensions {
                members.insert(name.clone(), value.clone());
            }
        }
        body
    }

    /// The response (`application/problem+json`, with its headers and `Retry-After`).
    pub(crate) fn into_reply(self) -> Reply {
        let mut reply = Reply::json_as(self.kind.status, "application/problem+json", &self.body());
        for (name, value) in &self.headers {
            reply = reply.with_header(name, value);
        }
        if let Some(seconds) = self.retry_after_s {
            reply = reply.with_header("retry-after", &seconds.to_string());
        }
        reply
    }
}
