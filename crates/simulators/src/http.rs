//! The HTTP pieces every simulator shares: the recorded request a test can inspect, and the
//! reply a handler builds (JSON or RFC 9457 problem+json).

use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use serde::Serialize;

/// One request a simulator received, as it arrived (before any fault was applied).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path without the query, e.g. `/users/usr_alice`.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// Headers in arrival order; names are lower case.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Bytes,
    /// When the simulator received the whole request (lets tests measure retry spacing).
    pub received_at: Instant,
}

impl RecordedRequest {
    pub(crate) fn new(parts: &hyper::http::request::Parts, body: Bytes) -> Self {
        let headers = parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        Self {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers,
            body,
            received_at: Instant::now(),
        }
    }

    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Idempotency-Key` header.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.header("idempotency-key")
    }

    /// The W3C `traceparent` header.
    pub fn traceparent(&self) -> Option<&str> {
        self.header("traceparent")
    }

    /// The `Authorization` header.
    pub fn authorization(&self) -> Option<&str> {
        self.header("authorization")
    }

    /// The token of an `Authorization: Bearer <token>` header.
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.authorization()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }

    /// The body as text (lossy UTF-8).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// What a handler answers; turned into a hyper response at the edge.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    status: u16,
    content_type: &'static str,
    extra_headers: Vec<(&'static str, String)>,
    body: Bytes,
}

impl Reply {
    /// A JSON answer.
    pub(crate) fn json(status: u16, value: &impl Serialize) -> Self {
        // Serialising our own plain data types cannot fail; an empty body would show it if it did.
        let body = serde_json::to_vec(value).unwrap_or_default();
        Self {
            status,
            content_type: "application/json",
            extra_headers: Vec::new(),
            body: body.into(),
        }
    }

    /// An RFC 9457 problem document.
    pub(crate) fn problem(status: u16, title: &str, detail: &str) -> Self {
        let doc = serde_json::json!({
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": detail,
        });
        Self {
            content_type: "application/problem+json",
            ..Self::json(status, &doc)
        }
    }

    /// The answer for a path or method no simulator route serves.
    pub(crate) fn no_route(req: &RecordedRequest) -> Self {
        let detail = format!("no route for {} {}", req.method, req.path);
        Self::problem(404, "Not Found", &detail)
    }

    /// Adds a header.
    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.extra_headers.push((name, value));
        self
    }

    /// The status code.
    #[cfg(test)]
    pub(crate) fn status(&self) -> u16 {
        self.status
    }

    /// The hyper response.
    pub(crate) fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(self.body));
        *response.status_mut() = hyper::StatusCode::from_u16(self.status)
            .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        for (name, value) in self.extra_headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(HeaderName::from_static(name), value);
            }
        }
        response
    }
}

/// Parses a JSON body into `T`, or answers 400 with a problem naming what was wrong.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    req: &RecordedRequest,
) -> Result<T, Reply> {
    serde_json::from_slice(&req.body)
        .map_err(|e| Reply::problem(400, "Bad Request", &format!("invalid JSON body: {e}")))
}

/// The single path segment after `prefix` (percent-decoded), e.g. the id of `/users/{id}`.
pub(crate) fn segment_after<'p>(path: &'p str, prefix: &str) -> Option<String> {
    let rest: &'p str = path.strip_prefix(prefix)?;
    if rest.is_empty() || rest.contains('/') {
        return None;
    }
    Some(
        percent_encoding::percent_decode_str(rest)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_after_takes_exactly_one_decoded_segment() {
        assert_eq!(
            segment_after("/users/a%20b", "/users/").as_deref(),
            Some("a b")
        );
        assert_eq!(segment_after("/users/", "/users/"), None);
        assert_eq!(segment_after("/users/a/b", "/users/"), None);
        assert_eq!(segment_after("/products/a", "/users/"), None);
    }

    #[test]
    fn problem_has_status_and_problem_content_type() {
        let reply = Reply::problem(503, "Service Unavailable", "down");
        assert_eq!(reply.status(), 503);
        let response = reply.into_response();
        assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
    }
}
