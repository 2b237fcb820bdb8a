//! Consumer pacts (issue 6): what the real `dependency-adapters.wasm` sends to User,
//! Product, Inventory, Payment and Auth, and how it reads their answers.
//!
//! Each test starts Pact mock servers for Auth and one dependency, points the adapters at
//! them through `SPIN_VARIABLE_*` (exactly as an operator would), and drives the adapters
//! through the `adapter-driver` fixture on `order-host`. A mock server fails the test on a
//! request that matches no interaction and on an interaction never asked for; the driver's
//! answers show the adapter read each response as the contract means it. The pacts written
//! must equal the ones checked in under `tests/pacts/` (`PACT_UPDATE=1` rewrites them).

use std::collections::BTreeMap;
use std::path::Path;

use contract_tests::check_against_checked_in;
use contract_tests::patterns::money;
use integration_tests::adapter_rig::manifest_with;
use integration_tests::{Answer, Host, HostBuilder, manifest_in_tempdir};
use pact_consumer::builders::RequestBuilder;
use pact_consumer::mock_server::ValidatingMockServer;
use pact_consumer::prelude::*;
use serde_json::{Value, json};

/// Consumer name of every outbound pact.
const CONSUMER: &str = "order-service";
/// The client credentials the adapters are configured with (test values).
const CLIENT_ID: &str = "order-service-pact";
const CLIENT_SECRET: &str = "pact-test-secret";
const CLIENT_SCOPE: &str = "users:read products:read inventory:write payments:write";
/// The token the Auth mock hands out, and the header the other mocks expect.
const ACCESS_TOKEN: &str = "pact-access-token";
/// The inbound trace context the driver forwards to the adapters.
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Headers every dependency call carries: the service token and the trace context.
fn authorised(request: &mut RequestBuilder) -> &mut RequestBuilder {
    request
        .header(
            "authorization",
            term!(r"^Bearer \S+$", format!("Bearer {ACCESS_TOKEN}")),
        )
        .header(
            "traceparent",
            term!("^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$", TRACEPARENT),
        )
        .header("accept", "application/json")
}

/// A JSON request body with its content type.
fn json_request(request: &mut RequestBuilder, body: Value) -> &mut RequestBuilder {
    request.content_type("application/json").json_body(body)
}

fn auth_pact(out: &Path) -> PactBuilder {
    let mut pact = PactBuilder::new_v4(CONSUMER, "auth-service");
    pact.with_output_dir(out)
        .interaction("a client-credentials token request", "", |mut i| {
            i.given(format!("client {CLIENT_ID} is registered"));
            i.request
                .post()
                .path("/oauth/token")
                .content_type("application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .body(format!(
                    "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&scope={}",
                    CLIENT_SCOPE.replace(':', "%3A").replace(' ', "%20")
                ));
            i.response
                .ok()
                .content_type("application/json")
                .json_body(json_pattern!({
                    "access_token": like!(ACCESS_TOKEN),
                    "token_type": "Bearer",
                    "expires_in": like!(300),
                }));
            i
        });
    pact
}

/// The mocks of one test, the host driving the adapters at them, and where the pacts go.
struct Rig {
    host: Host,
    mocks: Vec<Box<dyn ValidatingMockServer>>,
    out: tempfile::TempDir,
    _manifest_dir: tempfile::TempDir,
}

/// Starts Auth's mock and `dependency`'s (built into `out` by `build`), and a host whose
/// `<variable>` points at the latter. The other services point at a closed port: a call
/// the test did not plan fails loudly instead of reaching anything.
fn rig(variable: &str, build: impl FnOnce(&Path) -> PactBuilder) -> Rig {
    let out = tempfile::tempdir().expect("tempdir");
    let auth = auth_pact(out.path()).start_mock_server(None, None);
    let dependency = build(out.path()).start_mock_server(None, None);
    let closed = format!("http://127.0.0.1:{}", integration_tests::free_port());
    let origin =
        |mock: &dyn ValidatingMockServer| mock.url().to_string().trim_end_matches('/').to_owned();
    let mut services: BTreeMap<String, String> = [
        "user_service_url",
        "product_service_url",
        "inventory_service_url",
        "payment_service_url",
    ]
    .into_iter()
    .map(|name| (name.to_owned(), closed.clone()))
    .collect();
    services.insert(variable.to_owned(), origin(dependency.as_ref()));
    services.insert("auth_service_url".into(), origin(auth.as_ref()));
    services.insert(
        "auth_token_url".into(),
        auth.path("/oauth/token").to_string(),
    );
    services.insert("client_id".into(), CLIENT_ID.into());
    services.insert("client_secret".into(), CLIENT_SECRET.into());
    services.insert("client_scope".into(), CLIENT_SCOPE.into());
    let (manifest_dir, manifest) = manifest_in_tempdir(&manifest_with(services.clone()));
    let host = services
        .into_iter()
        .fold(HostBuilder::new(&manifest), |builder, (name, value)| {
            builder.variable(&name, value)
        })
        .start();
    Rig {
        host,
        mocks: vec![auth, dependency],
        out,
        _manifest_dir: manifest_dir,
    }
}

impl Rig {
    fn get(&self, path: &str) -> Answer {
        self.host.get_with(path, &[("traceparent", TRACEPARENT)])
    }

    fn post(&self, path: &str, body: Value) -> Answer {
        self.host.request(
            "POST",
            path,
            &[("traceparent", TRACEPARENT)],
            Some(&body.to_string()),
        )
    }

    /// Verifies the mocks (a mismatch or a missing request panics here), then checks the
    /// written pacts against `tests/pacts/`.
    fn finish(self, provider: &str) {
        self.host.stop();
        drop(self.mocks);
        for name in ["auth-service", provider] {
            check_against_checked_in(
                self.out.path(),
                &contract_tests::pact_file_name(CONSUMER, name),
            );
        }
    }
}

#[test]
fn user_lookups_match_the_user_service_pact() {
    let rig = rig("user_service_url", |out| {
        let mut pact = PactBuilder::new_v4(CONSUMER, "user-service");
        pact.with_output_dir(out);
        for (id, status) in [("usr_alice", "active"), ("usr_carol", "suspended")] {
            pact.interaction(
                format!("a lookup of the {status} user {id}"),
                String::new(),
                |mut i| {
                    i.given(format!("user {id} is {status}"));
                    authorised(i.request.get().path(format!("/users/{id}")));
                    i.response
                        .ok()
                        .content_type("application/json")
                        .json_body(json_pattern!({
                            "id": id,
                            "email": like!("alice@example.com"),
                            "name": like!("Alice Martin"),
                            "status": status,
                        }));
                    i
                },
            );
        }
        pact.interaction("a lookup of an unknown user", "", |mut i| {
            i.given("no user usr_nobody exists");
            authorised(i.request.get().path("/users/usr_nobody"));
            i.response.not_found();
            i
        });
        pact
    });

    let alice = rig.get("/users/usr_alice");
    assert_eq!(alice.status, 200, "{alice:?}");
    assert_eq!(alice.json()["user"]["status"], "active");
    assert_eq!(alice.json()["user"]["email"], "alice@example.com");
    let carol = rig.get("/users/usr_carol");
    assert_eq!(carol.json()["user"]["status"], "suspended", "{carol:?}");
    let nobody = rig.get("/users/usr_nobody");
    assert_eq!(nobody.status, 404, "{nobody:?}");
    assert_eq!(nobody.json()["error"], "not-found");
    rig.finish("user-service");
}

#[test]
fn product_lookups_match_the_product_service_pact() {
    let rig = rig("product_service_url", |out| {
        let mut pact = PactBuilder::new_v4(CONSUMER, "product-service");
        pact.with_output_dir(out)
            .interaction("a lookup of an active product", "", |mut i| {
                i.given("product prd_keyboard is active");
                authorised(i.request.get().path("/products/prd_keyboard"));
                i.response
                    .ok()
                    .content_type("application/json")
                    .json_body(json_pattern!({
                        "id": "prd_keyboard",
                        "name": like!("Mechanical keyboard"),
                        "price": money(8999),
                        "active": true,
                    }));
                i
            })
            .interaction("a lookup of an unknown product", "", |mut i| {
                i.given("no product prd_nothing exists");
                authorised(i.request.get().path("/products/prd_nothing"));
                i.response.not_found();
                i
            });
        pact
    });

    let answer = rig.post(
        "/products",
        json!({ "ids": ["prd_keyboard", "prd_nothing"] }),
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    let outcomes = answer.json();
    assert_eq!(
        outcomes[0]["product"]["price"],
        json!({ "amountMinor": 8999, "currency": "EUR" })
    );
    assert_eq!(outcomes[0]["product"]["active"], true);
    assert_eq!(outcomes[1]["error"]["error"], "not-found", "{outcomes}");
    rig.finish("product-service");
}

#[test]
fn reservations_match_the_inventory_service_pact() {
    let rig = rig("inventory_service_url", |out| {
        let mut pact = PactBuilder::new_v4(CONSUMER, "inventory-service");
        pact.with_output_dir(out)
            .interaction("reserving stock that is there", "", |mut i| {
                i.given("prd_keyboard has stock");
                json_request(
                    authorised(i.request.post().path("/inventory/reserve")),
                    json!({ "orderId": "ord_pact_1", "items": [{ "productId": "prd_keyboard", "quantity": 1 }] }),
                );
                i.response
                    .ok()
                    .content_type("application/json")
                    .json_body(json_pattern!({
                        "success": true,
                        "reservationId": like!("res_7f3c2a"),
                    }));
                i
            })
            .interaction("reserving stock that is short", "", |mut i| {
                i.given("prd_webcam is out of stock");
                json_request(
                    authorised(i.request.post().path("/inventory/reserve")),
                    json!({ "orderId": "ord_pact_2", "items": [{ "productId": "prd_webcam", "quantity": 1 }] }),
                );
                i.response
                    .status(409)
                    .content_type("application/json")
                    .json_body(json_pattern!({
                        "success": false,
                        "reason": "insufficient_stock",
                        "productId": "prd_webcam",
                    }));
                i
            })
            .interaction("releasing a reservation", "", |mut i| {
                i.given("order ord_pact_1 holds a reservation");
                json_request(
                    authorised(i.request.post().path("/inventory/release")),
                    json!({ "orderId": "ord_pact_1" }),
                );
                i.response.ok();
                i
            });
        pact
    });

    let reserve = |order: &str, product: &str| {
        rig.post(
            "/inventory/reserve",
            json!({ "orderId": order, "items": [{ "productId": product, "quantity": 1 }] }),
        )
    };
    let reserved = reserve("ord_pact_1", "prd_keyboard");
    assert_eq!(reserved.json()["reserved"], "res_7f3c2a", "{reserved:?}");
    let short = reserve("ord_pact_2", "prd_webcam");
    assert_eq!(
        short.json()["insufficientStock"],
        json!({ "productId": "prd_webcam", "reason": "insufficient_stock" }),
        "{short:?}"
    );
    let released = rig.post("/inventory/release", json!({ "orderId": "ord_pact_1" }));
    assert_eq!(released.status, 200, "{released:?}");
    rig.finish("inventory-service");
}

#[test]
fn payments_match_the_payment_service_pact() {
    let rig = rig("payment_service_url", |out| {
        let mut pact = PactBuilder::new_v4(CONSUMER, "payment-service");
        pact.with_output_dir(out);
        for (order, token, status, reason) in [
            ("ord_pact_1", "tok_visa", "captured", None),
            (
                "ord_pact_2",
                "tok_decline",
                "declined",
                Some("card_declined"),
            ),
        ] {
            pact.interaction(
                format!("a charge that is {status}"),
                String::new(),
                |mut i| {
                    i.given(format!("card {token} is {status}"));
                    json_request(
                        authorised(i.request.post().path("/payments")).header(
                            "idempotency-key",
                            term!(r"^\S+$", format!("{order}-charge")),
                        ),
                        json!({
                            "orderId": order,
                            "amount": { "amountMinor": 8999, "currency": "EUR" },
                            "paymentMethod": { "type": "card", "token": token },
                        }),
                    );
                    let body = match reason {
                        Some(reason) => json_pattern!({
                            "paymentId": like!("pay_pact_2"),
                            "status": status,
                            "reason": reason,
                        }),
                        None => json_pattern!({
                            "paymentId": like!("pay_pact_1"),
                            "status": status,
                        }),
                    };
                    i.response
                        .created()
                        .content_type("application/json")
                        .json_body(body);
                    i
                },
            );
        }
        pact.interaction("a refund", "", |mut i| {
            i.given("payment pay_pact_1 is captured");
            json_request(
                authorised(i.request.post().path("/payments/pay_pact_1/refund"))
                    .header("idempotency-key", term!(r"^\S+$", "ord_pact_1-refund")),
                json!({}),
            );
            i.response
                .ok()
                .content_type("application/json")
                .json_body(json_pattern!({ "paymentId": "pay_pact_1", "status": "refunded" }));
            i
        })
        .interaction("reading a captured payment", "", |mut i| {
            i.given("payment pay_pact_1 is captured");
            authorised(i.request.get().path("/payments/pay_pact_1"));
            i.response
                .ok()
                .content_type("application/json")
                .json_body(json_pattern!({
                    "paymentId": "pay_pact_1",
                    "orderId": like!("ord_pact_1"),
                    "status": "captured",
                }));
            i
        })
        .interaction("reading an unknown payment", "", |mut i| {
            i.given("no payment pay_nothing exists");
            authorised(i.request.get().path("/payments/pay_nothing"));
            i.response.not_found();
            i
        });
        pact
    });

    let charge = |order: &str, token: &str| {
        rig.post(
            "/payments/charge",
            json!({
                "orderId": order,
                "amount": { "amountMinor": 8999, "currency": "EUR" },
                "paymentMethod": { "type": "card", "token": token },
                "idempotencyKey": format!("{order}-charge"),
            }),
        )
    };
    let captured = charge("ord_pact_1", "tok_visa");
    assert_eq!(captured.json()["status"], "captured", "{captured:?}");
    assert_eq!(captured.json()["paymentId"], "pay_pact_1");
    let declined = charge("ord_pact_2", "tok_decline");
    assert_eq!(declined.json()["status"], "declined", "{declined:?}");
    assert_eq!(declined.json()["reason"], "card_declined");
    let refund = rig.post(
        "/payments/pay_pact_1/refund",
        json!({ "idempotencyKey": "ord_pact_1-refund" }),
    );
    assert_eq!(refund.json()["status"], "refunded", "{refund:?}");
    let read = rig.get("/payments/pay_pact_1");
    assert_eq!(read.json()["orderId"], "ord_pact_1", "{read:?}");
    let unknown = rig.get("/payments/pay_nothing");
    assert_eq!(unknown.status, 404, "{unknown:?}");
    rig.finish("payment-service");
}
