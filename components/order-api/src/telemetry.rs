//! Per-request telemetry: the W3C trace context (ARCHITECTURE §5) and the one structured
//! log line every request writes on stderr.
//!
//! The inbound `traceparent` is accepted when it is well formed (`events::trace`: version `00`
//! or a later one read by its first four fields, non-zero
//! 16-byte trace id and 8-byte parent id, lowercase hex); otherwise a new trace starts with
//! ids from WASI random. Either way this request gets its own span id, and the request's
//! `traceparent` header is rewritten to `00-{trace id}-{our span id}-{flags}` before
//! routing, so every handler, every outbound call (through the adapters' `trace-context`)
//! and every stored order / outbox event carries the same trace. The response returns it.
//!
//! The log line never contains headers, bodies or query strings: only the method, the
//! route *pattern*, the status, the latency, the trace id and, when authenticated, the
//! token's subject (a service name, not a secret).

use guest::clock;
use guest::trace::{Traceparent, non_zero_id};
use serde::Serialize;
use serde_json::Value;
use spin_sdk::http::{HeaderValue, Request};
use std::sync::{Mutex, PoisonError};

/// The trace context of one request, as this service continues it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TraceParent {
    /// 32 lowercase hex characters.
    pub(crate) trace_id: String,
    /// This request's span id: 16 lowercase hex characters.
    pub(crate) span_id: String,
    /// 2 lowercase hex characters (`01` = sampled).
    pub(crate) flags: String,
    /// Whether this continues a valid inbound `traceparent` (else a new trace started).
    pub(crate) continued: bool,
}

impl TraceParent {
    /// Continues the inbound trace when `inbound` is a valid `traceparent`, else starts a
    /// new sampled trace. The span id is always new: it names this request's span.
    pub(crate) fn continue_or_start(inbound: Option<&str>) -> Self {
        let span_id = non_zero_id(8);
        match inbound.and_then(|value| Traceparent::parse(value.trim())) {
            Some(parent) => Self {
                trace_id: parent.trace_id,
                span_id,
                flags: parent.flags,
                continued: true,
            },
            None => Self {
                trace_id: non_zero_id(16),
                span_id,
                flags: "01".to_owned(),
                continued: false,
            },
        }
    }

    /// The header value `00-{trace id}-{span id}-{flags}`.
    pub(crate) fn header_value(&self) -> String {
        format!("00-{}-{}-{}", self.trace_id, self.span_id, self.flags)
    }
}

/// Replaces the request's `traceparent` header with `trace`'s value, so handlers read the
/// continued context rather than the caller's raw one.
pub(crate) fn stamp(request: &mut Request, trace: &TraceParent) {
    if let Ok(value) = HeaderValue::from_str(&trace.header_value()) {
        request.headers_mut().insert("traceparent", value);
    }
}

/// The inbound `tracestate` of the requests in flight in this instance, by the `traceparent`
/// this service stamped on each (unique per request: its span id is new). Calls made while
/// handling a request find it through [`tracestate_for`]; later work on the same order (a
/// recovery pass) has no inbound `tracestate` and sends none.
static TRACESTATES: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// W3C Trace Context: a `tracestate` longer than this may be dropped; we drop it whole.
const TRACESTATE_MAX_LEN: usize = 512;

/// Keeps a request's inbound `tracestate` for its outbound calls until dropped.
pub(crate) struct HeldTraceState(String);

impl Drop for HeldTraceState {
    fn drop(&mut self) {
        TRACESTATES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(traceparent, _)| *traceparent != self.0);
    }
}

/// Holds `request`'s `tracestate` for the calls made under `trace`: only when `trace`
/// continues the inbound `traceparent` (W3C: a restarted trace discards it), with every
/// `tracestate` header line joined, and when the result is printable ASCII of at most 512 bytes.
pub(crate) fn hold_tracestate(request: &Request, trace: &TraceParent) -> Option<HeldTraceState> {
    if !trace.continued {
        return None;
    }
    let lines: Vec<&str> = request
        .headers()
        .get_all("tracestate")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let state = lines.join(",");
    let acceptable = !state.is_empty()
        && state.len() <= TRACESTATE_MAX_LEN
        && state.bytes().all(|b| (0x20..0x7f).contains(&b));
    if !acceptable {
        return None;
    }
    let traceparent = trace.header_value();
    TRACESTATES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((traceparent.clone(), state));
    Some(HeldTraceState(traceparent))
}

/// The inbound `tracestate` of the request in flight under `traceparent`, if any.
pub(crate) fn tracestate_for(traceparent: &str) -> Option<String> {
    TRACESTATES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(held, _)| held == traceparent)
        .map(|(_, state)| state.clone())
}

/// The inbound `traceparent` header, if readable.
pub(crate) fn inbound(request: &Request) -> Option<String> {
    request
        .headers()
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// What the request log line says about one request.
pub(crate) struct RequestLog<'a> {
    /// The HTTP method.
    pub(crate) method: &'a str,
    /// The route pattern (never the raw path: ids are not logged).
    pub(crate) route: &'a str,
    /// The response status.
    pub(crate) status: u16,
    /// Wall time spent handling the request.
    pub(crate) latency_ms: i64,
    /// The trace id.
    pub(crate) trace_id: &'a str,
    /// The verified token's subject (the calling service), when the request carried one.
    pub(crate) subject: Option<&'a str>,
}

/// The request log line, in the order operators read it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestLine<'a> {
    ts: String,
    level: &'static str,
    component: &'static str,
    event: &'static str,
    trace_id: &'a str,
    method: &'a str,
    route: &'a str,
    status: u16,
    latency_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
}

/// Writes one JSON line on stderr for a finished request (serialised straight from a struct:
/// no intermediate `Value` map on the hot path).
pub(crate) fn log_request(entry: &RequestLog<'_>) {
    let level = match entry.status {
        500..=599 => "error",
        400..=499 => "warn",
        _ => "info",
    };
    let line = RequestLine {
        ts: iso_now(),
        level,
        component: "order-api",
        event: "http_request",
        trace_id: entry.trace_id,
        method: entry.method,
        route: entry.route,
        status: entry.status,
        latency_ms: entry.latency_ms,
        subject: entry.subject,
    };
    guest::log::emit(&line);
}

/// Logs a failure inside the service (storage, broker) with the raw error text, which never
/// goes to the client: the problem it answers carries the same `errorId`.
pub(crate) fn log_internal_error(error_id: &str, problem: &str, error: &str) {
    emit(&serde_json::json!({
        "ts": iso_now(),
        "level": "error",
        "component": "order-api",
        "event": "internal_error",
        "errorId": error_id,
        "problem": problem,
        "error": error,
    }));
}

/// Writes one JSON line on stderr in a single write ([`guest::log::emit`]).
pub(crate) fn emit(line: &Value) {
    guest::log::emit(line);
}

/// The current time as RFC 3339 UTC with milliseconds.
fn iso_now() -> String {
    domain::Timestamp(clock::now_ms()).to_string()
}
