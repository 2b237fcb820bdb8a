//! The spans `order-host` exports: names, kinds and attributes as Spin 4.1 gives them (paths in
//! `spinframework/spin`), built directly on the OpenTelemetry API with explicit parents (Spin
//! goes through `tracing` and its current span; a reused instance serves requests concurrently
//! on one task here, so the parent is looked up per call instead, see [`super::request`]).
//!
//! | span (exported name) | kind | attributes | Spin source |
//! |---|---|---|---|
//! | `{method} {route}` (`{method}` if no route matched) | server | `http.request.method`, `url.path`, `url.query`, `url.scheme`, `network.peer.address`, `network.peer.port`, `network.protocol.name`, `client.address` (from `x-forwarded-for`), `http.route`, `http.response.status_code`, `error.type` | `crates/trigger-http/src/instrument.rs` |
//! | `execute_wasm_component {component}` | internal | — | `crates/trigger-http/src/wasip3.rs` |
//! | `{method}` | client | `http.request.method`, `url.full` (without user info), `server.address`, `server.port`, `http.response.status_code`, `error.type` | `crates/factor-outbound-http/src/wasi.rs` |
//! | `spin_key_value.{open,get,set,delete,exists,get_keys}` | client | `kv.backend` on `open` | `crates/factor-key-value/src/host.rs` |
//! | `spin_sqlite.{open,execute}` | client | `db.system.name = sqlite`, `sqlite.backend`, `query` (the statement text; never the parameters) on `execute` | `crates/factor-sqlite/src/host.rs` |
//! | `spin_outbound_redis.open_connection`, then `{COMMAND}` (`PUBLISH`, `GET`, `XADD`, …) | client | `db.system.name = redis` (never keys, values or arguments) | `crates/factor-outbound-redis/src/host.rs` |
//! | `{channel} receive` | consumer | `messaging.operation = receive`, `messaging.system = redis` | `crates/trigger-redis/src/lib.rs` |
//!
//! A failed operation gets status `Error` with the error the guest received.

use std::borrow::Cow;
use std::fmt::Debug;

use opentelemetry::trace::{
    Span as _, SpanContext, SpanKind, Status, TraceContextExt, Tracer as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::Span;

/// Spin's `spin_sqlite.*` attributes (`crates/factor-sqlite/src/host.rs`): the system and, for
/// `execute`, the statement text Spin records as `query` (parameters never).
pub(crate) fn sqlite_attributes(statement: Option<&str>) -> Vec<KeyValue> {
    let mut attributes = vec![KeyValue::new("db.system.name", "sqlite")];
    if let Some(statement) = statement {
        attributes.push(KeyValue::new("query", statement.to_string()));
    }
    attributes
}

/// One span, or nothing when export is off. Ends when dropped.
pub(crate) struct OpSpan(Option<Span>);

impl OpSpan {
    /// No span (export off, or nothing to trace).
    pub(crate) fn off() -> Self {
        Self(None)
    }

    /// Starts `name` as a child of `parent` (a new trace if `None`). `attributes` runs only
    /// when export is on.
    pub(crate) fn start(
        parent: Option<&SpanContext>,
        name: impl Into<Cow<'static, str>>,
        kind: SpanKind,
        attributes: impl FnOnce() -> Vec<KeyValue>,
    ) -> Self {
        let Some(tracer) = super::tracer() else {
            return Self(None);
        };
        let parent = match parent {
            Some(sc) => Context::new().with_remote_span_context(sc.clone()),
            None => Context::new(),
        };
        Self(Some(
            tracer
                .span_builder(name)
                .with_kind(kind)
                .with_attributes(attributes())
                .start_with_context(tracer, &parent),
        ))
    }

    /// Its identity, for children and for `traceparent`.
    pub(crate) fn context(&self) -> Option<SpanContext> {
        self.0.as_ref().map(|s| s.span_context().clone())
    }

    /// Whether a span is being recorded.
    pub(crate) fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Renames it (Spin sets `otel.name` once the route is known).
    pub(crate) fn rename(&mut self, name: impl Into<Cow<'static, str>>) {
        if let Some(span) = &mut self.0 {
            span.update_name(name);
        }
    }

    /// Adds an attribute.
    pub(crate) fn set(&mut self, attribute: KeyValue) {
        if let Some(span) = &mut self.0 {
            span.set_attribute(attribute);
        }
    }

    /// Marks it failed with `description`.
    pub(crate) fn fail(&mut self, description: impl Into<Cow<'static, str>>) {
        if let Some(span) = &mut self.0 {
            span.set_status(Status::error(description));
        }
    }

    /// Marks it failed if a host call's `outcome` is an error the guest receives (a trap is
    /// not the guest's answer and leaves the status unset).
    pub(crate) fn record_outcome<T, E: Debug>(&mut self, outcome: &wasmtime::Result<Result<T, E>>) {
        if let Ok(result) = outcome {
            self.record(result);
        }
    }

    /// Marks it failed if `result` is an error (the error as the guest sees it).
    pub(crate) fn record<T, E: Debug>(&mut self, result: &Result<T, E>) {
        if let (Some(_), Err(e)) = (&self.0, result) {
            self.fail(format!("{e:?}"));
        }
    }
}
