//! Scale-out figures (issue 11, item 5): `POST /api/v1/orders` on one and on three `order-host`
//! processes, with the `default` database on one local SQLite file (`type = "spin"`, every node
//! opening the same file: one machine only) and on a libSQL server (`sqld`, `type = "libsql"`),
//! same load, same run. Key-value is on Redis in every setup, so only the database differs.
//! Connections are spread round-robin over the nodes, as a load balancer would.

use std::sync::Arc;
use std::time::Duration;

use integration_tests::{ClusterBuilder, Database};

use crate::proc_stat::process_cpu;
use crate::{Run, Target, create_order_body, load_spread, ms};

struct Row {
    database: &'static str,
    nodes: usize,
    run: Run,
    sqld_cpu: Option<Duration>,
}

/// The machine's 1-minute load average, as `/proc/loadavg` says (other work on the cores).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// Runs every setup and prints a Markdown table and the ratios measured in this run.
pub(crate) fn run(runtime: &tokio::runtime::Runtime, seconds: u64, connections: usize) {
    let load_before = load_average();
    let mut rows = Vec::new();
    for (database, kind) in [
        ("local SQLite file", Database::SharedFile),
        ("libSQL (sqld)", Database::Libsql),
    ] {
        for nodes in [1, 3] {
            let cluster = ClusterBuilder::new(nodes).database(kind).start();
            // Stock for every order: the stand-ins must not be the limit.
            for product in [simulators::demo::CABLE, simulators::demo::MOUSE] {
                cluster.sims.inventory.set_stock(product, u32::MAX / 2);
            }
            let target = Target {
                label: "create-order",
                path: "/api/v1/orders".to_owned(),
                authorization: Some(Arc::from(cluster.auth().as_str())),
                body: Some(Arc::from(create_order_body().as_str())),
            };
            let addrs: Vec<String> = cluster
                .nodes
                .iter()
                .map(|n| n.base.trim_start_matches("http://").to_owned())
                .collect();
            let pids: Vec<u32> = cluster.nodes.iter().map(|n| n.pid()).collect();
            let sqld_pid = cluster.sqld.as_ref().and_then(|s| s.pid());
            runtime.block_on(load_spread(&addrs, &target, 1, 2 * nodes, &pids));
            let sqld_before = sqld_pid.map(process_cpu);
            let run = runtime.block_on(load_spread(&addrs, &target, seconds, connections, &pids));
            let sqld_cpu = sqld_pid
                .zip(sqld_before)
                .map(|(pid, before)| process_cpu(pid).saturating_sub(before));
            eprintln!(
                "bench: {database}, {nodes} node(s): {:.0} orders/s",
                run.rps()
            );
            rows.push(Row {
                database,
                nodes,
                run,
                sqld_cpu,
            });
        }
    }

    println!(
        "| database | nodes | orders/s | p50 ms | p99 ms | errors | order-host CPU ms/order (all nodes) | sqld CPU ms/order |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        let per_order = |d: Duration| d.as_secs_f64() * 1e3 / row.run.requests.max(1) as f64;
        println!(
            "| {} | {} | {:.0} | {} | {} | {} | {:.2} | {} |",
            row.database,
            row.nodes,
            row.run.rps(),
            ms(row.run.percentile(0.50)),
            ms(row.run.percentile(0.99)),
            row.run.errors,
            per_order(row.run.host_cpu),
            row.sqld_cpu
                .map_or("—".to_owned(), |d| format!("{:.2}", per_order(d))),
        );
    }
    println!();
    let rps = |database: &str, nodes: usize| {
        rows.iter()
            .find(|r| r.database == database && r.nodes == nodes)
            .map_or(f64::NAN, |r| r.run.rps())
    };
    for nodes in [1, 3] {
        println!(
            "- {nodes} node(s): libSQL at {:.2}x the orders/s of the local SQLite file",
            rps("libSQL (sqld)", nodes) / rps("local SQLite file", nodes)
        );
    }
    for database in ["local SQLite file", "libSQL (sqld)"] {
        println!(
            "- {database}: three nodes at {:.2}x the orders/s of one",
            rps(database, 3) / rps(database, 1)
        );
    }
    println!();
    println!(
        "{connections} connections spread over the nodes, {seconds} s per setup after a 1 s warm-up, load generator, nodes, sqld, Redis and simulators on the same cores; 1-minute load average {load_before} before, {} after.",
        load_average()
    );
}
