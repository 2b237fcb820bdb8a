//! The built-in dependency simulators of `order-host up` (ARCHITECTURE §10): started when
//! no dependency URL is configured, so the app works out of the box, and pointed at through
//! variable overrides. They live as long as the value `start` returns.

use std::collections::HashMap;

use ::simulators::{SimulatorOptions, Simulators};
use anyhow::{Context, Result};

/// Setting any of these means the user brings their own dependencies.
const DEPENDENCY_URL_VARIABLES: [&str; 5] = [
    "SPIN_VARIABLE_USER_SERVICE_URL",
    "SPIN_VARIABLE_PRODUCT_SERVICE_URL",
    "SPIN_VARIABLE_INVENTORY_SERVICE_URL",
    "SPIN_VARIABLE_PAYMENT_SERVICE_URL",
    "SPIN_VARIABLE_AUTH_TOKEN_URL",
];

/// Starts the simulators unless `disabled` or a dependency URL variable is set. Client
/// credentials set through `SPIN_VARIABLE_CLIENT_ID` / `_CLIENT_SECRET` are the ones the
/// auth simulator accepts.
pub(crate) fn start(disabled: bool) -> Result<Option<Simulators>> {
    if disabled
        || DEPENDENCY_URL_VARIABLES
            .iter()
            .any(|name| std::env::var_os(name).is_some())
    {
        return Ok(None);
    }
    let mut options = SimulatorOptions::default();
    if let Ok(id) = std::env::var("SPIN_VARIABLE_CLIENT_ID") {
        options.client_id = id;
    }
    if let Ok(secret) = std::env::var("SPIN_VARIABLE_CLIENT_SECRET") {
        options.client_secret = secret;
    }
    let sims =
        Simulators::spawn_with(options).context("starting the built-in dependency simulators")?;
    Ok(Some(sims))
}

/// The variable overrides that point the app at the simulators (none without them).
pub(crate) fn variable_overrides(sims: Option<&Simulators>) -> HashMap<String, String> {
    sims.map(|s| s.spin_variables().into_iter().collect())
        .unwrap_or_default()
}

/// One line per simulator, e.g. `Simulator user: http://127.0.0.1:41234`.
pub(crate) fn print(sims: Option<&Simulators>) {
    for (name, url) in sims.iter().flat_map(|s| s.urls()) {
        println!("Simulator {name}: {url}");
    }
}
