//! The scenarios and how one runs: a fresh host with its own simulators and Redis, orders
//! before, during and after the disruption, then recovery, a final dispatch and the audit.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use integration_tests::{HostBuilder, RedisServer, workspace_root};
use simulators::{Fault, Simulators};

use crate::audit::{Audit, audit};
use crate::multinode::ClusterFault;
use crate::traffic::Client;

/// Small resilience knobs so breakers trip and recover within a few seconds.
pub(crate) const KNOBS: &[(&str, &str)] = &[
    ("call_timeout_ms", "500"),
    ("retry_base_delay_ms", "20"),
    ("retry_budget_ms", "2000"),
    ("breaker_reset_timeout_ms", "1000"),
    ("breaker_volume_threshold", "5"),
    ("saga_recovery_after_s", "1"),
    // Never fresh: every order asks Product, so its faults show (stale entries still serve).
    ("product_cache_ttl_s", "0"),
];
/// Breaker reset timeout plus a margin: after it, the next call is a half-open probe.
pub(crate) const BREAKER_RESET: Duration = Duration::from_millis(1200);
/// How long the SQLite scenario holds its exclusive transaction (host busy timeout: 5 s).
const SQLITE_HOLD: Duration = Duration::from_secs(7);

/// A dependency the app calls.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Dependency {
    User,
    Product,
    Inventory,
    Payment,
}

/// What goes wrong during a scenario.
#[derive(Debug, Clone)]
pub(crate) enum Disruption {
    /// Nothing: the baseline.
    None,
    /// A dependency's simulator injects this fault on every call.
    Dependency(Dependency, Fault),
    /// The Redis server is killed, then a new empty one started on the same port.
    RedisDown,
    /// The report holds `BEGIN EXCLUSIVE` on the order database.
    SqliteBusy,
    /// Three nodes on libSQL and Redis key-value, with this going away mid-load (`None`: the
    /// three-node baseline).
    Cluster(Option<ClusterFault>),
}

/// One named scenario.
pub(crate) struct Scenario {
    /// Shown in the table.
    pub(crate) name: String,
    /// What goes wrong.
    pub(crate) disruption: Disruption,
}

/// Every scenario: the baseline; each dependency with 5xx, slow, answering late after doing
/// the work, resetting and hanging;
/// Redis down; SQLite busy; then the three-node scenarios.
pub(crate) fn all() -> Vec<Scenario> {
    let mut list = vec![Scenario {
        name: "baseline (no fault)".into(),
        disruption: Disruption::None,
    }];
    let faults = [
        ("5xx", Fault::Status(500)),
        ("slow 800 ms", Fault::Latency(Duration::from_millis(800))),
        (
            "late answer 800 ms (work done)",
            Fault::SlowAnswer(Duration::from_millis(800)),
        ),
        ("resets", Fault::Reset),
        ("hangs", Fault::Hang),
    ];
    for (label, fault) in faults {
        for (dep, name) in [
            (Dependency::User, "user"),
            (Dependency::Product, "product"),
            (Dependency::Inventory, "inventory"),
            (Dependency::Payment, "payment"),
        ] {
            list.push(Scenario {
                name: format!("{name} {label}"),
                disruption: Disruption::Dependency(dep, fault.clone()),
            });
        }
    }
    list.push(Scenario {
        name: "Redis down".into(),
        disruption: Disruption::RedisDown,
    });
    list.push(Scenario {
        name: "SQLite busy (7 s exclusive lock)".into(),
        disruption: Disruption::SqliteBusy,
    });
    for (name, fault) in crate::multinode::scenarios() {
        list.push(Scenario {
            name,
            disruption: Disruption::Cluster(fault),
        });
    }
    list
}

/// What one scenario produced: the table row's raw material.
pub(crate) struct Run {
    /// Final answers by status.
    pub(crate) answers: String,
    /// Losses and their details.
    pub(crate) audit: Audit,
    /// Breaker transitions from the host's JSON log, per dependency.
    pub(crate) transitions: String,
    /// Notes (e.g. the dispatch endpoint is missing).
    pub(crate) notes: Vec<String>,
    /// Wall time.
    pub(crate) elapsed: Duration,
}

fn set_fault(sims: &Simulators, dep: Dependency, fault: Option<Fault>) {
    macro_rules! apply {
        ($sim:expr) => {
            match fault {
                Some(f) => $sim.set_fault(f),
                None => $sim.clear_fault(),
            }
        };
    }
    match dep {
        Dependency::User => apply!(sims.user),
        Dependency::Product => apply!(sims.product),
        Dependency::Inventory => apply!(sims.inventory),
        Dependency::Payment => apply!(sims.payment),
    }
}

/// Holds `BEGIN EXCLUSIVE` on `path` for [`SQLITE_HOLD`] on its own thread; `locked` turns
/// true once the lock is held, `released` once it is given back.
fn hold_exclusive(path: std::path::PathBuf, locked: Arc<AtomicBool>, released: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let result = (|| -> rusqlite::Result<()> {
            let db = rusqlite::Connection::open(&path)?;
            db.busy_timeout(Duration::from_secs(10))?;
            db.execute_batch("BEGIN EXCLUSIVE")?;
            locked.store(true, Ordering::SeqCst);
            std::thread::sleep(SQLITE_HOLD);
            db.execute_batch("COMMIT")
        })();
        if let Err(error) = result {
            eprintln!("fault-report: could not hold the SQLite lock: {error}");
        }
        locked.store(true, Ordering::SeqCst);
        released.store(true, Ordering::SeqCst);
    });
}

/// Runs one scenario with `orders` orders: a fifth before, three fifths during, the rest after.
pub(crate) fn run(scenario: &Scenario, orders: usize, index: usize) -> Run {
    if let Disruption::Cluster(fault) = scenario.disruption {
        return crate::multinode::run(fault, orders, index);
    }
    let started = Instant::now();
    let sims = Simulators::spawn().expect("simulators start");
    let mut redis = RedisServer::start();
    let mut builder = HostBuilder::new(workspace_root().join("spin.toml"))
        .simulators(&sims)
        .variable("redis_url", redis.url());
    for (name, value) in KNOBS {
        builder = builder.variable(name, *value);
    }
    let host = builder.start();
    let client = Client::new(
        &host.base,
        &host.token("orders:write orders:read orders:admin"),
        &format!("s{index}"),
    );
    let db_path = host.state_dir.join("sqlite_db.db");
    let mut stream_ids = BTreeSet::new();
    let mut notes_before = Vec::new();

    let before = orders / 5;
    let after = orders / 5;
    let during = orders - before - after;
    client.run_orders(before.max(1));
    match &scenario.disruption {
        Disruption::None => client.run_orders(during),
        Disruption::Dependency(dep, fault) => {
            set_fault(&sims, *dep, Some(fault.clone()));
            client.run_orders(during);
            set_fault(&sims, *dep, None);
        }
        Disruption::RedisDown => {
            redis.pause_writes();
            stream_ids.extend(redis.stream_event_ids());
            redis.kill();
            client.run_orders(during);
            let held = pending_rows(&db_path).unwrap_or(-1);
            notes_before.push(format!(
                "{held} events waited in the outbox while Redis was down"
            ));
            redis.restart();
        }
        Disruption::Cluster(_) => unreachable!("run by crate::multinode"),
        Disruption::SqliteBusy => {
            let locked = Arc::new(AtomicBool::new(false));
            let released = Arc::new(AtomicBool::new(false));
            hold_exclusive(db_path.clone(), locked.clone(), released.clone());
            while !locked.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
            client.run_orders_until(during, || released.load(Ordering::SeqCst));
        }
    }
    std::thread::sleep(BREAKER_RESET);
    client.run_orders(after.max(1));

    let mut notes = notes_before;
    notes.extend(settle(&client, &db_path));
    stream_ids.extend(redis.stream_event_ids());
    let outcomes = client
        .outcomes
        .lock()
        .map(|o| o.clone())
        .unwrap_or_default();
    let audit = audit(&db_path, &sims, &outcomes, &stream_ids).expect("read the order database");
    Run {
        answers: client.answers_by_status(),
        audit,
        transitions: transitions(&host.stderr()),
        notes,
        elapsed: started.elapsed(),
    }
}

/// After the fault: wait until every saga is stale, recover until nothing is left, then relay
/// pending events until none is left (bounded: the relay's backoff after an outage is a few
/// seconds; rows still pending at the deadline are reported as pending, not lost).
fn settle(client: &Client, db_path: &Path) -> Vec<String> {
    let mut notes = recover_all(client);
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let (status, body) = client.admin_post("/api/v1/admin/outbox/dispatch");
        if status == 404 {
            notes.push("no dispatch endpoint: events counted from the outbox table".into());
            break;
        }
        if status != 200 {
            notes.push(format!("dispatch answered {status}: {body}"));
            break;
        }
        if pending_rows(db_path).unwrap_or(0) == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    notes
}

/// Waits until every saga is stale (`saga_recovery_after_s` is 1), then runs recovery passes
/// until one finds nothing; a note if recovery answered anything but 200.
pub(crate) fn recover_all(client: &Client) -> Vec<String> {
    std::thread::sleep(Duration::from_millis(1300));
    for _ in 0..10 {
        let (status, body) = client.admin_post("/api/v1/admin/orders/recover");
        if status != 200 {
            return vec![format!("recover answered {status}")];
        }
        if body["count"].as_u64().unwrap_or(0) == 0 {
            break;
        }
    }
    Vec::new()
}

/// Outbox rows still pending, read straight from the order database.
fn pending_rows(db_path: &Path) -> rusqlite::Result<i64> {
    let db = rusqlite::Connection::open(db_path)?;
    db.query_row(
        "SELECT COUNT(*) FROM outbox WHERE status = 'pending'",
        [],
        |r| r.get(0),
    )
}

/// Breaker transitions in a host's log (`stderr`), chained per dependency:
/// `payment closed→open→half_open`.
pub(crate) fn transitions(stderr: &str) -> String {
    let mut chains: Vec<(String, String)> = Vec::new();
    for line in stderr.lines() {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if value["event"] != "breaker_transition" {
            continue;
        }
        let dep = value["dependency"].as_str().unwrap_or("?").to_owned();
        let (from, to) = (
            value["from"].as_str().unwrap_or("?"),
            value["to"].as_str().unwrap_or("?"),
        );
        match chains.iter_mut().find(|(d, _)| *d == dep) {
            Some((_, chain)) if chain.ends_with(from) => chain.push_str(&format!("→{to}")),
            Some((_, chain)) => chain.push_str(&format!(", {from}→{to}")),
            None => chains.push((dep, format!("{from}→{to}"))),
        }
    }
    if chains.is_empty() {
        return "none".into();
    }
    chains
        .iter()
        .map(|(d, c)| format!("{d} {c}"))
        .collect::<Vec<_>>()
        .join("; ")
}
