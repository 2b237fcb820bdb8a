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
    allow: Option<&'static str>,
    /// `(slug, title)` of a specific problem type; `None` is `about:blank`.
    kind: Option<(&'static str, &'static str)>,
    extensions: Map<String, Value>,
    retry_after_s: Option<u32>,
}

impl Problem {
    /// 404: no resource at this path.
    pub(crate) fn not_found(path: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            detail: format!("no resource at {path}"),
            allow: None,
            kind: None,
            extensions: Map::new(),
            retry_after_s: None,
        }
    }

    /// 405: the resource exists but not for this method; `allow` lists the methods it has.
    pub(crate) fn method_not_allowed(method: &str, path: &str, allow: &'static str) -> Self {
        Self {
            status: StatusCode::METHOD_NOT_ALLOWED,
            detail: format!("{method} is not supported on {path}; use {allow}"),
            allow: Some(allow),
            kind: None,
            extensions: Map::new(),
            retry_after_s: None,
        }
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
            kind: Some((slug, title)),
            extensions: Map::new(),
            retry_after_s: None,
        }
    }

    /// Adds an extension member (`orderId`, `field`, `productId`, …).
    pub(crate) fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(name.to_owned(), value.into());
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
        let (type_uri, title) = match self.kind {
            Some((slug, title)) => (format!("{TYPE_BASE}{slug}"), title),
            None => (
                "about:blank".to_owned(),
                self.status.canonical_reason().unwrap_or("Error"),
            ),
        };
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

    /// The response. With `type: about:blank`, `title` is the status phrase (RFC 9457 §4.2.1).
    pub(crate) fn into_reply(self) -> Reply {
        let mut reply = Reply::json_as(self.status, "application/problem+json", &self.body());
        if let Some(allow) = self.allow {
            reply = reply.with_header("allow", allow);
        }
        if let Some(seconds) = self.retry_after_s {
            reply = reply.with_header("retry-after", &seconds.to_string());
        }
        reply
    }
}
