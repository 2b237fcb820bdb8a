//! Storage: the SQLite connections an instance keeps, the inserts its concurrent requests
//! combine, and the checkpoints that copy orders into the database file, seen through
//! `order-host`'s operation counts and the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use integration_tests::{Rig, at_once, eventually, order_body};
use simulators::demo;

/// `sqliteOpens` in the counts file `order-host` rewrites every 50 ms
/// (`ORDER_HOST_OP_COUNTS_FILE`), once it has settled: the work after the last response
/// (relay, metrics) has run when two reads 300 ms apart agree (at most 10 s).
fn sqlite_opens(counts_file: &Path) -> u64 {
    let read = || {
        let text = std::fs::read_to_string(counts_file).expect("counts file");
        let counts: serde_json::Value = serde_json::from_str(&text).expect("counts JSON");
        counts["sqliteOpens"].as_u64().expect("sqliteOpens")
    };
    let mut last = read();
    for _ in 0..33 {
        std::thread::sleep(Duration::from_millis(300));
        let now = read();
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

#[test]
fn a_reused_instance_keeps_its_sqlite_connections_and_a_new_instance_opens_its_own() {
    const ORDERS: u64 = 10;
    for (reuse, reused) in [("128", true), ("1", false)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let counts_file = dir.path().join("op-counts.json");
        let rig = Rig::builder()
            .env(
                "ORDER_HOST_OP_COUNTS_FILE",
                &counts_file.display().to_string(),
            )
            .args(&["--max-instance-reuse-count", reuse])
            .start();
        let warm_up = rig.create(
            "warm-up",
            &order_body(demo::ACTIVE_USER, &[(demo::MOUSE, 1)], "tok_visa"),
        );
        assert_eq!(warm_up.status, 201, "{warm_up:?}");
        let before = sqlite_opens(&counts_file);
        for n in 0..ORDERS {
            let answer = rig.create(
                &format!("k-{n}"),
                &order_body(demo::ACTIVE_USER, &[(demo::MOUSE, 1)], "tok_visa"),
            );
            assert_eq!(answer.status, 201, "{answer:?}");
        }
        let opened = sqlite_opens(&counts_file) - before;
        if reused {
            // The create and its relay pass each take a connection the instance kept.
            assert!(
                opened < ORDERS,
                "{opened} connections opened for {ORDERS} orders in a reused instance"
            );
        } else {
            // Nothing outlives an instance: each order's instance opens its own.
            assert!(
                opened >= ORDERS,
                "{opened} connections opened for {ORDERS} orders, one instance each"
            );
        }
    }
}

/// Concurrent creates in one instance combine their saga writes (group commit; that they do is
/// `tests/observability`' `concurrent_orders_insert_their_rows_in_combined_statements`), and
/// yet each request gets its own outcome. Pairs of identical requests with one
/// `Idempotency-Key` race in among them; when both rows of a pair land in one combined
/// insert, the second's trigger refuses the key and the combined statement rolls back whole,
/// so the rows are inserted again one by one — and still each key makes exactly one order and
/// one charge, and every order is confirmed.
#[test]
fn concurrent_creates_each_get_their_own_outcome() {
    const CLIENTS: usize = 48;
    const PAIRS: usize = 4;
    let rig = Rig::builder().start();
    let body = order_body(demo::ACTIVE_USER, &[(demo::MOUSE, 1)], "tok_visa");
    let warm_up = rig.create("warm-up", &body);
    assert_eq!(warm_up.status, 201, "{warm_up:?}");

    let next = AtomicUsize::new(0);
    let answers = at_once(CLIENTS, || {
        let n = next.fetch_add(1, Ordering::Relaxed);
        // Clients 0 and 1 share a key, 2 and 3 another, … for the first PAIRS pairs.
        let key = if n < 2 * PAIRS {
            format!("pair-{}", n / 2)
        } else {
            format!("solo-{n}")
        };
        (key.clone(), rig.create(&key, &body))
    });

    let mut orders: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (key, answer) in &answers {
        match answer.status {
            201 => {
                let id = answer.json()["id"].as_str().expect("id").to_owned();
                orders.entry(key.clone()).or_default().insert(id);
            }
            // The twin of a request still in flight.
            409 => assert!(key.starts_with("pair-"), "{key}: {answer:?}"),
            _ => panic!("{key}: {answer:?}"),
        }
    }
    let keys = CLIENTS - PAIRS;
    assert_eq!(orders.len(), keys, "every key made an order: {orders:?}");
    for (key, ids) in &orders {
        assert_eq!(ids.len(), 1, "{key} made one order: {ids:?}");
        let id = ids.first().expect("one id");
        let order = rig.get(&format!("/api/v1/orders/{id}"));
        assert_eq!(order.status, 200, "{order:?}");
        assert_eq!(order.json()["status"], "confirmed", "{key}: {order:?}");
    }
    // The warm-up's charge and one per key.
    assert_eq!(rig.sims.payment.charges().len(), 1 + keys);
}

/// Orders among `ids` found in the order database's main file alone (copied without its
/// write-ahead log, so only what a checkpoint copied back counts).
fn orders_in_main_file(state_dir: &Path, ids: &[String]) -> usize {
    let copy = tempfile::tempdir().expect("tempdir");
    let path = copy.path().join("main-only.db");
    std::fs::copy(state_dir.join("sqlite_db.db"), &path).expect("copy the main file");
    let Ok(db) = rusqlite::Connection::open(&path) else {
        return 0;
    };
    ids.iter()
        .filter(|id| {
            db.query_row("SELECT 1 FROM orders WHERE id = ?", [id.as_str()], |_| {
                Ok(())
            })
            .is_ok()
        })
        .count()
}

#[test]
fn orders_are_checkpointed_into_the_database_file_after_their_responses() {
    // The relay task checkpoints after each pass that took rows (every order's events are
    // carried by one), after the responses: orders reach the main
    // file long before the log is 4,000 pages long (`wal_autocheckpoint`, at which a request's
    // own commit would copy it back). Instances are kept for a minute when idle, so no
    // instance retirement (its last connection closing checkpoints too) can do it instead.
    let rig = Rig::builder()
        .args(&["--idle-instance-timeout-ms", "60000"])
        .start();
    let ids: Vec<String> = (0..5)
        .map(|n| {
            let answer = rig.create(
                &format!("ckpt-{n}"),
                &order_body(demo::ACTIVE_USER, &[(demo::MOUSE, 1)], "tok_visa"),
            );
            assert_eq!(answer.status, 201, "{answer:?}");
            answer.json()["id"].as_str().expect("order id").to_owned()
        })
        .collect();
    eventually(
        Duration::from_secs(5),
        "every order in the database file itself",
        || (orders_in_main_file(&rig.host.state_dir, &ids) == ids.len()).then_some(()),
    );
}

/// An order's lines and status history live in its own row (migration 8, issue 10): no
/// table of their own, whose B-trees each cost every order write a log page, and the
/// `order_lines` / `order_status_history` names still answer as views of the rows.
#[test]
fn an_orders_lines_and_history_live_in_its_row_and_read_as_before() {
    let rig = Rig::builder().start();
    let answer = rig.create(
        "lines-in-row",
        &order_body(
            demo::ACTIVE_USER,
            &[(demo::CABLE, 1), (demo::MOUSE, 2)],
            "tok_visa",
        ),
    );
    assert_eq!(answer.status, 201, "{answer:?}");
    let id = answer.json()["id"].as_str().expect("order id").to_owned();
    let db = rusqlite::Connection::open(rig.db_path()).expect("open the order database");
    let kinds: Vec<(String, String)> = db
        .prepare(
            "SELECT name, type FROM sqlite_master
             WHERE name IN ('order_lines', 'order_status_history') ORDER BY name",
        )
        .and_then(|mut statement| {
            statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()
        })
        .expect("read the schema");
    assert_eq!(
        kinds,
        [
            ("order_lines".to_owned(), "view".to_owned()),
            ("order_status_history".to_owned(), "view".to_owned())
        ]
    );
    let (lines, history): (i64, i64) = db
        .query_row(
            "SELECT json_array_length(lines), json_array_length(history) FROM orders WHERE id = ?",
            [id.as_str()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("read the order row");
    assert_eq!(lines, 2);
    let statuses: Vec<String> = db
        .prepare("SELECT status FROM order_status_history WHERE order_id = ? ORDER BY seq")
        .and_then(|mut statement| {
            statement
                .query_map([id.as_str()], |row| row.get(0))?
                .collect::<Result<_, _>>()
        })
        .expect("read the history view");
    assert_eq!(statuses.len() as i64, history);
    assert_eq!(
        (
            statuses.first().map(String::as_str),
            statuses.last().map(String::as_str)
        ),
        (Some("pending"), Some("confirmed"))
    );
    let products: i64 = db
        .query_row(
            "SELECT COUNT(DISTINCT product_id) FROM order_lines WHERE order_id = ?",
            [id.as_str()],
            |row| row.get(0),
        )
        .expect("read the lines view");
    assert_eq!(products, 2);
}
