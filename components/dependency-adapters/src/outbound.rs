//! The one HTTP client wrapper of the adapters: builds a request to a dependency from
//! its base-URL variable, sends it with `spin_sdk::http`, and turns transport failures
//! and unexpected answers into `dependency-error`s.

use crate::bindings::shop::order::types::{DependencyError, TraceContext};
use bytes::Bytes;
use http::Method;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::de::DeserializeOwned;
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{EmptyBody, FullBody, OptionalBody};
use spin_sdk::wasip3::http::types::ErrorCode;

/// A service the adapters call.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Service {
    User,
    Product,
    Inventory,
    Payment,
}

impl Service {
    /// Every dependency, in the order `dependency-health` reports them.
    pub(crate) const ALL: [Service; 4] = [
        Service::User,
        Service::Product,
        Service::Inventory,
        Service::Payment,
    ];

    /// The dependency's name in health reports and key-value keys.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Service::User => "user",
            Service::Product => "product",
            Service::Inventory => "inventory",
            Service::Payment => "payment",
        }
    }

    /// The Spin variable holding the service's base URL (`scheme://host[:port]`).
    fn url_variable(self) -> &'static str {
        match self {
            Service::User => "user_service_url",
            Service::Product => "product_service_url",
            Service::Inventory => "inventory_service_url",
            Service::Payment => "payment_service_url",
        }
    }
}

/// One request to a dependency.
pub(crate) struct Call<'a> {
    service: Service,
    method: Method,
    path: String,
    body: Option<Vec<u8>>,
    trace: Option<&'a TraceContext>,
    idempotency_key: Option<&'a str>,
}

/// An HTTP answer from a dependency, whatever its status.
pub(crate) struct Answer {
    pub(crate) service: Service,
    pub(crate) status: u16,
    pub(crate) body: Bytes,
}

/// Characters left as-is in a path segment; everything else is percent-encoded so an id
/// can never change the path it is put into.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one path segment.
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
            service,
            method: Method::POST,
            path,
            // Serialising a `Value` cannot fail: all its keys are strings.
            body: Some(serde_json::to_vec(body).unwrap_or_default()),
            trace,
            idempotency_key: None,
        }
    }

    /// Sends the `Idempotency-Key` header, so the service answers a repeat with the
    /// first answer instead of acting twice.
    pub(crate) fn idempotency_key(mut self, key: &'a str) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// Sends the request and reads the whole answer.
    pub(crate) async fn send(self) -> Result<Answer, DependencyError> {
        let service = self.service;
        let base = spin_sdk::variables::get(service.url_variable())
            .await
            .map_err(|error| {
                DependencyError::Unavailable(format!(
                    "{} is not configured: {error:?}",
                    service.url_variable()
                ))
            })?;
        let url = format!("{}{}", base.trim_end_matches('/'), self.path);

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
            DependencyError::Unavailable(format!("invalid request to {url}: {error}"))
        })?;

        let response = spin_sdk::http::send(request)
            .await
            .map_err(|code| transport_error(service, &code))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|code| transport_error(service, &code))?;
        Ok(Answer {
            service,
            status,
            body,
        })
    }
}

impl Answer {
    /// Whether the status is 2xx.
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as `T`; an unreadable body means the dependency is not working.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, DependencyError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            DependencyError::Unavailable(format!(
                "{} service answered {} with an unreadable body: {error}",
                self.service.name(),
                self.status
            ))
        })
    }

    /// The error for an answer the contract does not expect: 404 → `not-found`, other
    /// 4xx → `rejected` (our request was wrong; retrying cannot help), anything else →
    /// `unavailable`.
    pub(crate) fn unexpected(&self) -> DependencyError {
        let detail = format!(
            "{} service answered {}: {}",
            self.service.name(),
            self.status,
            excerpt(&self.body)
        );
        match self.status {
            404 => DependencyError::NotFound,
            400..=499 => DependencyError::Rejected(detail),
            _ => DependencyError::Unavailable(detail),
        }
    }
}

/// A transport failure: a timeout is its own case (the breaker counts it separately).
fn transport_error(service: Service, code: &ErrorCode) -> DependencyError {
    match code {
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout => DependencyError::Timeout,
        _ => DependencyError::Unavailable(format!(
            "{} service unreachable: {code:?}",
            service.name()
        )),
    }
}

/// The start of a body, for error messages; bounded so a large error page stays small.
fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}
