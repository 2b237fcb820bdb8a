//! Which OTLP trace export the environment asks for: the standard `OTEL_*` variables, read as
//! Spin 4.1 reads them (`spin/crates/telemetry/src/env.rs`) and, where Spin leaves it to the
//! SDK, as the OpenTelemetry specification defines them
//! (<https://opentelemetry.io/docs/specs/otel/protocol/exporter/>,
//! <https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/>).
//!
//! The environment is passed in as a lookup function, so tests use maps, never the process
//! environment.

use std::time::Duration;

/// Turns trace export on (with or without the per-signal variable below); the base URL of the
/// collector.
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// Turns trace export on; the full URL traces are sent to (taken as is).
pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// `grpc`, `http/protobuf` (the default) or `http/json` (refused, as on Spin).
pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// Per-signal protocol; wins over [`OTEL_EXPORTER_OTLP_PROTOCOL`].
pub const OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
/// Export timeout in milliseconds (default 10000).
pub const OTEL_EXPORTER_OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
/// Per-signal export timeout; wins over [`OTEL_EXPORTER_OTLP_TIMEOUT`].
pub const OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
/// Any non-empty value turns every signal off (Spin's reading: `otel_sdk_disabled`).
pub const OTEL_SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
/// `service.name` of the exported resource.
pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// `key=value,…` resource attributes; its `service.name` is used if [`OTEL_SERVICE_NAME`] is unset.
pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
/// Spans the batch processor holds before it drops new ones (default 2048).
pub const OTEL_BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
/// Spans per export request (default 512, at most the queue size).
pub const OTEL_BSP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
/// Milliseconds between two scheduled exports (default 5000).
pub const OTEL_BSP_SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";

/// The OTLP default export timeout (specification: 10 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The specification's default queue size.
pub const DEFAULT_MAX_QUEUE_SIZE: usize = 2048;
/// The specification's default batch size.
pub const DEFAULT_MAX_EXPORT_BATCH_SIZE: usize = 512;
/// The specification's default schedule delay.
pub const DEFAULT_SCHEDULE_DELAY: Duration = Duration::from_millis(5000);
/// `service.name` when none is configured: Spin's (`spin/crates/telemetry/src/detector.rs`).
pub const DEFAULT_SERVICE_NAME: &str = "spin";

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// OTLP/gRPC (`grpc`): `opentelemetry.proto.collector.trace.v1.TraceService/Export`.
    Grpc,
    /// OTLP/HTTP with binary protobuf bodies (`http/protobuf`), `POST` to `…/v1/traces`.
    HttpProtobuf,
}

/// Trace export settings, resolved from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracesConfig {
    /// The transport.
    pub protocol: OtlpProtocol,
    /// Where spans go: for HTTP the full URL (`…/v1/traces` appended to
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`), for gRPC the collector's URL.
    pub endpoint: String,
    /// Which variable `endpoint` came from (for messages).
    pub endpoint_variable: &'static str,
    /// Limit on one export request.
    pub timeout: Duration,
    /// Bound of the span queue; spans ended while it is full are dropped, never waited for.
    pub max_queue_size: usize,
    /// Spans per export request.
    pub max_export_batch_size: usize,
    /// Time between scheduled exports.
    pub scheduled_delay: Duration,
    /// `service.name` of the exported resource.
    pub service_name: String,
    /// Values that were ignored (unknown protocol, unparsable numbers), one line each, for the
    /// start-up log. Never holds header values.
    pub warnings: Vec<String>,
}

/// A trace configuration the host refuses to start with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `http/json` was asked for: Spin refuses it too ("http/json OTLP protocol is not
    /// supported", `spin/crates/telemetry/src/traces.rs`).
    #[error("{variable}: the http/json OTLP protocol is not supported (use http/protobuf or grpc)")]
    HttpJsonUnsupported {
        /// The variable that asked for it.
        variable: &'static str,
    },
    /// The endpoint is not an `http://` or `https://` URL with a host.
    #[error("{variable}: `{value}` is not an http:// or https:// URL with a host")]
    InvalidEndpoint {
        /// The variable holding it.
        variable: &'static str,
        /// Its value.
        value: String,
    },
}

impl TracesConfig {
    /// The trace export `env` asks for: `Ok(None)` when neither
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` nor `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set to a
    /// non-empty value, or `OTEL_SDK_DISABLED` is (Spin's `otel_tracing_enabled`).
    ///
    /// # Errors
    /// [`ConfigError`] for `http/json` or an endpoint that is not an HTTP(S) URL.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let set = |name: &str| env(name).filter(|v| !v.is_empty());
        if set(OTEL_SDK_DISABLED).is_some() {
            return Ok(None);
        }
        let traces_endpoint = set(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
        let base_endpoint = set(OTEL_EXPORTER_OTLP_ENDPOINT);
        if traces_endpoint.is_none() && base_endpoint.is_none() {
            return Ok(None);
        }
        let mut warnings = Vec::new();

        let (protocol_variable, protocol_value) = match set(OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) {
            Some(v) => (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, v),
            None => match set(OTEL_EXPORTER_OTLP_PROTOCOL) {
                Some(v) => (OTEL_EXPORTER_OTLP_PROTOCOL, v),
                None => (OTEL_EXPORTER_OTLP_PROTOCOL, "http/protobuf".to_string()),
            },
        };
        let protocol = match protocol_value.as_str() {
            "grpc" => OtlpProtocol::Grpc,
            "http/protobuf" => OtlpProtocol::HttpProtobuf,
            "http/json" => {
                return Err(ConfigError::HttpJsonUnsupported {
                    variable: protocol_variable,
                });
            }
            other => {
                // Spin: "'…' is not a valid OTLP protocol, defaulting to http/protobuf".
                warnings.push(format!(
                    "{protocol_variable}: '{other}' is not a valid OTLP protocol, defaulting to http/protobuf"
                ));
                OtlpProtocol::HttpProtobuf
            }
        };

        let (endpoint_variable, endpoint) = match (traces_endpoint, base_endpoint) {
            // The per-signal URL is used as is (specification, "Endpoint URLs for OTLP/HTTP").
            (Some(url), _) => (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, url),
            (None, Some(base)) => (
                OTEL_EXPORTER_OTLP_ENDPOINT,
                match protocol {
                    OtlpProtocol::HttpProtobuf => http_traces_url(&base),
                    // gRPC has no per-signal path: the service name routes the call.
                    OtlpProtocol::Grpc => base,
                },
            ),
            (None, None) => unreachable!("checked above"),
        };
        if !is_http_url(&endpoint) {
            return Err(ConfigError::InvalidEndpoint {
                variable: endpoint_variable,
                value: endpoint,
            });
        }

        let millis = |variable: &'static str, warnings: &mut Vec<String>| {
            let value = set(variable)?;
            match value.trim().parse::<u64>() {
                Ok(ms) => Some(Duration::from_millis(ms)),
                Err(_) => {
                    warnings.push(format!(
                        "{variable}: '{value}' is not a number of milliseconds; using the default"
                    ));
                    None
                }
            }
        };
        let count = |variable: &'static str, warnings: &mut Vec<String>| {
            let value = set(variable)?;
            match value.trim().parse::<usize>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    warnings.push(format!(
                        "{variable}: '{value}' is not a positive whole number; using the default"
                    ));
                    None
                }
            }
        };
        let timeout = millis(OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, &mut warnings)
            .or_else(|| millis(OTEL_EXPORTER_OTLP_TIMEOUT, &mut warnings))
            .unwrap_or(DEFAULT_TIMEOUT);
        let max_queue_size =
            count(OTEL_BSP_MAX_QUEUE_SIZE, &mut warnings).unwrap_or(DEFAULT_MAX_QUEUE_SIZE);
        let max_export_batch_size = count(OTEL_BSP_MAX_EXPORT_BATCH_SIZE, &mut warnings)
            .unwrap_or(DEFAULT_MAX_EXPORT_BATCH_SIZE)
            .min(max_queue_size);
        let scheduled_delay =
            millis(OTEL_BSP_SCHEDULE_DELAY, &mut warnings).unwrap_or(DEFAULT_SCHEDULE_DELAY);

        let service_name = set(OTEL_SERVICE_NAME)
            .or_else(|| set(OTEL_RESOURCE_ATTRIBUTES).and_then(|a| service_name_attribute(&a)))
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_string());

        Ok(Some(Self {
            protocol,
            endpoint,
            endpoint_variable,
            timeout,
            max_queue_size,
            max_export_batch_size,
            scheduled_delay,
            service_name,
            warnings,
        }))
    }
}

/// `base` + `v1/traces`, with exactly one `/` between them (specification: "the signal path
/// is appended to the base URL").
fn http_traces_url(base: &str) -> String {
    if base.ends_with('/') {
        format!("{base}v1/traces")
    } else {
        format!("{base}/v1/traces")
    }
}

fn is_http_url(value: &str) -> bool {
    value.parse::<http::Uri>().is_ok_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https"))
            && uri.host().is_some_and(|h| !h.is_empty())
    })
}

/// `service.name` from an `OTEL_RESOURCE_ATTRIBUTES` list (`key=value,key=value`), the value
/// taken as written.
fn service_name_attribute(attributes: &str) -> Option<String> {
    attributes.split(',').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == "service.name" && !value.trim().is_empty()).then(|| value.trim().to_string())
    })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
