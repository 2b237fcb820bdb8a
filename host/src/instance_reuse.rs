//! How long a component instance lives, as Spin 4 does for WASI 0.3 components: an instance
//! serves up to `max_requests` requests, at most `max_concurrent` at a time, and is dropped after
//! `idle_timeout` without work. Guest globals therefore survive between requests of one instance
//! — components must never rely on that, and tests can set `max_requests = 1` to prove it.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use wasmtime::StoreContextMut;
use wasmtime::component::GuestTaskId;
use wasmtime_wasi_http::handler::{ShouldAccept, WorkerExpiration, WorkerState, WorkerStatus};

use crate::ctx::Ctx;

/// Reuse limits.
#[derive(Debug, Clone, Copy)]
pub struct InstanceReuse {
    /// Requests one instance serves before it is dropped.
    pub max_requests: usize,
    /// Requests one instance serves at the same time.
    pub max_concurrent: usize,
    /// Idle time after which an instance is dropped.
    pub idle_timeout: Duration,
}

impl Default for InstanceReuse {
    fn default() -> Self {
        Self {
            max_requests: 128,
            max_concurrent: 16,
            idle_timeout: Duration::from_secs(1),
        }
    }
}

/// Per-instance policy handed to wasmtime's `ProxyHandler`.
pub struct ReusePolicy {
    reuse: InstanceReuse,
    component: std::sync::Arc<str>,
}

impl ReusePolicy {
    /// A policy for one instance of `component`.
    pub fn new(reuse: InstanceReuse, component: std::sync::Arc<str>) -> Self {
        Self { reuse, component }
    }
}

impl WorkerState for ReusePolicy {
    type StoreData = Ctx;
    /// The request's component span, when traces are on (recorded for the guest task that
    /// serves it, so the host calls it makes find their parent).
    type RequestData = Option<opentelemetry::trace::SpanContext>;

    fn should_accept_request(&self, concurrent_count: usize, total_count: usize) -> ShouldAccept {
        if total_count >= self.reuse.max_requests {
            ShouldAccept::Never
        } else if concurrent_count >= self.reuse.max_concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        store: StoreContextMut<'_, Ctx>,
        span: Option<opentelemetry::trace::SpanContext>,
        task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + 'static + Send + Sync>> {
        if let (Some(span), Some(traces)) = (span, &store.data().traces) {
            traces.request_started(Some(task), span);
        }
        // Spin sets no per-request deadline; neither do we.
        Box::pin(std::future::pending())
    }

    fn drop(&self, _store: wasmtime::Store<Ctx>, result: Result<(), wasmtime::Error>) {
        if let Err(e) = result {
            crate::log::error(
                &self.component,
                &format!("instance ended with an error: {e:#}"),
            );
        }
    }
}

/// Drops an instance once it has been idle for the configured time.
pub struct IdleExpiration {
    idle_timeout: Duration,
    timer: Option<(Instant, Pin<Box<tokio::time::Sleep>>)>,
}

impl IdleExpiration {
    /// Expires after `idle_timeout` of idleness.
    pub fn new(idle_timeout: Duration) -> Self {
        Self {
            idle_timeout,
            timer: None,
        }
    }
}

impl WorkerExpiration for IdleExpiration {
    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        state: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        if state != WorkerStatus::Idle {
            self.timer = None;
            return Poll::Pending;
        }
        let deadline = start + self.idle_timeout;
        let timer = match &mut self.timer {
            Some((at, sleep)) if *at == deadline => sleep,
            slot => {
                *slot = Some((
                    deadline,
                    Box::pin(tokio::time::sleep_until(deadline.into())),
                ));
                &mut slot.as_mut().expect("just set").1
            }
        };
        timer.as_mut().poll(cx)
    }
}
