//! Which request a host call belongs to, so its span gets the right parent.
//!
//! One instance serves up to 16 requests at once (Spin 4's reuse), all on one task, so the
//! "current span" Spin's `tracing` spans rely on cannot tell them apart here. Instead the HTTP
//! trigger records each request's component span under the guest task wasmtime starts for it
//! ([`StoreTraces::request_started`], from `WorkerState::on_request_start`), and a host call
//! finds its request by walking the component-model async call stack to its root task
//! (`StoreContextMut::async_call_stack`, wasmtime 48) — composed components included, since
//! their calls are subtasks of that root. Outbound HTTP hooks see no store, so they match the
//! guest's own `traceparent` trace id instead ([`StoreTraces::for_trace`]).
//!
//! Entries live as long as the instance (at most its reuse count, 128 by default): work a
//! guest does after it answered (post-return tasks) still finds its request.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use opentelemetry::trace::{SpanContext, SpanKind, TraceId};
use wasmtime::AsContextMut as _;
use wasmtime::component::{Accessor, GuestTaskId};

use crate::bindings::SpinHost;
use crate::ctx::Ctx;
use crate::telemetry::spans::OpSpan;

/// More entries than any reuse policy keeps in flight: beyond it, finished requests' entries
/// are dropped (an instance configured to live for very many requests stays bounded).
const MAX_ENTRIES: usize = 1024;

/// The requests of one instance (store) and their component spans.
#[derive(Default)]
pub(crate) struct StoreTraces {
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_task: HashMap<GuestTaskId, SpanContext>,
    /// Requests in the order they started (or the Redis trigger's message), newest last: the
    /// newest is the parent when nothing more precise is known.
    recent: VecDeque<SpanContext>,
}

impl StoreTraces {
    /// An empty table, shared by a store's data and its outbound HTTP hooks.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Request `task` runs under `span`.
    pub(crate) fn request_started(&self, task: Option<GuestTaskId>, span: SpanContext) {
        let Ok(mut entries) = self.inner.lock() else {
            return;
        };
        if let Some(task) = task {
            if entries.by_task.len() >= MAX_ENTRIES {
                entries.by_task.clear();
            }
            entries.by_task.insert(task, span.clone());
        }
        if entries.recent.len() >= MAX_ENTRIES {
            entries.recent.pop_front();
        }
        entries.recent.push_back(span);
    }

    /// The span of the request whose root task is `root`, else the latest request's.
    pub(crate) fn for_task(&self, root: Option<GuestTaskId>) -> Option<SpanContext> {
        let entries = self.inner.lock().ok()?;
        root.and_then(|t| entries.by_task.get(&t).cloned())
            .or_else(|| entries.recent.back().cloned())
    }

    /// The span of a request in trace `trace`, else the latest request's.
    pub(crate) fn for_trace(&self, trace: Option<TraceId>) -> Option<SpanContext> {
        let entries = self.inner.lock().ok()?;
        trace
            .and_then(|id| entries.recent.iter().rev().find(|sc| sc.trace_id() == id))
            .or_else(|| entries.recent.back())
            .cloned()
    }
}

/// The component span of the request the calling guest task belongs to. `None` when export is
/// off (checked first, nothing else is touched then) or the store has no request.
pub(crate) fn parent_of_call(accessor: &Accessor<Ctx, SpinHost>) -> Option<SpanContext> {
    if !super::enabled() {
        return None;
    }
    accessor.with(|mut access| {
        let traces = access.get().traces.clone()?;
        let root = access
            .as_context_mut()
            .async_call_stack()
            .ok()
            .and_then(|stack| stack.last());
        traces.for_task(root)
    })
}

/// A client span for a host call (key-value, SQLite, Redis) under the component span of the
/// calling request; nothing is built when traces are off. `attributes` runs only when on.
pub(crate) fn call_span(
    accessor: &Accessor<Ctx, SpinHost>,
    name: impl Into<std::borrow::Cow<'static, str>>,
    attributes: impl FnOnce() -> Vec<opentelemetry::KeyValue>,
) -> OpSpan {
    if !super::enabled() {
        return OpSpan::off();
    }
    let parent = parent_of_call(accessor);
    OpSpan::start(parent.as_ref(), name, SpanKind::Client, attributes)
}

/// A client span for a synchronous host call, which sees the store's data but not the
/// calling task: parented on the instance's newest request.
pub(crate) fn store_span(
    ctx: &Ctx,
    name: impl Into<std::borrow::Cow<'static, str>>,
    attributes: impl FnOnce() -> Vec<opentelemetry::KeyValue>,
) -> OpSpan {
    let Some(traces) = &ctx.traces else {
        return OpSpan::off();
    };
    let parent = traces.for_task(None);
    OpSpan::start(parent.as_ref(), name, SpanKind::Client, attributes)
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceFlags, TraceState};

    use super::*;

    fn span(trace: u128, id: u64) -> SpanContext {
        SpanContext::new(
            TraceId::from(trace),
            SpanId::from(id),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        )
    }

    #[test]
    fn an_outbound_call_finds_the_request_of_its_trace_else_the_newest() {
        let traces = StoreTraces::new();
        assert!(traces.for_trace(None).is_none());
        assert!(traces.for_task(None).is_none());
        // Task ids come from wasmtime only; the integration tests cover that path.
        traces.request_started(None, span(1, 1));
        traces.request_started(None, span(2, 2));
        assert_eq!(traces.for_trace(Some(TraceId::from(1))), Some(span(1, 1)));
        assert_eq!(traces.for_trace(Some(TraceId::from(9))), Some(span(2, 2)));
        assert_eq!(traces.for_trace(None), Some(span(2, 2)));
        assert_eq!(traces.for_task(None), Some(span(2, 2)));
    }

    #[test]
    fn the_table_stays_bounded() {
        let traces = StoreTraces::new();
        for i in 1..=(MAX_ENTRIES as u64 + 10) {
            traces.request_started(None, span(u128::from(i), i));
        }
        assert_eq!(traces.inner.lock().unwrap().recent.len(), MAX_ENTRIES);
        assert_eq!(
            traces.for_trace(Some(TraceId::from(1))),
            traces.for_task(None)
        );
    }
}
