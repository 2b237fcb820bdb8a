//! One node on libSQL: the repository's `spin.toml` on `order-host` with a runtime config
//! putting the `default` SQLite database on a real `sqld` (libsql-server) on loopback, read as
//! Spin 4.1 reads `type = "libsql"`. Orders, idempotency keys and the outbox live on the
//! server; transactions span several `execute` calls on one server stream. Real simulators and
//! a real `redis-server` for events, as in the orders suite.

use std::path::Path;
use std::time::Duration;

use integration_tests::{
    Answer, HostBuilder, Rig, SqldServer, assert_one_winner, at_once, eventually, order_body,
    workspace_root, write_runtime_config,
};
use serde_json::{Value, json};
use simulators::{Fault, demo};

/// A rig whose `default` database is on its own `sqld`; the runtime config is written in
/// `config_dir`.
fn libsql_rig(sqld: &SqldServer, config_dir: &Path) -> Rig {
    let config = write_runtime_config(config_dir, &sqld.runtime_config("default"));
    Rig::builder().runtime_config(&config).start()
}

/// Runs `sql` on the server directly (Hrana over HTTP); the first column of each row, as text.
fn query_sqld(sqld: &SqldServer, sql: &str) -> Vec<String> {
    sqld.query_texts(sql, &[])
}

/// `(type, id)` of every entry in the `orders.events` stream.
fn stream_events(rig: &Rig) -> Vec<(String, String)> {
    rig.redis
        .stream_events()
        .into_iter()
        .map(|(_, id, kind)| (kind, id))
        .collect()
}

#[test]
fn an_order_on_libsql_is_created_read_cancelled_and_its_events_reach_redis() {
    let sqld = SqldServer::start();
    let config_dir = tempfile::tempdir().expect("tempdir");
    let rig = libsql_rig(&sqld, config_dir.path());

    let created = rig.create(
        "k-libsql-1",
        &order_body(demo::ACTIVE_USER, &[(demo::KEYBOARD, 2)], "tok_visa"),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let order = created.json();
    let id = order["id"].as_str().expect("id").to_owned();
    assert_eq!(order["status"], "confirmed");
    assert_eq!(rig.sims.payment.charges_for(&id), 1);

    let read = rig.get(&format!("/api/v1/orders/{id}"));
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(read.json()["total"], order["total"]);

    let cancelled = rig.post(&format!("/api/v1/admin/orders/{id}/cancel"), "");
    assert_eq!(cancelled.status, 200, "{cancelled:?}");
    assert_eq!(cancelled.json()["status"], "refunded");
    assert_eq!(rig.sims.payment.refunds(), 1);
    assert_eq!(rig.sims.inventory.stock(demo::KEYBOARD), Some(25));

    // The order lives on the server, not in a local file.
    assert_eq!(
        query_sqld(
            &sqld,
            &format!("SELECT status FROM orders WHERE id = '{id}'")
        ),
        ["refunded"]
    );
    assert!(
        !rig.host.state_dir.join("sqlite_db.db").exists(),
        "no local SQLite file for `default`"
    );

    let events = eventually(Duration::from_secs(15), "the order's events", || {
        let events = stream_events(&rig);
        let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
        (types.contains(&"order.created.v1")
            && types.contains(&"order.confirmed.v1")
            && (types.contains(&"order.cancelled.v1") || types.contains(&"order.refunded.v1")))
        .then_some(events)
    });
    let mut ids: Vec<&str> = events.iter().map(|(_, id)| id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "each event once: {events:?}");
    assert_eq!(&events[0].0, "order.created.v1", "{events:?}");
    assert_eq!(&events[1].0, "order.confirmed.v1", "{events:?}");
}

#[test]
fn two_concurrent_identical_creates_on_libsql_make_one_order_and_one_charge() {
    let sqld = SqldServer::start();
    let config_dir = tempfile::tempdir().expect("tempdir");
    let rig = libsql_rig(&sqld, config_dir.path());
    rig.sims
        .payment
        .set_fault(Fault::Latency(Duration::from_millis(400)));
    let body = order_body(demo::ACTIVE_USER, &[(demo::MOUSE, 1)], "tok_visa");
    let answers: Vec<Answer> = at_once(2, || rig.create("k-libsql-race", &body));
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{answers:?}");
    assert_eq!(rig.sims.payment.charges().len(), 1);
    assert_eq!(rig.order_count(), 1);
    assert_eq!(rig.sims.inventory.stock(demo::MOUSE), Some(99));
    assert_eq!(query_sqld(&sqld, "SELECT count(*) FROM orders"), ["1"]);

    let replay = rig.create("k-libsql-race", &body);
    assert_eq!(replay.status, 201, "{replay:?}");
    assert_eq!(rig.sims.payment.charges().len(), 1);
}

/// The order store's status change reads the order's version and writes it back inside one
/// `BEGIN IMMEDIATE … COMMIT` made of several `execute` calls. Only if those calls share one
/// server transaction does exactly one of concurrent changes win.
#[test]
fn concurrent_status_changes_on_libsql_have_one_winner_so_transactions_span_calls() {
    let sqld = SqldServer::start();
    let config_dir = tempfile::tempdir().expect("tempdir");
    let rig = libsql_rig(&sqld, config_dir.path());
    let id = rig.place_order("k-libsql-ship", demo::MOUSE);
    let path = format!("/api/v1/admin/orders/{id}/status");
    let answers: Vec<Answer> = at_once(4, || rig.post(&path, r#"{"status":"shipped"}"#));
    assert_one_winner(&answers);
    assert_eq!(
        query_sqld(
            &sqld,
            &format!(
                "SELECT status FROM order_status_history WHERE order_id = '{id}' ORDER BY seq"
            )
        ),
        ["pending", "confirmed", "shipped"]
    );
}

/// The probe fixtures' manifest (`tests/fixtures/spin.toml`) with its `default` database on
/// `sqld`; the runtime config lives in the returned directory.
fn probe_on_libsql(sqld: &SqldServer) -> (tempfile::TempDir, integration_tests::Host) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_runtime_config(dir.path(), &sqld.runtime_config("default"));
    let host = HostBuilder::new(workspace_root().join("tests/fixtures/spin.toml"))
        .arg("--runtime-config")
        .arg(config.display().to_string())
        .start();
    (dir, host)
}

#[test]
fn statements_round_trip_values_and_sql_errors_are_io_errors_on_libsql() {
    let sqld = SqldServer::start();
    let (_dir, host) = probe_on_libsql(&sqld);
    let exec = |sql: &str, params: Value| {
        host.post(
            "/probe/sqlite/default",
            &json!({ "sql": sql, "params": params }).to_string(),
        )
    };
    let ok = |sql: &str, params: Value| {
        let answer = exec(sql, params);
        assert_eq!(answer.status, 200, "{sql}: {answer:?}");
        answer.json()
    };
    ok(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, weight REAL, raw BLOB)",
        json!([]),
    );
    ok(
        "INSERT INTO notes (body, weight) VALUES (?, ?)",
        json!(["it's; DROP TABLE notes; --", 1.5]),
    );
    ok(
        "INSERT INTO notes (body, weight) VALUES (?, ?)",
        json!(["second", null]),
    );
    let rows = ok("SELECT id, body, weight FROM notes ORDER BY id", json!([]));
    assert_eq!(rows["columns"], json!(["id", "body", "weight"]));
    assert_eq!(
        rows["rows"],
        json!([[1, "it's; DROP TABLE notes; --", 1.5], [2, "second", null]])
    );
    assert_eq!(query_sqld(&sqld, "SELECT count(*) FROM notes"), ["2"]);

    let bad = exec("SELECT * FROM missing_table", json!([]));
    assert_eq!(bad.status, 500, "{bad:?}");
    assert!(bad.body.contains("missing_table"), "{bad:?}");
    assert!(!bad.body.contains("test-token-not-checked"), "{bad:?}");
}

#[test]
fn a_bad_libsql_table_stops_start_up_naming_table_and_field_without_the_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (text, expected) in [
        (
            "[sqlite_database.default]\ntype = \"libsql\"\ntoken = \"tok-SECRET\"\n",
            "[sqlite_database.default] type = \"libsql\": field `url` is required",
        ),
        (
            "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"http://127.0.0.1:1\"\n",
            "[sqlite_database.default] type = \"libsql\": field `token` is required",
        ),
        (
            "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"libsql://db.example\"\ntoken = \"tok-SECRET\"\n",
            "[sqlite_database.default] type = \"libsql\": field `url` must start with",
        ),
    ] {
        let config = write_runtime_config(dir.path(), text);
        let (code, stderr) = HostBuilder::new(workspace_root().join("spin.toml"))
            .arg("--runtime-config")
            .arg(config.display().to_string())
            .expect_failure();
        assert_ne!(code, 0, "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!stderr.contains("tok-SECRET"), "{stderr}");
    }
}
