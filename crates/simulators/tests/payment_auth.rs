//! The §9 contracts of the Payment and Auth simulators, the token gate and the helpers
//! `order-host up` uses, observed with a plain HTTP client.

mod common;

use common::{get, get_with, post_form, post_json};
use serde_json::json;
use simulators::{PaymentStatus, Simulators, demo};

fn sims() -> Simulators {
    Simulators::spawn().expect("simulators start")
}

fn charge_body(order_id: &str, token: &str) -> serde_json::Value {
    json!({"orderId": order_id, "amount": {"amountMinor": 1999, "currency": "EUR"}, "paymentMethod": {"type": "card", "token": token}})
}

#[test]
fn charge_needs_an_idempotency_key_and_a_repeated_key_charges_once() {
    let sims = sims();
    let payments = format!("{}/payments", sims.payment.url());
    let missing = post_json(&payments, &charge_body("ord-1", "tok_visa"), &[]);
    assert_eq!(
        (missing.status, missing.header("content-type")),
        (400, Some("application/problem+json"))
    );

    let first = post_json(
        &payments,
        &charge_body("ord-1", "tok_visa"),
        &[("Idempotency-Key", "order-ord-1")],
    );
    assert_eq!(first.status, 201);
    assert_eq!(first.json()["status"], "captured");
    assert!(first.json().get("reason").is_none());
    let again = post_json(
        &payments,
        &charge_body("ord-1", "tok_visa"),
        &[("Idempotency-Key", "order-ord-1")],
    );
    assert_eq!((again.status, again.json()), (201, first.json()));
    assert_eq!(sims.payment.charges_for("ord-1"), 1);

    let other_amount = json!({"orderId": "ord-1", "amount": {"amountMinor": 1, "currency": "EUR"}, "paymentMethod": {"type": "card", "token": "tok_visa"}});
    assert_eq!(
        post_json(
            &payments,
            &other_amount,
            &[("Idempotency-Key", "order-ord-1")]
        )
        .status,
        422
    );

    // A second key for the same order is a second charge: what tests must be able to catch.
    post_json(
        &payments,
        &charge_body("ord-1", "tok_visa"),
        &[("Idempotency-Key", "another-key")],
    );
    assert_eq!(sims.payment.charges_for("ord-1"), 2);
    assert_eq!(sims.payment.charges()[0].idempotency_key, "order-ord-1");
}

#[test]
fn tokens_choose_the_outcome_and_status_and_refund_follow_it() {
    let sims = sims();
    let base = sims.payment.url();
    let charge = |order: &str, token: &str| {
        post_json(
            &format!("{base}/payments"),
            &charge_body(order, token),
            &[("Idempotency-Key", order)],
        )
        .json()
    };
    let declined = charge("ord-d", "tok_decline");
    assert_eq!(
        (declined["status"].as_str(), declined["reason"].as_str()),
        (Some("declined"), Some("card_declined"))
    );
    assert_eq!(
        charge("ord-f", "tok_insufficient_funds")["reason"],
        "insufficient_funds"
    );
    assert_eq!(charge("ord-e", "tok_expired")["reason"], "expired_card");
    let pending = charge("ord-p", "tok_pending");
    assert_eq!(pending["status"], "pending");
    let captured = charge("ord-c", "tok_mastercard");
    let paid = captured["paymentId"].as_str().expect("paymentId");

    assert_eq!(
        get(&format!("{base}/payments/{paid}")).json(),
        json!({"paymentId": paid, "orderId": "ord-c", "status": "captured"})
    );
    assert_eq!(get(&format!("{base}/payments/pay_unknown")).status, 404);

    let refund = post_json(&format!("{base}/payments/{paid}/refund"), &json!({}), &[]);
    assert_eq!(
        (refund.status, refund.json()),
        (200, json!({"paymentId": paid, "status": "refunded"}))
    );
    let refund_again = post_json(&format!("{base}/payments/{paid}/refund"), &json!({}), &[]);
    assert_eq!(
        (refund_again.status, refund_again.json()),
        (200, refund.json())
    );
    assert_eq!(sims.payment.refunds(), 1);
    assert_eq!(
        get(&format!("{base}/payments/{paid}")).json()["status"],
        "refunded"
    );

    let declined_id = declined["paymentId"].as_str().expect("paymentId");
    assert_eq!(
        post_json(
            &format!("{base}/payments/{declined_id}/refund"),
            &json!({}),
            &[]
        )
        .status,
        409
    );
    assert_eq!(
        post_json(
            &format!("{base}/payments/pay_unknown/refund"),
            &json!({}),
            &[]
        )
        .status,
        404
    );

    let pending_id = pending["paymentId"].as_str().expect("paymentId");
    assert!(sims.payment.settle(pending_id, PaymentStatus::Captured));
    assert_eq!(
        get(&format!("{base}/payments/{pending_id}")).json()["status"],
        "captured"
    );
}

#[test]
fn client_credentials_issue_bearer_tokens_and_bad_credentials_are_401() {
    let sims = sims();
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=users%3Aread",
        sims.client_id(),
        sims.client_secret()
    );
    let token = post_form(&sims.auth.token_url(), &form);
    assert_eq!(token.status, 200);
    let body = token.json();
    assert_eq!(
        (body["token_type"].as_str(), body["expires_in"].as_u64()),
        (Some("Bearer"), Some(3600))
    );
    assert_eq!(body["scope"], "users:read");
    assert!(
        sims.auth
            .is_valid(body["access_token"].as_str().expect("access_token"))
    );

    let wrong = post_form(
        &sims.auth.token_url(),
        "grant_type=client_credentials&client_id=order-service&client_secret=nope",
    );
    assert_eq!(
        (wrong.status, wrong.json()),
        (401, json!({"error": "invalid_client"}))
    );
    let grant = post_form(
        &sims.auth.token_url(),
        "grant_type=password&client_id=a&client_secret=b",
    );
    assert_eq!(
        (grant.status, grant.json()),
        (400, json!({"error": "unsupported_grant_type"}))
    );

    sims.auth.set_expires_in(60);
    assert_eq!(
        post_form(&sims.auth.token_url(), &form).json()["expires_in"],
        60
    );
    assert_eq!(
        (sims.auth.token_requests(), sims.auth.tokens_issued()),
        (4, 2)
    );
}

#[test]
fn token_gate_admits_only_live_tokens_the_auth_simulator_issued() {
    let sims = sims();
    let alice = format!("{}/users/{}", sims.user.url(), demo::ACTIVE_USER);
    assert_eq!(get(&alice).status, 200, "the gate is off by default");
    sims.set_require_auth(true);
    let refused = get(&alice);
    assert_eq!(
        (refused.status, refused.header("www-authenticate").is_some()),
        (401, true)
    );
    assert_eq!(
        get_with(&alice, &[("Authorization", "Bearer forged")]).status,
        401
    );

    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        sims.client_id(),
        sims.client_secret()
    );
    let token = post_form(&sims.auth.token_url(), &form).json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let bearer = format!("Bearer {token}");
    assert_eq!(get_with(&alice, &[("Authorization", &bearer)]).status, 200);
    sims.auth.revoke_all();
    assert_eq!(get_with(&alice, &[("Authorization", &bearer)]).status, 401);

    sims.auth.set_expires_in(0);
    let expired = post_form(&sims.auth.token_url(), &form).json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(
        get_with(&alice, &[("Authorization", &format!("Bearer {expired}"))]).status,
        401
    );
    sims.set_require_auth(false);
    assert_eq!(get(&alice).status, 200);
}

#[test]
fn spin_variables_point_the_app_at_the_simulators() {
    let sims = sims();
    let vars = sims.spin_variables();
    assert_eq!(vars["user_service_url"], sims.user.url());
    assert_eq!(
        vars["auth_token_url"],
        format!("{}/oauth/token", vars["auth_service_url"])
    );
    assert_eq!(vars["client_id"], "order-service");
    assert_eq!(vars["client_secret"], sims.client_secret());
    assert_eq!(vars.len(), 8);
    assert!(
        sims.urls()
            .iter()
            .all(|(_, url)| url.starts_with("http://127.0.0.1:") && !url.ends_with('/'))
    );
}

#[test]
fn reset_restores_seed_data_and_forgets_charges() {
    let sims = sims();
    sims.inventory.set_stock(demo::KEYBOARD, 0);
    sims.user.remove(demo::ACTIVE_USER);
    post_json(
        &format!("{}/payments", sims.payment.url()),
        &charge_body("o", "tok_visa"),
        &[("Idempotency-Key", "k")],
    );
    sims.reset();
    assert_eq!(sims.inventory.stock(demo::KEYBOARD), Some(25));
    assert!(sims.user.get(demo::ACTIVE_USER).is_some());
    assert!(sims.payment.charges().is_empty());
    assert_eq!(sims.payment.calls(), 0);
}
