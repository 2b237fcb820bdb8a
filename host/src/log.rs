//! Structured log lines (one JSON object per line on stderr), so operators can parse them.

use std::time::{SystemTime, UNIX_EPOCH};

fn line(level: &str, component: &str, msg: &str) {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let record = serde_json::json!({ "ts": ts, "level": level, "source": "order-host", "component": component, "msg": msg });
    eprintln!("{record}");
}

/// An error worth an operator's attention.
pub(crate) fn error(component: &str, msg: &str) {
    line("error", component, msg);
}

/// Something degraded but handled.
pub(crate) fn warn(component: &str, msg: &str) {
    line("warn", component, msg);
}

/// Normal lifecycle events.
pub(crate) fn info(component: &str, msg: &str) {
    line("info", component, msg);
}

/// wasmtime 48 has its own error type; this carries its full cause chain into `anyhow`.
pub(crate) fn wasmtime_error(e: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}
