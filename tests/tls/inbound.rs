//! Inbound TLS: `order-host up --tls-cert --tls-key` (Spin's flags and variables) and
//! `--tls-client-ca`, which requires a client certificate chained to that CA. A refused
//! handshake is logged with its reason and never reaches a component.

use std::time::Duration;

use integration_tests::pki::{ClientTls, Identity, TestCa};
use integration_tests::{Host, RedisServer, eventually, try_request};
use simulators::Simulators;

use crate::rig::{SCOPES, builder, create_order, keyboard_order};

/// The inbound side's PKI: the CA of the service's own certificate and the CA its clients'
/// certificates must chain to.
struct Inbound {
    dir: tempfile::TempDir,
    server_ca: TestCa,
    admin_client: Identity,
}

impl Inbound {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let server_ca = TestCa::new("edge CA");
        server_ca
            .server(&["127.0.0.1"])
            .write(dir.path(), "order-service");
        let clients_ca = TestCa::new("clients CA");
        clients_ca.write(dir.path(), "clients-ca.pem");
        let admin_client = clients_ca.client("admin-service");
        Self {
            dir,
            server_ca,
            admin_client,
        }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// A client trusting the service's CA and presenting `identity`.
    fn client(&self, identity: Option<&Identity>) -> ClientTls {
        ClientTls::new(&self.server_ca, identity)
    }
}

/// Simulators (plain HTTP: the outbound side is not under test here), Redis and a host serving
/// HTTPS that requires client certificates from the clients' CA; its own requests present the
/// admin client's certificate.
fn mtls_host(pki: &Inbound) -> (Simulators, RedisServer, Host) {
    let sims = Simulators::spawn().expect("simulators");
    let redis = RedisServer::start();
    let host = builder(&sims, &redis, None, &[])
        .https(
            &pki.path("order-service.pem"),
            &pki.path("order-service.key"),
            pki.client(Some(&pki.admin_client)),
        )
        .arg("--tls-client-ca")
        .arg(pki.path("clients-ca.pem").display().to_string())
        .start();
    assert!(host.base.starts_with("https://"), "{}", host.base);
    (sims, redis, host)
}

/// Sends a create-order request with `client`; the error if the connection failed.
fn order_with(host: &Host, client: &ClientTls) -> Result<u16, String> {
    let auth = format!("Bearer {}", host.token(SCOPES));
    let headers = [
        ("authorization", auth.as_str()),
        ("idempotency-key", "refused-1"),
        ("content-type", "application/json"),
    ];
    let url = format!("{}/api/v1/orders", host.base);
    try_request(
        Some(client),
        "POST",
        &url,
        &headers,
        Some(&keyboard_order()),
    )
    .map(|answer| answer.status)
    .map_err(|e| e.to_string())
}

/// Orders stored, read with the host's own (good) client.
fn order_count(host: &Host) -> usize {
    let auth = format!("Bearer {}", host.token(SCOPES));
    let page = host.get_with(
        "/api/v1/admin/orders?limit=100",
        &[("authorization", auth.as_str())],
    );
    assert_eq!(page.status, 200, "{page:?}");
    page.json()["orders"].as_array().map_or(0, Vec::len)
}

#[test]
fn with_a_client_ca_a_client_without_a_certificate_is_refused_and_reaches_no_component() {
    let pki = Inbound::new();
    let (sims, _redis, host) = mtls_host(&pki);

    let refused = order_with(&host, &pki.client(None));
    assert!(
        refused.is_err(),
        "answered without a client certificate: {refused:?}"
    );
    eventually(Duration::from_secs(5), "the refusal logged", || {
        host.stderr()
            .contains("refused: peer sent no certificates")
            .then_some(())
    });
    assert_eq!(sims.user.calls(), 0);
    assert_eq!(order_count(&host), 0);
}

#[test]
fn with_a_client_ca_a_certificate_from_another_ca_is_refused() {
    let pki = Inbound::new();
    let (sims, _redis, host) = mtls_host(&pki);
    let stranger = TestCa::new("stranger CA").client("admin-service");

    let refused = order_with(&host, &pki.client(Some(&stranger)));
    assert!(
        refused.is_err(),
        "answered a foreign certificate: {refused:?}"
    );
    eventually(Duration::from_secs(5), "the refusal logged", || {
        host.stderr()
            .contains("refused: invalid peer certificate: UnknownIssuer")
            .then_some(())
    });
    assert_eq!(sims.user.calls(), 0);
    assert_eq!(order_count(&host), 0);
}

#[test]
fn with_a_client_ca_a_client_with_a_good_certificate_gets_its_order() {
    let pki = Inbound::new();
    let (sims, _redis, host) = mtls_host(&pki);

    let answer = create_order(&host, "good-1");
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(answer.json()["status"], "confirmed");
    assert_eq!(sims.inventory.calls_to("POST /inventory/reserve"), 1);
    assert_eq!(order_count(&host), 1);
    assert!(
        !host.stderr().contains("TLS handshake"),
        "{}",
        host.stderr()
    );
}

#[test]
fn the_dev_token_flow_works_over_https_set_through_spin_tls_variables() {
    let pki = Inbound::new();
    let sims = Simulators::spawn().expect("simulators");
    let redis = RedisServer::start();
    // Spin's variables instead of the flags; no client CA, so no client certificate needed.
    let host = builder(&sims, &redis, None, &[])
        .env(
            "SPIN_TLS_CERT",
            pki.path("order-service.pem").display().to_string(),
        )
        .env(
            "SPIN_TLS_KEY",
            pki.path("order-service.key").display().to_string(),
        )
        .https_client(pki.client(None))
        .start();
    assert!(host.base.starts_with("https://"), "{}", host.base);

    // `order-host token` signs with the development key `up` trusts.
    let answer = create_order(&host, "dev-1");
    assert_eq!(answer.status, 201, "{answer:?}");
    let id = answer.json()["id"].as_str().expect("id").to_owned();
    let auth = format!("Bearer {}", host.token("orders:read"));
    let read = host.get_with(
        &format!("/api/v1/orders/{id}"),
        &[("authorization", auth.as_str())],
    );
    assert_eq!(read.status, 200, "{read:?}");
    let anonymous = host.get(&format!("/api/v1/orders/{id}"));
    assert_eq!(anonymous.status, 401, "{anonymous:?}");

    // Plain HTTP to the HTTPS port gets no answer from a component.
    let plain = host.base.replacen("https://", "http://", 1);
    assert!(try_request(None, "GET", &format!("{plain}/health/live"), &[], None).is_err());
}

#[test]
fn unusable_inbound_tls_files_stop_start_up_naming_the_flag() {
    let pki = Inbound::new();
    let sims = Simulators::spawn().expect("simulators");
    let redis = RedisServer::start();
    let (code, stderr) = builder(&sims, &redis, None, &[])
        .arg("--tls-cert")
        .arg(pki.path("order-service.pem").display().to_string())
        .arg("--tls-key")
        .arg(pki.path("missing.key").display().to_string())
        .expect_failure();
    assert_ne!(code, 0);
    assert!(stderr.contains("--tls-key: cannot load"), "{stderr}");
    assert!(stderr.contains("missing.key"), "{stderr}");
}
