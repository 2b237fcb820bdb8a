//! Reuse (issue 12): another Spin app, `examples/returns`, composes this repository's
//! `event-emitter` with its own outbox table, stream and channel, on `order-host` with a real
//! Redis and SQLite. Its events reach its own stream; the order service's stream is untouched.

use std::time::Duration;

use integration_tests::{Answer, Host, HostBuilder, RedisServer, eventually, workspace_root};

#[test]
fn the_returns_app_relays_its_events_through_the_reused_emitter_to_its_own_stream() {
    let redis = RedisServer::start();
    let host = HostBuilder::new(workspace_root().join("examples/returns/spin.toml"))
        .variable("redis_url", redis.url())
        .start();
    let mut conn = redis.connection().expect("redis");
    let mut subscriber = redis.connection().expect("redis");
    let mut pubsub = subscriber.as_pubsub();
    pubsub.subscribe("returns.events").expect("subscribe");
    pubsub
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");

    let answer = create_return(&host);
    assert_eq!(answer.status, 201, "{answer:?}");
    let return_id = answer.json()["id"].as_str().expect("id").to_owned();

    let entries: Vec<(String, Vec<(String, String)>)> = eventually(
        Duration::from_secs(10),
        "the event in returns.events",
        || {
            let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
                .arg("returns.events")
                .arg("-")
                .arg("+")
                .query(&mut conn)
                .ok()?;
            (!entries.is_empty()).then_some(entries)
        },
    );
    assert_eq!(entries.len(), 1, "{entries:?}");
    let fields: std::collections::HashMap<_, _> = entries[0].1.iter().cloned().collect();
    assert_eq!(fields["type"], "return.requested.v1");
    let event: serde_json::Value = serde_json::from_str(&fields["event"]).expect("CloudEvent");
    assert_eq!(event["subject"], return_id.as_str());
    assert_eq!(event["data"]["orderId"], "ord_123");

    let published = pubsub.get_message().expect("a message on returns.events");
    let payload: String = published.get_payload().expect("payload");
    assert_eq!(
        payload, fields["event"],
        "the channel carries the same CloudEvent"
    );

    let order_stream: i64 = redis::cmd("XLEN")
        .arg("orders.events")
        .query(&mut conn)
        .expect("XLEN");
    assert_eq!(order_stream, 0, "the order service's stream is untouched");

    // Its own table, not the order service's.
    let db = rusqlite::Connection::open(host.state_dir.join("sqlite_db.db")).expect("db");
    let delivered: String = db
        .query_row(
            "SELECT status FROM returns_outbox WHERE aggregate_id = ?",
            [&return_id],
            |r| r.get(0),
        )
        .expect("row");
    assert_eq!(delivered, "delivered");
    let outbox: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'outbox'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(outbox, 0, "no `outbox` table was created");
}

#[test]
fn an_outbox_table_name_that_is_not_a_plain_identifier_never_reaches_sql() {
    let redis = RedisServer::start();
    let host = HostBuilder::new(workspace_root().join("examples/returns/spin.toml"))
        .variable("redis_url", redis.url())
        .variable("outbox_table", "returns; DROP TABLE returns")
        .start();
    let answer = create_return(&host);
    assert_eq!(answer.status, 500, "{answer:?}");
    assert!(!answer.body.contains("DROP"), "{answer:?}");
}

/// `POST /returns` for a wrong-size return of `ord_123`.
fn create_return(host: &Host) -> Answer {
    host.request(
        "POST",
        "/returns",
        &[("content-type", "application/json")],
        Some(r#"{"orderId":"ord_123","reason":"wrong size"}"#),
    )
}
