//! Mutual TLS (issue 13), outbound: the runtime config's `[[client_tls]]` tables, applied by
//! `order-host` to the real components' `https://` calls, against simulators that serve HTTPS
//! with a test CA's certificate and require a client certificate. Certificates are made at
//! test time. Inbound TLS is in `tls/inbound.rs`.

use std::time::Duration;

use integration_tests::{RedisServer, eventually};
use rig::{Pki, builder, client_tls_table, create_order, https_simulators, readiness_of};

#[path = "tls/inbound.rs"]
mod inbound;
#[path = "tls/rig.rs"]
mod rig;

/// Variables that switch the outbound token off, so the first call an order makes is to User
/// and its failure lands on User's breaker.
const NO_SERVICE_TOKEN: (&str, &str) = ("auth_token_url", "");

#[test]
fn a_full_order_runs_through_all_four_dependencies_and_auth_over_mutual_tls() {
    let pki = Pki::new();
    let sims = https_simulators(&pki.dependency, Some(&pki.ca), true);
    assert!(sims.user.url().starts_with("https://127.0.0.1:"));
    let redis = RedisServer::start();
    let config = pki.runtime_config(&client_tls_table("order-api", "127.0.0.1", true));
    let host = builder(&sims, &redis, Some(&config), &[]).start();

    let answer = create_order(&host, "mtls-1");
    assert_eq!(answer.status, 201, "{answer:?}");
    let order = answer.json();
    assert_eq!(order["status"], "confirmed", "{order}");
    let id = order["id"].as_str().expect("id");
    // The calls were made by dependency-adapters, composed into order-api: order-api's table
    // applied to them.
    assert!(sims.auth.token_requests() >= 1);
    assert!(sims.user.calls() >= 1);
    assert!(sims.product.calls() >= 1);
    assert_eq!(sims.inventory.calls_to("POST /inventory/reserve"), 1);
    assert_eq!(sims.payment.charges_for(id), 1);
    for (name, refused) in [
        ("user", sims.user.tls_handshakes_refused()),
        ("product", sims.product.tls_handshakes_refused()),
        ("inventory", sims.inventory.tls_handshakes_refused()),
        ("payment", sims.payment.tls_handshakes_refused()),
        ("auth", sims.auth.tls_handshakes_refused()),
    ] {
        assert_eq!(refused, 0, "{name} refused a handshake");
    }
    // Every dependency call presented the bearer token the Auth simulator issued over mTLS.
    let bearer = sims
        .payment
        .last_request()
        .and_then(|r| r.bearer_token().map(str::to_owned));
    assert!(bearer.is_some(), "payment call without a token");
}

#[test]
fn a_dependency_requiring_a_client_certificate_refuses_a_host_without_one_and_the_breaker_counts_it()
 {
    let pki = Pki::new();
    let sims = https_simulators(&pki.dependency, Some(&pki.ca), false);
    let redis = RedisServer::start();
    // Trusts the dependency's CA, but has no client certificate to present.
    let config = pki.runtime_config(&client_tls_table("order-api", "127.0.0.1", false));
    let knobs = [
        NO_SERVICE_TOKEN,
        ("breaker_volume_threshold", "2"),
        ("breaker_reset_timeout_ms", "600000"),
    ];
    let host = builder(&sims, &redis, Some(&config), &knobs).start();

    for key in ["no-cert-1", "no-cert-2"] {
        let refused = create_order(&host, key);
        assert_eq!(refused.status, 503, "{refused:?}");
    }
    // Refused in the handshake: no request reached the User service, over TLS or plain HTTP.
    assert_eq!(sims.user.calls(), 0);
    assert_eq!(sims.user.tls_handshakes_refused(), 2);
    let user = readiness_of(&host, "user");
    assert_eq!(user["breakerState"], "open", "{user}");

    // Open: the next order is refused without a connection attempt.
    let refused = create_order(&host, "no-cert-3");
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(sims.user.tls_handshakes_refused(), 2);
    assert!(
        host.stderr()
            .contains("received fatal alert: CertificateRequired"),
        "{}",
        host.stderr()
    );
}

#[test]
fn a_server_certificate_from_an_unknown_ca_is_refused() {
    let pki = Pki::new();
    let rogue = integration_tests::pki::TestCa::new("rogue CA").server(&["127.0.0.1"]);
    let sims = https_simulators(&rogue, Some(&pki.ca), false);
    let redis = RedisServer::start();
    let config = pki.runtime_config(&client_tls_table("order-api", "127.0.0.1", true));
    let host = builder(&sims, &redis, Some(&config), &[NO_SERVICE_TOKEN]).start();

    let refused = create_order(&host, "rogue-1");
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(sims.user.calls(), 0);
    let log = eventually(Duration::from_secs(5), "the TLS failure logged", || {
        let log = host.stderr();
        log.contains("invalid peer certificate: UnknownIssuer")
            .then_some(log)
    });
    assert!(log.contains("\"component\":\"order-api\""), "{log}");
}

#[test]
fn a_client_tls_table_for_another_component_or_host_does_not_apply() {
    let pki = Pki::new();
    let sims = https_simulators(&pki.dependency, Some(&pki.ca), false);
    let redis = RedisServer::start();
    // Right material, wrong keys: another component, the composed component's own id (its
    // calls carry order-api's), and order-api for another host name of the same address.
    let config = pki.runtime_config(&format!(
        "{}{}{}",
        client_tls_table("payment-listener", "127.0.0.1", true),
        client_tls_table("dependency-adapters", "127.0.0.1", true),
        client_tls_table("order-api", "localhost", true),
    ));
    let host = builder(&sims, &redis, Some(&config), &[NO_SERVICE_TOKEN]).start();

    let refused = create_order(&host, "other-1");
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(sims.user.calls(), 0);
    // order-api got Spin's default (platform and webpki roots), which does not know the CA.
    let log = eventually(Duration::from_secs(5), "the TLS failure logged", || {
        let log = host.stderr();
        log.contains("invalid peer certificate: UnknownIssuer")
            .then_some(log)
    });
    assert!(
        log.contains("`dependency-adapters`, which runs composed into `order-api`"),
        "{log}"
    );
}

#[test]
fn an_unusable_client_tls_table_stops_start_up_naming_the_table_and_the_field() {
    let pki = Pki::new();
    let sims = simulators::Simulators::spawn().expect("simulators");
    let redis = RedisServer::start();
    let config = pki.runtime_config(
        "[[client_tls]]\ncomponent_ids = [\"order-api\"]\nhosts = [\"127.0.0.1\"]\n\
         [[client_tls]]\ncomponent_ids = [\"order-api\"]\nhosts = [\"127.0.0.1\"]\n\
         client_cert_file = \"order-service.pem\"\n",
    );
    let (code, stderr) = builder(&sims, &redis, Some(&config), &[]).expect_failure();
    assert_ne!(code, 0);
    assert!(
        stderr.contains(
            "[[client_tls]] entry 2, field `client_cert_file`: given without `client_private_key_file`"
        ),
        "{stderr}"
    );
}
