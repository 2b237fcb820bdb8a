//! Helpers of the OTLP tests: a rig whose host exports to a receiver, and the checks of one
//! order's span tree.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use integration_tests::trace::{dependency_requests, events_in_stream, span_id_of, trace_id_of};
use integration_tests::{Rig, RigBuilder, eventually};
use serde_json::Value;

use crate::WAIT;
use crate::otlp_receiver::{KIND_CLIENT, KIND_INTERNAL, KIND_SERVER, ReceivedSpan, Receiver};

/// The service rig with `env` (the OTLP variables) set; exports are scheduled every 100 ms
/// so tests need not wait 5 s.
pub(crate) fn exporting(env: &[(&str, &str)]) -> RigBuilder {
    env.iter().fold(
        Rig::builder().env("OTEL_BSP_SCHEDULE_DELAY", "100"),
        |rig, (name, value)| rig.env(name, value),
    )
}

/// [`exporting`], started.
pub(crate) fn rig_exporting(env: &[(&str, &str)]) -> Rig {
    exporting(env).start()
}

/// The CloudEvents in the Redis stream `orders.events` whose subject is `order_id`, once
/// `count` of them are there.
pub(crate) fn stream_events(rig: &Rig, order_id: &str, count: usize) -> Vec<Value> {
    events_in_stream(&rig.redis, count, WAIT, |e| e["subject"] == order_id)
}

/// The spans of `trace_id` once they stop growing (the relay's Redis calls run after the
/// response, and batches leave every 100 ms) and include a span named `must_include`.
pub(crate) fn settled_trace(
    receiver: &Receiver,
    trace_id: &str,
    must_include: &str,
) -> Vec<ReceivedSpan> {
    let of_trace = || -> Vec<ReceivedSpan> {
        receiver
            .spans()
            .into_iter()
            .filter(|s| s.trace_id == trace_id)
            .collect()
    };
    eventually(
        WAIT,
        &format!("a `{must_include}` span in trace {trace_id}"),
        || {
            of_trace()
                .iter()
                .any(|s| s.name == must_include)
                .then_some(())
        },
    );
    let mut last = of_trace().len();
    let mut stable_since = Instant::now();
    let deadline = Instant::now() + WAIT;
    while stable_since.elapsed() < Duration::from_millis(800) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        let now = of_trace().len();
        if now != last {
            last = now;
            stable_since = Instant::now();
        }
    }
    of_trace()
}

pub(crate) fn one<'a>(
    spans: &'a [ReceivedSpan],
    what: &str,
    pick: impl Fn(&ReceivedSpan) -> bool,
) -> &'a ReceivedSpan {
    let found: Vec<&ReceivedSpan> = spans.iter().filter(|s| pick(s)).collect();
    assert_eq!(found.len(), 1, "exactly one {what}: {spans:#?}");
    found[0]
}

/// The dependencies every order calls (Product may answer from the adapters' cache).
pub(crate) fn uncached(rig: &Rig) -> Vec<(&'static str, u16)> {
    vec![
        ("user", rig.sims.user.addr().port()),
        ("inventory", rig.sims.inventory.addr().port()),
        ("payment", rig.sims.payment.addr().port()),
    ]
}

/// Every dependency, for an instance's first order (nothing cached yet).
pub(crate) fn all_dependencies(rig: &Rig) -> Vec<(&'static str, u16)> {
    let mut all = uncached(rig);
    all.push(("product", rig.sims.product.addr().port()));
    all
}

/// Whether `spans` hold an order insert (`order_inserts`). An order's saga writes are its own
/// trace's when it was the instance's only request; concurrent requests' writes are combined
/// into one statement (group commit, `guest::sqlite`), written by one of those requests, whose
/// trace has its span.
pub(crate) fn has_insert(spans: &[ReceivedSpan]) -> bool {
    spans.iter().any(|s| {
        s.name == "spin_sqlite.execute"
            && s.attribute("query")
                .is_some_and(|q| q.contains("INSERT INTO order_inserts"))
    })
}

/// Checks the span tree of one `POST /api/v1/orders` and returns the client spans' ids:
/// server span → component span → outbound HTTP to each of `called`, key-value, SQLite and
/// Redis operations, all in the one trace.
pub(crate) fn assert_order_trace(
    spans: &[ReceivedSpan],
    rig: &Rig,
    called: &[(&'static str, u16)],
) -> BTreeSet<String> {
    let server = one(spans, "server span", |s| s.kind == KIND_SERVER);
    assert_eq!(server.name, "POST /...", "Spin's `{{method}} {{route}}`");
    assert_eq!(server.attribute("http.route"), Some("/..."));
    assert_eq!(server.attribute("http.request.method"), Some("POST"));
    assert_eq!(server.attribute("url.path"), Some("/api/v1/orders"));
    assert_eq!(server.attribute("http.response.status_code"), Some("201"));
    assert_eq!(server.service_name, "spin", "Spin's default service.name");

    let component = one(spans, "component span", |s| s.kind == KIND_INTERNAL);
    assert_eq!(component.name, "execute_wasm_component order-api");
    assert_eq!(component.parent_span_id, server.span_id);

    // Everything else hangs under the component span: no stray roots, no other parents.
    for span in spans {
        if span.span_id != server.span_id && span.span_id != component.span_id {
            assert_eq!(
                span.parent_span_id, component.span_id,
                "{} is a child of the component span",
                span.name
            );
        }
    }

    let client_http: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.kind == KIND_CLIENT && s.attribute("url.full").is_some())
        .collect();
    for (name, port) in called {
        let port = port.to_string();
        let calls: Vec<&&ReceivedSpan> = client_http
            .iter()
            .filter(|s| s.attribute("server.port") == Some(port.as_str()))
            .collect();
        assert!(
            !calls.is_empty(),
            "a client span for the {name} call: {client_http:#?}"
        );
        for call in calls {
            assert_eq!(call.attribute("server.address"), Some("127.0.0.1"));
            assert_eq!(
                Some(call.name.as_str()),
                call.attribute("http.request.method")
            );
            assert!(
                call.attribute("http.response.status_code").is_some(),
                "{call:?}"
            );
        }
    }

    let kv: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.name.starts_with("spin_key_value."))
        .collect();
    // Whether an order touches key-value at all depends on what its instance already holds:
    // a reused instance answers fresh products from its near cache and keeps its breakers'
    // quiet successes back (`breaker_write_behind_ms`), so only a first order of a fresh
    // instance is sure to read and write (see
    // `one_order_is_one_trace_with_spins_span_tree_over_http_protobuf`). Those it makes are
    // client spans.
    assert!(kv.iter().all(|s| s.kind == KIND_CLIENT), "{kv:#?}");

    let sqlite: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.name == "spin_sqlite.execute")
        .collect();
    assert!(!sqlite.is_empty(), "SQLite statements");
    for statement in &sqlite {
        assert_eq!(statement.attribute("db.system.name"), Some("sqlite"));
        assert_eq!(statement.attribute("sqlite.backend"), Some("spin"));
        assert!(statement.attribute("query").is_some_and(|q| !q.is_empty()));
    }

    // No secret reaches a span: bearer token, card token, client secret.
    for span in spans {
        for (key, value) in &span.attributes {
            assert!(
                !value.contains(&rig.token)
                    && !value.contains("tok_visa")
                    && !value.contains("Bearer"),
                "{}: {key} = {value}",
                span.name
            );
            assert_ne!(key.to_ascii_lowercase(), "authorization");
        }
    }

    client_http.iter().map(|s| s.span_id.clone()).collect()
}

/// The relay ran in this trace: the Redis `EVAL` span of its delivery script, which runs each
/// event's `XADD` and `PUBLISH` inside Redis (after the response, under the same component
/// span). With several orders at once, whichever request relays first sends its neighbours'
/// events too, so this holds for a lone order only.
pub(crate) fn assert_relayed(spans: &[ReceivedSpan]) {
    let commands: BTreeSet<&str> = spans
        .iter()
        .filter(|s| s.attribute("db.system.name") == Some("redis") && s.kind == KIND_CLIENT)
        .map(|s| s.name.as_str())
        .collect();
    assert!(
        commands.contains("EVAL"),
        "the relay's EVAL (XADD and PUBLISH): {commands:?}"
    );
}

/// Every simulator request carried a `traceparent` in `trace_id` naming one of `client_spans`.
pub(crate) fn assert_dependencies_saw_their_client_spans(
    rig: &Rig,
    trace_id: &str,
    client_spans: &BTreeSet<String>,
) {
    for (name, requests) in dependency_requests(&rig.sims) {
        for request in requests {
            let sent = request.traceparent().unwrap_or_default();
            assert_eq!(trace_id_of(sent), trace_id, "{name}: {sent}");
            assert!(
                client_spans.contains(span_id_of(sent)),
                "{name}: {sent} names its client span"
            );
        }
    }
}

/// Asks the host to stop as an operator would (SIGTERM) and waits until it has exited.
pub(crate) fn terminate(rig: &Rig) {
    let pid = rig.host.pid().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    // The test process reaps the child only on drop: an exited host is a zombie (`Z`).
    let stat = format!("/proc/{pid}/stat");
    eventually(Duration::from_secs(15), "the host to exit", || {
        let exited = std::fs::read_to_string(&stat)
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .unwrap_or_default()
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true);
        exited.then_some(())
    });
}
