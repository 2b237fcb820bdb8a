//! The host as Spin: what `order-host` gives a component — key-value and SQLite stores,
//! outbound HTTP and Redis to allowed hosts only, variables, `spin-*` headers, the Redis
//! trigger, instance reuse, start-up errors — on the real `.wasm` fixtures and components,
//! with real SQLite, Redis and loopback HTTP; and the `probe` fixture's create-order floor,
//! which the benchmark measures the app against. Each test starts its own host process on a free
//! port and state directory.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use integration_tests::{
    Answer, Host, HostBuilder, RedisServer, eventually, manifest_in_tempdir, wasm, workspace_root,
};

/// A manifest running the probe fixture twice — once with grants, once with none — and the
/// hello-world fixture.
fn probe_manifest() -> String {
    format!(
        r#"
spin_manifest_version = 2
[application]
name = "probe-app"
[variables]
greeting = {{ default = "hello" }}
allowed_port = {{ default = "1" }}

[[trigger.http]]
route = "/probe/..."
component = "probe"
[[trigger.http]]
route = "/denied/..."
component = "probe-denied"
[[trigger.http]]
route = "/hello"
component = "hello"

[component.probe]
source = "{probe}"
key_value_stores = ["default"]
sqlite_databases = ["default"]
allowed_outbound_hosts = ["http://127.0.0.1:{{{{ allowed_port }}}}", "redis://127.0.0.1:{{{{ allowed_port }}}}"]
[component.probe.variables]
greeting = "{{{{ greeting }}}}"

[component.probe-denied]
source = "{probe}"

[component.hello]
source = "{hello}"
"#,
        probe = wasm("probe").display(),
        hello = wasm("hello").display(),
    )
}

/// Has the probe publish `ping` on `probe.channel` of the Redis at 127.0.0.1:`port`.
fn publish_through_probe(host: &Host, port: u16) -> Answer {
    host.post(
        &format!(
            "/probe/redis/publish?address=redis%3A%2F%2F127.0.0.1%3A{port}&channel=probe.channel"
        ),
        "ping",
    )
}

/// A loopback HTTP server answering every request with `pong`, counting connections.
fn counting_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\npong",
            );
        }
    });
    (port, hits)
}

#[test]
fn health_live_answers_from_the_order_api_component() {
    let host = HostBuilder::new(workspace_root().join("spin.toml")).start();
    let live = host.get("/health/live");
    assert_eq!(live.status, 200, "{live:?}");
    assert_eq!(live.json()["status"], "live");
}

#[test]
fn health_ready_reports_state_from_the_composed_dependencies() {
    let host = HostBuilder::new(workspace_root().join("spin.toml")).start();
    let ready = host.get("/health/ready");
    assert_eq!(ready.status, 200, "{ready:?}");
    let body = ready.json();
    assert_eq!(body["checks"]["sqlite"], "ok", "{body}");
    assert_eq!(body["checks"]["keyValue"], "ok", "{body}");
    // From dependency-health (dependency-adapters component) across the WIT boundary.
    let deps = body["dependencies"].as_array().expect("dependencies array");
    let mut names: Vec<&str> = deps.iter().map(|d| d["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["inventory", "payment", "product", "user"], "{body}");
    assert!(deps.iter().all(|d| d["breakerState"] == "closed"), "{body}");
    // From events (event-emitter component): a fresh outbox is empty.
    assert_eq!(body["outbox"]["pending"], 0, "{body}");
    assert_eq!(body["outbox"]["dead"], 0, "{body}");
}

#[test]
fn unknown_route_is_a_problem_json_404() {
    let host = HostBuilder::new(workspace_root().join("spin.toml")).start();
    let answer = host.get("/no/such/route");
    assert_eq!(answer.status, 404);
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(answer.json()["status"], 404);
}

#[test]
fn key_value_round_trip_is_stored_in_the_default_sqlite_file_and_survives_restart() {
    let state = tempfile::tempdir().unwrap();
    let (_dir, manifest) = manifest_in_tempdir(&probe_manifest());
    let host = HostBuilder::new(&manifest).state_dir(state.path()).start();
    assert_eq!(host.get("/probe/kv/default/greeting").status, 404);
    assert_eq!(host.put("/probe/kv/default/greeting", "hej").status, 204);
    let got = host.get("/probe/kv/default/greeting");
    assert_eq!((got.status, got.body.as_str()), (200, "hej"));
    host.stop();

    // Spin's default store is a SQLite file in the state directory.
    let file = rusqlite::Connection::open(state.path().join("sqlite_key_value.db")).unwrap();
    let value: Vec<u8> = file
        .query_row(
            "SELECT value FROM spin_key_value WHERE store = 'default' AND key = 'greeting'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(value, b"hej");

    let again = HostBuilder::new(&manifest).state_dir(state.path()).start();
    assert_eq!(again.get("/probe/kv/default/greeting").body, "hej");
}

#[test]
fn sqlite_round_trip_with_parameters() {
    let (_dir, manifest) = manifest_in_tempdir(&probe_manifest());
    let host = HostBuilder::new(&manifest).start();
    let exec = |sql: &str, params: serde_json::Value| {
        let a = host.post(
            "/probe/sqlite/default",
            &serde_json::json!({ "sql": sql, "params": params }).to_string(),
        );
        assert_eq!(a.status, 200, "{sql}: {a:?}");
        a.json()
    };
    exec(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, weight REAL)",
        serde_json::json!([]),
    );
    exec(
        "INSERT INTO notes (body, weight) VALUES (?, ?)",
        serde_json::json!(["it's; DROP TABLE notes; --", 1.5]),
    );
    exec(
        "INSERT INTO notes (body, weight) VALUES (?, ?)",
        serde_json::json!(["second", null]),
    );
    let rows = exec(
        "SELECT id, body, weight FROM notes ORDER BY id",
        serde_json::json!([]),
    );
    assert_eq!(rows["columns"], serde_json::json!(["id", "body", "weight"]));
    assert_eq!(
        rows["rows"],
        serde_json::json!([[1, "it's; DROP TABLE notes; --", 1.5], [2, "second", null]])
    );
    let bad = host.post(
        "/probe/sqlite/default",
        r#"{"sql":"SELECT * FROM missing_table","params":[]}"#,
    );
    assert_eq!(bad.status, 500, "{bad:?}");
    assert!(bad.body.contains("missing_table"), "{bad:?}");
}

#[test]
fn outbound_http_reaches_allowed_hosts_only() {
    let (allowed_port, allowed_hits) = counting_server();
    let (other_port, other_hits) = counting_server();
    let (_dir, manifest) = manifest_in_tempdir(&probe_manifest());
    let host = HostBuilder::new(&manifest)
        .variable("allowed_port", allowed_port.to_string())
        .start();

    let ok = host.get(&format!(
        "/probe/outbound?url=http%3A%2F%2F127.0.0.1%3A{allowed_port}%2Fping"
    ));
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.json()["body"], "pong");
    assert_eq!(allowed_hits.load(Ordering::SeqCst), 1);

    let denied = host.get(&format!(
        "/probe/outbound?url=http%3A%2F%2F127.0.0.1%3A{other_port}%2Fping"
    ));
    assert_eq!(denied.status, 403, "{denied:?}");
    assert!(denied.body.contains("HttpRequestDenied"), "{denied:?}");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        other_hits.load(Ordering::SeqCst),
        0,
        "a denied request must never reach the wire"
    );
}

#[test]
fn spin_variable_environment_override_reaches_the_component() {
    let (_dir, manifest) = manifest_in_tempdir(&probe_manifest());
    let default = HostBuilder::new(&manifest).start();
    assert_eq!(default.get("/probe/var/greeting").body, "hello");
    drop(default);
    let overridden = HostBuilder::new(&manifest)
        .variable("greeting", "bonjour")
        .start();
    let answer = overridden.get("/probe/var/greeting");
    assert_eq!((answer.status, answer.body.as_str()), (200, "bonjour"));
    // A name the component did not declare is undefined, not some other component's value.
    assert_eq!(overridden.get("/probe/var/allowed_port").status, 404);
}

#[test]
fn component_without_declared_stores_gets_access_denied() {
    let (_dir, manifest) = manifest_in_tempdir(&probe_manifest());
    let host = HostBuilder::new(&manifest).start();
    assert_eq!(host.put("/probe/kv/default/secret", "x").status, 204);

    let kv = host.get("/denied/kv/default/secret");
    assert_eq!(kv.status, 403, "{kv:?}");
    assert!(kv.body.contains("AccessDenied"), "{kv:?}");
    let db = host.post(
        "/denied/sqlite/default",
        r#"{"sql":"SELECT 1","params":[]}"#,
    );
    assert_eq!(db.status, 403, "{db:?}");
    assert!(db.body.contains("AccessDenied"), "{db:?}");
}

#[test]
fn spin_headers_are_set_by_the_host_and_cannot_be_spoofed() {
    let (_dir, manifest) = manifest_in_tempdir(&probe_manifest());
    let host = HostBuilder::new(&manifest).start();
    let answer = host.get_with("/probe/headers", &[("spin-client-addr", "10.9.9.9:1")]);
    assert_eq!(answer.status, 200, "{answer:?}");
    let headers = answer.json();
    assert!(
        headers["spin-client-addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "{headers}"
    );
    assert_eq!(headers["spin-matched-route"], "/probe/...");
    assert_eq!(headers["spin-path-info"], "/headers");
    assert!(
        headers["spin-full-url"]
            .as_str()
            .unwrap()
            .ends_with("/probe/headers"),
        "{headers}"
    );
}

#[test]
fn payment_notification_published_on_redis_reaches_payment_listener() {
    let redis = RedisServer::start();
    let host = HostBuilder::new(workspace_root().join("spin.toml"))
        .variable("redis_url", redis.url())
        .start();
    let mut conn = redis.connection().unwrap();
    let event = r#"{"specversion":"1.0","id":"evt-1","type":"payment.captured.v1","source":"payment","data":{"paymentId":"p-1","orderId":"o-1"}}"#;
    // The trigger subscribes in the background; publish until it is listening.
    eventually(
        Duration::from_secs(20),
        "payment-listener to subscribe",
        || {
            let receivers: i64 = redis::cmd("PUBLISH")
                .arg("payments.events")
                .arg(event)
                .query(&mut conn)
                .unwrap();
            (receivers > 0).then_some(())
        },
    );
    let db = host.state_dir.join("sqlite_db.db");
    let (event_type, status): (String, String) =
        eventually(Duration::from_secs(20), "the inbox row", || {
            let c = rusqlite::Connection::open(&db).ok()?;
            c.query_row(
                "SELECT event_type, status FROM payment_inbox WHERE event_id = 'evt-1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok()
        });
    assert_eq!(event_type, "payment.captured.v1");
    assert_ne!(status, "malformed");
}

/// Spin's Redis trigger connects before the app serves; a configured address that cannot be
/// reached ends `spin up` with "Redis trigger failed to connect to …". So does `order-host`.
#[test]
fn a_configured_redis_that_cannot_be_reached_fails_start_up_as_on_spin() {
    let dead_port = integration_tests::free_port();
    let (code, err) = HostBuilder::new(workspace_root().join("spin.toml"))
        .variable("redis_url", format!("redis://127.0.0.1:{dead_port}"))
        .expect_failure();
    assert_ne!(code, 0);
    assert!(
        err.contains(&format!(
            "Redis trigger failed to connect to redis://127.0.0.1:{dead_port}"
        )),
        "{err}"
    );
}

/// With no `redis_url` configured, `up` starts a local `redis-server` (as it starts the
/// simulators), points the app at it, and stops it with the host.
#[test]
fn with_no_redis_configured_up_starts_a_local_one_that_the_trigger_uses() {
    let host = HostBuilder::new(workspace_root().join("spin.toml")).start();
    let url = eventually(
        Duration::from_secs(10),
        "the local Redis banner line",
        || {
            host.stdout()
                .lines()
                .find_map(|l| l.strip_prefix("Local Redis (redis_url): "))
                .map(str::to_string)
        },
    );
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let event = r#"{"specversion":"1.0","id":"evt-local","type":"payment.captured.v1","source":"payment","data":{"paymentId":"p-1","orderId":"o-1"}}"#;
    let receivers: i64 = redis::cmd("PUBLISH")
        .arg("payments.events")
        .arg(event)
        .query(&mut conn)
        .unwrap();
    assert_eq!(
        receivers, 1,
        "the trigger subscribed before the host served"
    );
    let db = host.state_dir.join("sqlite_db.db");
    eventually(Duration::from_secs(20), "the inbox row", || {
        let c = rusqlite::Connection::open(&db).ok()?;
        c.query_row(
            "SELECT 1 FROM payment_inbox WHERE event_id = 'evt-local'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .ok()
    });

    // Killed without a chance to clean up, the host still takes its Redis with it.
    host.stop();
    eventually(Duration::from_secs(10), "the local Redis to stop", || {
        client.get_connection().is_err().then_some(())
    });
}

#[test]
fn startup_errors_are_one_line_and_exit_non_zero() {
    // A manifest that is not valid.
    let (_d1, bad) = manifest_in_tempdir("spin_manifest_version = 2\n[application]\n");
    let (code, err) = HostBuilder::new(&bad).expect_failure();
    assert_ne!(code, 0);
    assert!(
        err.contains("invalid manifest") && err.contains("spin.toml"),
        "{err}"
    );

    // A component whose .wasm does not exist.
    let (_d2, missing) = manifest_in_tempdir(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"c\"\n\
         [component.c]\nsource = \"nowhere/c.wasm\"\n",
    );
    let (code, err) = HostBuilder::new(&missing).expect_failure();
    assert_ne!(code, 0);
    assert!(err.contains("nowhere/c.wasm"), "{err}");

    // A port that is already taken.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (_d3, manifest) = manifest_in_tempdir(&probe_manifest());
    let (code, err) = HostBuilder::new(&manifest)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .expect_failure();
    assert_ne!(code, 0);
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn each_outbound_redis_open_is_a_new_connection_closed_when_the_guest_drops_it() {
    // As on Spin (`factor-outbound-redis`, `open`): nothing is shared between opens, so an
    // app that opens per request pays a connect each time, here as there.
    let redis = RedisServer::start();
    let (_dir, manifest) = manifest_in_tempdir(&probe_manifest());
    let host = HostBuilder::new(&manifest)
        .variable("allowed_port", redis.port.to_string())
        .start();
    let before = redis.connections_received();
    for _ in 0..3 {
        let published = publish_through_probe(&host, redis.port);
        assert_eq!(published.status, 204, "{published:?}");
    }
    // Our own INFO connection counts once.
    assert_eq!(redis.connections_received() - before, 3 + 1, "one per open");
    let mut connection = redis.connection().unwrap();
    let mut clients = 0;
    // Well within the instance's 1 s idle timeout: closed by the drop, not by the teardown.
    for _ in 0..10 {
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query(&mut connection)
            .unwrap();
        clients = list.lines().count();
        if clients == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        clients, 1,
        "the probe's connections are closed; only ours is left"
    );
}

#[test]
fn outbound_redis_reaches_allowed_servers_only() {
    let allowed = RedisServer::start();
    let other = RedisServer::start();
    let (_dir, manifest) = manifest_in_tempdir(&probe_manifest());
    let host = HostBuilder::new(&manifest)
        .variable("allowed_port", allowed.port.to_string())
        .start();

    let mut subscriber = allowed.connection().unwrap();
    let mut pubsub = subscriber.as_pubsub();
    pubsub.subscribe("probe.channel").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let published = publish_through_probe(&host, allowed.port);
    assert_eq!(published.status, 204, "{published:?}");
    let message = pubsub.get_message().unwrap();
    assert_eq!(message.get_payload_bytes(), b"ping");

    let mut other_conn = other.connection().unwrap();
    let clients_before: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut other_conn)
        .unwrap();
    let denied = publish_through_probe(&host, other.port);
    assert_eq!(denied.status, 403, "{denied:?}");
    assert!(denied.body.contains("InvalidAddress"), "{denied:?}");
    let clients_after: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut other_conn)
        .unwrap();
    assert_eq!(
        clients_before.lines().count(),
        clients_after.lines().count(),
        "no connection to a denied server"
    );
}

#[test]
fn runtime_config_puts_the_key_value_store_on_redis() {
    let redis_server = RedisServer::start();
    let (dir, manifest) = manifest_in_tempdir(&probe_manifest());
    let runtime_config =
        integration_tests::write_runtime_config(dir.path(), &redis_server.key_value_config());
    let host = HostBuilder::new(&manifest)
        .arg("--runtime-config")
        .arg(runtime_config.display().to_string())
        .start();
    assert_eq!(host.put("/probe/kv/default/cart-42", "3 items").status, 204);
    let mut conn = redis_server.connection().unwrap();
    let stored: String = redis::cmd("GET").arg("cart-42").query(&mut conn).unwrap();
    assert_eq!(stored, "3 items");
    let _: () = redis::cmd("SET")
        .arg("cart-42")
        .arg("changed elsewhere")
        .query(&mut conn)
        .unwrap();
    assert_eq!(
        host.get("/probe/kv/default/cart-42").body,
        "changed elsewhere"
    );
    assert!(
        !host.state_dir.join("sqlite_key_value.db").exists(),
        "no SQLite store when Redis is configured"
    );
}

#[test]
fn instances_are_reused_up_to_the_configured_count_and_dropped_when_idle() {
    let (_dir, manifest) = manifest_in_tempdir(&probe_manifest());
    let served = |host: &integration_tests::Host| -> u64 {
        host.get("/probe/instance-requests").body.parse().unwrap()
    };

    // Spin 4's default: one instance keeps serving sequential requests...
    let reusing = HostBuilder::new(&manifest)
        .arg("--idle-instance-timeout-ms")
        .arg("300")
        .start();
    assert_eq!(
        (served(&reusing), served(&reusing), served(&reusing)),
        (1, 2, 3)
    );
    // ...until it has been idle for the timeout; then a fresh instance starts from zero.
    std::thread::sleep(Duration::from_millis(900));
    assert_eq!(served(&reusing), 1);
    drop(reusing);

    let per_request = HostBuilder::new(&manifest)
        .arg("--max-instance-reuse-count")
        .arg("1")
        .start();
    assert_eq!(
        (
            served(&per_request),
            served(&per_request),
            served(&per_request)
        ),
        (1, 1, 1)
    );
}

/// `order-host`'s op counts (`ORDER_HOST_OP_COUNTS_FILE`, a diagnostic of this host only)
/// count each response handed to a plain-HTTP connection, routed or not, and the socket writes
/// that carried bytes: the benchmark's "writes/response" (1.0 when every response left in the
/// write with its head). The host's own 404 (a body known before the head is written) leaves in
/// exactly one write; a component's response in one or, when its body came late, two.
#[test]
fn op_counts_count_responses_and_the_socket_writes_that_carry_them() {
    const REQUESTS: u64 = 3;
    let dir = tempfile::tempdir().expect("tempdir");
    let counts_file = dir.path().join("op-counts.json");
    let (_manifest_dir, manifest) = manifest_in_tempdir(&probe_manifest());
    let host = HostBuilder::new(&manifest)
        .env(
            "ORDER_HOST_OP_COUNTS_FILE",
            counts_file.display().to_string(),
        )
        .start();
    // (responses, socket writes) as the file holds them now (rewritten every 50 ms).
    let read = || -> Option<(u64, u64)> {
        let text = std::fs::read_to_string(&counts_file).ok()?;
        let counts: serde_json::Value = serde_json::from_str(&text).ok()?;
        Some((
            counts["httpResponses"].as_u64()?,
            counts["httpSocketWrites"].as_u64()?,
        ))
    };
    // The counts once `REQUESTS` more responses than `before` are in the file.
    let after = |before: (u64, u64)| {
        eventually(Duration::from_secs(10), "the responses counted", || {
            read().filter(|now| now.0 >= before.0 + REQUESTS)
        })
    };

    let before = eventually(Duration::from_secs(10), "the counts file", read);
    for _ in 0..REQUESTS {
        assert_eq!(host.get("/no/such/route").status, 404);
    }
    let unrouted = after(before);
    assert_eq!(
        (unrouted.0 - before.0, unrouted.1 - before.1),
        (REQUESTS, REQUESTS),
        "(responses, socket writes) for {REQUESTS} of the host's own 404s"
    );

    for _ in 0..REQUESTS {
        assert_eq!(host.get("/hello").status, 200);
    }
    let routed = after(unrouted);
    assert_eq!(routed.0 - unrouted.0, REQUESTS);
    assert!(
        (REQUESTS..=2 * REQUESTS).contains(&(routed.1 - unrouted.1)),
        "{} socket writes for {REQUESTS} hello-world responses",
        routed.1 - unrouted.1
    );
}

/// Spin leaves `TCP_NODELAY` off on accepted sockets (and so does `order-host` by default): a
/// response whose chunked terminator leaves in a second write waits ~40 ms for the client's
/// delayed ACK on a kept-alive connection. Every order-api response therefore carries a
/// `Content-Length` that matches its body and is never chunked, so it leaves in one write.
#[test]
fn every_order_api_response_has_a_content_length_and_is_not_chunked() {
    let host = HostBuilder::new(workspace_root().join("spin.toml")).start();
    let token = host.token("orders:read orders:write orders:admin orders:stats");
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    let answers = [
        ("live", host.get("/health/live")),
        ("ready", host.get("/health/ready")),
        ("openapi", host.get("/openapi.json")),
        ("metrics", host.get("/metrics")),
        ("unknown path", host.get("/no/such/path")),
        ("no token", host.get("/api/v1/orders/ord_missing")),
        (
            "unknown order",
            host.get_with("/api/v1/orders/ord_missing", &auth),
        ),
        (
            "statistics",
            host.get_with("/api/v1/orders/statistics", &auth),
        ),
        ("admin list", host.get_with("/api/v1/admin/orders", &auth)),
        (
            "bad create",
            host.request(
                "POST",
                "/api/v1/orders",
                &[
                    auth[0],
                    ("content-type", "application/json"),
                    ("idempotency-key", "k1"),
                ],
                Some("{"),
            ),
        ),
    ];
    for (what, answer) in answers {
        assert_eq!(
            answer.header("content-length"),
            Some(answer.body.len().to_string().as_str()),
            "{what}: {answer:?}"
        );
        assert_eq!(
            answer.header("transfer-encoding"),
            None,
            "{what}: {answer:?}"
        );
    }
}

/// The create-order floor `bench --only POST` measures create-order against (probe
/// `floor.rs`, issue 10) does the saga's host work, in the saga's order, and skips none of it:
/// the buyer checked, the order stored with its key and event, the stock reserved and that
/// recorded, the charge captured and the order confirmed with its event, a 201 with a
/// `Content-Length`. Where a stand-in does not answer the expected success the floor stops
/// with a 502 naming the step and the order stays where the saga stopped, so a broken floor
/// cannot pass for a fast one; a key used twice is a 409.
#[test]
fn the_create_order_floor_does_the_sagas_host_work_and_skips_none_of_it() {
    let sims = simulators::Simulators::spawn().expect("simulators");
    let host = HostBuilder::new(workspace_root().join("tests/fixtures/spin.toml")).start();
    let body = |token: &str| {
        serde_json::json!({
            "userId": simulators::demo::ACTIVE_USER,
            "items": [{ "productId": simulators::demo::CABLE, "quantity": 1 }],
            "paymentMethod": { "type": "card", "token": token },
        })
        .to_string()
    };
    let place = |key: &str, token: &str| {
        host.request(
            "POST",
            &integration_tests::floor::path(&sims),
            &[
                ("content-type", "application/json"),
                ("idempotency-key", key),
            ],
            Some(&body(token)),
        )
    };
    let sql = |sql: &str| {
        let statement = serde_json::json!({ "sql": sql, "params": [] });
        let answer = host.post("/probe/sqlite/default", &statement.to_string());
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.json()["rows"].clone()
    };

    let placed = place("floor-1", "tok_visa");
    assert_eq!(placed.status, 201, "{placed:?}");
    assert_eq!(
        placed.header("content-length"),
        Some(placed.body.len().to_string().as_str())
    );
    let id = placed.json()["id"].as_str().expect("order id").to_owned();
    assert!(id.starts_with("ord_"), "the app's order ids: {id}");
    assert_eq!(placed.json()["status"], "confirmed");
    assert_eq!(sims.user.calls_to("GET /users/{id}"), 1);
    assert_eq!(sims.inventory.calls_to("POST /inventory/reserve"), 1);
    assert_eq!(sims.payment.charges_for(&id), 1);
    assert_eq!(
        place("floor-1", "tok_visa").status,
        409,
        "the key is claimed"
    );

    // A declined charge: stopped after the reservation was recorded.
    let declined = place("floor-2", "tok_decline");
    assert_eq!(declined.status, 502, "{declined:?}");
    assert!(declined.body.contains("charge: 201"), "{declined:?}");
    // Out of stock: stopped before anything was recorded but the order.
    sims.inventory.set_stock(simulators::demo::CABLE, 0);
    let refused = place("floor-3", "tok_visa");
    assert_eq!(refused.status, 502, "{refused:?}");
    assert!(refused.body.contains("reserve: 409"), "{refused:?}");
    assert_eq!(
        sims.payment.calls_to("POST /payments"),
        2,
        "no charge after a refusal"
    );

    assert_eq!(
        sql("SELECT idempotency_key, status FROM floor_orders ORDER BY idempotency_key"),
        serde_json::json!([
            ["floor-1", "confirmed"],
            ["floor-2", "charge_requested"],
            ["floor-3", "pending"],
        ])
    );
    assert_eq!(
        sql("SELECT k.idempotency_key, e.status FROM floor_outbox e
             JOIN floor_orders k ON k.id = e.order_id ORDER BY e.event_id"),
        serde_json::json!([
            ["floor-1", "pending"],
            ["floor-1", "confirmed"],
            ["floor-2", "pending"],
            ["floor-3", "pending"],
        ]),
        "an event row with each stored and each confirmed order"
    );
}
