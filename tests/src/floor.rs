//! The create-order floor (issue 10): the `probe` fixture's `POST /floor`
//! (`tests/fixtures/probe/src/floor.rs`), served as `probe-floor` by the fixtures' manifest,
//! does the least host work a created order can take under the service's rules. `bench --only POST` runs it
//! beside create-order; `tests/host.rs` checks that it really does that work.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// The request path of the floor against `sims`: the buyer's resource on the User stand-in
/// (the demo's active user) and the Inventory and Payment stand-ins' base URLs, in the query.
pub fn path(sims: &simulators::Simulators) -> String {
    let encode = |url: String| utf8_percent_encode(&url, NON_ALPHANUMERIC).to_string();
    let user = format!(
        "{}/users/{}",
        sims.user.url(),
        simulators::demo::ACTIVE_USER
    );
    format!(
        "/probe-floor/floor?user={}&inventory={}&payment={}",
        encode(user),
        encode(sims.inventory.url()),
        encode(sims.payment.url())
    )
}
