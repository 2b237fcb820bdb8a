//! Outbound `wasi:http` for guests: every request is checked against the component's
//! `allowed_outbound_hosts` before any connection is made; a refused request is the WASI error
//! `HTTP-request-denied` to the guest, never a packet on the wire.
//!
//! Plain `http://` requests go through one process-wide HTTP/1.1 client that keeps idle
//! connections per origin (as Spin's outbound HTTP does), so a component calling the same
//! service again does not pay for a new TCP connection each time. `https://` requests use
//! wasmtime's default transport (a connection each, with TLS).

use std::io;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::allowed_hosts::AllowedHosts;

/// How long an idle pooled connection is kept: below common server keep-alive timeouts (Node's
/// is 5 s), so a request is not written onto a connection the server is closing.
const POOL_IDLE: Duration = Duration::from_secs(4);
/// Idle connections kept per origin.
const POOL_MAX_IDLE_PER_HOST: usize = 64;
/// Connect + first byte, when the guest sets no timeouts (wasmtime's default is 600 s each).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The `wasi:http` hooks of one store.
pub(crate) struct OutboundHttp {
    allowed: Arc<AllowedHosts>,
    component: Arc<str>,
}

impl OutboundHttp {
    /// Hooks enforcing `allowed` for `component`.
    pub(crate) fn new(component: Arc<str>, allowed: Arc<AllowedHosts>) -> Self {
        Self { allowed, component }
    }
}

type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;
type SendFuture =
    Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send>;

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
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
        if scheme == "http" {
            return Box::new(send_pooled(request, options));
        }
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as IoFuture,
            ))
        })
    }
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

/// Sends `request` on a pooled connection, within the guest's connect + first-byte timeouts.
/// The connection goes back to the pool once the guest has read the whole response body.
async fn send_pooled(
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<(http::Response<WasiBody>, IoFuture), HttpError> {
    let connect = options.and_then(|o| o.connect_timeout);
    let first_byte = options.and_then(|o| o.first_byte_timeout);
    let limit = match (connect, first_byte) {
        (None, None) => DEFAULT_TIMEOUT * 2,
        (c, f) => c.unwrap_or(DEFAULT_TIMEOUT) + f.unwrap_or(DEFAULT_TIMEOUT),
    };
    let response = match tokio::time::timeout(limit, client().request(request)).await {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => return Err(transport_error(&error)),
        Err(_) => return Err(HttpError::ConnectionReadTimeout),
    };
    let response = response.map(|body| {
        body.map_err(|error| {
            if error.is_timeout() {
                HttpError::HttpResponseTimeout
            } else {
                HttpError::from(error)
            }
        })
        .boxed_unsync()
    });
    Ok((response, Box::new(async { Ok(()) }) as IoFuture))
}

/// The `wasi:http` error for a failed pooled request: connection failures carry their I/O
/// error (so the guest sees `connection-refused` and the like); anything after the connection
/// was made is a terminated connection.
fn transport_error(error: &hyper_util::client::legacy::Error) -> HttpError {
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
