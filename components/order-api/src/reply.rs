//! The one way this component builds an HTTP response.

use bytes::Bytes;
use spin_sdk::http::{FullBody, HeaderName, HeaderValue, IntoResponse, Response, StatusCode};
use spin_sdk::wasip3::http::types::{ErrorCode, Response as WasiResponse};

/// A fully buffered response: status, headers and body.
pub(crate) struct Reply {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

impl Reply {
    /// A JSON body with the given status and content type.
    pub(crate) fn json_as(
        status: StatusCode,
        content_type: &'static str,
        value: &serde_json::Value,
    ) -> Self {
        Self {
            status,
            headers: vec![(
                HeaderName::from_static("content-type"),
                HeaderValue::from_static(content_type),
            )],
            // Serialising a `Value` cannot fail: all its keys are strings.
            body: serde_json::to_vec(value).unwrap_or_default().into(),
        }
    }

    /// A text body with the given status and content type.
    pub(crate) fn text(status: StatusCode, content_type: &'static str, body: String) -> Self {
        Self {
            status,
            headers: vec![(
                HeaderName::from_static("content-type"),
                HeaderValue::from_static(content_type),
            )],
            body: body.into(),
        }
    }

    /// No body (e.g. 204).
    pub(crate) fn empty(status: StatusCode) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// The HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// An `application/json` body with the given status.
    pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Self {
        Self::json_as(status, "application/json", value)
    }

    /// Adds a header; a value that is not a valid header value is dropped rather than
    /// turning a good answer into an error.
    pub(crate) fn with_header(mut self, name: &'static str, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((HeaderName::from_static(name), value));
        }
        self
    }
}

/// Every reply carries `Content-Length` (except where RFC 9110 §8.6 forbids it: 1xx, 204, 304).
///
/// Why: without it the body goes out chunked, and the host only learns that the body stream has
/// ended after the guest task that writes it finishes, so the terminating `0\r\n\r\n` chunk
/// often leaves in a second write. Spin does not set `TCP_NODELAY` on accepted sockets, so that
/// second small write waits for the client's delayed ACK of the first: ~40 ms per keep-alive
/// response (measured with `order-host up`, which behaves the same by default). With a known
/// length the whole response leaves in the write that carries the headers.
impl IntoResponse for Reply {
    fn into_response(self) -> Result<WasiResponse, ErrorCode> {
        let bodiless = self.status.is_informational()
            || self.status == StatusCode::NO_CONTENT
            || self.status == StatusCode::NOT_MODIFIED;
        let length = self.body.len();
        let mut response = Response::new(FullBody::new(self.body));
        *response.status_mut() = self.status;
        for (name, value) in self.headers {
            response.headers_mut().append(name, value);
        }
        if !bodiless {
            response.headers_mut().insert(
                HeaderName::from_static("content-length"),
                HeaderValue::from(length),
            );
        }
        response.into_response()
    }
}
