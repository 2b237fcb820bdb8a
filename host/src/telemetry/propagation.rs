//! W3C Trace Context (<https://www.w3.org/TR/trace-context/>) on the wire, as Spin's
//! `spin/crates/telemetry/src/propagation.rs` does it: the inbound `traceparent` (and
//! `tracestate`) becomes the request span's parent; every outbound request leaves with a
//! `traceparent` naming its own client span, replacing the guest's.

use http::{HeaderMap, HeaderValue};
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceFlags};
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// The valid span context of `headers`' `traceparent` (with its `tracestate`), if any. An
/// invalid or missing header gives `None`: the request starts a new trace.
pub(crate) fn extract(headers: &HeaderMap) -> Option<SpanContext> {
    let context =
        TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers));
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then_some(span_context)
}

/// Sets `traceparent` to `span` (version 00, its sampled flag) and, when `span` carries one,
/// `tracestate`. Spin's injector overwrites the guest's headers the same way (`insert`); it
/// also writes an empty `tracestate` when there is none, which this leaves out, so a
/// `tracestate` the guest sent stays.
pub(crate) fn inject(headers: &mut HeaderMap, span: &SpanContext) {
    let traceparent = format!(
        "00-{:032x}-{:016x}-{:02x}",
        span.trace_id(),
        span.span_id(),
        (span.trace_flags() & TraceFlags::SAMPLED).to_u8()
    );
    if let Ok(value) = HeaderValue::from_str(&traceparent) {
        headers.insert("traceparent", value);
    }
    let tracestate = span.trace_state().header();
    if !tracestate.is_empty()
        && let Ok(value) = HeaderValue::from_str(&tracestate)
    {
        headers.insert("tracestate", value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn a_valid_traceparent_is_the_parent_and_keeps_its_tracestate() {
        let sc = extract(&headers(&[
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            ("tracestate", "congo=t61rcWkgMzE"),
        ]))
        .expect("valid");
        assert_eq!(
            format!("{:032x}", sc.trace_id()),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(format!("{:016x}", sc.span_id()), "00f067aa0ba902b7");
        assert!(sc.is_sampled() && sc.is_remote());
        assert_eq!(sc.trace_state().header(), "congo=t61rcWkgMzE");
    }

    #[test]
    fn a_missing_or_malformed_traceparent_starts_a_new_trace() {
        assert!(extract(&HeaderMap::new()).is_none());
        for bad in [
            "00-XYZ-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        ] {
            assert!(
                extract(&headers(&[("traceparent", bad)])).is_none(),
                "{bad}"
            );
        }
    }

    #[test]
    fn inject_replaces_the_guests_traceparent_and_keeps_its_tracestate_when_the_span_has_none() {
        let span = extract(&headers(&[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )]))
        .unwrap();
        let mut outbound = headers(&[
            (
                "traceparent",
                "00-11111111111111111111111111111111-2222222222222222-01",
            ),
            ("tracestate", "guest=1"),
        ]);
        inject(&mut outbound, &span);
        assert_eq!(
            outbound["traceparent"],
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        assert_eq!(outbound["tracestate"], "guest=1");
    }
}
