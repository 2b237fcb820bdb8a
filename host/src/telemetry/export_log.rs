//! Export failures, told once: the SDK's own diagnostics go nowhere in this host, so an
//! operator would never learn that the collector is unreachable. The first failed export is
//! a warning line (with the exporter's error: never a header value), later failures are silent
//! until an export succeeds again, which is an info line.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Wraps an exporter; everything but the logging is passed through.
#[derive(Debug)]
pub(crate) struct LoggedExporter<E> {
    inner: E,
    failing: AtomicBool,
}

impl<E> LoggedExporter<E> {
    /// Logs `inner`'s failures.
    pub(crate) fn new(inner: E) -> Self {
        Self {
            inner,
            failing: AtomicBool::new(false),
        }
    }
}

impl<E: SpanExporter> SpanExporter for LoggedExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        match &result {
            Err(e) if !self.failing.swap(true, Ordering::Relaxed) => crate::log::warn(
                "telemetry",
                &format!(
                    "trace export failed, {spans} spans dropped: {e}; further failures are not logged until an export succeeds"
                ),
            ),
            Ok(()) if self.failing.swap(false, Ordering::Relaxed) => {
                crate::log::info("telemetry", "trace export works again")
            }
            _ => {}
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
