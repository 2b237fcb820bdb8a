//! Events (issue 5): the event-emitter relay and the admin outbox endpoints, through the real
//! `.wasm` components on `order-host` with a real `redis-server`. Outbox rows are written
//! straight into the host's SQLite file, as a writer (order-api, payment-listener) would.

use std::collections::BTreeSet;
use std::time::Duration;

use integration_tests::Rig;
use integration_tests::redis_server::{stream_cloud_events as stream_events, stream_entries};
use integration_tests::trace::INBOUND_TRACEPARENT as TRACEPARENT;
use outbox::{Outbox, cloud_event, rig};
use redis::Commands;
use serde_json::{Value, json};

#[path = "events/orders.rs"]
mod orders;
#[path = "events/outbox.rs"]
mod outbox;
#[path = "events/reuse.rs"]
mod reuse;

/// Longer than the relay's first retry delay (1 s).
const PAST_FIRST_BACKOFF: Duration = Duration::from_millis(1_200);

fn ids(events: &Value) -> BTreeSet<String> {
    events["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["eventId"].as_str().expect("eventId").to_owned())
        .collect()
}

#[test]
fn dispatch_appends_each_event_once_to_the_stream_and_publishes_it() {
    let rig = rig(&[]);
    let redis = &rig.redis;
    let mut subscriber = redis.connection().expect("redis");
    let mut pubsub = subscriber.as_pubsub();
    pubsub.subscribe("orders.events").expect("subscribe");
    pubsub
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");

    let written = rig.insert_events(&["evt-a", "evt-b", "evt-c"]);
    let report = rig.dispatch();
    assert_eq!(report["attempted"], 3, "{report}");
    assert_eq!(report["delivered"], 3, "{report}");
    assert_eq!(report["failed"], 0, "{report}");

    let mut redis_conn = redis.connection().expect("redis");
    let events = stream_events(&mut redis_conn);
    let streamed: Vec<&str> = events.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(
        streamed, written,
        "one stream entry per event, oldest first"
    );
    for event in &events {
        let id = event["id"].as_str().unwrap_or_default();
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["source"], "/order-service");
        assert_eq!(event["type"], "order.created.v1");
        assert_eq!(event["subject"], format!("ord-{id}"));
        assert_eq!(event["datacontenttype"], "application/json");
        assert_eq!(event["traceparent"], TRACEPARENT);
        assert_eq!(event["data"]["id"], format!("ord-{id}"));
        assert!(
            event["time"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{event}"
        );
    }

    let mut published = Vec::new();
    for _ in 0..3 {
        let message = pubsub.get_message().expect("published event");
        let payload: String = message.get_payload().expect("text payload");
        let event: Value = serde_json::from_str(&payload).expect("JSON");
        published.push(event["id"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(published, written);

    let again = rig.dispatch();
    assert_eq!(
        again["attempted"], 0,
        "delivered events are not sent twice: {again}"
    );
    assert_eq!(stream_entries(&mut redis_conn).expect("XRANGE").len(), 3);
    let delivered = rig.list("delivered");
    assert_eq!(ids(&delivered), written.into_iter().collect());
    assert_eq!(delivered["stats"]["delivered"], 3);
    assert_eq!(delivered["stats"]["pending"], 0);
    assert!(
        delivered["events"][0]["deliveredAt"].is_string(),
        "{delivered}"
    );
}

#[test]
fn a_reused_instance_keeps_its_redis_connection_across_relay_passes() {
    // Spin opens a new Redis connection per `open`; a reused instance's emitter keeps the one
    // it opened, an instance per request cannot.
    for (reuse, passes_open) in [("128", false), ("1", true)] {
        let rig = Rig::builder()
            .scopes("orders:admin")
            .args(&["--max-instance-reuse-count", reuse])
            .start();
        rig.insert_events(&["evt-warm"]);
        assert_eq!(rig.dispatch()["delivered"], 1);
        let before = rig.redis.connections_received();
        for pass in 0..5 {
            rig.insert_events(&[&format!("evt-{pass}")]);
            assert_eq!(rig.dispatch()["delivered"], 1, "reuse {reuse}");
        }
        // Our own INFO connection is one of them.
        let opened = rig.redis.connections_received() - before - 1;
        if passes_open {
            assert_eq!(opened, 5, "one connection per pass without reuse");
        } else {
            assert!(
                opened <= 1,
                "reuse {reuse}: {opened} connections for 5 passes"
            );
        }
    }
}

#[test]
fn after_a_redis_restart_a_reused_instance_delivers_on_a_new_connection() {
    // The relay keeps its connection between passes; a restart closes it under the instance.
    let mut rig = Rig::builder()
        .scopes("orders:admin")
        .args(&["--max-instance-reuse-count", "128"])
        .start();
    rig.insert_events(&["evt-before"]);
    assert_eq!(rig.dispatch()["delivered"], 1);
    rig.redis.restart();
    rig.insert_events(&["evt-after"]);
    let report = rig.dispatch();
    assert_eq!(
        (&report["delivered"], &report["failed"]),
        (&json!(1), &json!(0)),
        "delivered at once, not postponed as an outage: {report}"
    );
    let mut connection = rig.redis.connection().expect("redis");
    let streamed: Vec<String> = stream_events(&mut connection)
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        streamed,
        ["evt-after"],
        "the new Redis has exactly the new event"
    );
}

#[test]
fn redis_outage_keeps_events_pending_and_redelivers_each_once_when_redis_is_back() {
    // The Redis trigger needs the server at start-up (as on Spin); the outage comes after.
    let mut rig = rig(&[]);
    rig.redis.kill();
    let url = rig.redis.url();
    let written: BTreeSet<String> = rig.insert_events(&["evt-1", "evt-2"]).into_iter().collect();

    let down = rig.admin("POST", "/api/v1/admin/outbox/dispatch");
    assert_eq!(down.status, 503, "{down:?}");
    assert_eq!(
        down.content_type.as_deref(),
        Some("application/problem+json")
    );
    assert!(
        down.json()["type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/broker-unavailable")
    );
    assert_eq!(
        rig.host.get("/health/live").status,
        200,
        "the host survives the outage"
    );

    let pending = rig.list("pending");
    assert_eq!(ids(&pending), written);
    assert_eq!(pending["stats"]["pending"], 2);
    for event in pending["events"].as_array().expect("events") {
        assert_eq!(event["attempts"], 1, "{event}");
        assert!(
            event["lastError"].as_str().is_some_and(|e| !e.is_empty()),
            "{event}"
        );
        assert!(
            !event.to_string().contains(&url),
            "no redis_url in errors: {event}"
        );
    }

    rig.redis.restart();
    std::thread::sleep(PAST_FIRST_BACKOFF);
    let report = rig.dispatch();
    assert_eq!(report["delivered"], 2, "{report}");
    assert_eq!(rig.dispatch()["attempted"], 0);

    let mut conn = redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection())
        .expect("redis");
    let streamed: Vec<String> = stream_events(&mut conn)
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(streamed.len(), 2, "none twice: {streamed:?}");
    assert_eq!(streamed.into_iter().collect::<BTreeSet<_>>(), written);
    let delivered = rig.list("delivered");
    assert_eq!(delivered["events"][0]["attempts"], 2, "{delivered}");
}

#[test]
fn refused_events_are_dead_lettered_after_max_attempts_and_replay_redelivers_them() {
    let rig = rig(&[("outbox_max_attempts", "2")]);
    let redis = &rig.redis;
    let mut conn = redis.connection().expect("redis");
    // Redis answers but refuses XADD: the key holds a string, not a stream.
    let _: () = conn.set("orders.events", "not-a-stream").expect("SET");
    rig.insert_events(&["evt-dead"]);

    let first = rig.dispatch();
    assert_eq!(first["failed"], 1, "{first}");
    std::thread::sleep(PAST_FIRST_BACKOFF);
    let second = rig.dispatch();
    assert_eq!(second["deadLettered"], 1, "{second}");

    let dead = rig.list("dead");
    assert_eq!(dead["stats"]["dead"], 1, "{dead}");
    assert_eq!(dead["events"][0]["eventId"], "evt-dead");
    assert_eq!(dead["events"][0]["attempts"], 2);
    assert!(
        dead["events"][0]["lastError"]
            .as_str()
            .unwrap_or_default()
            .contains("XADD")
    );
    assert_eq!(
        rig.list("pending")["events"].as_array().map(Vec::len),
        Some(0)
    );
    assert_eq!(
        rig.dispatch()["attempted"],
        0,
        "dead events are not retried"
    );

    let _: () = conn.del("orders.events").expect("DEL");
    let replay = rig.admin("POST", "/api/v1/admin/outbox/evt-dead/replay");
    assert_eq!(replay.status, 202, "{replay:?}");
    assert_eq!(replay.json()["status"], "pending");
    assert_eq!(rig.dispatch()["delivered"], 1);
    let streamed = stream_events(&mut conn);
    assert_eq!(streamed.len(), 1);
    assert_eq!(streamed[0]["id"], "evt-dead");

    // A delivered event can be replayed too (a consumer lost it): it goes out again.
    let replay = rig.admin("POST", "/api/v1/admin/outbox/evt-dead/replay");
    assert_eq!(replay.status, 202, "{replay:?}");
    assert_eq!(rig.dispatch()["delivered"], 1);
    assert_eq!(stream_events(&mut conn).len(), 2);

    let unknown = rig.admin("POST", "/api/v1/admin/outbox/evt-nope/replay");
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert_eq!(
        unknown.content_type.as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(unknown.json()["eventId"], "evt-nope");
}

#[test]
fn a_row_whose_payload_is_not_its_cloud_event_is_never_sent() {
    let rig = rig(&[("outbox_max_attempts", "1")]);
    let redis = &rig.redis;
    rig.insert_rows(&[
        ("evt-garbage".to_owned(), "{not json".to_owned()),
        (
            "evt-mismatch".to_owned(),
            cloud_event("evt-other").to_string(),
        ),
    ]);
    rig.insert_events(&["evt-good"]);
    let report = rig.dispatch();
    assert_eq!(report["delivered"], 1, "{report}");
    assert_eq!(report["deadLettered"], 2, "{report}");
    let mut conn = redis.connection().expect("redis");
    let streamed = stream_events(&mut conn);
    assert_eq!(streamed.len(), 1);
    assert_eq!(streamed[0]["id"], "evt-good");
    let dead = rig.list("dead");
    let errors: Vec<&str> = dead["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["lastError"].as_str())
        .collect();
    assert_eq!(errors.len(), 2);
    assert!(
        errors.iter().all(|e| e.contains("CloudEvent")),
        "{errors:?}"
    );
}

#[test]
fn the_stream_is_capped_near_events_stream_maxlen() {
    let rig = rig(&[("events_stream_maxlen", "10")]);
    let redis = &rig.redis;
    let names: Vec<String> = (0..300).map(|n| format!("evt-{n:03}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    rig.insert_events(&names);
    let answer = rig.admin("POST", "/api/v1/admin/outbox/dispatch?max=1000");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.json()["delivered"], 300);
    let mut conn = redis.connection().expect("redis");
    let length: usize = redis::cmd("XLEN")
        .arg("orders.events")
        .query(&mut conn)
        .expect("XLEN");
    // `MAXLEN ~` trims whole macro nodes (100 entries by default), never below the cap.
    assert!((10..=200).contains(&length), "XLEN {length}");
}

#[test]
fn outbox_endpoints_require_an_admin_token_and_valid_parameters() {
    let rig = rig(&[]);
    for (method, path) in [
        ("GET", "/api/v1/admin/outbox"),
        ("POST", "/api/v1/admin/outbox/dispatch"),
        ("POST", "/api/v1/admin/outbox/evt-1/replay"),
    ] {
        let anonymous = rig.host.request(method, path, &[], None);
        assert_eq!(anonymous.status, 401, "{method} {path}: {anonymous:?}");
        let reader = format!("Bearer {}", rig.host.token("orders:read"));
        let reader = rig
            .host
            .request(method, path, &[("authorization", reader.as_str())], None);
        assert_eq!(reader.status, 403, "{method} {path}: {reader:?}");
    }
    for path in [
        "/api/v1/admin/outbox?status=lost",
        "/api/v1/admin/outbox?limit=0",
        "/api/v1/admin/outbox?limit=101",
    ] {
        let bad = rig.admin("GET", path);
        assert_eq!(bad.status, 400, "{path}: {bad:?}");
        assert_eq!(
            bad.content_type.as_deref(),
            Some("application/problem+json")
        );
    }
    let wrong_method = rig.admin("GET", "/api/v1/admin/outbox/dispatch");
    assert_eq!(wrong_method.status, 405, "{wrong_method:?}");
    let empty = rig.list("pending");
    assert_eq!(empty["status"], "pending");
    assert_eq!(empty["events"].as_array().map(Vec::len), Some(0));
    assert_eq!(empty["stats"]["oldestPendingAt"], Value::Null);
}

#[test]
fn the_emitter_never_creates_the_outbox_table_a_missing_one_is_a_storage_failure_naming_it() {
    // Every request in a fresh instance: an emitter that created its table at an instance's
    // first call would recreate it here.
    let rig = integration_tests::Rig::builder()
        .scopes("orders:admin")
        .args(&["--max-instance-reuse-count", "1"])
        .start();
    // The app's migrations create the table (order-api applies them before its first call to
    // the emitter); the app (here: an operator) then removes it.
    assert_eq!(rig.list("pending")["events"], serde_json::json!([]));
    let db = rusqlite::Connection::open(rig.db_path()).expect("open sqlite_db.db");
    db.execute_batch("DROP TABLE outbox").expect("drop outbox");
    drop(db);

    for _ in 0..2 {
        let answer = rig.admin("GET", "/api/v1/admin/outbox?status=pending");
        assert_eq!(answer.status, 500, "{answer:?}");
        assert_eq!(
            integration_tests::problem_type(&answer),
            "storage-failure",
            "the outbox's storage answers as the orders' does"
        );
        let error_id = answer.json()["errorId"]
            .as_str()
            .expect("errorId")
            .to_owned();
        assert!(
            !answer.body.contains("does not exist") && !answer.body.contains("no such table"),
            "driver and emitter text stays in the log: {}",
            answer.body
        );
        integration_tests::eventually(
            Duration::from_secs(5),
            "the internal_error line naming the missing table",
            || {
                rig.host
                    .stderr()
                    .lines()
                    .find(|l| {
                        l.contains("\"internal_error\"")
                            && l.contains(&error_id)
                            && l.contains("does not exist")
                    })
                    .map(str::to_owned)
            },
        );
    }
    let db = rusqlite::Connection::open(rig.db_path()).expect("open sqlite_db.db");
    let tables: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'outbox'",
            [],
            |row| row.get(0),
        )
        .expect("count");
    assert_eq!(tables, 0, "the emitter ran no DDL");
}

#[test]
fn a_redis_that_refuses_scripts_gets_each_event_as_its_own_xadd_and_publish() {
    let rig = rig(&[]);
    let mut conn = rig.redis.connection().expect("redis");
    // An ACL that takes scripting away (as some managed Redis offerings do); PING still works.
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("default")
        .arg("-@scripting")
        .query(&mut conn)
        .expect("ACL SETUSER");
    let refused = redis::cmd("EVAL")
        .arg("return 1")
        .arg(0)
        .query::<i64>(&mut conn)
        .expect_err("scripts are refused now");
    assert!(
        refused.to_string().to_ascii_lowercase().contains("noperm"),
        "{refused}"
    );
    let mut subscriber = rig.redis.connection().expect("redis");
    let mut pubsub = subscriber.as_pubsub();
    pubsub.subscribe("orders.events").expect("subscribe");
    pubsub
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");

    let mut written = rig.insert_events(&["evt-s1", "evt-s2"]);
    let report = rig.dispatch();
    assert_eq!(report["delivered"], 2, "{report}");
    assert_eq!(
        report["failed"], 0,
        "the refused script costs no attempt: {report}"
    );
    written.extend(rig.insert_events(&["evt-s3"]));
    assert_eq!(rig.dispatch()["delivered"], 1);

    let streamed: Vec<String> = stream_events(&mut conn)
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(streamed, written, "each once, oldest first");
    let published: Vec<String> = (0..3)
        .map(|_| {
            let message = pubsub.get_message().expect("published event");
            let payload: String = message.get_payload().expect("text payload");
            let event: Value = serde_json::from_str(&payload).expect("CloudEvent JSON");
            event["id"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(published, written, "each published once, in order");
    let delivered = rig.list("delivered");
    for event in delivered["events"].as_array().expect("events") {
        assert_eq!(event["attempts"], 1, "{event}");
        assert!(event["lastError"].is_null(), "{event}");
    }
    // The relay tried its script (refused), then sent commands one at a time.
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut conn)
        .expect("INFO commandstats");
    let eval = stats
        .lines()
        .find(|l| l.starts_with("cmdstat_eval:"))
        .expect("EVAL was tried");
    assert!(eval.contains(":calls=0,"), "nothing ran a script: {eval}");
    let rejected: u64 = eval
        .split(',')
        .find_map(|field| field.strip_prefix("rejected_calls="))
        .and_then(|n| n.parse().ok())
        .expect("rejected_calls");
    assert!(rejected >= 2, "this test's EVAL and the relay's: {eval}");
}
