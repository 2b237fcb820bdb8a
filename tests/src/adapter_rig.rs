//! The adapter rig shared by `tests/adapters.rs`, the `bench_adapters` binary and the
//! contract tests: a manifest running the `adapter-driver` fixture with
//! `dependency-adapters` composed in, pointed at a set of simulators (or any services).

use std::path::Path;

use crate::{Host, HostBuilder, wasm};
use simulators::Simulators;

/// The variables the adapters read, with the spin.toml defaults.
const KNOBS: [(&str, &str); 12] = [
    ("call_timeout_ms", "3000"),
    ("breaker_error_threshold_percentage", "50"),
    ("breaker_volume_threshold", "20"),
    ("breaker_rolling_window_ms", "10000"),
    ("breaker_reset_timeout_ms", "30000"),
    ("breaker_half_open_max_probes", "1"),
    ("breaker_write_behind_ms", "100"),
    ("retry_max", "3"),
    ("retry_base_delay_ms", "300"),
    ("retry_budget_ms", "5000"),
    ("product_cache_ttl_s", "300"),
    ("user_fallback_max_age_s", "600"),
];

/// The driver fixture with `dependency-adapters` composed in, pointed at `sims`.
pub fn manifest(sims: &Simulators) -> String {
    manifest_with(sims.spin_variables())
}

/// The driver fixture with `dependency-adapters` composed in, with these service variables
/// (`user_service_url`, …, `auth_token_url`, `auth_service_url`, `client_id`,
/// `client_secret`) plus the resilience knobs at their spin.toml defaults.
pub fn manifest_with(services: impl IntoIterator<Item = (String, String)>) -> String {
    let mut variables: Vec<(String, String)> = services.into_iter().collect();
    variables.extend(KNOBS.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let declared: String = variables
        .iter()
        .map(|(k, v)| format!("{k} = {{ default = \"{v}\" }}\n"))
        .collect();
    let passed: String = variables
        .iter()
        .map(|(k, _)| format!("{k} = \"{{{{ {k} }}}}\"\n"))
        .collect();
    format!(
        r#"spin_manifest_version = 2
[application]
name = "adapters-test"

[variables]
{declared}
[[trigger.http]]
route = "/..."
component = "driver"

[component.driver]
source = "{driver}"
key_value_stores = ["default"]
allowed_outbound_hosts = ["{{{{ user_service_url }}}}", "{{{{ product_service_url }}}}", "{{{{ inventory_service_url }}}}", "{{{{ payment_service_url }}}}", "{{{{ auth_service_url }}}}"]
dependencies_inherit_configuration = true

[component.driver.dependencies]
"shop:adapters@0.1.1" = {{ component = "dependency-adapters" }}

[component.driver.variables]
{passed}
[component.dependency-adapters]
source = "{adapters}"
"#,
        driver = wasm("adapter_driver").display(),
        adapters = wasm("dependency_adapters").display(),
    )
}

/// A host for `manifest`. The simulators' URLs and credentials are also set as
/// `SPIN_VARIABLE_*`, which keeps `order-host up` from starting simulators of its own.
pub fn host_for(
    sims: &Simulators,
    manifest: &Path,
    knobs: &[(&str, &str)],
    runtime_config: Option<&Path>,
) -> Host {
    let mut builder = HostBuilder::new(manifest).simulators(sims);
    for (name, value) in knobs {
        builder = builder.variable(name, *value);
    }
    if let Some(file) = runtime_config {
        builder = builder
            .arg("--runtime-config")
            .arg(file.display().to_string());
    }
    builder.start()
}
