//! OTLP traces from `order-host`: real `.wasm` components on the host with real SQLite, Redis
//! and the simulators, exporting to real OTLP receivers in this process (OTLP/HTTP protobuf
//! and OTLP/gRPC) that decode every `ExportTraceServiceRequest`.

use std::time::{Duration, Instant};

use integration_tests::trace::{
    INBOUND_PARENT, INBOUND_TRACE_ID, INBOUND_TRACEPARENT, span_id_of, trace_id_of,
};
use integration_tests::{Answer, RedisServer, Rig, eventually, free_port, order_body};
use serde_json::json;
use simulators::{Simulators, demo};

use crate::otlp_receiver::{KIND_CONSUMER, KIND_SERVER, ReceivedSpan, Receiver};
use crate::span_checks::{
    all_dependencies, assert_dependencies_saw_their_client_spans, assert_order_trace,
    assert_relayed, exporting, has_insert, one, rig_exporting, settled_trace, stream_events,
    terminate, uncached,
};
use crate::{WAIT, create};

#[test]
fn one_order_is_one_trace_with_spins_span_tree_over_http_protobuf() {
    let receiver = Receiver::http();
    let rig = rig_exporting(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint)]);

    let created = create(
        &rig,
        "trace-http-1",
        &[("traceparent", INBOUND_TRACEPARENT)],
    );
    assert_eq!(created.status, 201, "{created:?}");
    let returned = created
        .header("traceparent")
        .expect("traceparent")
        .to_owned();
    assert_eq!(trace_id_of(&returned), INBOUND_TRACE_ID);
    let order_id = created.json()["id"].as_str().expect("id").to_owned();

    // The order's events carry the same trace.
    let events = stream_events(&rig, &order_id, 2);
    for event in &events {
        assert_eq!(
            trace_id_of(event["traceparent"].as_str().unwrap_or_default()),
            INBOUND_TRACE_ID,
            "{event}"
        );
    }

    let spans = settled_trace(&receiver, INBOUND_TRACE_ID, "EVAL");
    let server = one(&spans, "server span", |s| s.kind == KIND_SERVER);
    assert_eq!(
        server.parent_span_id, INBOUND_PARENT,
        "parented on the inbound traceparent"
    );
    let client_spans = assert_order_trace(&spans, &rig, &all_dependencies(&rig));
    assert!(has_insert(&spans), "the order's INSERTs");
    // The first order of a fresh instance writes the breakers' windows (nothing kept yet).
    assert!(
        spans.iter().any(|s| s.name == "spin_key_value.set"),
        "key-value writes in the first order's trace"
    );
    assert_relayed(&spans);
    assert_dependencies_saw_their_client_spans(&rig, INBOUND_TRACE_ID, &client_spans);

    // One trace per order: no other trace holds an order request.
    let other_posts = receiver
        .spans()
        .into_iter()
        .filter(|s| s.kind == KIND_SERVER && s.trace_id != INBOUND_TRACE_ID)
        .count();
    assert_eq!(other_posts, 0);
    assert!(
        receiver
            .content_types()
            .iter()
            .all(|c| c == "application/x-protobuf"),
        "{:?}",
        receiver.content_types()
    );
}

/// Requests served at the same time by one reused instance (Spin 4's reuse: up to 16 at
/// once) each keep their own tree: every host call lands under its own request's component
/// span, found from the guest task that made it, never under a neighbour's.
#[test]
fn concurrent_requests_in_one_instance_each_get_their_own_tree() {
    let receiver = Receiver::http();
    let rig = rig_exporting(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint)]);
    // Slow User answers keep the requests in flight together.
    rig.sims
        .user
        .set_fault(simulators::Fault::Latency(Duration::from_millis(300)));
    let traces: Vec<String> = (0..6)
        .map(|i| format!("{:032x}", 0x000a_11ce_0000_u128 + i))
        .collect();
    std::thread::scope(|scope| {
        for (i, trace) in traces.iter().enumerate() {
            let rig = &rig;
            scope.spawn(move || {
                let traceparent = format!("00-{trace}-{INBOUND_PARENT}-01");
                let created = create(
                    rig,
                    &format!("trace-concurrent-{i}"),
                    &[("traceparent", &traceparent)],
                );
                assert_eq!(created.status, 201, "{created:?}");
                let returned = created.header("traceparent").unwrap_or_default().to_owned();
                assert_eq!(trace_id_of(&returned), trace);
            });
        }
    });
    rig.sims.user.clear_fault();
    let mut inserts = false;
    for trace in &traces {
        let spans = settled_trace(&receiver, trace, "POST /...");
        let client_spans = assert_order_trace(&spans, &rig, &uncached(&rig));
        inserts |= has_insert(&spans);
        // This trace's dependency calls are exactly the simulator requests that named it.
        let named: usize = [
            rig.sims.user.requests(),
            rig.sims.product.requests(),
            rig.sims.inventory.requests(),
            rig.sims.payment.requests(),
            rig.sims.auth.requests(),
        ]
        .iter()
        .flatten()
        .filter(|r| trace_id_of(r.traceparent().unwrap_or_default()) == trace)
        .inspect(|r| {
            let sent = r.traceparent().unwrap_or_default();
            assert!(client_spans.contains(span_id_of(sent)), "{sent}");
        })
        .count();
        assert_eq!(named, client_spans.len(), "trace {trace}");
    }
    // Their saga writes may share statements (group commit), each in one of their traces.
    assert!(inserts, "the orders' INSERTs, in some of their traces");
    let servers = receiver
        .spans()
        .into_iter()
        .filter(|s| s.kind == KIND_SERVER)
        .count();
    assert_eq!(
        servers,
        traces.len(),
        "one server span per request, nothing else"
    );
}

/// Concurrent creates combine their saga writes (group commit, `guest::sqlite`): while a
/// lock held from outside stops every write, the orders placed meanwhile queue their rows in
/// their instances, and once it is released the rows go in combined statements — some
/// carrying several rows (one `(?, …)` group per row) — and every row of the orders' three
/// saga writes (`order_inserts`, then two `order_saves`) is in one of them.
#[test]
fn concurrent_orders_insert_their_rows_in_combined_statements() {
    const ORDERS: usize = 16;
    let receiver = Receiver::http();
    let rig = rig_exporting(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint)]);
    let body = order_body(demo::ACTIVE_USER, &[(demo::CABLE, 1)], "tok_visa");
    let warm_up = rig.create("combined-warm-up", &body);
    assert_eq!(warm_up.status, 201, "{warm_up:?}");
    let lock = rusqlite::Connection::open(rig.db_path()).expect("open the order database");
    lock.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    let answers: Vec<Answer> = std::thread::scope(|scope| {
        let creates: Vec<_> = (0..ORDERS)
            .map(|n| {
                let (rig, body) = (&rig, &body);
                scope.spawn(move || rig.create(&format!("combined-{n}"), body))
            })
            .collect();
        // Well inside the 5 s the writers wait for the lock (`guest::sqlite`: 3 ms in SQLite
        // per try, tried again at once for 50 ms, then every 25 ms).
        std::thread::sleep(Duration::from_millis(1_000));
        lock.execute_batch("COMMIT").expect("unlock");
        creates
            .into_iter()
            .map(|c| c.join().expect("no panic"))
            .collect()
    });
    assert!(answers.iter().all(|a| a.status == 201), "{answers:?}");
    // Rows per saga-write statement that ran, once every order's three rows have been seen
    // (a try the lock refused is an error span — OTLP status 2 — and is tried again).
    let rows: Vec<usize> = eventually(WAIT, "every saga write exported", || {
        let rows: Vec<usize> = receiver
            .spans()
            .iter()
            .filter(|s| s.name == "spin_sqlite.execute" && s.status_code != 2)
            .filter_map(|s| s.attribute("query"))
            .filter(|q| {
                q.contains("INSERT INTO order_inserts") || q.contains("INSERT INTO order_saves")
            })
            .map(|q| q.matches("(?").count())
            .collect();
        (rows.iter().sum::<usize>() == 3 * (ORDERS + 1)).then_some(rows)
    });
    assert!(
        rows.iter().any(|&n| n > 1),
        "no combined statement: {rows:?}"
    );
}

#[test]
fn the_same_trace_arrives_over_grpc() {
    let receiver = Receiver::grpc();
    let rig = rig_exporting(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_SERVICE_NAME", "order-service"),
    ]);
    let created = create(
        &rig,
        "trace-grpc-1",
        &[("traceparent", INBOUND_TRACEPARENT)],
    );
    assert_eq!(created.status, 201, "{created:?}");
    let order_id = created.json()["id"].as_str().expect("id").to_owned();
    stream_events(&rig, &order_id, 2);

    let spans = settled_trace(&receiver, INBOUND_TRACE_ID, "EVAL");
    assert!(spans.iter().all(|s| s.service_name == "order-service"));
    // The tree is the same as over HTTP (service name aside).
    let renamed: Vec<ReceivedSpan> = spans
        .into_iter()
        .map(|mut s| {
            s.service_name = "spin".into();
            s
        })
        .collect();
    let client_spans = assert_order_trace(&renamed, &rig, &all_dependencies(&rig));
    assert!(has_insert(&renamed), "the order's INSERTs");
    assert_relayed(&renamed);
    assert_dependencies_saw_their_client_spans(&rig, INBOUND_TRACE_ID, &client_spans);
    assert!(
        receiver
            .content_types()
            .iter()
            .all(|c| c == "application/grpc")
    );
}

/// Without an inbound `traceparent` the host starts a trace of its own (as Spin does), and
/// order-api, which sees no `traceparent` either, starts another: the exported trace and the
/// `traceparent` the service returns and stores differ. The host's trace still reaches the
/// dependencies, since outbound requests carry the host's client span (Spin injects the same way).
#[test]
fn without_an_inbound_traceparent_the_host_and_the_service_start_separate_traces() {
    let receiver = Receiver::http();
    let rig = rig_exporting(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint)]);

    let created = create(&rig, "trace-none-1", &[]);
    assert_eq!(created.status, 201, "{created:?}");
    let returned = created
        .header("traceparent")
        .expect("traceparent")
        .to_owned();
    let service_trace = trace_id_of(&returned).to_owned();
    let order_id = created.json()["id"].as_str().expect("id").to_owned();
    let events = stream_events(&rig, &order_id, 2);
    assert!(
        events
            .iter()
            .all(|e| trace_id_of(e["traceparent"].as_str().unwrap_or_default()) == service_trace),
        "events carry the service's own trace"
    );

    let server = eventually(WAIT, "the server span", || {
        receiver.spans().into_iter().find(|s| s.kind == KIND_SERVER)
    });
    assert_eq!(
        server.parent_span_id, "",
        "a root span: nothing to parent on"
    );
    assert_ne!(server.trace_id, service_trace, "two separate traces");
    let spans = settled_trace(&receiver, &server.trace_id, "EVAL");
    let client_spans = assert_order_trace(&spans, &rig, &all_dependencies(&rig));
    assert!(has_insert(&spans), "the order's INSERTs");
    assert_relayed(&spans);
    assert_dependencies_saw_their_client_spans(&rig, &server.trace_id, &client_spans);
}

#[test]
fn a_payment_notification_is_a_consumer_span_over_the_listeners_calls() {
    let receiver = Receiver::http();
    let rig = rig_exporting(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint)]);
    let pending = rig.create(
        "trace-pay-1",
        &order_body(demo::ACTIVE_USER, &[(demo::CABLE, 1)], "tok_pending"),
    );
    assert_eq!(pending.status, 202, "{pending:?}");
    let order = pending.json();
    let notification = json!({
        "specversion": "1.0",
        "id": "trace-pay-evt-1",
        "source": "/payment",
        "type": "payment.captured.v1",
        "time": "2026-11-30T10:00:00.000Z",
        "datacontenttype": "application/json",
        "data": { "orderId": order["id"], "paymentId": order["paymentId"] },
    })
    .to_string();
    let mut conn = rig.redis.connection().expect("redis");
    eventually(WAIT, "payment-listener to receive", || {
        let receivers: i64 = redis::cmd("PUBLISH")
            .arg("payments.events")
            .arg(&notification)
            .query(&mut conn)
            .expect("PUBLISH");
        (receivers > 0).then_some(())
    });

    let message = eventually(WAIT, "the message span", || {
        receiver
            .spans()
            .into_iter()
            .find(|s| s.name == "payments.events receive")
    });
    assert_eq!(message.kind, KIND_CONSUMER);
    assert_eq!(message.parent_span_id, "", "a trace of its own");
    assert_eq!(message.attribute("messaging.system"), Some("redis"));
    assert_eq!(message.attribute("messaging.operation"), Some("receive"));
    let spans = settled_trace(&receiver, &message.trace_id, "spin_sqlite.execute");
    let children: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.span_id != message.span_id)
        .collect();
    assert!(!children.is_empty());
    for child in &children {
        assert_eq!(child.parent_span_id, message.span_id, "{child:?}");
    }
    assert!(children.iter().any(|s| s.name == "spin_sqlite.execute"));
}

#[test]
fn with_no_endpoint_or_with_the_sdk_disabled_nothing_is_exported_and_no_header_is_rewritten() {
    let receiver = Receiver::http();
    // Unset endpoint (and an empty one): off. Protocol and service name alone do nothing.
    let rig = rig_exporting(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ]);
    let created = create(&rig, "trace-off-1", &[("traceparent", INBOUND_TRACEPARENT)]);
    assert_eq!(created.status, 201, "{created:?}");
    let returned = created
        .header("traceparent")
        .expect("traceparent")
        .to_owned();
    // With traces off the host makes no client span, so the dependencies see the
    // service's own traceparent, unchanged.
    for request in rig.sims.user.requests() {
        assert_eq!(request.traceparent(), Some(returned.as_str()));
    }
    assert!(!rig.host.stderr().contains("exporting traces"));

    // An endpoint that points at the receiver, but OTEL_SDK_DISABLED: still nothing.
    let disabled = rig_exporting(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint),
        ("OTEL_SDK_DISABLED", "true"),
    ]);
    let created = create(
        &disabled,
        "trace-off-2",
        &[("traceparent", INBOUND_TRACEPARENT)],
    );
    assert_eq!(created.status, 201, "{created:?}");
    let order_id = created.json()["id"].as_str().expect("id").to_owned();
    stream_events(&disabled, &order_id, 2);
    terminate(&disabled);
    std::thread::sleep(Duration::from_millis(500));
    assert!(receiver.spans().is_empty(), "{:#?}", receiver.spans());
    assert!(receiver.content_types().is_empty());
}

#[test]
fn spans_still_queued_are_flushed_on_sigterm() {
    let receiver = Receiver::http();
    // A schedule far beyond the test: only the shutdown flush can deliver the spans.
    let rig = exporting(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint)])
        .env("OTEL_BSP_SCHEDULE_DELAY", "600000")
        .start();
    let created = create(
        &rig,
        "trace-flush-1",
        &[("traceparent", INBOUND_TRACEPARENT)],
    );
    assert_eq!(created.status, 201, "{created:?}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        receiver.spans().is_empty(),
        "nothing exported before the schedule"
    );
    terminate(&rig);
    let spans = receiver.spans();
    assert!(
        spans
            .iter()
            .any(|s| s.kind == KIND_SERVER && s.trace_id == INBOUND_TRACE_ID),
        "{spans:#?}"
    );
}

/// Requests against a host whose collector is unreachable: each answers well within the
/// 10 s export timeout (bounded queue, export in the background), and the host keeps serving.
fn requests_stay_prompt(env: &[(&str, &str)]) -> Rig {
    let rig = rig_exporting(env);
    let started = Instant::now();
    for i in 0..15 {
        let request_started = Instant::now();
        let created = create(&rig, &format!("trace-dead-{i}"), &[]);
        assert_eq!(created.status, 201, "{created:?}");
        assert!(
            request_started.elapsed() < Duration::from_secs(5),
            "request {i} took {:?}",
            request_started.elapsed()
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(rig.get("/health/live").status, 200);
    rig
}

/// The host said once that exports fail (the SDK's own diagnostics go nowhere).
fn assert_export_failure_logged_once(rig: &Rig) {
    let failures = || rig.host.stderr().matches("trace export failed").count();
    eventually(WAIT, "the export failure line", || {
        (failures() > 0).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(failures(), 1, "{}", rig.host.stderr());
}

#[test]
fn a_closed_collector_port_never_slows_or_stops_requests() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let http = requests_stay_prompt(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &closed)]);
    assert_export_failure_logged_once(&http);
    let grpc = requests_stay_prompt(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &closed),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ]);
    assert_export_failure_logged_once(&grpc);
}

#[test]
fn a_collector_that_never_answers_never_slows_or_stops_requests() {
    // Accepts connections and reads nothing: every export waits for its timeout.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().map_while(Result::ok) {
            held.push(stream);
        }
    });
    requests_stay_prompt(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "16"),
    ]);
}

#[test]
fn a_refused_protocol_stops_start_up_naming_the_variable() {
    let sims = Simulators::spawn().expect("simulators");
    let redis = RedisServer::start();
    let (code, stderr) = Rig::builder()
        .host_builder(&sims, &redis)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .expect_failure();
    assert_ne!(code, 0);
    assert!(
        stderr.contains("OTEL_EXPORTER_OTLP_PROTOCOL") && stderr.contains("http/json"),
        "{stderr}"
    );
}
