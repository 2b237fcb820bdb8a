//! Structured log lines on stderr: one JSON object per line, so a log pipeline can count
//! breaker transitions per dependency without parsing prose.

use resilience::Transition;
use serde_json::{Value, json};

use crate::service::Service;

/// One line, one write ([`guest::log::emit`]).
fn emit(line: Value) {
    guest::log::emit(&line);
}

/// A breaker transition this instance won (so it is logged once across instances).
pub(crate) fn transition(service: Service, transition: &Transition) {
    emit(json!({
        "level": "warn",
        "event": "breaker_transition",
        "component": "dependency-adapters",
        "dependency": service.name(),
        "from": transition.from.as_str(),
        "to": transition.to.as_str(),
        "atMs": transition.at_ms,
        "reason": transition.reason,
    }));
}

/// The key-value store failed; the breaker failed open or a cache was skipped.
pub(crate) fn store_error(
    service: Option<Service>,
    operation: &str,
    error: &dyn std::fmt::Display,
) {
    emit(json!({
        "level": "error",
        "event": "state_store_error",
        "component": "dependency-adapters",
        "dependency": service.map(Service::name),
        "operation": operation,
        "error": error.to_string(),
    }));
}

/// A stored record could not be decoded and was ignored.
pub(crate) fn undecodable(key: &str, error: &dyn std::fmt::Display) {
    emit(json!({
        "level": "warn",
        "event": "state_record_ignored",
        "component": "dependency-adapters",
        "key": key,
        "error": error.to_string(),
    }));
}

/// A knob fell back to its default.
pub(crate) fn config_default(name: &str, default: u64) {
    emit(json!({
        "level": "warn",
        "event": "config_default",
        "component": "dependency-adapters",
        "variable": name,
        "default": default,
    }));
}
