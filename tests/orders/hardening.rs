//! HTTP and input hardening (issue 16): HEAD and OPTIONS, strict JSON (no duplicate members),
//! JSON media types only, and no internal error text in responses. Each kind is one test on
//! the real `.wasm` through `order-host`.

use integration_tests::{Answer, Rig, assert_one_winner, at_once, order_body, problem_type, rig};

/// `POST /api/v1/orders` with `content_type` (none when `None`).
fn create_as(rig: &Rig, key: &str, content_type: Option<&str>, body: &str) -> Answer {
    let auth = rig.auth();
    let mut headers = vec![("authorization", auth.as_str()), ("idempotency-key", key)];
    if let Some(content_type) = content_type {
        headers.push(("content-type", content_type));
    }
    rig.host
        .request("POST", "/api/v1/orders", &headers, Some(body))
}

/// The methods of an `Allow` value.
fn allowed(answer: &Answer) -> Vec<String> {
    answer
        .header("allow")
        .unwrap_or_default()
        .split(',')
        .map(|m| m.trim().to_owned())
        .collect()
}

#[test]
fn every_get_route_answers_head_like_get_without_a_body() {
    let rig = rig();
    let id = rig.place_order("head-1", "prd_mouse");
    for path in [
        "/health/live".to_owned(),
        "/health/ready".to_owned(),
        "/openapi.json".to_owned(),
        "/metrics".to_owned(),
        format!("/api/v1/orders/{id}"),
        "/api/v1/orders/ord_unknown".to_owned(),
        "/api/v1/users/usr_alice/orders".to_owned(),
        "/api/v1/admin/orders".to_owned(),
        "/api/v1/admin/outbox".to_owned(),
    ] {
        let get = rig.call("GET", &path);
        let head = rig.call("HEAD", &path);
        assert_eq!(head.status, get.status, "{path}: {head:?}");
        assert_eq!(head.body, "", "{path}: HEAD has no body");
        assert_eq!(head.content_type, get.content_type, "{path}");
        // /metrics and /health/ready change between two calls; their length may differ.
        if !path.starts_with("/metrics") && !path.starts_with("/health/ready") {
            assert_eq!(
                head.header("content-length"),
                Some(get.body.len().to_string().as_str()),
                "{path}: HEAD announces the GET body's length"
            );
        }
    }
}

#[test]
fn options_lists_the_methods_and_a_wrong_method_is_a_typed_405() {
    let rig = rig();
    let options = rig.call("OPTIONS", "/api/v1/orders");
    assert_eq!(options.status, 204, "{options:?}");
    assert_eq!(allowed(&options), ["POST", "OPTIONS"]);
    let options = rig.call("OPTIONS", "/api/v1/orders/ord_any");
    assert_eq!(allowed(&options), ["GET", "HEAD", "OPTIONS"]);

    for (method, path) in [
        ("DELETE", "/health/live"),
        ("POST", "/openapi.json"),
        ("PUT", "/api/v1/orders/ord_any"),
        ("GET", "/api/v1/admin/orders/recover"),
    ] {
        let wrong = rig.call(method, path);
        assert_eq!(wrong.status, 405, "{method} {path}: {wrong:?}");
        assert_eq!(problem_type(&wrong), "method-not-allowed", "{wrong:?}");
        let allow = allowed(&wrong);
        assert!(allow.contains(&"OPTIONS".to_owned()), "{allow:?}");
        assert_eq!(
            allow.contains(&"GET".to_owned()),
            allow.contains(&"HEAD".to_owned()),
            "HEAD goes with GET: {allow:?}"
        );
    }
    let unknown = rig.call("GET", "/no/such/thing");
    assert_eq!(unknown.status, 404);
    assert_eq!(
        problem_type(&unknown),
        "not-found",
        "no about:blank: {unknown:?}"
    );
}

#[test]
fn a_duplicate_member_anywhere_in_a_body_is_refused_naming_it() {
    let rig = rig();
    let twice_user = r#"{"userId":"usr_alice","userId":"usr_carol","items":[{"productId":"prd_mouse","quantity":1}],"paymentMethod":{"type":"card","token":"tok_visa"}}"#;
    let refused = rig.create("dup-1", twice_user);
    assert_eq!(refused.status, 400, "{refused:?}");
    assert_eq!(refused.json()["field"], "userId", "{refused:?}");
    assert!(
        refused.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("`userId`")
    );

    let twice_quantity = r#"{"userId":"usr_alice","items":[{"productId":"prd_mouse","quantity":1,"quantity":50}],"paymentMethod":{"type":"card","token":"tok_visa"}}"#;
    let refused = rig.create("dup-2", twice_quantity);
    assert_eq!(refused.status, 400, "{refused:?}");
    assert_eq!(refused.json()["field"], "quantity", "{refused:?}");
    assert_eq!(rig.order_count(), 0, "nothing was ordered");

    let created = rig.create(
        "dup-3",
        &order_body("usr_alice", &[("prd_mouse", 1)], "tok_visa"),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json()["id"].as_str().expect("id").to_owned();
    let refused = rig.post(
        &format!("/api/v1/admin/orders/{id}/status"),
        r#"{"status":"shipped","status":"cancelled"}"#,
    );
    assert_eq!(refused.status, 400, "{refused:?}");
    assert_eq!(refused.json()["field"], "status");
    assert_eq!(
        rig.get(&format!("/api/v1/orders/{id}")).json()["status"],
        "confirmed"
    );
}

#[test]
fn bodies_must_be_json_media_types_and_a_refused_one_keeps_its_idempotency_key_free() {
    let rig = rig();
    let body = order_body("usr_alice", &[("prd_mouse", 1)], "tok_visa");
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let refused = create_as(&rig, "media-1", content_type, &body);
        assert_eq!(refused.status, 415, "{content_type:?}: {refused:?}");
        assert_eq!(problem_type(&refused), "unsupported-media-type");
        assert_eq!(refused.header("accept-post"), Some("application/json"));
    }
    assert_eq!(rig.order_count(), 0);

    // The key was not consumed by the refusals; parameters and case are accepted.
    let created = create_as(
        &rig,
        "media-1",
        Some("Application/JSON; charset=utf-8"),
        &body,
    );
    assert_eq!(created.status, 201, "{created:?}");
    let created = create_as(
        &rig,
        "media-2",
        Some("application/vnd.shop.order+json"),
        &body,
    );
    assert_eq!(created.status, 201, "structured +json suffix: {created:?}");

    let id = created.json()["id"].as_str().expect("id").to_owned();
    let auth = rig.auth();
    let refused = rig.host.request(
        "POST",
        &format!("/api/v1/admin/orders/{id}/status"),
        &[
            ("authorization", auth.as_str()),
            ("content-type", "text/plain"),
        ],
        Some(r#"{"status":"shipped"}"#),
    );
    assert_eq!(refused.status, 415, "{refused:?}");
}

#[test]
fn a_broker_failure_answers_in_the_services_words_with_an_id_the_log_line_carries() {
    let rig = rig();
    rig.place_order("broker-1", "prd_mouse");
    let event_id = rig.delivered_event_id();
    let Rig {
        sims: _sims,
        redis,
        host,
        token,
    } = rig;
    // Redis goes away after start-up; a replayed event is due again and cannot be delivered.
    drop(redis);
    let auth = format!("Bearer {token}");
    let replayed = host.request(
        "POST",
        &format!("/api/v1/admin/outbox/{event_id}/replay"),
        &[("authorization", auth.as_str())],
        None,
    );
    assert_eq!(replayed.status, 202, "{replayed:?}");
    let failed = host.request(
        "POST",
        "/api/v1/admin/outbox/dispatch",
        &[("authorization", auth.as_str())],
        None,
    );
    assert_eq!(failed.status, 503, "{failed:?}");
    assert_eq!(problem_type(&failed), "broker-unavailable");
    let body = failed.body.to_ascii_lowercase();
    // Phrases of the driver's errors, none of which the service's own words use.
    for internal in [
        "connection refused",
        "os error",
        "redis://",
        "io error",
        "ioerror",
        "sqlite:",
    ] {
        assert!(
            !body.contains(internal),
            "`{internal}` leaked: {}",
            failed.body
        );
    }
    let error_id = failed.json()["errorId"]
        .as_str()
        .expect("errorId")
        .to_owned();
    assert!(
        failed.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(&error_id)
    );
    integration_tests::eventually(
        std::time::Duration::from_secs(5),
        "the internal_error log line with the same id",
        || {
            host.stderr()
                .lines()
                .find(|l| l.contains("\"internal_error\"") && l.contains(&error_id))
                .map(str::to_owned)
        },
    );
}

#[test]
fn identical_concurrent_status_changes_have_one_winner_and_409s_never_5xx() {
    let rig = rig();
    let id = rig.place_order("race-ship", "prd_mouse");
    let path = format!("/api/v1/admin/orders/{id}/status");
    let answers: Vec<Answer> = at_once(8, || rig.post(&path, r#"{"status":"shipped"}"#));
    for loser in assert_one_winner(&answers) {
        if problem_type(loser) == "order-changed" {
            assert_eq!(
                loser.json()["status"],
                "shipped",
                "the winner's status: {loser:?}"
            );
        }
    }
    assert_eq!(rig.history(&id), ["pending", "confirmed", "shipped"]);
}

#[test]
fn a_ship_racing_a_cancel_has_one_winner_and_a_legal_history() {
    let rig = rig();
    for round in 0..6 {
        let id = rig.place_order(&format!("race-{round}"), "prd_mouse");
        let refunds_before = rig.sims.payment.refunds();
        let ship = format!("/api/v1/admin/orders/{id}/status");
        let cancel = format!("/api/v1/admin/orders/{id}/cancel");
        let (shipped, cancelled) = std::thread::scope(|scope| {
            let a = scope.spawn(|| rig.post(&ship, r#"{"status":"shipped"}"#));
            let b = scope.spawn(|| rig.post(&cancel, "{}"));
            (a.join().unwrap(), b.join().unwrap())
        });
        let ship_won = shipped.status == 200;
        let cancel_won = matches!(cancelled.status, 200 | 202);
        assert!(
            ship_won ^ cancel_won,
            "exactly one wins: {shipped:?} / {cancelled:?}"
        );
        let loser = if ship_won { &cancelled } else { &shipped };
        assert_eq!(loser.status, 409, "{loser:?}");
        let statuses = rig.history(&id);
        if ship_won {
            assert_eq!(statuses, ["pending", "confirmed", "shipped"]);
            assert_eq!(
                rig.sims.payment.refunds(),
                refunds_before,
                "a shipped order is not refunded"
            );
        } else {
            assert_eq!(
                &statuses[..3],
                ["pending", "confirmed", "cancelled"],
                "{statuses:?}"
            );
            assert!(!statuses.contains(&"shipped".to_owned()), "{statuses:?}");
        }
    }
}
