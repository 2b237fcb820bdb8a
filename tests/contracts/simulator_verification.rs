//! The dependency simulators verified against the consumer pacts (issue 6): every other
//! integration test runs the service against `crates/simulators`, so the simulators must
//! honour exactly what the adapters expect of User, Product, Inventory, Payment and Auth.
//! This closes the loop: the adapters produce the pacts (`consumer_pacts.rs`), the
//! simulators are verified against them here, as the real services would be in their own CI.
//!
//! Provider states come from the simulators' demo data (`crates/simulators/src/demo.rs`) or
//! are put in place through their control API (a reservation to release, a captured payment
//! with a known id). The services' bearer-token gate is off: the token the pact carries is
//! the Auth mock's, and issuing and checking tokens is verified by the Auth pact itself.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use contract_tests::{SetUp, States, pact_dir, pact_file_name, port_of, verify};
use serde_json::Value;
use simulators::{Money, PaymentStatus, SimulatorOptions, Simulators, demo};

/// The consumer every outbound pact names.
const CONSUMER: &str = "order-service";

/// Sets up the outbound pacts' provider states on the simulators.
#[derive(Debug)]
struct SimulatorStates {
    sims: Arc<Simulators>,
}

#[async_trait]
impl SetUp for SimulatorStates {
    async fn set_up(
        &self,
        state: &str,
        client: &reqwest::Client,
    ) -> anyhow::Result<HashMap<String, Value>> {
        let sims = &self.sims;
        match state {
            // Fresh stock for every inventory interaction: a released order id stays closed.
            "prd_keyboard has stock" | "prd_webcam is out of stock" => {
                sims.inventory.reset_data();
                anyhow::ensure!(sims.inventory.stock(demo::OUT_OF_STOCK_PRODUCT) == Some(0));
            }
            "order ord_pact_1 holds a reservation" => {
                sims.inventory.reset_data();
                let body = serde_json::json!({
                    "orderId": "ord_pact_1",
                    "items": [{ "productId": demo::KEYBOARD, "quantity": 1 }],
                });
                let answer = client
                    .post(format!("{}/inventory/reserve", sims.inventory.url()))
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await?;
                anyhow::ensure!(
                    answer.status().is_success(),
                    "the reservation to release was not made: {}",
                    answer.status()
                );
            }
            "payment pay_pact_1 is captured" => sims.payment.seed(
                "pay_pact_1",
                "ord_pact_1",
                Money::eur(8999),
                PaymentStatus::Captured,
            ),
            // Demo data: usr_alice active, usr_carol suspended, prd_keyboard at 89.99 EUR;
            // no usr_nobody, prd_nothing or pay_nothing; the tokens' outcomes; the client.
            "user usr_alice is active"
            | "user usr_carol is suspended"
            | "no user usr_nobody exists"
            | "product prd_keyboard is active"
            | "no product prd_nothing exists"
            | "card tok_visa is captured"
            | "card tok_decline is declined"
            | "no payment pay_nothing exists"
            | "client order-service-pact is registered"
            | "" => {}
            other => anyhow::bail!("unknown provider state {other:?}"),
        }
        Ok(HashMap::new())
    }
}

fn simulators() -> (Arc<Simulators>, Arc<States<SimulatorStates>>) {
    let sims = Arc::new(
        Simulators::spawn_with(SimulatorOptions {
            client_id: "order-service-pact".into(),
            client_secret: "pact-test-secret".into(),
            ..SimulatorOptions::default()
        })
        .expect("simulators"),
    );
    let states = Arc::new(States(SimulatorStates { sims: sims.clone() }));
    (sims, states)
}

fn check(provider: &str, url: impl Fn(&Simulators) -> String) {
    let (sims, states) = simulators();
    verify(
        &pact_dir().join(pact_file_name(CONSUMER, provider)),
        port_of(&url(&sims)),
        HashMap::new(),
        &states,
    );
}

#[test]
fn the_user_simulator_honours_the_user_service_pact() {
    check("user-service", |s| s.user.url());
}

#[test]
fn the_product_simulator_honours_the_product_service_pact() {
    check("product-service", |s| s.product.url());
}

#[test]
fn the_inventory_simulator_honours_the_inventory_service_pact() {
    check("inventory-service", |s| s.inventory.url());
}

#[test]
fn the_payment_simulator_honours_the_payment_service_pact() {
    check("payment-service", |s| s.payment.url());
}

#[test]
fn the_auth_simulator_honours_the_auth_service_pact() {
    check("auth-service", |s| s.auth.url());
}
