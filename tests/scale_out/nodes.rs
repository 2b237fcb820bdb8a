//! Many nodes, one order book: three `order-host` processes on the
//! repository's `spin.toml`, one real `sqld` holding the `default` database (`type =
//! "libsql"`), one real `redis-server` for key-value (`type = "redis"`), the Redis trigger and
//! event delivery, one set of simulators. Every claim the app makes across instances —
//! idempotency keys, outbox leases, saga claims, the shared breaker, the payment inbox — is
//! raced here across processes, and a node is killed with SIGKILL mid-saga.

use std::time::Duration;

use integration_tests::{Answer, Cluster, ClusterBuilder, eventually, order_body};
use serde_json::{Value, json};
use simulators::{Fault, demo};

/// Nodes per cluster.
pub(crate) const NODES: usize = 3;
/// How long a test waits for something the nodes do in the background.
pub(crate) const WAIT: Duration = Duration::from_secs(30);

/// A cluster of [`NODES`] nodes on libSQL.
pub(crate) fn cluster() -> Cluster {
    ClusterBuilder::new(NODES).start()
}

/// Units of `product` left at Inventory.
pub(crate) fn stock(cluster: &Cluster, product: &str) -> u32 {
    cluster
        .sims
        .inventory
        .stock(product)
        .expect("known product")
}

/// The order's status history, read on the server.
pub(crate) fn history(cluster: &Cluster, id: &str) -> Vec<String> {
    cluster
        .query(
            "SELECT status FROM order_status_history WHERE order_id = ? ORDER BY seq",
            &[json!(id)],
        )
        .into_iter()
        .map(|row| row[0].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Outbox rows of `event_type` for order `id`.
pub(crate) fn outbox_rows(cluster: &Cluster, id: &str, event_type: &str) -> i64 {
    cluster.count(
        "SELECT COUNT(*) FROM outbox WHERE aggregate_id = ? AND event_type = ?",
        &[json!(id), json!(event_type)],
    )
}

/// The order's status as node `node` reads it.
pub(crate) fn status(cluster: &Cluster, node: usize, id: &str) -> Value {
    let answer = cluster.get(node, &format!("/api/v1/orders/{id}"));
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json()["status"].clone()
}

#[test]
fn the_same_idempotency_key_on_three_nodes_at_once_makes_one_order_and_one_charge() {
    let cluster = cluster();
    // A slow charge keeps the first request in flight while the others arrive.
    cluster
        .sims
        .payment
        .set_fault(Fault::Latency(Duration::from_millis(500)));
    let body = order_body(demo::ACTIVE_USER, &[(demo::KEYBOARD, 1)], "tok_visa");
    let answers: Vec<Answer> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..NODES)
            .map(|node| {
                let (cluster, body) = (&cluster, &body);
                scope.spawn(move || cluster.create(node, "k-multi-1", body))
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let created: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    assert!(!created.is_empty(), "{answers:?}");
    let id = created[0].json()["id"].as_str().expect("id").to_owned();
    for answer in &answers {
        match answer.status {
            201 => assert_eq!(answer.json()["id"], id.as_str(), "a replay: {answer:?}"),
            409 => {
                assert!(answer.body.contains("request-in-progress"), "{answer:?}");
                assert_eq!(answer.header("retry-after"), Some("1"), "{answer:?}");
            }
            _ => panic!("only 201 or 409 in progress: {answers:?}"),
        }
    }
    cluster.sims.payment.clear_fault();

    // Every node now replays the first answer.
    for node in 0..NODES {
        let replay = cluster.create(node, "k-multi-1", &body);
        assert_eq!(replay.status, 201, "node {node}: {replay:?}");
        assert_eq!(replay.json()["id"], id.as_str());
    }
    assert_eq!(cluster.count("SELECT COUNT(*) FROM orders", &[]), 1);
    assert_eq!(cluster.sims.payment.charges().len(), 1, "one charge");
    assert_eq!(
        cluster.sims.inventory.calls_to("POST /inventory/reserve"),
        1
    );
    assert_eq!(stock(&cluster, demo::KEYBOARD), 24);

    // Another body under the same key is refused on any node.
    let other = order_body(demo::ACTIVE_USER, &[(demo::MOUSE, 1)], "tok_visa");
    let refused = cluster.create(2, "k-multi-1", &other);
    assert_eq!(refused.status, 409, "{refused:?}");
    assert_eq!(cluster.sims.payment.charges().len(), 1);
}

#[test]
fn every_node_dispatching_the_outbox_at_once_delivers_each_event_exactly_once() {
    // A create whose saga write finds the shared database busy answers 503 with its order
    // stored; recovery finishes that saga (its retries answer 409 in progress meanwhile), so
    // recovery must come within the client's retries.
    let cluster = ClusterBuilder::new(NODES)
        .variable("saga_recovery_after_s", "2")
        .start();
    let sqld = cluster.sqld.as_ref().expect("libSQL");
    // A backlog written as a writer would (the shared outbox DDL, pending rows due now).
    let mut statements: Vec<(&str, Vec<Value>)> = events::OUTBOX_SCHEMA
        .iter()
        .map(|ddl| (*ddl, vec![]))
        .collect();
    statements.push(("BEGIN", vec![]));
    let ids: Vec<String> = (0..120).map(|n| format!("evt-backlog-{n:03}")).collect();
    let rows: Vec<(String, String)> = ids
        .iter()
        .map(|id| {
            let event = events::CloudEvent::builder(
                id.as_str(),
                "/order-service",
                events::types::ORDER_CREATED,
            )
            .time_ms(1_700_000_000_000)
            .subject(format!("ord-{id}"))
            .json_data(json!({ "id": format!("ord-{id}"), "status": "pending" }))
            .build()
            .expect("valid event");
            (id.clone(), event.to_json().to_string())
        })
        .collect();
    for (id, payload) in &rows {
        statements.push((
            "INSERT INTO outbox (event_id, aggregate_id, event_type, payload, status,
                                 attempts, next_attempt_at, created_at)
             VALUES (?, ?, 'order.created.v1', ?, 'pending', 0, 0, 0)",
            vec![json!(id), json!(format!("ord-{id}")), json!(payload)],
        ));
    }
    statements.push(("COMMIT", vec![]));
    sqld.pipeline(&statements);

    // Orders on every node add their own events (relayed after each response as well) while
    // every node runs relay passes of 20 rows, two callers per node.
    std::thread::scope(|scope| {
        for node in 0..NODES {
            let cluster = &cluster;
            scope.spawn(move || {
                for n in 0..3 {
                    let body = order_body(demo::OTHER_ACTIVE_USER, &[(demo::CABLE, 1)], "tok_visa");
                    // The relays contend for the shared database: a create may be told
                    // 503 storage-busy, and is retried as the contract asks.
                    let created =
                        cluster.create_as_client(node, &format!("k-relay-{node}-{n}"), &body);
                    assert_eq!(created.status, 201, "{created:?}");
                }
            });
            for _ in 0..2 {
                scope.spawn(move || {
                    for _ in 0..8 {
                        let answer = cluster.post(node, "/api/v1/admin/outbox/dispatch?max=20", "");
                        assert_eq!(answer.status, 200, "node {node}: {answer:?}");
                    }
                });
            }
        }
    });
    // Whatever is left (the relays after the last responses) goes out on the next passes.
    eventually(WAIT, "every outbox row delivered", || {
        let pending = cluster.count(
            "SELECT COUNT(*) FROM outbox WHERE status <> 'delivered'",
            &[],
        );
        if pending > 0 {
            let _ = cluster.post(0, "/api/v1/admin/outbox/dispatch", "");
        }
        (pending == 0).then_some(())
    });

    let rows = cluster.count("SELECT COUNT(*) FROM outbox", &[]);
    assert_eq!(
        rows,
        120 + 3 * NODES as i64 * 2,
        "backlog + created/confirmed per order"
    );
    let stream = cluster.stream_events();
    let mut stream_ids: Vec<&str> = stream.iter().map(|(_, id, _)| id.as_str()).collect();
    stream_ids.sort_unstable();
    let before = stream_ids.len();
    stream_ids.dedup();
    assert_eq!(
        before,
        stream_ids.len(),
        "no CloudEvent id twice in orders.events"
    );
    let mut outbox_ids: Vec<String> = cluster
        .query("SELECT event_id FROM outbox", &[])
        .into_iter()
        .map(|row| row[0].as_str().unwrap_or_default().to_owned())
        .collect();
    outbox_ids.sort_unstable();
    assert_eq!(
        stream_ids, outbox_ids,
        "every row in the stream, nothing else"
    );
    for id in &ids {
        assert!(stream_ids.contains(&id.as_str()), "{id} delivered");
    }
}

#[test]
fn a_breaker_opened_through_one_node_fast_fails_on_the_others() {
    let cluster = ClusterBuilder::new(NODES)
        .variable("breaker_volume_threshold", "3")
        .variable("breaker_reset_timeout_ms", "60000")
        .start();
    cluster.sims.inventory.set_fault(Fault::Status(503));
    let body = order_body(demo::ACTIVE_USER, &[(demo::MOUSE, 1)], "tok_visa");
    let tripped = cluster.create(0, "k-breaker-0", &body);
    assert_eq!(tripped.status, 503, "{tripped:?}");
    let calls = cluster.sims.inventory.calls();
    assert_eq!(calls, 3, "three failed attempts open the breaker");

    for node in [1, 2] {
        let refused = cluster.create(node, &format!("k-breaker-{node}"), &body);
        assert_eq!(refused.status, 503, "node {node}: {refused:?}");
        let ready = cluster.node(node).get("/health/ready");
        let inventory = ready.json()["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .find(|d| d["name"] == "inventory")
            .cloned()
            .expect("inventory listed");
        assert_eq!(inventory["breakerState"], "open", "node {node}: {ready:?}");
    }
    assert_eq!(
        cluster.sims.inventory.calls(),
        calls,
        "the other nodes sent Inventory nothing"
    );
    assert!(cluster.sims.payment.charges().is_empty(), "nothing charged");
    assert_eq!(
        cluster.count(
            "SELECT COUNT(*) FROM orders WHERE status = 'confirmed'",
            &[]
        ),
        0
    );
}

#[test]
fn a_payment_notification_published_once_reaches_every_node_and_is_applied_once() {
    let cluster = cluster();
    let created = cluster.create(
        1,
        "k-pending",
        &order_body(demo::ACTIVE_USER, &[(demo::CABLE, 1)], "tok_pending"),
    );
    assert_eq!(created.status, 202, "{created:?}");
    let order = created.json();
    let id = order["id"].as_str().expect("id").to_owned();
    let payment_id = order["paymentId"].as_str().expect("paymentId").to_owned();
    let event = json!({
        "specversion": "1.0",
        "id": "pay-evt-multi-1",
        "source": "/payment",
        "type": "payment.captured.v1",
        "time": "2026-11-30T12:00:00.000Z",
        "datacontenttype": "application/json",
        "data": { "orderId": id, "paymentId": payment_id },
    })
    .to_string();

    // Each node subscribed before it served, so one PUBLISH reaches all three.
    let mut redis = cluster.redis.connection().expect("redis");
    let receivers: i64 = redis::cmd("PUBLISH")
        .arg("payments.events")
        .arg(&event)
        .query(&mut redis)
        .expect("PUBLISH");
    assert_eq!(
        receivers, NODES as i64,
        "every node's trigger is subscribed"
    );

    let outcomes: Vec<String> = (0..NODES)
        .map(|node| {
            eventually(
                WAIT,
                &format!("node {node} handling the notification"),
                || {
                    cluster
                        .log_events(node, "payment_notification")
                        .into_iter()
                        .find(|line| line["id"] == "pay-evt-multi-1")
                        .map(|line| line["outcome"].as_str().unwrap_or_default().to_owned())
                },
            )
        })
        .collect();
    let applied = outcomes.iter().filter(|o| o.starts_with("Applied")).count();
    let duplicates = outcomes.iter().filter(|o| *o == "Duplicate").count();
    assert_eq!((applied, duplicates), (1, NODES - 1), "{outcomes:?}");

    for node in 0..NODES {
        assert_eq!(status(&cluster, node, &id), "confirmed");
    }
    assert_eq!(
        history(&cluster, &id),
        ["pending", "payment_pending", "confirmed"]
    );
    assert_eq!(outbox_rows(&cluster, &id, "order.confirmed.v1"), 1);
    assert_eq!(
        cluster.count(
            "SELECT COUNT(*) FROM payment_inbox WHERE event_id = 'pay-evt-multi-1' AND status = 'applied'",
            &[]
        ),
        1
    );
}

#[test]
fn an_order_written_on_one_node_is_read_listed_and_cancelled_through_another() {
    let cluster = cluster();
    let created = cluster.create(
        0,
        "k-cross",
        &order_body(demo::OTHER_ACTIVE_USER, &[(demo::KEYBOARD, 2)], "tok_visa"),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let order = created.json();
    let id = order["id"].as_str().expect("id").to_owned();

    let read = cluster.get(1, &format!("/api/v1/orders/{id}"));
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(read.json()["total"], order["total"]);
    assert_eq!(read.json()["items"], order["items"]);

    let listed = cluster.get(
        2,
        &format!("/api/v1/users/{}/orders", demo::OTHER_ACTIVE_USER),
    );
    assert_eq!(listed.status, 200, "{listed:?}");
    let listed_ids: Vec<Value> = listed.json()["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| o["id"].clone())
        .collect();
    assert_eq!(listed_ids, [json!(id)]);

    let cancelled = cluster.post(1, &format!("/api/v1/admin/orders/{id}/cancel"), "");
    assert_eq!(cancelled.status, 200, "{cancelled:?}");
    assert_eq!(cancelled.json()["status"], "refunded");
    assert_eq!(cluster.sims.payment.refunds(), 1);
    assert_eq!(stock(&cluster, demo::KEYBOARD), 25);

    // Node 0, which wrote the order, reads the cancellation; a second cancel elsewhere is refused.
    assert_eq!(status(&cluster, 0, &id), "refunded");
    let again = cluster.post(2, &format!("/api/v1/admin/orders/{id}/cancel"), "");
    assert_eq!(again.status, 409, "{again:?}");
    assert_eq!(cluster.sims.payment.refunds(), 1);
}
