//! The HTTP trigger: a hyper server (plain HTTP, or HTTPS with `--tls-cert`) that routes each
//! request by the manifest's routes to a component, adds the `spin-*` headers Spin gives
//! components, and runs it through wasmtime's `ProxyHandler` with Spin 4's instance-reuse
//! policy.
//!
//! With traces on ([`crate::telemetry`]), each request gets Spin's server span (parented on an
//! inbound `traceparent`) and, when routed, a component span under it; the component span is
//! handed to the instance with the request, so the host calls made for it become its children.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use wasmtime::Engine;
use wasmtime::Store;
use wasmtime_wasi_http::WasiBody;
use wasmtime_wasi_http::handler::{HandlerState, Instance, Proxy, ProxyHandler};
use wasmtime_wasi_http::p3::bindings::ServicePre;

use crate::counted_socket::CountedWrites;
use crate::ctx::{ComponentCaps, Ctx};
use crate::instance_reuse::{IdleExpiration, InstanceReuse, ReusePolicy};
use crate::routes::Router;
use crate::telemetry::spans::OpSpan;
use crate::tls::server::{TlsAcceptor, handshake};

/// Headers Spin sets on every inbound request; any client-sent copy is removed first so a
/// caller cannot spoof e.g. `spin-client-addr`.
const SPIN_HEADER_PREFIX: &str = "spin-";

/// One HTTP component ready to serve.
pub struct HttpComponent {
    handler: ProxyHandler<ComponentInstances>,
}

impl HttpComponent {
    /// Wraps a pre-instantiated component.
    pub fn new(
        engine: Engine,
        pre: ServicePre<Ctx>,
        caps: Arc<ComponentCaps>,
        reuse: InstanceReuse,
    ) -> Self {
        Self {
            handler: ProxyHandler::new(ComponentInstances {
                engine,
                pre,
                caps,
                reuse,
            }),
        }
    }
}

/// Creates instances of one component for `ProxyHandler`.
struct ComponentInstances {
    engine: Engine,
    pre: ServicePre<Ctx>,
    caps: Arc<ComponentCaps>,
    reuse: InstanceReuse,
}

impl HandlerState for ComponentInstances {
    type StoreData = Ctx;
    type WorkerExpiration = IdleExpiration;
    type WorkerState = ReusePolicy;

    async fn instantiate(&self) -> wasmtime::Result<Instance<Ctx, IdleExpiration, ReusePolicy>> {
        let mut store = Store::new(&self.engine, Ctx::new(self.caps.clone()));
        let proxy = self.pre.instantiate_async(&mut store).await?;
        crate::op_counts::instantiation();
        Ok(Instance {
            store,
            proxy: Proxy::P3(proxy),
            view: Ctx::http_view,
            expiration: IdleExpiration::new(self.reuse.idle_timeout),
            state: ReusePolicy::new(self.reuse, self.caps.id.clone()),
        })
    }
}

/// The routed HTTP application.
pub struct HttpTrigger {
    router: Router<Arc<HttpComponent>>,
    ids: Vec<(String, Arc<str>)>,
    tcp_nodelay: bool,
    tls: Option<TlsAcceptor>,
}

impl HttpTrigger {
    /// Routes (pattern → component) in manifest order.
    ///
    /// `tcp_nodelay`: whether accepted sockets get `TCP_NODELAY`. Spin 4.1 leaves Nagle's
    /// algorithm on (`spin/crates/trigger-http/src/server.rs` accepts and serves the stream as
    /// is), so a response that leaves in two writes, the second after the first is unacked,
    /// waits for the client's delayed ACK (~40 ms on Linux). `false` reproduces that, so a
    /// response pattern that stalls on Spin stalls here too.
    pub fn new(
        router: Router<Arc<HttpComponent>>,
        ids: Vec<(String, Arc<str>)>,
        tcp_nodelay: bool,
    ) -> Self {
        Self {
            router,
            ids,
            tcp_nodelay,
            tls: None,
        }
    }

    /// Serves HTTPS through `acceptor` (plain HTTP if `None`). Each connection's handshake
    /// runs in its own task, so a slow or refused client never delays another; a refused
    /// handshake is logged and closes the connection before any request is read.
    pub fn with_tls(mut self, acceptor: Option<TlsAcceptor>) -> Self {
        self.tls = acceptor;
        self
    }

    /// `"https"` when serving TLS, else `"http"`: the scheme of the URLs it serves.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Mean time to create a fresh instance (new store + instantiation from the pre-instance)
    /// of the component serving `path`, over `runs` sequential instantiations. For benchmarks.
    pub async fn mean_instantiation_time(
        &self,
        path: &str,
        runs: u32,
    ) -> Result<std::time::Duration> {
        let matched = self
            .router
            .route(path)
            .with_context(|| format!("no route for {path}"))?;
        let instances = matched.target.handler.state();
        let start = std::time::Instant::now();
        for _ in 0..runs {
            instances
                .instantiate()
                .await
                .map_err(crate::log::wasmtime_error)?;
        }
        Ok(start.elapsed() / runs.max(1))
    }

    /// `(route, component id)` pairs, for the startup banner.
    pub fn routes(&self) -> &[(String, Arc<str>)] {
        &self.ids
    }

    /// Accepts connections until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> Result<()> {
        let local = listener.local_addr()?;
        loop {
            let (stream, client) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    crate::log::warn("http", &format!("accept failed: {e}"));
                    continue;
                }
            };
            if self.tcp_nodelay {
                let _ = stream.set_nodelay(true);
            }
            let trigger = self.clone();
            tokio::spawn(async move {
                match trigger.tls.clone() {
                    Some(acceptor) => {
                        if let Some(tls) = handshake(&acceptor, stream, client).await {
                            trigger.serve_connection(tls, local, client, false).await;
                        }
                    }
                    None => {
                        trigger
                            .serve_connection(CountedWrites::new(stream), local, client, true)
                            .await
                    }
                }
            });
        }
    }

    /// Serves HTTP/1.1 requests on one connection until it closes; `counted`: its responses
    /// count in `op_counts` (plain HTTP, whose socket writes [`CountedWrites`] counts).
    async fn serve_connection<S>(
        self: Arc<Self>,
        stream: S,
        local: SocketAddr,
        client: SocketAddr,
        counted: bool,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let trigger = self;
        let service = hyper::service::service_fn(move |req| {
            let trigger = trigger.clone();
            async move {
                let response = trigger.handle(req, local, client).await;
                if counted {
                    crate::op_counts::http_response();
                }
                Ok::<_, Infallible>(response)
            }
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service)
            .await;
    }

    async fn handle(
        &self,
        req: Request<Incoming>,
        local: SocketAddr,
        client: SocketAddr,
    ) -> Response<WasiBody> {
        if !crate::telemetry::enabled() {
            return self.dispatch(req, local, client, None).await;
        }
        let mut span = RequestSpan::start(&req, client, self.scheme());
        let response = self.dispatch(req, local, client, Some(&mut span)).await;
        span.finish(response.status());
        response
    }

    /// Routes and runs one request; `span` is its server span when traces are on.
    async fn dispatch(
        &self,
        req: Request<Incoming>,
        local: SocketAddr,
        client: SocketAddr,
        span: Option<&mut RequestSpan>,
    ) -> Response<WasiBody> {
        let path = req.uri().path().to_string();
        let Some(matched) = self.router.route(&path) else {
            return plain(StatusCode::NOT_FOUND, "Not Found");
        };
        let mut component_span = match span {
            Some(span) => span.routed(
                &matched.route.pattern,
                &matched.target.handler.state().caps.id,
            ),
            None => OpSpan::off(),
        };
        let (mut parts, body) = req.into_parts();

        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| local.to_string());
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .to_string();
        let full_url = format!("{}://{host}{path_and_query}", self.scheme());
        match full_url.parse() {
            Ok(uri) => parts.uri = uri,
            Err(_) => return plain(StatusCode::BAD_REQUEST, "Bad Request: invalid URI"),
        }

        let spoofed: Vec<HeaderName> = parts
            .headers
            .keys()
            .filter(|k| k.as_str().starts_with(SPIN_HEADER_PREFIX))
            .cloned()
            .collect();
        for name in spoofed {
            parts.headers.remove(&name);
        }
        let route = matched.route;
        let mut set = |name: &str, value: &str| {
            if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                parts.headers.insert(n, v);
            }
        };
        set("spin-full-url", &full_url);
        set("spin-path-info", &matched.path_info);
        set("spin-matched-route", &route.pattern);
        set("spin-raw-component-route", &route.pattern);
        set("spin-component-route", route.component_route());
        set("spin-base-path", "/");
        set("spin-client-addr", &client.to_string());
        for (name, value) in &matched.params {
            set(
                &format!("spin-path-match-{}", name.to_ascii_lowercase()),
                value,
            );
        }

        let body = body
            .map_err(wasmtime_wasi_http::Error::Hyper)
            .boxed_unsync();
        let request = Request::from_parts(parts, body);
        match matched
            .target
            .handler
            .handle(component_span.context(), request)
            .await
        {
            Ok(response) => response,
            Err(e) => {
                component_span.fail(format!("{e:#}"));
                crate::log::error(
                    "http",
                    &format!("{} {path}: component failed: {e:#}", route.pattern),
                );
                plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        }
    }
}

/// The server span of one request (Spin's `spin_trigger_http.handle_http_request`,
/// `spin/crates/trigger-http/src/instrument.rs`).
struct RequestSpan {
    server: OpSpan,
    method: String,
}

impl RequestSpan {
    /// Starts it, parented on the request's `traceparent` when that is valid.
    fn start(req: &Request<Incoming>, client: SocketAddr, scheme: &'static str) -> Self {
        use opentelemetry::KeyValue;
        let parent = crate::telemetry::propagation::extract(req.headers());
        let method = req.method().as_str().to_string();
        // Spin names it by the method until a route matches (`otel.name`).
        let server = OpSpan::start(
            parent.as_ref(),
            method.clone(),
            opentelemetry::trace::SpanKind::Server,
            || {
                let mut attributes = vec![
                    KeyValue::new("http.request.method", method.clone()),
                    KeyValue::new("network.peer.address", client.ip().to_string()),
                    KeyValue::new("network.peer.port", i64::from(client.port())),
                    KeyValue::new("network.protocol.name", "http"),
                    KeyValue::new("url.path", req.uri().path().to_string()),
                    KeyValue::new("url.scheme", scheme),
                ];
                if let Some(query) = req.uri().query() {
                    attributes.push(KeyValue::new("url.query", query.to_string()));
                }
                if let Some(forwarded) = req
                    .headers()
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok())
                {
                    attributes.push(KeyValue::new("client.address", forwarded.to_string()));
                }
                attributes
            },
        );
        Self { server, method }
    }

    /// The request matched `route` (the manifest's pattern) of `component`: the span takes
    /// Spin's name `{method} {route}`, and the component span starts under it.
    fn routed(&mut self, route: &str, component: &str) -> OpSpan {
        self.server.rename(format!("{} {route}", self.method));
        self.server.set(opentelemetry::KeyValue::new(
            "http.route",
            route.to_string(),
        ));
        OpSpan::start(
            self.server.context().as_ref(),
            format!("execute_wasm_component {component}"),
            opentelemetry::trace::SpanKind::Internal,
            Vec::new,
        )
    }

    /// Records the status the client gets and ends the span.
    fn finish(mut self, status: StatusCode) {
        self.server.set(opentelemetry::KeyValue::new(
            "http.response.status_code",
            i64::from(status.as_u16()),
        ));
        if status.is_server_error() {
            self.server.fail(status.as_str().to_string());
        }
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<WasiBody> {
    let body = Full::new(Bytes::from_static(text.as_bytes()))
        .map_err(|never: Infallible| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain"),
    );
    response
}

/// Binds the listener, with the one-line error an operator needs when the port is taken.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}
