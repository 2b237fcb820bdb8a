//! The one HTTP client wrapper of the adapters: builds a request to a dependency (service
//! token, `traceparent`, `Idempotency-Key`), sends it with `spin_sdk::http`, and classifies
//! what came back for the resilience policies.

use std::fmt;

use bytes::Bytes;
use http::Method;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use resilience::{Classify, Clock, OutcomeKind};
use serde::de::DeserializeOwned;
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{EmptyBody, FullBody, OptionalBody};
use spin_sdk::wasip3::http::types::ErrorCode;

use crate::bindings::exports::shop::adapters::types::{DependencyError, TraceContext};
use crate::clock::WasiClock;
use crate::service::Service;

/// One request to a dependency.
pub(crate) struct Call<'a> {
    service: Service,
    method: Method,
    path: String,
    body: Option<Vec<u8>>,
    trace: Option<&'a TraceContext>,
    idempotency_key: Option<&'a str>,
    bearer: Option<String>,
}

/// An HTTP answer from a dependency, whatever its status.
pub(crate) struct Answer {
    pub(crate) service: Service,
    pub(crate) status: u16,
    pub(crate) body: Bytes,
    /// `Retry-After`, in milliseconds from when the answer arrived.
    pub(crate) retry_after_ms: Option<u64>,
}

/// Why an attempt produced no usable answer, classified for breaker and retry.
#[derive(Debug)]
pub(crate) struct CallError {
    pub(crate) error: DependencyError,
    kind: OutcomeKind,
    retry_after_ms: Option<u64>,
}

/// Characters left as-is in a path segment; everything else is percent-encoded so an id
/// can never change the path it is put into.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one path segment (or one form value).
pub(crate) fn segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

impl<'a> Call<'a> {
    /// A GET of `path` (already encoded) on `service`.
    pub(crate) fn get(service: Service, path: String, trace: Option<&'a TraceContext>) -> Self {
        Self {
            service,
            method: Method::GET,
            path,
            body: None,
            trace,
            idempotency_key: None,
            bearer: None,
        }
    }

    /// A POST of a JSON body to `path` (already encoded) on `service`.
    pub(crate) fn post_json(
        service: Service,
        path: String,
        body: &serde_json::Value,
        trace: Option<&'a TraceContext>,
    ) -> Self {
        Self {
            // Serialising a `Value` cannot fail: all its keys are strings.
            body: Some(serde_json::to_vec(body).unwrap_or_default()),
            method: Method::POST,
            ..Self::get(service, path, trace)
        }
    }

    /// The dependency this call goes to.
    pub(crate) fn service(&self) -> Service {
        self.service
    }

    /// Sends the `Idempotency-Key` header, so the service answers a repeat with the
    /// first answer instead of acting twice.
    pub(crate) fn idempotency_key(mut self, key: &'a str) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// Sends `Authorization: Bearer <token>`.
    pub(crate) fn bearer(mut self, token: Option<String>) -> Self {
        self.bearer = token;
        self
    }

    /// Sends the request to `base_url` + path and reads the whole answer.
    pub(crate) async fn send(self, base_url: &str) -> Result<Answer, CallError> {
        let service = self.service;
        let url = format!("{base_url}{}", self.path);
        let mut request = http::Request::builder()
            .method(self.method)
            .uri(&url)
            .header("accept", "application/json");
        if let Some(body) = &self.body {
            // An explicit length instead of chunked encoding: the body is fully
            // buffered, and not every server or proxy accepts chunked requests.
            request = request
                .header("content-type", "application/json")
                .header("content-length", body.len());
        }
        if let Some(token) = &self.bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(trace) = self.trace {
            request = request.header("traceparent", &trace.traceparent);
            if let Some(state) = &trace.tracestate {
                request = request.header("tracestate", state);
            }
        }
        if let Some(key) = self.idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let body: OptionalBody<Bytes> = match self.body {
            Some(body) => http_body_util::Either::Left(FullBody::new(body.into())),
            None => http_body_util::Either::Right(EmptyBody::new()),
        };
        let request = request.body(body).map_err(|error| {
            CallError::not_sent(DependencyError::Unavailable(format!(
                "invalid request to {url}: {error}"
            )))
        })?;

        let response = spin_sdk::http::send(request)
            .await
            .map_err(|code| CallError::transport(service, &code))?;
        let status = response.status().as_u16();
        let retry_after_ms = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| resilience::retry::parse_retry_after(value, WasiClock.now_ms()));
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|code| CallError::transport(service, &code))?;
        Ok(Answer {
            service,
            status,
            body,
            retry_after_ms,
        })
    }
}

impl Answer {
    /// Whether the status is 2xx.
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as `T`; an unreadable body means the dependency is not working.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, CallError> {
        serde_json::from_slice(&self.body).map_err(|error| CallError {
            error: DependencyError::Unavailable(format!(
                "{} service answered {} with an unreadable body: {error}",
                self.service.name(),
                self.status
            )),
            kind: OutcomeKind::Failure,
            retry_after_ms: None,
        })
    }

    /// The error for an answer the contract does not expect: 404 → `not-found`, other
    /// 4xx → `rejected` (our request was wrong; retrying cannot help), anything else →
    /// `unavailable` (a failure of the dependency).
    pub(crate) fn unexpected(&self) -> CallError {
        let detail = format!(
            "{} service answered {}: {}",
            self.service.name(),
            self.status,
            excerpt(&self.body)
        );
        let (error, kind) = match self.status {
            404 => (DependencyError::NotFound, OutcomeKind::Rejected),
            400..=499 => (DependencyError::Rejected(detail), OutcomeKind::Rejected),
            _ => (DependencyError::Unavailable(detail), OutcomeKind::Failure),
        };
        CallError {
            error,
            kind,
            retry_after_ms: self.retry_after_ms,
        }
    }
}

impl CallError {
    /// The request was never sent (no base URL, no service token): nothing to count.
    pub(crate) fn not_sent(error: DependencyError) -> Self {
        Self {
            error,
            kind: OutcomeKind::NotSent,
            retry_after_ms: None,
        }
    }

    /// No answer within the per-attempt timeout.
    pub(crate) fn timeout() -> Self {
        Self {
            error: DependencyError::Timeout,
            kind: OutcomeKind::Timeout,
            retry_after_ms: None,
        }
    }

    /// A transport failure. A transport-level timeout is a timeout like ours.
    fn transport(service: Service, code: &ErrorCode) -> Self {
        match code {
            ErrorCode::ConnectionTimeout
            | ErrorCode::ConnectionReadTimeout
            | ErrorCode::ConnectionWriteTimeout
            | ErrorCode::HttpResponseTimeout => Self {
                error: DependencyError::Timeout,
                kind: OutcomeKind::Timeout,
                retry_after_ms: None,
            },
            // The host refused to send it (not in allowed_outbound_hosts): not the
            // dependency's failure.
            ErrorCode::HttpRequestDenied => Self::not_sent(DependencyError::Unavailable(format!(
                "{} service: outbound request denied by the host",
                service.name()
            ))),
            _ => Self {
                error: DependencyError::Unavailable(format!(
                    "{} service unreachable: {code:?}",
                    service.name()
                )),
                kind: OutcomeKind::Failure,
                retry_after_ms: None,
            },
        }
    }
}

impl Classify for CallError {
    fn kind(&self) -> OutcomeKind {
        self.kind
    }

    fn retry_after_ms(&self) -> Option<u64> {
        self.retry_after_ms
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            DependencyError::Unavailable(detail) | DependencyError::Rejected(detail) => {
                f.write_str(detail)
            }
            DependencyError::NotFound => f.write_str("not found"),
            DependencyError::Timeout => f.write_str("timed out"),
            DependencyError::CircuitOpen => f.write_str("circuit open"),
        }
    }
}

/// The start of a body, for error messages; bounded so a large error page stays small.
pub(crate) fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}
