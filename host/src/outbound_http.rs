//! Outbound `wasi:http` for guests: every request is checked against the component's
//! `allowed_outbound_hosts` before any connection is made; a refused request is the WASI error
//! `HTTP-request-denied` to the guest, never a packet on the wire.
//!
//! Plain `http://` requests go through one process-wide HTTP/1.1 client that keeps idle
//! connections per origin (as Spin's outbound HTTP does), so a component calling the same
//! service again does not pay for a new TCP connection each time. `https://` requests go
//! through the pooled rustls client the runtime config's `[[client_tls]]` chooses for the
//! component and host ([`crate::outbound_https`]); a TLS failure is an error to the guest,
//! never a retry over plain HTTP.
//!
//! With traces on, each allowed request gets a client span (child of its request's component
//! span) and leaves with a `traceparent` naming that span, as Spin's `inject_trace_context`
//! does (`spin/crates/factor-outbound-http/src/wasi.rs`).

use std::io;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::allowed_hosts::AllowedHosts;
use crate::outbound_https::{ComponentHttps, rustls_error, tls_error_code};
use crate::telemetry::request::StoreTraces;
use crate::telemetry::spans::OpSpan;

/// How long an idle pooled connection is kept: below common server keep-alive timeouts (Node's
/// is 5 s), so a request is not written onto a connection the server is closing.
pub(crate) const POOL_IDLE: Duration = Duration::from_secs(4);
/// Idle connections kept per origin.
pub(crate) const POOL_MAX_IDLE_PER_HOST: usize = 64;
/// Connect + first byte, when the guest sets no timeouts (wasmtime's default is 600 s each).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The `wasi:http` hooks of one store.
pub(crate) struct OutboundHttp {
    allowed: Arc<AllowedHosts>,
    component: Arc<str>,
    https: ComponentHttps,
    traces: Option<Arc<StoreTraces>>,
}

impl OutboundHttp {
    /// Hooks enforcing `allowed` for `component`, sending `https://` with its TLS clients;
    /// `traces` (traces on) finds the parent of each request's client span.
    pub(crate) fn new(
        component: Arc<str>,
        allowed: Arc<AllowedHosts>,
        https: ComponentHttps,
        traces: Option<Arc<StoreTraces>>,
    ) -> Self {
        Self {
            allowed,
            component,
            https,
            traces,
        }
    }
}

type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;
type SendFuture =
    Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send>;

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("https");
        let allowed = uri
            .host()
            .is_some_and(|host| self.allowed.allows(scheme, host, uri.port_u16()));
        if !allowed {
            crate::log::warn(
                &self.component,
                &format!(
                    "outbound request denied: {scheme}://{} is not in allowed_outbound_hosts",
                    uri.authority().map(|a| a.as_str()).unwrap_or("")
                ),
            );
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        drop(fut);
        // As on Spin, TLS exactly when the scheme is `https`.
        let tls = (scheme == "https").then(|| {
            let client = self.https.client(uri.host().unwrap_or_default()).clone();
            let caller = Caller {
                component: self.component.clone(),
                origin: format!(
                    "https://{}",
                    uri.authority().map(|a| a.as_str()).unwrap_or("")
                ),
            };
            (client, caller)
        });
        let span = match &self.traces {
            Some(traces) => client_span(traces, &mut request),
            None => OpSpan::off(),
        };
        let sent: SendFuture = match tls {
            Some((client, caller)) => Box::new(send_pooled(client, request, options, Some(caller))),
            None => Box::new(send_pooled(client().clone(), request, options, None)),
        };
        if !span.is_on() {
            return sent;
        }
        Box::new(traced(span, Box::into_pin(sent)))
    }
}

/// Starts the client span of `request` under the component span of the request it is made
/// for (the one whose trace the guest's own `traceparent` names, else the instance's newest)
/// and replaces the guest's `traceparent` with one naming the client span.
fn client_span(traces: &StoreTraces, request: &mut http::Request<WasiBody>) -> OpSpan {
    use opentelemetry::KeyValue;
    let guest_trace =
        crate::telemetry::propagation::extract(request.headers()).map(|sc| sc.trace_id());
    let parent = traces.for_trace(guest_trace);
    let method = request.method().as_str().to_string();
    let uri = request.uri();
    let span = OpSpan::start(
        parent.as_ref(),
        method.clone(),
        opentelemetry::trace::SpanKind::Client,
        || {
            let mut attributes = vec![
                KeyValue::new("http.request.method", method),
                KeyValue::new("url.full", url_without_user_info(uri)),
            ];
            if let Some(host) = uri.host() {
                attributes.push(KeyValue::new("server.address", host.to_string()));
            }
            let port = uri.port_u16().or(match uri.scheme_str() {
                Some("https") => Some(443),
                Some("http") => Some(80),
                _ => None,
            });
            if let Some(port) = port {
                attributes.push(KeyValue::new("server.port", i64::from(port)));
            }
            attributes
        },
    );
    if let Some(sc) = span.context() {
        crate::telemetry::propagation::inject(request.headers_mut(), &sc);
    }
    span
}

/// `url.full` without user info (credentials never go into a span).
fn url_without_user_info(uri: &http::Uri) -> String {
    format!(
        "{}://{}{}{}",
        uri.scheme_str().unwrap_or("http"),
        uri.host().unwrap_or(""),
        uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default(),
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    )
}

/// Ends `span` when the response head arrives (status recorded) or the request fails.
async fn traced(
    mut span: OpSpan,
    sent: std::pin::Pin<SendFuture>,
) -> Result<(http::Response<WasiBody>, IoFuture), HttpError> {
    let result = sent.await;
    match &result {
        Ok((response, _)) => {
            let status = response.status().as_u16();
            span.set(opentelemetry::KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
            if status >= 500 {
                span.fail(status.to_string());
            }
        }
        Err(e) => {
            span.set(opentelemetry::KeyValue::new("error.type", format!("{e:?}")));
            span.fail(format!("{e:?}"));
        }
    }
    result
}

/// Who called where, for the log line of a failed TLS connection.
struct Caller {
    component: Arc<str>,
    origin: String,
}

/// The process-wide pooled client for `http://`.
fn client() -> &'static Client<HttpConnector, WasiBody> {
    static CLIENT: OnceLock<Client<HttpConnector, WasiBody>> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.enforce_http(true);
        Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST)
            .build(connector)
    })
}

/// Sends `request` with `client` on a pooled connection, within the guest's connect +
/// first-byte timeouts. The connection goes back to the pool once the guest has read the whole
/// response body.
async fn send_pooled<C>(
    client: Client<C, WasiBody>,
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    caller: Option<Caller>,
) -> Result<(http::Response<WasiBody>, IoFuture), HttpError>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let connect = options.and_then(|o| o.connect_timeout);
    let first_byte = options.and_then(|o| o.first_byte_timeout);
    let limit = match (connect, first_byte) {
        (None, None) => DEFAULT_TIMEOUT * 2,
        (c, f) => c.unwrap_or(DEFAULT_TIMEOUT) + f.unwrap_or(DEFAULT_TIMEOUT),
    };
    let response = match tokio::time::timeout(limit, client.request(request)).await {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => {
            if let (Some(caller), Some(tls)) = (&caller, rustls_error(&error)) {
                // rustls' message names the reason (e.g. "invalid peer certificate:
                // UnknownIssuer", "received fatal alert: CertificateRequired"); no key material.
                crate::log::warn(
                    &caller.component,
                    &format!("outbound {}: TLS failed: {tls}", caller.origin),
                );
            }
            return Err(transport_error(&error));
        }
        Err(_) => return Err(HttpError::ConnectionReadTimeout),
    };
    let response = response.map(|body| {
        body.map_err(|error| {
            if error.is_timeout() {
                HttpError::HttpResponseTimeout
            } else if let Some(tls) = rustls_error(&error) {
                tls_error_code(tls)
            } else {
                HttpError::from(error)
            }
        })
        .boxed_unsync()
    });
    Ok((response, Box::new(async { Ok(()) }) as IoFuture))
}

/// The `wasi:http` error for a failed pooled request: a TLS failure is its TLS error code;
/// connection failures carry their I/O error (so the guest sees `connection-refused` and the
/// like); anything after the connection was made is a terminated connection.
fn transport_error(error: &hyper_util::client::legacy::Error) -> HttpError {
    if let Some(tls) = rustls_error(error) {
        return tls_error_code(tls);
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(io_error) = current.downcast_ref::<io::Error>() {
            let copy = io::Error::new(io_error.kind(), io_error.to_string());
            return if error.is_connect() {
                HttpError::Connect(copy)
            } else {
                HttpError::ConnectionTerminated
            };
        }
        source = current.source();
    }
    if error.is_connect() {
        HttpError::Connect(io::Error::other(error.to_string()))
    } else {
        HttpError::ConnectionTerminated
    }
}

#[cfg(test)]
mod tests {
    use super::url_without_user_info;

    #[test]
    fn url_full_never_carries_user_info() {
        let uri: http::Uri = "https://user:secret@api.example:8443/users/u1?x=1"
            .parse()
            .unwrap();
        assert_eq!(
            url_without_user_info(&uri),
            "https://api.example:8443/users/u1?x=1"
        );
        let plain: http::Uri = "http://127.0.0.1:9000/products/p".parse().unwrap();
        assert_eq!(
            url_without_user_info(&plain),
            "http://127.0.0.1:9000/products/p"
        );
    }
}
