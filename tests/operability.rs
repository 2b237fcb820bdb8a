//! Operability (issue 6, points 1–3): `/metrics`, `/health/ready`, W3C trace context and the
//! per-request log line, through the real `.wasm` components on `order-host` against the
//! simulators and a real Redis.

use std::time::Duration;

use integration_tests::{Answer, Host, HostBuilder, RedisServer, eventually, workspace_root};
use prometheus::{scrape, value};
use serde_json::{Value, json};
use simulators::{Fault, Simulators, demo};

#[path = "operability/prometheus.rs"]
mod prometheus;

const SCOPES: &str = "orders:write orders:read orders:admin";
const INBOUND_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const INBOUND_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Simulators, Redis and a host on the repository's manifest.
struct Rig {
    sims: Simulators,
    redis: RedisServer,
    host: Host,
    token: String,
}

fn rig(knobs: &[(&str, &str)]) -> Rig {
    rig_with_host_args(knobs, &[])
}

/// [`rig`] with extra `order-host up` arguments (instance reuse settings).
fn rig_with_host_args(knobs: &[(&str, &str)], args: &[&str]) -> Rig {
    let sims = Simulators::spawn().expect("simulators");
    let redis = RedisServer::start();
    let mut builder = HostBuilder::new(workspace_root().join("spin.toml"))
        .simulators(&sims)
        .variable("redis_url", redis.url())
        .variable("retry_base_delay_ms", "20");
    for (name, value) in knobs {
        builder = builder.variable(name, *value);
    }
    for arg in args {
        builder = builder.arg(*arg);
    }
    let host = builder.start();
    let token = host.token(SCOPES);
    Rig {
        sims,
        redis,
        host,
        token,
    }
}

impl Rig {
    fn create(&self, key: &str, user: &str, extra: &[(&str, &str)]) -> Answer {
        let auth = format!("Bearer {}", self.token);
        let body = json!({
            "userId": user,
            "items": [{ "productId": demo::KEYBOARD, "quantity": 1 }],
            "paymentMethod": { "type": "card", "token": "tok_visa" },
        })
        .to_string();
        let mut headers = vec![
            ("authorization", auth.as_str()),
            ("idempotency-key", key),
            ("content-type", "application/json"),
        ];
        headers.extend_from_slice(extra);
        self.host
            .request("POST", "/api/v1/orders", &headers, Some(&body))
    }

    fn get(&self, path: &str) -> Answer {
        let auth = format!("Bearer {}", self.token);
        self.host
            .request("GET", path, &[("authorization", auth.as_str())], None)
    }
}

/// The JSON lines of the host's stderr with `event == "http_request"`.
fn request_logs(host: &Host) -> Vec<Value> {
    host.stderr()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(&line[line.find('{')?..]).ok())
        .filter(|v| v["event"] == "http_request")
        .collect()
}

fn trace_id_of(traceparent: &str) -> &str {
    traceparent.split('-').nth(1).unwrap_or_default()
}

fn is_valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() == 4
        && parts[0] == "00"
        && parts[1].len() == 32
        && parts[2].len() == 16
        && parts[3].len() == 2
        && parts[1..].iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
        && parts[1].bytes().any(|b| b != b'0')
}

#[test]
fn metrics_are_prometheus_text_labelled_by_route_pattern_and_counters_grow() {
    let rig = rig(&[]);
    let created = rig.create("m-1", demo::ACTIVE_USER, &[]);
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(rig.get(&format!("/api/v1/orders/{id}")).status, 200);

    let route = [
        ("method", "GET"),
        ("route", "/api/v1/orders/{orderId}"),
        ("status", "200"),
    ];
    let first = scrape(&rig.host);
    assert_eq!(
        value(&first, "order_http_requests_total", &route),
        Some(1.0)
    );
    assert_eq!(
        value(&first, "order_http_request_duration_ms_count", &route),
        Some(1.0)
    );
    assert_eq!(
        value(
            &first,
            "order_http_request_duration_ms_bucket",
            &[route[1], ("le", "+Inf")]
        ),
        Some(1.0)
    );
    assert!(
        first
            .iter()
            .all(|(_, labels, _)| labels.iter().all(|(_, v)| !v.contains(&id))),
        "raw ids never become labels"
    );
    let created_route = [
        ("method", "POST"),
        ("route", "/api/v1/orders"),
        ("status", "201"),
    ];
    assert_eq!(
        value(&first, "order_http_requests_total", &created_route),
        Some(1.0)
    );
    let user_ok = [("dependency", "user"), ("outcome", "success")];
    assert!(value(&first, "order_dependency_window_calls", &user_ok).unwrap_or(0.0) >= 1.0);
    assert_eq!(
        value(
            &first,
            "order_dependency_breaker_state",
            &[("dependency", "user")]
        ),
        Some(0.0)
    );
    assert!(
        value(
            &first,
            "order_dependency_window_latency_ms",
            &[("dependency", "user"), ("le", "+Inf")]
        )
        .unwrap_or(0.0)
            >= 1.0
    );
    assert!(value(&first, "order_outbox_pending_events", &[]).is_some());
    assert_eq!(value(&first, "order_outbox_dead_events", &[]), Some(0.0));

    assert_eq!(rig.get(&format!("/api/v1/orders/{id}")).status, 200);
    let second = scrape(&rig.host);
    assert_eq!(
        value(&second, "order_http_requests_total", &route),
        Some(2.0)
    );
    let scrapes = [("route", "/metrics"), ("status", "200")];
    assert_eq!(
        value(&second, "order_http_requests_total", &scrapes),
        Some(1.0)
    );
}

const LIVE: [(&str, &str); 3] = [
    ("method", "GET"),
    ("route", "/health/live"),
    ("status", "200"),
];

#[test]
fn metrics_add_up_across_instances_when_every_request_gets_its_own_instance() {
    // No reuse: each request (the scrapes too) runs in a fresh instance, so the counts can
    // only come from the shared key-value records each instance added to.
    let rig = rig_with_host_args(&[], &["--max-instance-reuse-count", "1"]);
    for _ in 0..5 {
        assert_eq!(rig.host.get("/health/live").status, 200);
    }
    let first = scrape(&rig.host);
    assert_eq!(value(&first, "order_http_requests_total", &LIVE), Some(5.0));
    assert_eq!(
        value(&first, "order_http_request_duration_ms_count", &LIVE),
        Some(5.0)
    );
    let second = scrape(&rig.host);
    let scrapes = [("route", "/metrics"), ("status", "200")];
    assert_eq!(
        value(&second, "order_http_requests_total", &scrapes),
        Some(1.0)
    );
}

#[test]
fn counts_an_instance_holds_back_reach_the_store_before_it_is_dropped_for_idleness() {
    // With reuse, one instance answers all ten requests: the first is written at once, the
    // other nine wait in its memory for the deferred write. The instance is then left idle
    // well past its 200 ms idle timeout, so the scrape runs in a new instance and sees only
    // what the old one wrote before it went away.
    let rig = rig_with_host_args(&[], &["--idle-instance-timeout-ms", "200"]);
    for _ in 0..10 {
        assert_eq!(rig.host.get("/health/live").status, 200);
    }
    std::thread::sleep(Duration::from_millis(1_500));
    let samples = scrape(&rig.host);
    assert_eq!(
        value(&samples, "order_http_requests_total", &LIVE),
        Some(10.0)
    );
    assert_eq!(
        value(
            &samples,
            "order_http_request_duration_ms_bucket",
            &[LIVE[1], ("le", "+Inf")]
        ),
        Some(10.0)
    );
}

#[test]
fn breaker_gauge_reads_2_once_the_user_breaker_opens_and_readiness_stays_200_degraded() {
    let rig = rig(&[
        ("breaker_volume_threshold", "2"),
        ("breaker_reset_timeout_ms", "60000"),
    ]);
    rig.sims.user.set_fault(Fault::Status(503));
    for key in ["b-1", "b-2", "b-3"] {
        let refused = rig.create(key, demo::ACTIVE_USER, &[]);
        assert_eq!(refused.status, 503, "{refused:?}");
    }
    let samples = scrape(&rig.host);
    assert_eq!(
        value(
            &samples,
            "order_dependency_breaker_state",
            &[("dependency", "user")]
        ),
        Some(2.0)
    );
    assert!(
        value(
            &samples,
            "order_dependency_window_calls",
            &[("dependency", "user"), ("outcome", "failure")]
        )
        .unwrap_or(0.0)
            >= 2.0
    );

    let ready = rig.host.get("/health/ready");
    assert_eq!(ready.status, 200, "{ready:?}");
    let body = ready.json();
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["checks"]["redis"], "ok", "{body}");
    let user = body["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "user")
        .cloned()
        .unwrap();
    assert_eq!(user["breakerState"], "open", "{body}");
    assert!(user["errorRate"].as_f64().unwrap() > 0.0, "{body}");
}

#[test]
fn readiness_is_503_when_key_value_fails_and_redis_down_only_degrades() {
    let sims = Simulators::spawn().expect("simulators");
    let kv = RedisServer::start();
    let events = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let runtime_config = dir.path().join("runtime-config.toml");
    std::fs::write(
        &runtime_config,
        format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n",
            kv.url()
        ),
    )
    .unwrap();
    let host = HostBuilder::new(workspace_root().join("spin.toml"))
        .simulators(&sims)
        .variable("redis_url", events.url())
        .arg("--runtime-config")
        .arg(runtime_config.to_string_lossy())
        .start();

    let ready = host.get("/health/ready");
    assert_eq!(ready.status, 200, "{ready:?}");
    assert_eq!(ready.json()["status"], "ready", "{ready:?}");

    drop(events);
    let degraded = host.get("/health/ready");
    assert_eq!(degraded.status, 200, "{degraded:?}");
    let body = degraded.json();
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["checks"]["redis"], "failed", "{body}");

    drop(kv);
    let down = host.get("/health/ready");
    assert_eq!(down.status, 503, "{down:?}");
    let body = down.json();
    assert_eq!(body["status"], "not_ready", "{body}");
    assert_eq!(body["checks"]["keyValue"], "failed", "{body}");
    let reasons = body["reasons"].as_array().expect("reasons");
    assert!(
        reasons
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("keyValue")),
        "{body}"
    );
}

#[test]
fn an_inbound_trace_context_reaches_every_dependency_and_event_and_comes_back() {
    let rig = rig(&[]);
    let tracestate = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
    let created = rig.create(
        "t-1",
        demo::ACTIVE_USER,
        &[
            ("traceparent", INBOUND_TRACEPARENT),
            ("tracestate", tracestate),
        ],
    );
    assert_eq!(created.status, 201, "{created:?}");
    let returned = created
        .header("traceparent")
        .expect("traceparent on the response");
    assert!(is_valid_traceparent(returned), "{returned}");
    assert_eq!(trace_id_of(returned), INBOUND_TRACE_ID);
    assert_ne!(returned, INBOUND_TRACEPARENT, "this service's own span id");

    for (name, requests) in [
        ("user", rig.sims.user.requests()),
        ("product", rig.sims.product.requests()),
        ("inventory", rig.sims.inventory.requests()),
        ("payment", rig.sims.payment.requests()),
    ] {
        assert!(!requests.is_empty(), "{name} was called");
        for request in requests {
            let sent = request.traceparent().unwrap_or_default();
            assert_eq!(trace_id_of(sent), INBOUND_TRACE_ID, "{name}: {sent}");
            assert_eq!(request.header("tracestate"), Some(tracestate), "{name}");
        }
    }

    let mut redis = rig.redis.connection().expect("redis");
    let payloads: Vec<String> = eventually(Duration::from_secs(10), "events", || {
        let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
            .arg("orders.events")
            .arg("-")
            .arg("+")
            .query(&mut redis)
            .ok()?;
        let payloads: Vec<String> = entries.into_iter().flat_map(|(_, fields)| fields).collect();
        (!payloads.is_empty()).then_some(payloads)
    });
    let traced = payloads
        .iter()
        .filter_map(|p| serde_json::from_str::<Value>(p).ok())
        .filter(|event| {
            event["traceparent"]
                .as_str()
                .is_some_and(|t| trace_id_of(t) == INBOUND_TRACE_ID)
        })
        .count();
    assert!(traced >= 1, "an event carries the trace: {payloads:?}");
}

#[test]
fn a_request_without_or_with_a_malformed_traceparent_gets_a_fresh_valid_one() {
    let rig = rig(&[]);
    let plain = rig.host.get("/health/live");
    let fresh = plain.header("traceparent").expect("traceparent").to_owned();
    assert!(is_valid_traceparent(&fresh), "{fresh}");

    let malformed = rig.host.get_with(
        "/health/live",
        &[("traceparent", "00-XYZ-00f067aa0ba902b7-01")],
    );
    let replaced = malformed.header("traceparent").expect("traceparent");
    assert!(is_valid_traceparent(replaced), "{replaced}");
    assert_ne!(
        trace_id_of(replaced),
        trace_id_of(&fresh),
        "a new trace each time"
    );

    // A restarted trace drops the inbound `tracestate` (it belonged to the discarded one).
    let created = rig.create(
        "t-restart",
        demo::ACTIVE_USER,
        &[
            ("traceparent", "00-XYZ-00f067aa0ba902b7-01"),
            ("tracestate", "congo=t61rcWkgMzE"),
        ],
    );
    assert_eq!(created.status, 201, "{created:?}");
    let user_calls = rig.sims.user.requests();
    assert!(!user_calls.is_empty());
    for request in user_calls {
        assert_eq!(request.header("tracestate"), None, "{request:?}");
    }
}

#[test]
fn every_request_logs_one_json_line_without_tokens_or_card_tokens() {
    let rig = rig(&[]);
    let created = rig.create(
        "l-1",
        demo::ACTIVE_USER,
        &[("traceparent", INBOUND_TRACEPARENT)],
    );
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(rig.get(&format!("/api/v1/orders/{id}")).status, 200);
    assert_eq!(rig.host.get("/no/such/route").status, 404);
    let forged = rig.host.get_with(
        &format!("/api/v1/orders/{id}"),
        &[(
            "authorization",
            "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5In0.",
        )],
    );
    assert_eq!(forged.status, 401, "{forged:?}");

    let logs = eventually(Duration::from_secs(5), "four request log lines", || {
        let logs = request_logs(&rig.host);
        (logs.len() >= 4).then_some(logs)
    });
    assert_eq!(logs.len(), 4, "{logs:?}");
    let seen: Vec<(&str, u64)> = logs
        .iter()
        .map(|l| (l["route"].as_str().unwrap(), l["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("/api/v1/orders", 201),
            ("/api/v1/orders/{orderId}", 200),
            ("unmatched", 404),
            ("/api/v1/orders/{orderId}", 401),
        ]
    );
    assert_eq!(logs[0]["traceId"], INBOUND_TRACE_ID);
    // The caller is named only when its token was verified (`order-host token`'s default
    // subject); never for an anonymous or forged one ("mallory" in an unsigned token).
    let subjects: Vec<&Value> = logs.iter().map(|l| &l["subject"]).collect();
    assert_eq!(
        subjects,
        [
            &json!("admin-service"),
            &json!("admin-service"),
            &Value::Null,
            &Value::Null
        ]
    );
    for line in &logs {
        assert!(
            line["ts"].is_string() && line["latencyMs"].is_i64(),
            "{line}"
        );
        assert!(line["method"].as_str().is_some(), "{line}");
    }
    let stderr = rig.host.stderr();
    assert!(
        !stderr.contains(&rig.token),
        "the bearer token is never logged"
    );
    assert!(
        !stderr.contains("tok_visa"),
        "the card token is never logged"
    );
}
