//! OTLP traces, as Spin 4.1 exports them (`spin/crates/telemetry`): on only when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set
//! ([`config`]), over OTLP/HTTP (protobuf, the default) or OTLP/gRPC, through the SDK's batch
//! processor on tokio (bounded queue; spans ended while it is full are dropped; exports run in
//! a background task, so a slow or dead collector never holds a request).
//!
//! Spans and their names follow Spin's: the inbound request
//! (`spin_trigger_http.handle_http_request`, exported as `{method} {route}`), the component
//! (`execute_wasm_component {id}`), each outbound request (`{method}`, its `traceparent`
//! naming that span), each key-value (`spin_key_value.*`), SQLite (`spin_sqlite.*`) and Redis
//! (`{COMMAND}`) operation, and each Redis trigger message (`{channel} receive`). See
//! [`spans`] for names and attributes.
//!
//! When export is off, the hot path pays one relaxed load of a `OnceLock` per place a span
//! could start ([`enabled`]); no span, context or map is built.

pub mod config;
mod export_log;
mod http_client;
pub(crate) mod propagation;
pub(crate) mod request;
pub(crate) mod spans;

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context as _, Result};
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::runtime::Tokio;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{BatchConfigBuilder, SdkTracer, SdkTracerProvider};

pub use config::{ConfigError, OtlpProtocol, TracesConfig};

/// The process-wide tracer, set once by [`init`]; `None` means export is off.
static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// Whether spans are being exported. One atomic load: call sites check it (or [`tracer`])
/// before building anything.
pub fn enabled() -> bool {
    TRACER.get().is_some()
}

/// The tracer, when export is on.
pub(crate) fn tracer() -> Option<&'static SdkTracer> {
    TRACER.get()
}

/// A running exporter; [`Telemetry::shutdown`] flushes what is queued.
pub struct Telemetry {
    provider: SdkTracerProvider,
    /// The configuration it runs with.
    pub config: TracesConfig,
}

/// How long shutdown waits for the last export (a dead collector must not hold the exit).
pub const SHUTDOWN_FLUSH_LIMIT: Duration = Duration::from_secs(5);

impl Telemetry {
    /// Exports the spans still queued and stops the exporter, waiting at most
    /// [`SHUTDOWN_FLUSH_LIMIT`]. Call it from inside the tokio runtime (the export runs on it);
    /// spans a dead collector did not take by then are dropped.
    pub async fn shutdown(self) {
        let provider = self.provider;
        // The SDK's shutdown blocks until the last export ends (its own timeout is not
        // applied by the tokio processor), so it runs on a thread of its own that the process
        // does not wait for: the exit waits at most the limit below.
        let (done, flushed) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let _ = done.send(provider.shutdown_with_timeout(SHUTDOWN_FLUSH_LIMIT));
        });
        match tokio::time::timeout(SHUTDOWN_FLUSH_LIMIT, flushed).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => crate::log::warn("telemetry", &format!("trace flush failed: {e}")),
            Ok(Err(_)) => crate::log::warn("telemetry", "trace flush failed"),
            Err(_) => crate::log::warn(
                "telemetry",
                "trace flush did not finish in time; queued spans dropped",
            ),
        }
    }
}

/// Starts trace export if the process environment asks for it (see [`TracesConfig::from_env`]).
/// Must run inside a tokio runtime: the batch processor's task is spawned on it.
///
/// # Errors
/// A refused configuration ([`ConfigError`]) or an exporter that cannot be built; either
/// stops start-up, as on Spin.
pub fn init_from_env() -> Result<Option<Telemetry>> {
    match TracesConfig::from_env(|name| std::env::var(name).ok())? {
        Some(config) => init(config).map(Some),
        None => Ok(None),
    }
}

/// Starts exporting with `config` and makes [`enabled`] true for the rest of the process.
///
/// # Errors
/// The exporter cannot be built, or telemetry was already initialised.
pub fn init(config: TracesConfig) -> Result<Telemetry> {
    for warning in &config.warnings {
        crate::log::warn("telemetry", warning);
    }
    let exporter = match config.protocol {
        OtlpProtocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(config.endpoint.clone())
            .with_timeout(config.timeout)
            .with_http_client(http_client::OtlpHttpClient::new(config.timeout)?)
            .build(),
        OtlpProtocol::Grpc => {
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(config.endpoint.clone())
                .with_timeout(config.timeout);
            if config.endpoint.starts_with("https://") {
                builder = builder.with_tls_config(
                    tonic::transport::ClientTlsConfig::new()
                        .with_native_roots()
                        .with_webpki_roots(),
                );
            }
            builder.build()
        }
    }
    .with_context(|| {
        format!(
            "cannot build the OTLP trace exporter for {}",
            config.endpoint_variable
        )
    })?;

    let batch = BatchConfigBuilder::default()
        .with_max_queue_size(config.max_queue_size)
        .with_max_export_batch_size(config.max_export_batch_size)
        .with_scheduled_delay(config.scheduled_delay)
        // A little above the exporter's own limit, so a hung export ends with the exporter's
        // error (logged) rather than the processor's silent timeout.
        .with_max_export_timeout(config.timeout + Duration::from_secs(1))
        .with_max_concurrent_exports(1)
        .build();
    let processor = BatchSpanProcessor::builder(export_log::LoggedExporter::new(exporter), Tokio)
        .with_batch_config(batch)
        .build();
    let resource = Resource::builder()
        .with_attributes([
            KeyValue::new("service.name", config.service_name.clone()),
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
        ])
        .build();
    let provider = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_span_processor(processor)
        .build();
    TRACER
        .set(provider.tracer("order-host"))
        .map_err(|_| anyhow::anyhow!("telemetry initialised twice"))?;
    crate::log::info(
        "telemetry",
        &format!(
            "exporting traces over OTLP ({}) to {}",
            match config.protocol {
                OtlpProtocol::Grpc => "grpc",
                OtlpProtocol::HttpProtobuf => "http/protobuf",
            },
            redacted_endpoint(&config.endpoint)
        ),
    );
    Ok(Telemetry { provider, config })
}

/// The endpoint for a log line: scheme, host and port only (a path or user info could carry a
/// token).
fn redacted_endpoint(endpoint: &str) -> String {
    match endpoint.parse::<http::Uri>() {
        Ok(uri) => format!(
            "{}://{}{}",
            uri.scheme_str().unwrap_or("http"),
            uri.host().unwrap_or(""),
            uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "(invalid endpoint)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_endpoint;

    #[test]
    fn the_logged_endpoint_has_no_path_or_user_info() {
        assert_eq!(
            redacted_endpoint(
                "https://user:secret@collector.example:4318/tenant/token123/v1/traces"
            ),
            "https://collector.example:4318"
        );
        assert_eq!(
            redacted_endpoint("http://127.0.0.1/v1/traces"),
            "http://127.0.0.1"
        );
    }
}
