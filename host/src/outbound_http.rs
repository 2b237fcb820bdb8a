//! Outbound `wasi:http` for guests: every request is checked against the component's
//! `allowed_outbound_hosts` before any connection is made; a refused request is the WASI error
//! `HTTP-request-denied` to the guest, never a packet on the wire.

use std::sync::Arc;

use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::allowed_hosts::AllowedHosts;

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

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

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
        // Same transport as wasmtime's default hooks; the allow-list is the only policy we add.
        drop(fut);
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = Result<(), HttpError>> + Send>,
            ))
        })
    }
}
