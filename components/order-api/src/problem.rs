//! RFC 9457 problem details: the only shape errors leave this service in.

use crate::reply::Reply;
use serde_json::json;
use spin_sdk::http::StatusCode;

/// A problem+json answer (`{type, title, status, detail}`).
pub(crate) struct Problem {
    status: StatusCode,
    detail: String,
    allow: Option<&'static str>,
}

impl Problem {
    /// 404: no resource at this path.
    pub(crate) fn not_found(path: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            detail: format!("no resource at {path}"),
            allow: None,
        }
    }

    /// 405: the resource exists but not for this method; `allow` lists the methods it has.
    pub(crate) fn method_not_allowed(method: &str, path: &str, allow: &'static str) -> Self {
        Self {
            status: StatusCode::METHOD_NOT_ALLOWED,
            detail: format!("{method} is not supported on {path}; use {allow}"),
            allow: Some(allow),
        }
    }

    /// The response. `type` is `about:blank`, so `title` is the status phrase (RFC 9457 §4.2.1).
    pub(crate) fn into_reply(self) -> Reply {
        let body = json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        let reply = Reply::json_as(self.status, "application/problem+json", &body);
        match self.allow {
            Some(allow) => reply.with_header("allow", allow),
            None => reply,
        }
    }
}
