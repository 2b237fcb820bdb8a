//! Three-node scenarios (issue 11, item 4): three `order-host` processes on one `sqld` and one
//! Redis (the shared harness's [`Cluster`]), orders spread over the nodes, and a node, sqld or
//! Redis going away mid-load. The audit reads the server's tables through a local copy, so the
//! same checks as the single-node scenarios apply.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use integration_tests::{Cluster, ClusterBuilder, SqldServer};
use serde_json::Value;
use simulators::Fault;

use crate::audit::audit;
use crate::scenario::{BREAKER_RESET, KNOBS, Run};
use crate::traffic::Client;

/// Nodes per scenario.
const NODES: usize = 3;
/// The node that is killed (never node 0, which the report's admin calls use).
const VICTIM: usize = 1;
/// How long Payment holds each charge while the victim is killed, so the kill lands mid-saga.
const CHARGE_HOLD: Duration = Duration::from_millis(300);
/// How long sqld stays down before it is started again (plus its own start-up).
const SQLD_DOWN: Duration = Duration::from_millis(500);
/// How long the final dispatch may take: a relay pass that died with its node holds its rows
/// for the emitter's 30 s lease.
const DISPATCH_DEADLINE: Duration = Duration::from_secs(45);

/// What goes away in a three-node scenario.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ClusterFault {
    /// Node 1 is SIGKILLed a third of the way through, restarted two thirds through.
    NodeKilled,
    /// sqld is SIGKILLed and started again on its data a third of the way through.
    SqldRestarted,
    /// Redis is killed and a new, empty one started on the same port a third of the way through.
    RedisRestarted,
}

/// The three scenarios, as the report lists them.
pub(crate) fn scenarios() -> Vec<(String, Option<ClusterFault>)> {
    vec![
        ("3 nodes: baseline (libSQL, Redis key-value)".into(), None),
        (
            "3 nodes: a node killed (SIGKILL) and restarted".into(),
            Some(ClusterFault::NodeKilled),
        ),
        (
            "3 nodes: sqld killed and restarted".into(),
            Some(ClusterFault::SqldRestarted),
        ),
        (
            "3 nodes: Redis restarted (empty)".into(),
            Some(ClusterFault::RedisRestarted),
        ),
    ]
}

/// Waits (bounded) until `client` finished `count` orders.
fn wait_for_orders(client: &Client, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while client.finished() < count && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs one three-node scenario; `fault` is `None` for the baseline.
pub(crate) fn run(fault: Option<ClusterFault>, orders: usize, index: usize) -> Run {
    let started = Instant::now();
    let mut builder = ClusterBuilder::new(NODES);
    for (name, value) in KNOBS {
        builder = builder.variable(name, value);
    }
    let mut cluster = builder.start();
    let bases = cluster.nodes.iter().map(|n| n.base.clone()).collect();
    let client = Client::spread(bases, &cluster.token, &format!("m{index}"));
    let mut stream_ids = BTreeSet::new();
    let mut notes = Vec::new();
    let mut stderr = String::new();

    let before = (orders / 5).max(1);
    let after = (orders / 5).max(1);
    let during = orders - before - after;
    client.run_orders(before);
    std::thread::scope(|scope| {
        scope.spawn(|| client.run_orders(during));
        wait_for_orders(&client, before + during / 3);
        match fault {
            None => {}
            Some(ClusterFault::NodeKilled) => {
                // Kill the victim inside a saga: charges are held 300 ms by Payment, and the
                // kill waits for an order under way on the victim and a charge under way.
                cluster.sims.payment.set_fault(Fault::Latency(CHARGE_HOLD));
                let deadline = Instant::now() + Duration::from_secs(10);
                let mut charges = cluster.sims.payment.calls();
                while Instant::now() < deadline {
                    if client.in_flight_on(VICTIM) > 0 && cluster.sims.payment.calls() > charges {
                        break;
                    }
                    charges = cluster.sims.payment.calls();
                    std::thread::sleep(Duration::from_millis(20));
                }
                stderr.push_str(&cluster.nodes[VICTIM].stderr());
                let failures = client.transport_failures.load(Ordering::SeqCst);
                cluster.kill(VICTIM);
                cluster.sims.payment.clear_fault();
                wait_for_orders(&client, before + 2 * during / 3);
                notes.push(format!(
                    "{} attempt(s) cut off or refused by the killed node, retried on another",
                    client.transport_failures.load(Ordering::SeqCst) - failures
                ));
                cluster.restart(VICTIM);
                client.set_base(VICTIM, &cluster.nodes[VICTIM].base);
            }
            Some(ClusterFault::SqldRestarted) => {
                let sqld = cluster.sqld.as_mut().expect("libSQL");
                let down = Instant::now();
                sqld.kill();
                std::thread::sleep(SQLD_DOWN);
                sqld.restart();
                notes.push(format!(
                    "sqld answered nothing for {} ms",
                    down.elapsed().as_millis()
                ));
            }
            Some(ClusterFault::RedisRestarted) => {
                stream_ids.extend(paused_stream_ids(&cluster));
                cluster.redis.restart();
            }
        }
    });
    std::thread::sleep(BREAKER_RESET);
    client.run_orders(after);

    let sqld = cluster.sqld.as_ref().expect("libSQL");
    notes.extend(settle(&client, sqld));
    let delivered = stream_event_ids(&cluster);
    let unique: BTreeSet<&String> = delivered.iter().collect();
    if unique.len() < delivered.len() {
        notes.push(format!(
            "{} event(s) appended to orders.events twice (at-least-once: a relay pass lost the database before marking them delivered; consumers dedupe by id)",
            delivered.len() - unique.len()
        ));
    }
    stream_ids.extend(delivered);
    let copy = tempfile::tempdir().expect("tempdir");
    let db_path = copy.path().join("orders.db");
    copy_tables(sqld, &db_path);
    let outcomes = client
        .outcomes
        .lock()
        .map(|o| o.clone())
        .unwrap_or_default();
    let audit =
        audit(&db_path, &cluster.sims, &outcomes, &stream_ids).expect("read the copied tables");
    for node in &cluster.nodes {
        stderr.push_str(&node.stderr());
    }
    Run {
        answers: client.answers_by_status(),
        audit,
        transitions: crate::scenario::transitions(&stderr),
        notes,
        elapsed: started.elapsed(),
    }
}

/// The stream's event ids just before Redis goes away, with writes paused so none is
/// accepted after the read (as the single-node Redis scenario does).
fn paused_stream_ids(cluster: &Cluster) -> Vec<String> {
    cluster.redis.pause_writes();
    stream_event_ids(cluster)
}

fn stream_event_ids(cluster: &Cluster) -> Vec<String> {
    cluster
        .stream_events()
        .into_iter()
        .map(|(_, id, _)| id)
        .collect()
}

/// Recover until nothing is left, then relay until the outbox is empty (bounded), through
/// node 0.
fn settle(client: &Client, sqld: &SqldServer) -> Vec<String> {
    let mut notes = crate::scenario::recover_all(client);
    let deadline = Instant::now() + DISPATCH_DEADLINE;
    while Instant::now() < deadline {
        let (status, body) = client.admin_post("/api/v1/admin/outbox/dispatch");
        if status != 200 {
            notes.push(format!("dispatch answered {status}: {body}"));
            break;
        }
        let pending = sqld.count("SELECT COUNT(*) FROM outbox WHERE status = 'pending'", &[]);
        if pending == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    notes
}

/// Copies the tables the audit reads from the server into a local SQLite file.
fn copy_tables(sqld: &SqldServer, path: &Path) {
    let db = rusqlite::Connection::open(path).expect("open the copy");
    for table in ["orders", "order_status_history", "outbox"] {
        let (columns, rows) = sqld.query_columns(&format!("SELECT * FROM {table}"), &[]);
        let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        db.execute(&format!("CREATE TABLE {table} ({})", quoted.join(", ")), [])
            .expect("create the copy's table");
        let placeholders = vec!["?"; columns.len()].join(", ");
        let insert = format!("INSERT INTO {table} VALUES ({placeholders})");
        for row in rows {
            let values: Vec<rusqlite::types::Value> = row.iter().map(sql_value).collect();
            db.execute(&insert, rusqlite::params_from_iter(values))
                .expect("copy a row");
        }
    }
}

fn sql_value(value: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as Sql;
    match value {
        Value::Null => Sql::Null,
        Value::Number(n) => n
            .as_i64()
            .map(Sql::Integer)
            .unwrap_or_else(|| Sql::Real(n.as_f64().unwrap_or_default())),
        Value::String(s) => Sql::Text(s.clone()),
        other => Sql::Text(other.to_string()),
    }
}
