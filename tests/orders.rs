//! Orders: the create-order saga, idempotency, recovery, reads and admin actions, the API's
//! HTTP hardening, its conformance to `openapi.json` and its storage, through the real
//! `.wasm` components on `order-host` against the simulators. Every test starts its own rig
//! (simulators, Redis, host); outcomes are checked at the simulators.

use std::time::Duration;

use integration_tests::rig::service_builder;
use integration_tests::{Answer, Rig, SCOPES, at_once, eventually, order_body, problem_type, rig};
use serde_json::json;
use simulators::{Fault, demo};

#[path = "orders/admin.rs"]
mod admin;
#[path = "orders/conformance.rs"]
mod conformance;
#[path = "orders/hardening.rs"]
mod hardening;
#[path = "orders/storage.rs"]
mod storage;

#[test]
fn a_good_order_is_confirmed_charged_once_and_its_stock_taken() {
    let rig = rig();
    let answer = rig.create(
        "k-1",
        &order_body(demo::ACTIVE_USER, &[(demo::KEYBOARD, 2)], "tok_visa"),
    );
    assert_eq!(answer.status, 201, "{answer:?}");
    let order = answer.json();
    let id = order["id"].as_str().expect("id").to_owned();
    assert_eq!(
        answer.header("location"),
        Some(format!("/api/v1/orders/{id}").as_str())
    );
    assert_eq!(order["status"], "confirmed");
    assert_eq!(
        order["total"],
        json!({ "amountMinor": 17998, "currency": "EUR" })
    );
    assert_eq!(order["items"][0]["lineTotal"]["amountMinor"], 17998);
    assert!(order["paymentId"].is_string(), "{order}");
    assert_eq!(rig.sims.payment.charges_for(&id), 1);
    assert_eq!(rig.sims.inventory.stock(demo::KEYBOARD), Some(23));

    let read = rig.get(&format!("/api/v1/orders/{id}"));
    assert_eq!(read.status, 200, "{read:?}");
    let read = read.json();
    let statuses: Vec<&str> = read["statusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["pending", "confirmed"]);

    let delivered: Vec<String> =
        eventually(Duration::from_secs(10), "events in orders.events", || {
            let types: Vec<String> = rig
                .redis
                .stream_events()
                .into_iter()
                .map(|(_, _, kind)| kind)
                .collect();
            (types.len() >= 2).then_some(types)
        });
    assert_eq!(delivered, ["order.created.v1", "order.confirmed.v1"]);
}

#[test]
fn a_declined_payment_is_402_with_the_order_id_and_releases_the_stock() {
    let rig = rig();
    let body = order_body(demo::ACTIVE_USER, &[(demo::MONITOR, 2)], "tok_decline");
    let answer = rig.create("k-decline", &body);
    assert_eq!(answer.status, 402, "{answer:?}");
    assert_eq!(problem_type(&answer), "payment-declined");
    let id = answer.json()["orderId"]
        .as_str()
        .expect("orderId")
        .to_owned();
    assert_eq!(
        rig.sims.inventory.stock(demo::MONITOR),
        Some(5),
        "stock released"
    );
    assert!(rig.sims.inventory.was_released(&id));
    assert_eq!(rig.status(&id), "payment_failed");

    let again = rig.create("k-decline", &body);
    assert_eq!(
        (again.status, again.body.clone()),
        (402, answer.body.clone())
    );
    assert_eq!(rig.sims.payment.charges_for(&id), 1, "no second charge");
    assert_eq!(rig.sims.payment.charges().len(), 1);
}

#[test]
fn short_stock_is_409_naming_the_product_and_nothing_is_charged() {
    let rig = rig();
    let answer = rig.create(
        "k-short",
        &order_body(
            demo::ACTIVE_USER,
            &[(demo::MOUSE, 1), (demo::MONITOR, 6)],
            "tok_visa",
        ),
    );
    assert_eq!(answer.status, 409, "{answer:?}");
    assert_eq!(problem_type(&answer), "insufficient-stock");
    assert_eq!(answer.json()["productId"], demo::MONITOR);
    assert_eq!(rig.sims.payment.calls(), 0);
    assert_eq!(rig.sims.inventory.stock(demo::MOUSE), Some(100));
    let id = answer.json()["orderId"].as_str().unwrap().to_owned();
    assert_eq!(rig.status(&id), "cancelled");
}

#[test]
fn unknown_or_inactive_products_and_users_who_cannot_order_are_precise_422s() {
    let rig = rig();
    let cases = [
        (
            order_body(
                demo::ACTIVE_USER,
                &[(demo::KEYBOARD, 1), ("prd_nope", 1)],
                "tok_visa",
            ),
            "product-not-found",
            "items[1].productId",
        ),
        (
            order_body(
                demo::ACTIVE_USER,
                &[(demo::INACTIVE_PRODUCT, 1)],
                "tok_visa",
            ),
            "product-inactive",
            "items[0].productId",
        ),
        (
            order_body(demo::SUSPENDED_USER, &[(demo::KEYBOARD, 1)], "tok_visa"),
            "user-cannot-order",
            "userId",
        ),
        (
            order_body(demo::DELETED_USER, &[(demo::KEYBOARD, 1)], "tok_visa"),
            "user-cannot-order",
            "userId",
        ),
        (
            order_body("usr_nobody", &[(demo::KEYBOARD, 1)], "tok_visa"),
            "user-not-found",
            "userId",
        ),
    ];
    for (i, (body, kind, field)) in cases.iter().enumerate() {
        let answer = rig.create(&format!("k-{i}"), body);
        assert_eq!(answer.status, 422, "{answer:?}");
        assert_eq!(problem_type(&answer), *kind);
        assert_eq!(answer.json()["field"], *field, "{answer:?}");
    }
    let invalid = rig.create(
        "k-bad",
        &order_body(demo::ACTIVE_USER, &[(demo::KEYBOARD, 0)], "tok_visa"),
    );
    assert_eq!(
        (invalid.status, invalid.json()["field"].clone()),
        (422, json!("items[0].quantity"))
    );
    let malformed = rig.create("k-json", "{not json");
    assert_eq!(malformed.status, 400, "{malformed:?}");
    let auth = rig.auth();
    let no_key = rig.host.request(
        "POST",
        "/api/v1/orders",
        &[("authorization", auth.as_str())],
        Some(&order_body(
            demo::ACTIVE_USER,
            &[(demo::KEYBOARD, 1)],
            "tok_visa",
        )),
    );
    assert_eq!(
        (no_key.status, no_key.json()["field"].clone()),
        (400, json!("Idempotency-Key"))
    );
    let huge = rig.create("k-huge", &"x".repeat(70_000));
    assert_eq!(huge.status, 413, "{huge:?}");
    assert_eq!(rig.sims.payment.calls() + rig.sims.inventory.calls(), 0);
    assert_eq!(rig.order_count(), 0);
}

#[test]
fn a_payment_outage_is_202_pending_and_recovery_charges_once_when_payment_is_back() {
    let rig = Rig::with(&[("retry_max", "1"), ("saga_recovery_after_s", "0")], None);
    rig.sims.payment.set_fault(Fault::Status(503));
    let body = order_body(demo::ACTIVE_USER, &[(demo::KEYBOARD, 3)], "tok_visa");
    let answer = rig.create("k-down", &body);
    assert_eq!(answer.status, 202, "{answer:?}");
    assert_eq!(answer.json()["status"], "pending", "{answer:?}");
    assert!(answer.header("retry-after").is_some(), "{answer:?}");
    let id = answer.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        answer.header("location"),
        Some(format!("/api/v1/orders/{id}").as_str())
    );
    assert_eq!(
        rig.sims.inventory.stock(demo::KEYBOARD),
        Some(22),
        "stock held"
    );
    assert!(!rig.sims.inventory.was_released(&id));
    assert_eq!(rig.sims.payment.charges().len(), 0, "Payment took nothing");

    // The client's retry with the same key is the same order, not a second one.
    let retry = rig.create("k-down", &body);
    assert_eq!((retry.status, retry.json()["id"].clone()), (202, json!(id)));
    assert_eq!(rig.order_count(), 1);

    rig.sims.clear_faults();
    let report = rig.post("/api/v1/admin/orders/recover", "");
    assert_eq!(report.status, 200, "{report:?}");
    let order = rig.get(&format!("/api/v1/orders/{id}")).json();
    assert_eq!(order["status"], "confirmed", "{order} after {report:?}");
    assert_eq!(rig.sims.payment.charges_for(&id), 1, "one charge");
    assert_eq!(rig.sims.inventory.stock(demo::KEYBOARD), Some(22));
    assert_eq!(rig.sims.payment.refunds(), 0, "nothing to give back");

    // Retrying with the key now tells the outcome: the same order, confirmed.
    let settled = rig.create("k-down", &body);
    assert_eq!(settled.status, 200, "{settled:?}");
    assert_eq!(settled.json()["id"], json!(id));
    assert_eq!(settled.json()["status"], "confirmed");
    assert_eq!(settled.header("idempotent-replayed"), Some("true"));
    assert_eq!(rig.sims.payment.charges_for(&id), 1);
}

#[test]
fn a_charge_whose_answer_is_lost_is_202_and_polling_the_order_confirms_it_without_a_second_charge()
{
    let rig = Rig::with(
        &[
            ("retry_max", "0"),
            ("call_timeout_ms", "300"),
            ("saga_recovery_after_s", "0"),
        ],
        None,
    );
    // Payment captures, but answers after the adapters gave up.
    rig.sims
        .payment
        .set_fault(Fault::SlowAnswer(Duration::from_millis(900)));
    let body = order_body(demo::ACTIVE_USER, &[(demo::MOUSE, 1)], "tok_visa");
    let answer = rig.create("k-lost", &body);
    assert_eq!(answer.status, 202, "{answer:?}");
    assert_eq!(answer.json()["status"], "pending", "{answer:?}");
    let id = answer.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(rig.sims.payment.charges_for(&id), 1, "Payment charged");

    // The client polls `Location`: reading the stale saga finishes it.
    rig.sims.clear_faults();
    let location = answer.header("location").expect("Location").to_owned();
    let order = rig.get(&location).json();
    assert_eq!(order["status"], "confirmed", "{order}");
    assert_eq!(
        rig.sims.payment.charges_for(&id),
        1,
        "the repeat found the first"
    );
    assert_eq!(rig.sims.payment.refunds(), 0, "no charge-and-refund");
    assert_eq!(rig.sims.inventory.stock(demo::MOUSE), Some(99));
}

#[test]
fn an_unresolved_charge_past_its_max_age_is_cancelled_its_stock_released_and_any_charge_refunded() {
    let rig = Rig::with(
        &[
            ("retry_max", "1"),
            ("saga_recovery_after_s", "0"),
            ("charge_resolve_max_age_s", "0"),
        ],
        None,
    );
    rig.sims.payment.set_fault(Fault::Status(503));
    let answer = rig.create(
        "k-aged",
        &order_body(demo::ACTIVE_USER, &[(demo::MONITOR, 2)], "tok_visa"),
    );
    assert_eq!(answer.status, 202, "{answer:?}");
    let id = answer.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(rig.sims.inventory.stock(demo::MONITOR), Some(3));

    // Payment still down and the order past its age: it stops holding the stock.
    let report = rig.post("/api/v1/admin/orders/recover", "");
    assert_eq!(report.status, 200, "{report:?}");
    assert_eq!(rig.status(&id), "cancelled", "{report:?}");
    assert!(rig.sims.inventory.was_released(&id));
    assert_eq!(rig.sims.inventory.stock(demo::MONITOR), Some(5));

    // Payment back: the charge is resolved with its key and, having been made, refunded.
    rig.sims.clear_faults();
    let report = rig.post("/api/v1/admin/orders/recover", "");
    assert_eq!(report.status, 200, "{report:?}");
    assert_eq!(rig.status(&id), "refunded", "{report:?}");
    assert_eq!(rig.sims.payment.charges_for(&id), 1);
    assert_eq!(rig.sims.payment.refunds(), 1, "no money kept");
}

#[test]
fn with_the_payment_breaker_open_nothing_is_sent_and_the_order_is_a_503() {
    let rig = Rig::with(
        &[
            ("retry_max", "0"),
            ("breaker_volume_threshold", "2"),
            ("breaker_reset_timeout_ms", "60000"),
        ],
        None,
    );
    rig.sims.payment.set_fault(Fault::Status(503));
    let body = |n: u32| order_body(demo::ACTIVE_USER, &[(demo::CABLE, n)], "tok_visa");
    // Two charges fail with unknown outcomes (202 pending) and open Payment's breaker.
    for (key, n) in [("k-open-1", 1), ("k-open-2", 2)] {
        assert_eq!(rig.create(key, &body(n)).status, 202);
    }
    let sent = rig.sims.payment.calls();
    let answer = rig.create("k-open-3", &body(3));
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(problem_type(&answer), "dependency-unavailable");
    assert_eq!(
        rig.sims.payment.calls(),
        sent,
        "short-circuited: nothing sent"
    );
    let id = answer.json()["orderId"].as_str().unwrap().to_owned();
    assert!(
        rig.sims.inventory.was_released(&id),
        "stock released at once"
    );
    assert_eq!(rig.status(&id), "cancelled");
}

#[test]
fn the_same_key_and_body_replays_the_first_answer_and_another_body_is_409() {
    let rig = rig();
    let body = order_body(demo::ACTIVE_USER, &[(demo::CABLE, 1)], "tok_visa");
    let first = rig.create("k-same", &body);
    assert_eq!(first.status, 201, "{first:?}");
    let again = rig.create("k-same", &body);
    assert_eq!(
        (again.status, again.body.clone()),
        (201, first.body.clone())
    );
    assert_eq!(again.header("location"), first.header("location"));
    let id = first.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(rig.sims.payment.charges_for(&id), 1);
    assert_eq!(rig.sims.payment.charges().len(), 1);
    assert_eq!(rig.order_count(), 1);

    let other = rig.create(
        "k-same",
        &order_body(demo::ACTIVE_USER, &[(demo::CABLE, 2)], "tok_visa"),
    );
    assert_eq!(other.status, 409, "{other:?}");
    assert_eq!(problem_type(&other), "idempotency-key-reused");
}

#[test]
fn two_concurrent_identical_requests_make_one_order_and_one_charge() {
    let rig = rig();
    rig.sims
        .payment
        .set_fault(Fault::Latency(Duration::from_millis(400)));
    let body = order_body(demo::ACTIVE_USER, &[(demo::MOUSE, 1)], "tok_visa");
    let answers: Vec<Answer> = at_once(2, || rig.create("k-race", &body));
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{answers:?}");
    let busy = answers.iter().find(|a| a.status == 409).unwrap();
    assert_eq!(busy.header("retry-after"), Some("1"));
    assert_eq!(rig.sims.payment.charges().len(), 1);
    assert_eq!(rig.order_count(), 1);
    assert_eq!(rig.sims.inventory.stock(demo::MOUSE), Some(99));
}

/// The host dies while its charge is in flight; Payment then processes that very charge (the
/// recorded request, replayed with its `Idempotency-Key`), as if only the answer was lost.
/// A new host's recovery pass repeats the charge with the same key and confirms the order.
#[test]
fn a_saga_interrupted_after_the_charge_is_finished_by_recovery_with_one_charge() {
    let state = tempfile::tempdir().expect("state dir");
    let rig = Rig::with(&[], Some(state.path()));
    rig.sims
        .payment
        .set_fault(Fault::Latency(Duration::from_secs(5)));
    let base = rig.host.base.clone();
    let auth = rig.auth();
    let body = order_body(demo::ACTIVE_USER, &[(demo::KEYBOARD, 1)], "tok_visa");
    let request = std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let _ = agent
            .post(&format!("{base}/api/v1/orders"))
            .header("authorization", &auth)
            .header("idempotency-key", "k-crash")
            .header("content-type", "application/json")
            .send(body.as_str());
    });
    assert!(
        rig.sims.payment.wait_for_calls(1, Duration::from_secs(20)),
        "the charge was sent"
    );
    let Rig {
        sims, redis, host, ..
    } = rig;
    host.stop();
    let _ = request.join();

    let charge = sims.payment.last_request().expect("the charge request");
    let order_id = charge.body_json().expect("JSON")["orderId"]
        .as_str()
        .expect("orderId")
        .to_owned();
    sims.clear_faults();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let landed = agent
        .post(&format!("{}/payments", sims.payment.url()))
        .header("idempotency-key", charge.idempotency_key().expect("key"))
        .header("content-type", "application/json")
        .send(charge.body_text().as_str())
        .expect("charge");
    assert_eq!(landed.status(), 201);
    assert_eq!(sims.payment.charges_for(&order_id), 1);

    let host = service_builder(&sims, &redis.url())
        .variable("saga_recovery_after_s", "0")
        .state_dir(state.path())
        .start();
    let token = format!("Bearer {}", host.token(SCOPES));
    let headers = [("authorization", token.as_str())];
    let recovered = host.request("POST", "/api/v1/admin/orders/recover", &headers, Some(""));
    assert_eq!(recovered.status, 200, "{recovered:?}");
    let order = host.request("GET", &format!("/api/v1/orders/{order_id}"), &headers, None);
    assert_eq!(
        order.json()["status"],
        "confirmed",
        "{order:?} after {recovered:?}"
    );
    assert_eq!(sims.payment.charges_for(&order_id), 1, "exactly one charge");
    assert_eq!(sims.inventory.stock(demo::KEYBOARD), Some(24));

    // The client's retry with the same key gets the recovered result, not a second order.
    let body = order_body(demo::ACTIVE_USER, &[(demo::KEYBOARD, 1)], "tok_visa");
    let retry_headers = [
        ("authorization", token.as_str()),
        ("idempotency-key", "k-crash"),
        ("content-type", "application/json"),
    ];
    let retry = host.request("POST", "/api/v1/orders", &retry_headers, Some(&body));
    assert_eq!(retry.status, 201, "{retry:?}");
    assert_eq!(retry.json()["id"], order_id.as_str());
    assert_eq!(sims.payment.charges().len(), 1);
}

#[test]
fn a_pending_payment_is_202_and_reconciliation_confirms_it_once_captured() {
    let rig = Rig::with(&[("payment_reconcile_after_s", "0")], None);
    let answer = rig.create(
        "k-pending",
        &order_body(demo::ACTIVE_USER, &[(demo::CABLE, 1)], "tok_pending"),
    );
    assert_eq!(answer.status, 202, "{answer:?}");
    let order = answer.json();
    assert_eq!(order["status"], "payment_pending");
    let id = order["id"].as_str().unwrap().to_owned();
    let payment_id = order["paymentId"].as_str().unwrap().to_owned();
    assert!(
        rig.sims
            .payment
            .settle(&payment_id, simulators::PaymentStatus::Captured)
    );
    let report = rig.post("/api/v1/admin/orders/reconcile", "");
    assert_eq!(report.status, 200, "{report:?}");
    assert_eq!(
        report.json()["reconciled"][0]["result"],
        "confirmed",
        "{report:?}"
    );
    assert_eq!(rig.status(&id), "confirmed");
    assert_eq!(rig.sims.payment.charges_for(&id), 1);
}

#[test]
fn an_inventory_outage_is_503_and_recovery_releases_once_inventory_is_back() {
    let rig = Rig::with(&[("retry_max", "1"), ("saga_recovery_after_s", "0")], None);
    rig.sims.inventory.set_fault(Fault::Status(503));
    let answer = rig.create(
        "k-inv",
        &order_body(demo::ACTIVE_USER, &[(demo::MOUSE, 1)], "tok_visa"),
    );
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(answer.header("retry-after").is_some(), "{answer:?}");
    let id = answer.json()["orderId"].as_str().unwrap().to_owned();
    assert_eq!(rig.sims.payment.calls(), 0, "nothing charged");
    assert!(!rig.sims.inventory.was_released(&id), "Inventory was down");

    rig.sims.clear_faults();
    let report = rig.post("/api/v1/admin/orders/recover", "");
    assert_eq!(report.status, 200, "{report:?}");
    assert!(rig.sims.inventory.was_released(&id), "{report:?}");
    let order = rig.get(&format!("/api/v1/orders/{id}")).json();
    assert_eq!(order["status"], "cancelled", "{order}");
    assert_eq!(rig.sims.inventory.stock(demo::MOUSE), Some(100));
    assert_eq!(rig.sims.payment.calls(), 0, "recovery charges nothing");
}

/// One order created with `key` (201), so the database and its schema exist.
fn warm_up(rig: &Rig, key: &str) {
    let answer = rig.create(
        key,
        &order_body(demo::ACTIVE_USER, &[(demo::CABLE, 1)], "tok_visa"),
    );
    assert_eq!(answer.status, 201, "{answer:?}");
}

#[test]
fn a_database_locked_past_the_busy_timeout_is_a_503_to_retry_and_loses_nothing() {
    let rig = rig();
    let db = rusqlite::Connection::open(rig.host.state_dir.join("sqlite_db.db")).unwrap();
    // Make sure the schema exists, then hold the write lock longer than the 5 s busy timeout.
    warm_up(&rig, "warm-up");
    db.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let body = order_body(demo::ACTIVE_USER, &[(demo::MOUSE, 1)], "tok_visa");
    let locked = rig.create("locked-1", &body);
    db.execute_batch("ROLLBACK").unwrap();
    assert_eq!(locked.status, 503, "{locked:?}");
    assert_eq!(problem_type(&locked), "storage-busy");
    assert_eq!(locked.header("retry-after"), Some("1"));
    // The client retries with the same key once the database is free.
    let retried = rig.create("locked-1", &body);
    assert!(matches!(retried.status, 201 | 409), "{retried:?}");
}

#[test]
fn a_write_lock_held_for_a_second_delays_a_create_without_failing_it() {
    // The app gives its writing connections a 3 ms busy timeout and waits for the lock itself
    // beyond that (`guest::sqlite`, `busy_timeout = 3`): a lock another process holds for a
    // while must still end in the order, not in an error.
    let rig = rig();
    warm_up(&rig, "warm-up-wait");
    let path = rig.host.state_dir.join("sqlite_db.db");
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let db = rusqlite::Connection::open(path).unwrap();
        db.execute_batch("BEGIN EXCLUSIVE").unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(1));
        db.execute_batch("ROLLBACK").unwrap();
    });
    locked_rx.recv().unwrap();
    let answer = rig.create(
        "lock-wait-1",
        &order_body(demo::ACTIVE_USER, &[(demo::MOUSE, 1)], "tok_visa"),
    );
    holder.join().unwrap();
    assert_eq!(answer.status, 201, "{answer:?}");
    let id = answer.json()["id"].as_str().unwrap().to_owned();
    let order = rig.get(&format!("/api/v1/orders/{id}")).json();
    assert_eq!(order["status"], "confirmed", "{order}");
}

#[test]
fn reading_a_stale_payment_pending_order_reconciles_it_with_payment() {
    let rig = Rig::with(&[("payment_reconcile_after_s", "1")], None);
    let answer = rig.create(
        "k-read-reconcile",
        &order_body(demo::ACTIVE_USER, &[(demo::CABLE, 1)], "tok_pending"),
    );
    assert_eq!(answer.status, 202, "{answer:?}");
    let order = answer.json();
    let id = order["id"].as_str().unwrap().to_owned();
    let payment_id = order["paymentId"].as_str().unwrap().to_owned();
    // The notification is "lost": Payment captured it, nobody told us.
    assert!(
        rig.sims
            .payment
            .settle(&payment_id, simulators::PaymentStatus::Captured)
    );
    // Younger than payment_reconcile_after_s: answered from storage, Payment not asked.
    let before = rig.sims.payment.calls_to("GET /payments/{id}");
    assert_eq!(rig.status(&id), "payment_pending");
    assert_eq!(rig.sims.payment.calls_to("GET /payments/{id}"), before);
    std::thread::sleep(Duration::from_millis(1100));
    // Older: the read asks Payment and applies the capture.
    let read = rig.get(&format!("/api/v1/orders/{id}"));
    assert_eq!(read.json()["status"], "confirmed", "{read:?}");
    assert_eq!(rig.sims.payment.calls_to("GET /payments/{id}"), before + 1);
    assert_eq!(rig.sims.payment.charges_for(&id), 1);
}
