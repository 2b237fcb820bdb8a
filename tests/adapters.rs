//! Dependency adapters (issue 3): the real `dependency-adapters.wasm`, composed into the
//! `adapter-driver` fixture, on `order-host`, against the simulators of `crates/simulators`.
//! Every test starts its own simulators and host; knobs are set like an operator would,
//! through `SPIN_VARIABLE_<NAME>`. Calls are counted at the simulators, never timed.

use std::time::Duration;

use integration_tests::adapter_rig::{host_for, manifest};
use integration_tests::{Answer, Host, HostBuilder, RedisServer, manifest_in_tempdir};
use serde_json::{Value, json};
use simulators::{Fault, Simulators, demo};

/// Simulators plus one host running the driver.
struct Rig {
    sims: Simulators,
    host: Host,
    dir: tempfile::TempDir,
}

fn rig(knobs: &[(&str, &str)]) -> Rig {
    let sims = Simulators::spawn().expect("simulators");
    let (dir, manifest) = manifest_in_tempdir(&manifest(&sims));
    let host = host_for(&sims, &manifest, knobs, None);
    Rig { sims, host, dir }
}

fn user(host: &Host, id: &str) -> Answer {
    host.get(&format!("/users/{id}"))
}

fn products(host: &Host, ids: &[&str]) -> Vec<Value> {
    let answer = host.post("/products", &json!({ "ids": ids }).to_string());
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json().as_array().expect("outcomes").clone()
}

fn reserve(host: &Host, order_id: &str) -> Answer {
    let body =
        json!({ "orderId": order_id, "items": [{ "productId": demo::KEYBOARD, "quantity": 1 }] });
    host.post("/inventory/reserve", &body.to_string())
}

fn charge(host: &Host, order_id: &str, key: &str, traceparent: &str) -> Answer {
    let body = json!({
        "orderId": order_id,
        "amount": { "amountMinor": 8999, "currency": "EUR" },
        "paymentMethod": { "type": "card", "token": "tok_visa" },
        "idempotencyKey": key,
    });
    post_with(
        host,
        "/payments/charge",
        &body.to_string(),
        &[("traceparent", traceparent)],
    )
}

/// `POST` with extra headers.
fn post_with(host: &Host, path: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
    host.request("POST", path, headers, Some(body))
}

/// `dependency-health` for one dependency.
fn health(host: &Host, name: &str) -> Value {
    let answer = host.get("/health");
    assert_eq!(answer.status, 200, "{answer:?}");
    answer
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .cloned()
        .expect("dependency listed")
}

fn error_of(answer: &Answer) -> String {
    answer.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The breaker transitions the host logged for `dependency`, as (from, to).
fn transitions(host: &Host, dependency: &str) -> Vec<(String, String)> {
    host.stderr()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(&line[line.find('{')?..]).ok())
        .filter(|v| v["event"] == "breaker_transition" && v["dependency"] == dependency)
        .map(|v| {
            (
                v["from"].as_str().unwrap().to_owned(),
                v["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn breaker_opens_at_exactly_50_percent_after_the_volume_threshold_then_makes_no_calls() {
    let rig = rig(&[
        ("breaker_volume_threshold", "4"),
        ("breaker_reset_timeout_ms", "60000"),
    ]);
    // ok, fail, ok, fail: 2 of 4 = exactly 50 %.
    rig.sims.user.set_fault(Fault::ErrorRate {
        percent: 50,
        status: 503,
    });
    let statuses: Vec<u16> = (0..4)
        .map(|_| user(&rig.host, demo::OTHER_ACTIVE_USER).status)
        .collect();
    assert_eq!(
        statuses,
        [200, 200, 200, 200],
        "the failures were served from last known good"
    );
    assert_eq!(rig.sims.user.calls(), 4);

    for _ in 0..3 {
        let refused = user(&rig.host, demo::ACTIVE_USER);
        assert_eq!(
            (refused.status, error_of(&refused)),
            (503, "circuit-open".into()),
            "{refused:?}"
        );
    }
    assert_eq!(rig.sims.user.calls(), 4, "an open breaker makes no calls");

    let status = health(&rig.host, "user");
    assert_eq!(status["breakerState"], "open", "{status}");
    assert_eq!(
        (status["calls"].as_u64(), status["failures"].as_u64()),
        (Some(4), Some(2)),
        "{status}"
    );
    assert_eq!(status["shortCircuits"], 3, "{status}");
    assert_eq!(status["fallbacks"], 2, "{status}");
    assert!(status["openedAtMs"].as_i64().is_some(), "{status}");
    assert!(
        status["lastError"].as_str().unwrap().contains("503"),
        "{status}"
    );
    assert_eq!(
        transitions(&rig.host, "user"),
        [("closed".into(), "open".into())],
        "logged once"
    );
    assert_eq!(health(&rig.host, "product")["breakerState"], "closed");
}

#[test]
fn successes_a_reused_instance_keeps_back_reach_the_window_after_the_delay_without_another_call() {
    let rig = rig(&[("breaker_write_behind_ms", "1000")]);
    for _ in 0..3 {
        assert_eq!(user(&rig.host, demo::ACTIVE_USER).status, 200);
    }
    assert_eq!(
        health(&rig.host, "user")["calls"],
        1,
        "the first call is written, the next two are kept back"
    );
    std::thread::sleep(Duration::from_millis(1_400));
    assert_eq!(
        health(&rig.host, "user")["calls"],
        3,
        "the deferred flush wrote them, though no later user call came"
    );
}

#[test]
fn below_the_volume_threshold_even_every_call_failing_keeps_the_breaker_closed() {
    let rig = rig(&[("breaker_volume_threshold", "5")]);
    rig.sims.user.set_fault(Fault::Status(500));
    for _ in 0..4 {
        assert_eq!(error_of(&user(&rig.host, demo::ACTIVE_USER)), "unavailable");
    }
    assert_eq!(rig.sims.user.calls(), 4);
    assert_eq!(health(&rig.host, "user")["breakerState"], "closed");
}

#[test]
fn half_open_admits_one_probe_which_reopens_or_closes_the_breaker() {
    let rig = rig(&[
        ("breaker_volume_threshold", "2"),
        ("breaker_reset_timeout_ms", "400"),
    ]);
    rig.sims.user.set_fault(Fault::Status(503));
    for _ in 0..2 {
        user(&rig.host, demo::ACTIVE_USER);
    }
    assert_eq!(health(&rig.host, "user")["breakerState"], "open");

    // The reset timeout elapses; concurrent callers race for the single probe slot while
    // the probe is slow to answer.
    std::thread::sleep(Duration::from_millis(450));
    rig.sims
        .user
        .set_fault(Fault::Latency(Duration::from_millis(300)));
    let answers: Vec<Answer> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| user(&rig.host, demo::ACTIVE_USER)))
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    assert_eq!(
        rig.sims.user.calls(),
        3,
        "exactly one probe reached the service"
    );
    let live = answers.iter().filter(|a| a.status == 200).count();
    let refused = answers
        .iter()
        .filter(|a| error_of(a) == "circuit-open")
        .count();
    assert_eq!((live, refused), (1, 3), "{answers:?}");
    assert_eq!(
        health(&rig.host, "user")["breakerState"],
        "closed",
        "the probe succeeded"
    );

    // The window restarted empty (+ the probe). Trip it again: ok, fail (2 of 3 ok), fail
    // (2 of 4 failed: open). This time the probe fails and the breaker re-opens.
    rig.sims.user.clear_fault();
    assert_eq!(
        user(&rig.host, demo::OTHER_ACTIVE_USER).json()["source"],
        "live"
    );
    rig.sims.user.set_fault(Fault::Status(503));
    assert_eq!(
        user(&rig.host, demo::OTHER_ACTIVE_USER).json()["source"],
        "fallback"
    );
    assert_eq!(health(&rig.host, "user")["breakerState"], "closed");
    assert_eq!(
        user(&rig.host, demo::OTHER_ACTIVE_USER).json()["source"],
        "fallback"
    );
    assert_eq!(health(&rig.host, "user")["breakerState"], "open");
    std::thread::sleep(Duration::from_millis(450));
    let probe = user(&rig.host, demo::OTHER_ACTIVE_USER);
    assert_eq!(
        probe.status, 200,
        "the failed probe is answered from last known good: {probe:?}"
    );
    assert_eq!(rig.sims.user.calls(), 7);
    assert_eq!(health(&rig.host, "user")["breakerState"], "open");
    assert_eq!(
        error_of(&user(&rig.host, demo::SUSPENDED_USER)),
        "circuit-open"
    );
    assert_eq!(rig.sims.user.calls(), 7);
    let expected: Vec<(String, String)> = [
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "closed"),
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "open"),
    ]
    .iter()
    .map(|(f, t)| (f.to_string(), t.to_string()))
    .collect();
    assert_eq!(transitions(&rig.host, "user"), expected);
}

#[test]
fn two_host_processes_sharing_one_key_value_store_see_the_same_breaker() {
    let redis = RedisServer::start();
    let sims = Simulators::spawn().unwrap();
    let (dir, manifest) = manifest_in_tempdir(&manifest(&sims));
    let runtime_config =
        integration_tests::write_runtime_config(dir.path(), &redis.key_value_config());
    let knobs = [
        ("breaker_volume_threshold", "3"),
        ("breaker_reset_timeout_ms", "60000"),
        ("retry_base_delay_ms", "10"),
    ];
    let first = host_for(&sims, &manifest, &knobs, Some(&runtime_config));
    let second = host_for(&sims, &manifest, &knobs, Some(&runtime_config));

    // Three failed attempts (the first call and two of its retries) open it; the third
    // retry is refused, and the call reports what its attempts met (`circuit-open` is kept
    // for a call that sent nothing).
    sims.inventory.set_fault(Fault::Status(503));
    let tripped = reserve(&first, "order-1");
    assert_eq!(error_of(&tripped), "unavailable", "{tripped:?}");
    let calls = sims.inventory.calls();
    assert_eq!(calls, 3);

    let refused = reserve(&second, "order-9");
    assert_eq!(error_of(&refused), "circuit-open", "{refused:?}");
    assert_eq!(
        sims.inventory.calls(),
        calls,
        "the other process made no call"
    );
    assert_eq!(health(&second, "inventory")["breakerState"], "open");
    let mut conn = redis.connection().unwrap();
    let stored: String = redis::cmd("GET")
        .arg("breaker:inventory:state")
        .query(&mut conn)
        .unwrap();
    assert!(stored.contains(r#""state":"open""#), "{stored}");
}

#[test]
fn a_fresh_cache_answers_without_a_call_and_products_are_fetched_concurrently() {
    let rig = rig(&[]);
    rig.sims
        .product
        .set_fault(Fault::Latency(Duration::from_millis(1_000)));
    let first = products(
        &rig.host,
        &[demo::KEYBOARD, demo::MOUSE, demo::MONITOR, demo::KEYBOARD],
    );
    assert!(first.iter().all(|p| p["source"] == "live"), "{first:?}");
    assert_eq!(
        first[0]["product"]["price"],
        json!({ "amountMinor": 8999, "currency": "EUR" })
    );
    assert_eq!(
        first[3]["productId"],
        demo::KEYBOARD,
        "one outcome per requested id, in order"
    );
    assert_eq!(rig.sims.product.calls(), 3, "a repeated id is fetched once");
    let received: Vec<_> = rig
        .sims
        .product
        .requests()
        .iter()
        .map(|r| r.received_at)
        .collect();
    let spread = received
        .iter()
        .max()
        .unwrap()
        .duration_since(*received.iter().min().unwrap());
    assert!(
        spread < Duration::from_millis(1_000),
        "sent together, not one after another: {spread:?}"
    );

    rig.sims.product.clear_fault();
    let second = products(&rig.host, &[demo::MOUSE, demo::KEYBOARD]);
    assert!(second.iter().all(|p| p["source"] == "cache"), "{second:?}");
    assert_eq!(rig.sims.product.calls(), 3, "fresh cache hits make no call");
    let mixed = products(&rig.host, &[demo::CABLE, demo::MOUSE]);
    assert_eq!(
        (mixed[0]["source"].as_str(), mixed[1]["source"].as_str()),
        (Some("live"), Some("cache"))
    );
    assert_eq!(rig.sims.product.calls(), 4);
}

#[test]
fn a_reused_instance_answers_fresh_products_from_its_near_cache_until_their_ttl_ends() {
    // The shared cache on a Redis of our own, so the test can change an entry behind the
    // instance's back, as another instance refreshing it would. The planted entry is stamped
    // in the future, which the cache counts as fresh (a node whose clock is ahead), so it is
    // still fresh when the instance's own copy has expired.
    let sims = Simulators::spawn().expect("simulators");
    let redis = RedisServer::start();
    let changed = json!({
        "value": { "id": demo::KEYBOARD, "name": "Renamed keyboard",
                   "price": { "amountMinor": 1, "currency": "EUR" }, "active": true },
        "storedAtMs": 4_102_444_800_000_i64,
    })
    .to_string();
    for (reuse, near) in [("128", true), ("1", false)] {
        let (dir, manifest) = manifest_in_tempdir(&manifest(&sims));
        let runtime_config =
            integration_tests::write_runtime_config(dir.path(), &redis.key_value_config());
        let mut connection = redis.connection().expect("redis");
        let _: () = redis::cmd("FLUSHALL")
            .query(&mut connection)
            .expect("FLUSHALL");
        let host = HostBuilder::new(&manifest)
            .simulators(&sims)
            .variable("product_cache_ttl_s", "2")
            .arg("--runtime-config")
            .arg(runtime_config.display().to_string())
            .arg("--max-instance-reuse-count")
            .arg(reuse)
            .start();
        let first = products(&host, &[demo::KEYBOARD]);
        assert_eq!(first[0]["source"], "live", "{first:?}");
        let _: () = redis::cmd("SET")
            .arg(format!("cache:product:{}", demo::KEYBOARD))
            .arg(&changed)
            .query(&mut connection)
            .expect("SET");
        let second = products(&host, &[demo::KEYBOARD]);
        assert_eq!(second[0]["source"], "cache", "{second:?}");
        let name = second[0]["product"]["name"].as_str();
        if near {
            assert_eq!(
                name,
                Some("Mechanical keyboard"),
                "a reused instance answers from its own copy while it is fresh"
            );
            std::thread::sleep(Duration::from_millis(2_200));
            let later = products(&host, &[demo::KEYBOARD]);
            assert_eq!(
                later[0]["product"]["name"], "Renamed keyboard",
                "once its copy expired the instance reads the shared entry: {later:?}"
            );
        } else {
            assert_eq!(
                name,
                Some("Renamed keyboard"),
                "a new instance reads the shared entry"
            );
        }
        host.stop();
    }
}

#[test]
fn stale_products_are_served_when_the_service_fails_and_unknown_ones_fail() {
    let rig = rig(&[("product_cache_ttl_s", "1")]);
    products(&rig.host, &[demo::KEYBOARD]);
    std::thread::sleep(Duration::from_millis(1_100));
    rig.sims.product.set_fault(Fault::Status(503));
    let answers = products(&rig.host, &[demo::KEYBOARD, demo::MOUSE]);
    assert_eq!(answers[0]["source"], "fallback", "{answers:?}");
    assert_eq!(answers[0]["product"]["name"], "Mechanical keyboard");
    assert_eq!(
        answers[1]["error"]["error"], "unavailable",
        "never cached: {answers:?}"
    );
    assert_eq!(
        rig.sims.product.calls(),
        3,
        "the stale entry was refreshed live first"
    );
    let status = health(&rig.host, "product");
    assert_eq!(
        (status["fallbacks"].as_u64(), status["failures"].as_u64()),
        (Some(1), Some(2)),
        "{status}"
    );

    rig.sims.product.clear_fault();
    let unknown = products(&rig.host, &["prd_nope"]);
    assert_eq!(unknown[0]["error"]["error"], "not-found");
}

#[test]
fn a_fresh_instance_does_not_rewrite_a_last_known_good_user_the_store_already_holds() {
    // One instance per request, so nothing is remembered in instance memory: the only way
    // a second lookup can skip the write is by finding the same record in the store.
    let sims = Simulators::spawn().expect("simulators");
    let redis = RedisServer::start();
    let (dir, manifest) = manifest_in_tempdir(&manifest(&sims));
    let runtime_config =
        integration_tests::write_runtime_config(dir.path(), &redis.key_value_config());
    let host = HostBuilder::new(&manifest)
        .simulators(&sims)
        .arg("--runtime-config")
        .arg(runtime_config.display().to_string())
        .arg("--max-instance-reuse-count")
        .arg("1")
        .start();
    let mut connection = redis.connection().expect("redis");
    let key = format!("lkg:user:{}", demo::ACTIVE_USER);
    let stored = |connection: &mut redis::Connection| -> Value {
        let text: String = redis::cmd("GET")
            .arg(&key)
            .query(connection)
            .expect("GET lkg");
        serde_json::from_str(&text).expect("lkg JSON")
    };
    let plant = |connection: &mut redis::Connection, record: &Value| {
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(record.to_string())
            .query(connection)
            .expect("SET");
    };

    assert_eq!(user(&host, demo::ACTIVE_USER).json()["source"], "live");
    let first = stored(&mut connection);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(user(&host, demo::ACTIVE_USER).json()["source"], "live");
    assert_eq!(
        stored(&mut connection),
        first,
        "the same record, stored moments ago, is not written again"
    );

    // A record that differs from the live answer is replaced at once.
    let mut changed = first.clone();
    changed["value"]["name"] = json!("Someone else");
    plant(&mut connection, &changed);
    user(&host, demo::ACTIVE_USER);
    let rewritten = stored(&mut connection);
    assert_eq!(rewritten["value"], first["value"], "{rewritten}");
    assert!(rewritten["storedAtMs"].as_i64() > first["storedAtMs"].as_i64());

    // So is the same record stored more than 30 s ago: its age would shorten the fallback.
    let mut old = first.clone();
    old["storedAtMs"] = json!(first["storedAtMs"].as_i64().unwrap() - 60_000);
    plant(&mut connection, &old);
    user(&host, demo::ACTIVE_USER);
    let refreshed = stored(&mut connection);
    assert!(
        refreshed["storedAtMs"].as_i64() > first["storedAtMs"].as_i64(),
        "{refreshed}"
    );
    host.stop();
}

#[test]
fn user_falls_back_to_last_known_good_within_its_maximum_age_and_errors_without_one() {
    let rig = rig(&[("user_fallback_max_age_s", "1")]);
    let live = user(&rig.host, demo::ACTIVE_USER);
    assert_eq!(
        (live.status, live.json()["source"].as_str()),
        (200, Some("live")),
        "{live:?}"
    );

    rig.sims.user.set_fault(Fault::Reset);
    let fallback = user(&rig.host, demo::ACTIVE_USER);
    assert_eq!(fallback.status, 200, "{fallback:?}");
    assert_eq!(fallback.json()["source"], "fallback");
    assert_eq!(fallback.json()["user"]["email"], "alice@example.com");
    let none = user(&rig.host, demo::OTHER_ACTIVE_USER);
    assert_eq!(
        (none.status, error_of(&none)),
        (502, "unavailable".into()),
        "{none:?}"
    );

    std::thread::sleep(Duration::from_millis(1_100));
    let too_old = user(&rig.host, demo::ACTIVE_USER);
    assert_eq!(
        error_of(&too_old),
        "unavailable",
        "older than user_fallback_max_age_s: {too_old:?}"
    );

    rig.sims.user.clear_fault();
    let unknown = user(&rig.host, "usr_nobody");
    assert_eq!(
        (unknown.status, error_of(&unknown)),
        (404, "not-found".into())
    );
}

#[test]
fn retries_exactly_retry_max_times_on_5xx_and_timeouts_and_never_on_4xx() {
    let rig = rig(&[
        ("retry_max", "3"),
        ("retry_base_delay_ms", "10"),
        ("call_timeout_ms", "250"),
        ("breaker_volume_threshold", "100"),
    ]);
    rig.sims.inventory.set_fault(Fault::Status(503));
    assert_eq!(error_of(&reserve(&rig.host, "order-5xx")), "unavailable");
    assert_eq!(
        rig.sims.inventory.calls(),
        4,
        "1 attempt + retry_max retries"
    );

    rig.sims.inventory.clear_log();
    rig.sims.inventory.set_fault(Fault::Hang);
    assert_eq!(error_of(&reserve(&rig.host, "order-hang")), "timeout");
    assert_eq!(rig.sims.inventory.calls(), 4);

    for status in [400, 404, 422] {
        rig.sims.inventory.clear_log();
        rig.sims.inventory.set_fault(Fault::Status(status));
        let answer = reserve(&rig.host, "order-4xx");
        assert!(matches!(answer.status, 404 | 422), "{answer:?}");
        assert_eq!(rig.sims.inventory.calls(), 1, "a {status} is never retried");
    }

    rig.sims.inventory.clear_log();
    rig.sims.inventory.clear_fault();
    rig.sims.inventory.fail_next(2, Fault::Reset);
    let reserved = reserve(&rig.host, "order-ok");
    assert!(reserved.json()["reserved"].is_string(), "{reserved:?}");
    assert_eq!(rig.sims.inventory.calls(), 3);
    let released = rig.host.post(
        "/inventory/release",
        &json!({ "orderId": "order-ok" }).to_string(),
    );
    assert_eq!(released.status, 200, "{released:?}");
    let status = health(&rig.host, "inventory");
    assert_eq!(status["timeouts"], 4, "{status}");
}

#[test]
fn a_retried_charge_carries_the_same_idempotency_key_and_charges_once() {
    let rig = rig(&[("retry_base_delay_ms", "10")]);
    rig.sims.payment.fail_next(
        2,
        Fault::StatusRetryAfter {
            status: 503,
            retry_after_s: 0,
        },
    );
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let charged = charge(&rig.host, "order-pay", "charge-order-pay", traceparent);
    assert_eq!(charged.status, 200, "{charged:?}");
    assert_eq!(charged.json()["status"], "captured");

    let requests = rig.sims.payment.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.idempotency_key(), Some("charge-order-pay"));
        assert_eq!(request.traceparent(), Some(traceparent));
        assert!(
            request
                .bearer_token()
                .is_some_and(|t| rig.sims.auth.is_valid(t)),
            "{request:?}"
        );
    }
    assert_eq!(rig.sims.payment.charges_for("order-pay"), 1);

    // Replaying the same charge (a second saga run) still charges once.
    let again = charge(&rig.host, "order-pay", "charge-order-pay", traceparent);
    assert_eq!(again.json()["paymentId"], charged.json()["paymentId"]);
    assert_eq!(rig.sims.payment.charges_for("order-pay"), 1);

    let payment_id = charged.json()["paymentId"].as_str().unwrap().to_owned();
    let read = rig.host.get(&format!("/payments/{payment_id}"));
    assert_eq!(read.json()["orderId"], "order-pay", "{read:?}");
    rig.sims.payment.fail_next(1, Fault::Status(502));
    let refund = rig.host.post(
        &format!("/payments/{payment_id}/refund"),
        r#"{"idempotencyKey":"refund-order-pay"}"#,
    );
    assert_eq!(refund.json()["status"], "refunded", "{refund:?}");
    let refunds: Vec<_> = rig
        .sims
        .payment
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/refund"))
        .collect();
    assert_eq!(refunds.len(), 2);
    assert!(
        refunds
            .iter()
            .all(|r| r.idempotency_key() == Some("refund-order-pay"))
    );
    assert_eq!(rig.sims.payment.refunds(), 1);
}

#[test]
fn the_per_call_timeout_cuts_a_hanging_dependency() {
    let rig = rig(&[("call_timeout_ms", "300")]);
    rig.sims.user.set_fault(Fault::Hang);
    let answer = user(&rig.host, demo::ACTIVE_USER);
    assert_eq!(
        (answer.status, error_of(&answer)),
        (504, "timeout".into()),
        "{answer:?}"
    );
    rig.sims.product.set_fault(Fault::Hang);
    let answers = products(&rig.host, &[demo::KEYBOARD, demo::MOUSE]);
    assert!(
        answers.iter().all(|a| a["error"]["error"] == "timeout"),
        "{answers:?}"
    );
    assert_eq!(health(&rig.host, "user")["timeouts"], 1);
    assert_eq!(health(&rig.host, "product")["timeouts"], 2);
}

#[test]
fn the_service_token_is_fetched_once_and_reused_until_shortly_before_it_expires() {
    let rig = rig(&[]);
    rig.sims.set_require_auth(true);
    rig.sims.auth.set_expires_in(2);
    assert_eq!(user(&rig.host, demo::ACTIVE_USER).status, 200);
    // The token was fetched during that call, so at most now: timing from here (not from
    // before the call) holds however slowly a loaded machine served it.
    let fetched_by = std::time::Instant::now();
    products(&rig.host, &[demo::KEYBOARD, demo::MOUSE]);
    assert!(reserve(&rig.host, "order-token").json()["reserved"].is_string());
    assert_eq!(rig.sims.auth.tokens_issued(), 1, "one token for every call");
    let tokens: Vec<String> = rig
        .sims
        .user
        .requests()
        .into_iter()
        .chain(rig.sims.product.requests())
        .chain(rig.sims.inventory.requests())
        .map(|r| r.bearer_token().expect("Authorization: Bearer").to_owned())
        .collect();
    assert_eq!(tokens.len(), 4);
    assert!(tokens.iter().all(|t| *t == tokens[0]));

    // A tenth of its lifetime before expiry (1.8 s after it was fetched), it is replaced.
    std::thread::sleep(
        (fetched_by + Duration::from_millis(1_850))
            .saturating_duration_since(std::time::Instant::now()),
    );
    assert_eq!(user(&rig.host, demo::ACTIVE_USER).status, 200);
    assert_eq!(rig.sims.auth.tokens_issued(), 2);

    // A revoked token is answered 401: the adapters forget it and fetch another next time.
    rig.sims.auth.revoke_all();
    assert_eq!(error_of(&user(&rig.host, demo::ACTIVE_USER)), "rejected");
    assert_eq!(user(&rig.host, demo::ACTIVE_USER).status, 200);
    assert_eq!(rig.sims.auth.tokens_issued(), 3);

    // Auth refuses our credentials: nothing is sent to User, nothing is held against its
    // breaker, and the last known good record stands in.
    rig.sims.auth.revoke_all();
    rig.sims.auth.set_client_secret("rotated-elsewhere");
    assert_eq!(error_of(&user(&rig.host, demo::ACTIVE_USER)), "rejected");
    let calls = rig.sims.user.calls();
    let degraded = user(&rig.host, demo::ACTIVE_USER);
    assert_eq!(degraded.json()["source"], "fallback", "{degraded:?}");
    assert_eq!(rig.sims.user.calls(), calls);
    let no_fallback = user(&rig.host, demo::OTHER_ACTIVE_USER);
    assert_eq!(error_of(&no_fallback), "unavailable");
    assert!(
        no_fallback.json()["detail"]
            .as_str()
            .unwrap()
            .contains("auth service answered 401")
    );
    let _ = &rig.dir;
}

#[test]
fn calls_to_one_service_reuse_kept_alive_connections() {
    let rig = rig(&[]);
    for _ in 0..10 {
        assert_eq!(user(&rig.host, demo::ACTIVE_USER).status, 200);
    }
    assert_eq!(rig.sims.user.calls(), 10);
    // One connection serves them all; a second may open if a call starts in the instant
    // before the previous answer's connection is back in the pool, never one per call.
    let connections = rig.sims.user.connections();
    assert!(
        (1..=2).contains(&connections),
        "{connections} connections for 10 sequential calls"
    );
    // Reset by the service, a pooled connection is replaced, and calls go on.
    rig.sims.user.fail_next(1, Fault::Reset);
    let after_reset: Vec<u16> = (0..3)
        .map(|_| user(&rig.host, demo::ACTIVE_USER).status)
        .collect();
    assert_eq!(after_reset, [200, 200, 200], "a reset is retried or served");
    let _ = &rig.dir;
}
