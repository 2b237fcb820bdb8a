//! `order-host`: a small local host on wasmtime that runs a Spin 4 application — the same
//! `.wasm` files from the same `spin.toml` — for development and tests on machines where the
//! Spin CLI cannot be installed. It implements exactly what the Order Service uses: the HTTP
//! and Redis triggers, component dependencies, `allowed_outbound_hosts`, and
//! `spin:key-value@3.0.0`, `spin:sqlite@3.1.0`, `spin:variables@3.0.0`, `spin:redis@3.0.0`,
//! `wasi:http@0.3.0`, and exports OTLP traces as Spin does when the `OTEL_EXPORTER_OTLP_*`
//! variables ask for it ([`telemetry`]). It is not a second Spin.

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

pub mod allowed_hosts;
pub mod app;
mod bindings;
pub mod builder;
pub mod compose;
mod counted_socket;
pub mod ctx;
pub mod dependency_name;
pub mod dev_token;
pub mod engine;
pub mod instance_reuse;
mod kv;
mod log;
pub mod manifest;
pub mod op_counts;
mod outbound_http;
pub mod outbound_https;
mod redis;
pub mod routes;
pub mod runtime_config;
mod sqlite;
mod sqlite_libsql;
pub mod telemetry;
#[cfg(test)]
mod test_support;
pub mod tls;
pub mod trigger_http;
pub mod trigger_redis;
pub mod variables;
pub mod wit_package;

pub use app::{App, AppOptions};

/// Serves `app` on `listener` (HTTP) and runs its Redis subscriptions until the future is
/// dropped or the HTTP server fails.
pub async fn serve(app: App, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let subscriptions: Vec<_> = app
        .redis
        .into_iter()
        .map(|s| tokio::spawn(s.run()))
        .collect();
    let _abort_on_exit = AbortAll(subscriptions);
    match app.http {
        Some(http) => http.serve(listener).await,
        None => std::future::pending().await,
    }
}

struct AbortAll(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortAll {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}
