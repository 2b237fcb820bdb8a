//! `bench --operations`: what one host operation costs `order-host`, measured with the
//! `probe` fixture (one operation per request) against the same fixture answering without
//! one, in one `order-host` process and one run, beside hello-world. The difference of host
//! CPU per request is the operation's cost, including everything the component model and
//! Spin's interface shape add to it (a `spin:sqlite` statement: open, execute, the row stream
//! and the result future, drop; an outbound request: the `wasi:http` request, fields, body
//! streams and the response). The create-order path's costs are these, times the counts
//! `bench --only POST` reports.

use std::sync::Arc;

use integration_tests::{HostBuilder, workspace_root};

use super::{Target, load, ms};

/// Runs each target for `seconds` with `connections` connections and prints a Markdown table.
pub(crate) fn run(runtime: &tokio::runtime::Runtime, seconds: u64, connections: usize) {
    let sims = simulators::Simulators::spawn().expect("simulators");
    let user_url = sims.user.url();
    let port = user_url
        .rsplit(':')
        .next()
        .expect("port")
        .trim_end_matches('/')
        .to_owned();
    let host = HostBuilder::new(workspace_root().join("tests/fixtures/spin.toml"))
        .variable("allowed_port", port.clone())
        .start();
    let addr = host.base.trim_start_matches("http://").to_string();
    let setup = host.put("/probe/kv/default/bench", "value");
    assert_eq!(setup.status, 204, "{setup:?}");
    // `http://127.0.0.1:<port>/users/usr_alice`, query-encoded as tests/host.rs does.
    let outbound = format!(
        "/probe/outbound?url=http%3A%2F%2F127.0.0.1%3A{port}%2Fusers%2F{}",
        simulators::demo::ACTIVE_USER
    );
    let statement = |sql: &str, repeat: u32| {
        Some(Arc::from(
            serde_json::json!({ "sql": sql, "params": [], "repeat": repeat })
                .to_string()
                .as_str(),
        ))
    };
    let targets = [
        Target::open("hello-world component", "/hello"),
        Target::open(
            "probe, no host call (`GET /probe/headers`)",
            "/probe/headers",
        ),
        Target {
            label: "probe: one `spin:sqlite` statement (`SELECT 1`: open, execute, rows, drop)",
            path: "/probe/sqlite/default".to_owned(),
            authorization: None,
            body: statement("SELECT 1", 1),
        },
        Target {
            label: "probe: 11 `spin:sqlite` statements on one connection (`SELECT 1`)",
            path: "/probe/sqlite/default".to_owned(),
            authorization: None,
            body: statement("SELECT 1", 11),
        },
        Target::open(
            "probe: one `spin:key-value` get (open, get, drop)",
            "/probe/kv/default/bench",
        ),
        Target::open(
            "probe: one outbound `wasi:http` GET to the user stand-in",
            &outbound,
        ),
    ];
    for target in &targets {
        runtime.block_on(load(&addr, target, 1, 2, host.pid()));
    }
    println!(
        "| target ({connections} connections, {seconds} s) | req/s | p50 ms | errors | host CPU µs/req | over the bare probe, µs |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let mut baseline = None;
    for target in &targets {
        let run = runtime.block_on(load(&addr, target, seconds, connections, host.pid()));
        let cpu = run.host_cpu_per_request().as_secs_f64() * 1e6;
        if target.path == "/probe/headers" {
            baseline = Some(cpu);
        }
        let over = match (
            target.path.starts_with("/probe/") && target.path != "/probe/headers",
            baseline,
        ) {
            (true, Some(base)) => format!("{:.0}", cpu - base),
            _ => "—".to_owned(),
        };
        println!(
            "| {} | {:.0} | {} | {} | {cpu:.0} | {over} |",
            target.label,
            run.rps(),
            ms(run.percentile(0.50)),
            run.errors,
        );
    }
    host.stop();
}
