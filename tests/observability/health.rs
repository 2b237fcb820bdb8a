//! `/health/ready`: the breaker gauge and readiness when a dependency's breaker opens,
//! 503 when the key-value store fails and only `degraded` when the events Redis is down.

use integration_tests::rig::service_builder;
use integration_tests::{RedisServer, Rig, write_runtime_config};
use simulators::{Fault, Simulators};

use crate::create;
use crate::exposition::{scrape, value};

#[test]
fn breaker_gauge_reads_2_once_the_user_breaker_opens_and_readiness_stays_200_degraded() {
    let rig = Rig::with(
        &[
            ("breaker_volume_threshold", "2"),
            ("breaker_reset_timeout_ms", "60000"),
        ],
        None,
    );
    rig.sims.user.set_fault(Fault::Status(503));
    for key in ["b-1", "b-2", "b-3"] {
        let refused = create(&rig, key, &[]);
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
    let runtime_config = write_runtime_config(dir.path(), &kv.key_value_config());
    let host = service_builder(&sims, &events.url())
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
