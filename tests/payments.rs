//! Payment notifications (issue 5, point 3): payment-listener applies `payments.events`
//! CloudEvents to orders exactly once, in the transaction that records them in
//! `payment_inbox`, with the order's outbox event; bad or inapplicable input is recorded
//! and dropped. Real `.wasm` components on `order-host`, a real `redis-server`, the
//! simulators and the repository's `spin.toml`.

use std::time::Duration;

use integration_tests::trace::INBOUND_TRACEPARENT as TRACEPARENT;
use integration_tests::{Rig, eventually, order_body};
use serde_json::{Value, json};
use simulators::demo;

const WAIT: Duration = Duration::from_secs(20);

/// A `payment_pending` order (Payment answers `pending` for `tok_pending`): (id, payment id).
fn pending_order(rig: &Rig, key: &str) -> (String, String) {
    let answer = rig.create(
        key,
        &order_body(demo::ACTIVE_USER, &[(demo::CABLE, 1)], "tok_pending"),
    );
    assert_eq!(answer.status, 202, "{answer:?}");
    let order = answer.json();
    assert_eq!(order["status"], "payment_pending");
    (
        order["id"].as_str().expect("id").to_owned(),
        order["paymentId"].as_str().expect("paymentId").to_owned(),
    )
}

/// A payment notification CloudEvent.
fn notification(id: &str, event_type: &str, order_id: &str, payment_id: &str) -> String {
    json!({
        "specversion": "1.0",
        "id": id,
        "source": "/payment",
        "type": event_type,
        "time": "2026-11-25T21:48:48.123Z",
        "datacontenttype": "application/json",
        "traceparent": TRACEPARENT,
        "data": { "orderId": order_id, "paymentId": payment_id, "reason": "insufficient_funds" },
    })
    .to_string()
}

/// Publishes on `payments.events` until a subscriber received it (the trigger subscribes
/// in the background).
fn publish(rig: &Rig, message: &str) {
    let mut conn = rig.redis.connection().expect("redis");
    eventually(WAIT, "payment-listener to receive", || {
        let receivers: i64 = redis::cmd("PUBLISH")
            .arg("payments.events")
            .arg(message)
            .query(&mut conn)
            .expect("PUBLISH");
        (receivers > 0).then_some(())
    });
}

/// `(status, error)` of the inbox row `event_id`, once it is there.
fn inbox_row(rig: &Rig, event_id: &str) -> (String, Option<String>) {
    let db = rig.db_path();
    eventually(WAIT, &format!("inbox row {event_id}"), || {
        let c = rusqlite::Connection::open(&db).ok()?;
        c.query_row(
            "SELECT status, error FROM payment_inbox WHERE event_id = ?1",
            [event_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok()
    })
}

/// One number from the host's database.
fn count(rig: &Rig, sql: &str, param: &str) -> i64 {
    let c = rusqlite::Connection::open(rig.db_path()).expect("sqlite");
    c.query_row(sql, [param], |r| r.get(0)).expect(sql)
}

fn outbox_events(rig: &Rig, id: &str, event_type: &str) -> Vec<Value> {
    let c = rusqlite::Connection::open(rig.db_path()).expect("sqlite");
    let mut statement = c
        .prepare("SELECT payload FROM outbox WHERE aggregate_id = ?1 AND event_type = ?2")
        .expect("prepare");
    statement
        .query_map([id, event_type], |r| r.get::<_, String>(0))
        .expect("query")
        .map(|payload| serde_json::from_str(&payload.expect("row")).expect("json"))
        .collect()
}

#[test]
fn a_captured_payment_confirms_the_order_once_with_its_outbox_event() {
    let rig = Rig::with(&[], None);
    let (id, payment_id) = pending_order(&rig, "k-cap");
    let event = notification("pay-evt-1", "payment.captured.v1", &id, &payment_id);
    publish(&rig, &event);
    assert_eq!(inbox_row(&rig, "pay-evt-1").0, "applied");
    assert_eq!(rig.status(&id), "confirmed");
    let confirmed = outbox_events(&rig, &id, "order.confirmed.v1");
    assert_eq!(confirmed.len(), 1, "{confirmed:?}");
    let event_json = &confirmed[0];
    assert_eq!(event_json["specversion"], "1.0");
    assert_eq!(event_json["source"], "/order-service");
    assert_eq!(event_json["subject"], id.as_str());
    assert_eq!(event_json["traceparent"], TRACEPARENT);
    assert_eq!(event_json["data"]["status"], "confirmed");
    assert_eq!(event_json["data"]["paymentId"], payment_id.as_str());

    // The same event again: recorded once, applied once.
    publish(&rig, &event);
    // A later event proves the repeat was processed before we count.
    let marker = notification("pay-evt-2", "payment.captured.v1", &id, &payment_id);
    publish(&rig, &marker);
    let (marker_status, reason) = inbox_row(&rig, "pay-evt-2");
    assert_eq!(marker_status, "ignored");
    assert!(reason.unwrap_or_default().contains("confirmed"));
    let history =
        "SELECT COUNT(*) FROM order_status_history WHERE order_id = ?1 AND status = 'confirmed'";
    assert_eq!(count(&rig, history, &id), 1);
    assert_eq!(outbox_events(&rig, &id, "order.confirmed.v1").len(), 1);
    let inbox = "SELECT COUNT(*) FROM payment_inbox WHERE event_id = ?1";
    assert_eq!(count(&rig, inbox, "pay-evt-1"), 1);
}

#[test]
fn a_malformed_message_is_recorded_and_the_next_good_one_still_works() {
    let rig = Rig::with(&[], None);
    let (id, payment_id) = pending_order(&rig, "k-bad");
    publish(&rig, "{not json");
    publish(
        &rig,
        r#"{"specversion":"1.0","id":"x","source":"/p","type":"payment.captured.v1","data":7}"#,
    );
    publish(
        &rig,
        &notification("pay-evt-3", "payment.captured.v1", &id, &payment_id),
    );
    assert_eq!(inbox_row(&rig, "pay-evt-3").0, "applied");
    let malformed = "SELECT COUNT(*) FROM payment_inbox WHERE status = ?1";
    assert_eq!(count(&rig, malformed, "malformed"), 2);
    assert_eq!(rig.status(&id), "confirmed");
}

#[test]
fn notifications_for_unknown_orders_or_other_payments_are_ignored_and_recorded() {
    let rig = Rig::with(&[], None);
    let (id, payment_id) = pending_order(&rig, "k-unk");
    publish(
        &rig,
        &notification("pay-evt-4", "payment.captured.v1", "ord_nope", "p-x"),
    );
    let (state, reason) = inbox_row(&rig, "pay-evt-4");
    assert_eq!(state, "ignored");
    assert!(reason.unwrap_or_default().contains("ord_nope"));
    publish(
        &rig,
        &notification("pay-evt-5", "payment.captured.v1", &id, "p-other"),
    );
    let (state, reason) = inbox_row(&rig, "pay-evt-5");
    assert_eq!(state, "ignored");
    assert!(reason.unwrap_or_default().contains("p-other"));
    publish(
        &rig,
        &notification("pay-evt-6", "payment.refunded.v1", &id, &payment_id),
    );
    assert_eq!(inbox_row(&rig, "pay-evt-6").0, "ignored");
    assert_eq!(rig.status(&id), "payment_pending");
    assert!(outbox_events(&rig, &id, "order.confirmed.v1").is_empty());
}

#[test]
fn a_failed_payment_fails_the_order_and_recovery_releases_its_stock() {
    let rig = Rig::with(&[("saga_recovery_after_s", "0")], None);
    let (id, payment_id) = pending_order(&rig, "k-fail");
    assert!(!rig.sims.inventory.was_released(&id));
    publish(
        &rig,
        &notification("pay-evt-7", "payment.failed.v1", &id, &payment_id),
    );
    let (state, note) = inbox_row(&rig, "pay-evt-7");
    assert_eq!(state, "applied");
    assert!(note.unwrap_or_default().contains("recovery"));
    let order = rig.get(&format!("/api/v1/orders/{id}")).json();
    assert_eq!(order["status"], "payment_failed");
    assert_eq!(
        order["statusHistory"].as_array().map(Vec::len),
        Some(3),
        "{order}"
    );
    assert_eq!(outbox_events(&rig, &id, "order.payment_failed.v1").len(), 1);
    // The stock stays reserved until order-api's recovery resumes the compensation.
    let report = rig.post("/api/v1/admin/orders/recover", "");
    assert_eq!(report.status, 200, "{report:?}");
    assert!(rig.sims.inventory.was_released(&id), "{report:?}");
    assert_eq!(rig.status(&id), "payment_failed");
}

#[test]
fn a_refund_notification_refunds_a_delivered_order() {
    let rig = Rig::with(&[], None);
    let answer = rig.create(
        "k-ref",
        &order_body(demo::ACTIVE_USER, &[(demo::CABLE, 1)], "tok_visa"),
    );
    assert_eq!(answer.status, 201, "{answer:?}");
    let order = answer.json();
    let id = order["id"].as_str().expect("id").to_owned();
    let payment_id = order["paymentId"].as_str().expect("paymentId").to_owned();
    for next in ["shipped", "delivered"] {
        let path = format!("/api/v1/admin/orders/{id}/status");
        let changed = rig.post(&path, &json!({ "status": next }).to_string());
        assert_eq!(changed.status, 200, "{changed:?}");
    }
    publish(
        &rig,
        &notification("pay-evt-8", "payment.refunded.v1", &id, &payment_id),
    );
    assert_eq!(inbox_row(&rig, "pay-evt-8").0, "applied");
    assert_eq!(rig.status(&id), "refunded");
    assert_eq!(outbox_events(&rig, &id, "order.refunded.v1").len(), 1);
}

/// Cancels a `payment_pending` order as an admin: 202, `cancelled`, the payment still to
/// settle (nothing captured, nothing refunded yet).
fn cancel_pending(rig: &Rig, id: &str) {
    let cancelled = rig.post(&format!("/api/v1/admin/orders/{id}/cancel"), "");
    assert_eq!(
        cancelled.status, 202,
        "compensation continues: {cancelled:?}"
    );
    assert_eq!(cancelled.json()["status"], "cancelled", "{cancelled:?}");
    assert!(rig.sims.inventory.was_released(id));
    assert_eq!(rig.sims.payment.refunds(), 0);
}

fn recover(rig: &Rig) {
    // Recovery takes sagas last touched strictly before `now - saga_recovery_after_s` (0 here):
    // a pass in the same millisecond as the cancel that handed the saga over would skip it.
    std::thread::sleep(std::time::Duration::from_millis(2));
    let report = rig.post("/api/v1/admin/orders/recover", "");
    assert_eq!(report.status, 200, "{report:?}");
}

#[test]
fn a_capture_after_the_order_was_cancelled_is_refunded_by_recovery() {
    let rig = Rig::with(&[("saga_recovery_after_s", "0")], None);
    let (id, payment_id) = pending_order(&rig, "k-late");
    cancel_pending(&rig, &id);
    // Still pending at Payment: recovery asks, refunds nothing, keeps watching.
    recover(&rig);
    assert_eq!(rig.status(&id), "cancelled");
    assert_eq!(rig.sims.payment.refunds(), 0);

    // Payment captures it anyway, and says so.
    assert!(
        rig.sims
            .payment
            .settle(&payment_id, simulators::PaymentStatus::Captured)
    );
    publish(
        &rig,
        &notification("pay-evt-late", "payment.captured.v1", &id, &payment_id),
    );
    let (state, note) = inbox_row(&rig, "pay-evt-late");
    assert_eq!(state, "applied");
    assert!(note.unwrap_or_default().contains("refund"));
    recover(&rig);
    assert_eq!(rig.status(&id), "refunded");
    assert_eq!(
        rig.sims.payment.refunds(),
        1,
        "the captured money went back"
    );
    assert_eq!(outbox_events(&rig, &id, "order.refunded.v1").len(), 1);
    assert_eq!(outbox_events(&rig, &id, "order.confirmed.v1").len(), 0);

    // The same notification again changes nothing.
    publish(
        &rig,
        &notification("pay-evt-late", "payment.captured.v1", &id, &payment_id),
    );
    recover(&rig);
    assert_eq!(rig.sims.payment.refunds(), 1);
}

#[test]
fn a_capture_after_cancellation_whose_notification_is_lost_is_still_refunded() {
    let rig = Rig::with(&[("saga_recovery_after_s", "0")], None);
    let (id, payment_id) = pending_order(&rig, "k-lost-note");
    cancel_pending(&rig, &id);
    // Captured at Payment; the notification never arrives (pub/sub is at-most-once).
    assert!(
        rig.sims
            .payment
            .settle(&payment_id, simulators::PaymentStatus::Captured)
    );
    recover(&rig);
    assert_eq!(rig.status(&id), "refunded");
    assert_eq!(rig.sims.payment.refunds(), 1);
    recover(&rig);
    assert_eq!(rig.sims.payment.refunds(), 1, "refunded once");
}
