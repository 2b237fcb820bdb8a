//! RFC 9457 problem details: the only shape errors leave this service in.

use crate::reply::Reply;
use serde_json::{Map, Value, json};
use spin_sdk::http::StatusCode;

/// Base of every specific problem `type` URI.
const TYPE_BASE: &str = "https://order-service.dev/problems/";

/// A problem+json answer (`{type, title, status, detail}` plus extension members).
pub(crate) struct Problem {
    status: StatusCode,
    detail: String,
    allow: Option<String>,
    accept_post: Option<&'static str>,
    /// `(slug, title)` of the specific problem type.
    kind: (&'static str, &'static str),
    extensions: Map<String, Value>,
    retry_after_s: Option<u32>,
}

impl Problem {
    /// 404 `not-found`: no resource at this path.
    pub(crate) fn not_found(path: &str) -> Self {
        Self::typed(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("no resource at {path}"),
        )
    }

    /// 405 `method-not-allowed`: the resource exists but not for this method; `allow` lists
    /// the methods it has (sent as `Allow`, RFC 9110 §15.5.6).
    pub(crate) fn method_not_allowed(method: &str, path: &str, allow: &str) -> Self {
        let mut problem = Self::typed(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            format!("{method} is not supported on {path}; use {allow}"),
        );
        problem.allow = Some(allow.to_owned());
        problem
    }

    /// 400 `invalid-parameter`: query parameter `name` is malformed (the one shape every route
    /// uses for query parameters; `parameter` names it).
    pub(crate) fn invalid_parameter(name: &str, detail: impl Into<String>) -> Self {
        Self::typed(
            StatusCode::BAD_REQUEST,
            "invalid-parameter",
            "Invalid query parameter",
            detail,
        )
        .with("parameter", name)
    }

    /// A specific problem: `type` is `https://order-service.dev/problems/{slug}`.
    pub(crate) fn typed(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            detail: detail.into(),
            allow: None,
            accept_post: None,
            kind: (slug, title),
            extensions: Map::new(),
            retry_after_s: None,
        }
    }

    /// A failure inside the service (storage, broker): `detail` says what failed in the
    /// service's words; the raw error (driver, SQL or Redis text) goes only to the log line
    /// `internal_error`, which carries the same `errorId` as the body (issue 16: no internal
    /// text in responses).
    pub(crate) fn internal(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: &str,
        raw_error: &str,
    ) -> Self {
        let error_id = guest::ids::random_hex(8);
        crate::telemetry::log_internal_error(&error_id, slug, raw_error);
        Self::typed(
            status,
            slug,
            title,
            format!("{detail} (error id {error_id})"),
        )
        .with("errorId", error_id)
    }

    /// Adds an extension member (`orderId`, `field`, `productId`, …).
    pub(crate) fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(name.to_owned(), value.into());
        self
    }

    /// Adds `Accept-Post: media_type` (the media types a POST accepts; W3C LDP §7.1, as
    /// RFC 9110 §15.5.16 suggests for a 415).
    pub(crate) fn with_accept_post(mut self, media_type: &'static str) -> Self {
        self.accept_post = Some(media_type);
        self
    }

    /// Adds `Retry-After: seconds`.
    pub(crate) fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }

    /// The HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The body as JSON.
    pub(crate) fn body(&self) -> Value {
        let (slug, title) = self.kind;
        let type_uri = format!("{TYPE_BASE}{slug}");
        let mut body = json!({
            "type": type_uri,
            "title": title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Value::Object(members) = &mut body {
            for (name, value) in &self.extensions {
                members.insert(name.clone(), value.clone());
            }
        }
        body
    }

    /// The response (`application/problem+json`, with `Allow` and `Retry-After` when set).
    pub(crate) fn into_reply(self) -> Reply {
        let mut reply = Reply::json_as(self.status, "application/problem+json", &self.body());
        if let Some(allow) = &self.allow {
            reply = reply.with_header("allow", allow);
        }
        if let Some(media_type) = self.accept_post {
            reply = reply.with_header("accept-post", media_type);
        }
        if let Some(seconds) = self.retry_after_s {
            reply = reply.with_header("retry-after", &seconds.to_string());
        }
        reply
    }
}
