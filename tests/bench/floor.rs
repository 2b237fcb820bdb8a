//! The create-order floor (issue 10): the `probe` fixture's `POST /floor` (see
//! `tests/fixtures/probe/src/floor.rs`) does the least host work a created order can take under
//! the service's rules — the inbound request, the three stand-in calls (user, reserve, charge,
//! their answers checked) and three single-statement SQLite writes on a kept connection (the
//! order with its idempotency key and event row, the reservation recorded, the confirmation
//! with its event row), each committed before the next call — on its own `order-host` process
//! (the fixtures' manifest, the setup's flags), against the same stand-ins, with the same
//! body and load as the create-order run. Create-order's throughput over the floor's, measured
//! in one run, is how much of this host's ceiling for the saga the app reaches.

use std::sync::Arc;

use integration_tests::{Host, HostBuilder, workspace_root};

use super::Target;

/// What the floor target is called in the tables.
pub(crate) const LABEL: &str =
    "create-order floor (probe: user, insert, reserve, update, charge, update)";

/// Starts the fixtures' host with `flags`, and the floor target against `sims` with `body`.
pub(crate) fn start(flags: &[&str], sims: &simulators::Simulators, body: &str) -> (Host, Target) {
    let host = flags
        .iter()
        .fold(
            HostBuilder::new(workspace_root().join("tests/fixtures/spin.toml")),
            |builder, flag| builder.arg(*flag),
        )
        .start();
    let path = integration_tests::floor::path(sims);
    let target = Target {
        label: LABEL,
        path,
        authorization: None,
        body: Some(Arc::from(body)),
    };
    (host, target)
}
