//! Nodes and servers going away: a node SIGKILLed after its charge or before
//! it, its saga finished or compensated once by the others' recovery; sqld down and back.

use std::time::Duration;

use integration_tests::{Cluster, ClusterBuilder, eventually, order_body};
use simulators::{Fault, demo};

use crate::nodes::{NODES, WAIT, cluster, history, outbox_rows, status, stock};

/// Sends `POST /api/v1/orders` to node `node` on a thread of its own, with a client that
/// tolerates the node dying (the answer, if any, is dropped).
fn create_in_background(
    cluster: &Cluster,
    node: usize,
    key: &str,
    body: String,
) -> std::thread::JoinHandle<()> {
    let url = format!("{}/api/v1/orders", cluster.node(node).base);
    let auth = cluster.auth();
    let key = key.to_owned();
    std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let _ = agent
            .post(&url)
            .header("authorization", &auth)
            .header("idempotency-key", &key)
            .header("content-type", "application/json")
            .send(body.as_str());
    })
}

/// `POST /api/v1/admin/orders/recover` on every surviving node at once, until `done`.
fn recover_on_all_until(cluster: &Cluster, nodes: &[usize], what: &str, done: impl Fn() -> bool) {
    eventually(WAIT, what, || {
        std::thread::scope(|scope| {
            for &node in nodes {
                scope.spawn(move || {
                    let answer = cluster.post(node, "/api/v1/admin/orders/recover", "");
                    assert_eq!(answer.status, 200, "node {node}: {answer:?}");
                });
            }
        });
        done().then_some(())
    });
}

#[test]
fn a_node_killed_after_the_charge_is_finished_by_another_nodes_recovery_exactly_once() {
    let mut cluster = ClusterBuilder::new(NODES)
        .variable("saga_recovery_after_s", "1")
        .start();
    // Payment charges at once and holds the answer: node 0 dies knowing nothing of it.
    cluster
        .sims
        .payment
        .set_fault(Fault::SlowAnswer(Duration::from_secs(30)));
    let body = order_body(demo::ACTIVE_USER, &[(demo::KEYBOARD, 1)], "tok_visa");
    let request = create_in_background(&cluster, 0, "k-kill-after", body.clone());
    let charge = eventually(WAIT, "the charge", || {
        cluster.sims.payment.charges().into_iter().next()
    });
    cluster.kill(0);
    let _ = request.join();
    let id = charge.order_id.clone();
    assert_eq!(
        history(&cluster, &id),
        ["pending"],
        "node 0 died before confirming"
    );
    cluster.sims.payment.clear_fault();

    recover_on_all_until(&cluster, &[1, 2], "the order confirmed by recovery", || {
        history(&cluster, &id).last().map(String::as_str) == Some("confirmed")
    });
    assert_eq!(status(&cluster, 1, &id), "confirmed");
    assert_eq!(status(&cluster, 2, &id), "confirmed");
    assert_eq!(
        history(&cluster, &id),
        ["pending", "confirmed"],
        "confirmed once"
    );
    assert_eq!(
        cluster.sims.payment.charges_for(&id),
        1,
        "exactly one charge"
    );
    assert_eq!(cluster.sims.payment.refunds(), 0);
    assert_eq!(
        cluster.sims.inventory.calls_to("POST /inventory/reserve"),
        1
    );
    assert_eq!(
        cluster.sims.inventory.calls_to("POST /inventory/release"),
        0
    );
    assert_eq!(stock(&cluster, demo::KEYBOARD), 24);
    assert_eq!(outbox_rows(&cluster, &id, "order.confirmed.v1"), 1);

    // The client's retry with the same key, on a surviving node, gets the recovered order.
    let retry = cluster.create(2, "k-kill-after", &body);
    assert_eq!(retry.status, 201, "{retry:?}");
    assert_eq!(retry.json()["id"], id.as_str());
    assert_eq!(cluster.sims.payment.charges().len(), 1);
}

#[test]
fn a_node_killed_before_the_charge_is_compensated_once_by_another_node() {
    let mut cluster = ClusterBuilder::new(NODES)
        .variable("saga_recovery_after_s", "1")
        .start();
    // Inventory reserves at once and holds the answer: node 0 dies before it charges.
    cluster
        .sims
        .inventory
        .set_fault(Fault::SlowAnswer(Duration::from_secs(30)));
    let body = order_body(demo::ACTIVE_USER, &[(demo::MONITOR, 2)], "tok_visa");
    let before = stock(&cluster, demo::MONITOR);
    let request = create_in_background(&cluster, 0, "k-kill-before", body);
    let reservation = eventually(WAIT, "the reservation", || {
        cluster.sims.inventory.reservations().into_iter().next()
    });
    cluster.kill(0);
    let _ = request.join();
    let id = reservation.order_id.clone();
    assert_eq!(stock(&cluster, demo::MONITOR), before - 2, "stock held");
    cluster.sims.inventory.clear_fault();

    recover_on_all_until(
        &cluster,
        &[1, 2],
        "the order compensated by recovery",
        || history(&cluster, &id).last().map(String::as_str) == Some("cancelled"),
    );
    assert_eq!(status(&cluster, 2, &id), "cancelled");
    assert_eq!(
        history(&cluster, &id),
        ["pending", "cancelled"],
        "cancelled once"
    );
    assert_eq!(stock(&cluster, demo::MONITOR), before, "stock back");
    assert_eq!(
        cluster.sims.inventory.calls_to("POST /inventory/release"),
        1,
        "released once"
    );
    assert!(cluster.sims.payment.charges().is_empty(), "never charged");
    assert_eq!(outbox_rows(&cluster, &id, "order.cancelled.v1"), 1);
}

/// A libSQL server that is down (or restarting) is a transient condition like a locked file:
/// 503 with `Retry-After`, and the client's retry with the same key makes the order once it is
/// back. (It was a 500 `storage-failure`, which clients do not retry.)
#[test]
fn an_unreachable_libsql_server_is_a_503_to_retry_and_the_retry_makes_the_order() {
    let mut cluster = cluster();
    let body = order_body(demo::ACTIVE_USER, &[(demo::CABLE, 1)], "tok_visa");
    cluster.sqld.as_mut().expect("libSQL").kill();
    for node in 0..NODES {
        let refused = cluster.create(node, "k-sqld-down", &body);
        assert_eq!(refused.status, 503, "node {node}: {refused:?}");
        assert!(refused.body.contains("storage-busy"), "{refused:?}");
        assert_eq!(refused.header("retry-after"), Some("1"), "{refused:?}");
        assert!(
            !refused.body.contains("Hrana"),
            "no driver text: {refused:?}"
        );
    }
    assert!(cluster.sims.payment.charges().is_empty());

    cluster.sqld.as_mut().expect("libSQL").restart();
    let created = cluster.create(1, "k-sqld-down", &body);
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(cluster.sims.payment.charges().len(), 1);
    assert_eq!(cluster.count("SELECT COUNT(*) FROM orders", &[]), 1);
}
