//! The TLS tests' rig: a test PKI written to a temporary directory, simulators serving HTTPS
//! (optionally requiring client certificates), a Redis, and hosts on the repository's
//! `spin.toml` with a runtime config holding `[[client_tls]]` tables.

use std::path::{Path, PathBuf};

pub(crate) use integration_tests::SCOPES;
use integration_tests::pki::{Identity, TestCa};
use integration_tests::rig::service_builder;
use integration_tests::{Answer, Host, HostBuilder, RedisServer};
use serde_json::json;
use simulators::{SimulatorOptions, Simulators, demo};

/// The services' CA and what it issued, as files in a temporary directory:
/// `services-ca.pem`, `dependency.pem/.key` (server certificate for 127.0.0.1) and
/// `order-service.pem/.key` (the order service's client certificate).
pub(crate) struct Pki {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) ca: TestCa,
    pub(crate) dependency: Identity,
}

impl Pki {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = TestCa::new("services CA");
        ca.write(dir.path(), "services-ca.pem");
        let dependency = ca.server(&["127.0.0.1"]);
        dependency.write(dir.path(), "dependency");
        ca.client("order-service")
            .write(dir.path(), "order-service");
        Self {
            dir,
            ca,
            dependency,
        }
    }

    /// Writes `runtime-config.toml` with `text` next to the PKI files and returns its path
    /// (so relative paths in it name those files).
    pub(crate) fn runtime_config(&self, text: &str) -> PathBuf {
        let path = self.dir.path().join("runtime-config.toml");
        std::fs::write(&path, text).expect("write runtime config");
        path
    }
}

/// A `[[client_tls]]` table for `component` and `host` that trusts the services' CA and, with
/// `client_cert`, presents the order service's certificate.
pub(crate) fn client_tls_table(component: &str, host: &str, client_cert: bool) -> String {
    let mut table = format!(
        "[[client_tls]]\ncomponent_ids = [\"{component}\"]\nhosts = [\"{host}\"]\n\
         ca_roots_file = \"services-ca.pem\"\n"
    );
    if client_cert {
        table.push_str(
            "client_cert_file = \"order-service.pem\"\nclient_private_key_file = \"order-service.key\"\n",
        );
    }
    table
}

/// All five simulators serving HTTPS with `server`, requiring a client certificate chained to
/// `client_ca` when given, with the bearer-token gate as `require_auth` says.
pub(crate) fn https_simulators(
    server: &Identity,
    client_ca: Option<&TestCa>,
    require_auth: bool,
) -> Simulators {
    Simulators::spawn_with(SimulatorOptions {
        tls: Some(server.simulator_tls(client_ca)),
        require_auth,
        ..SimulatorOptions::default()
    })
    .expect("simulators")
}

/// A host builder for the repository's manifest pointed at `sims` and `redis`, with the
/// runtime config at `runtime_config` if given.
pub(crate) fn builder(
    sims: &Simulators,
    redis: &RedisServer,
    runtime_config: Option<&Path>,
    knobs: &[(&str, &str)],
) -> HostBuilder {
    let mut builder = service_builder(sims, &redis.url());
    if let Some(path) = runtime_config {
        builder = builder
            .arg("--runtime-config")
            .arg(path.display().to_string());
    }
    for (name, value) in knobs {
        builder = builder.variable(name, *value);
    }
    builder
}

/// A create-order body: two keyboards for the active demo user, paid with `tok_visa`.
pub(crate) fn keyboard_order() -> String {
    json!({
        "userId": demo::ACTIVE_USER,
        "items": [{ "productId": demo::KEYBOARD, "quantity": 2 }],
        "paymentMethod": { "type": "card", "token": "tok_visa" }
    })
    .to_string()
}

/// `POST /api/v1/orders` with a token for [`SCOPES`] and an `Idempotency-Key`.
pub(crate) fn create_order(host: &Host, key: &str) -> Answer {
    host.create_order(&host.token(SCOPES), key, &keyboard_order(), &[])
}

/// The `/health/ready` entry of dependency `name`.
pub(crate) fn readiness_of(host: &Host, name: &str) -> serde_json::Value {
    let ready = host.get("/health/ready").json();
    ready["dependencies"]
        .as_array()
        .and_then(|all| all.iter().find(|d| d["name"] == name).cloned())
        .unwrap_or_else(|| panic!("no dependency {name} in {ready}"))
}
