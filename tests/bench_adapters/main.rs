//! Benchmark (not a test) of the dependency adapters, through the real composed `.wasm` on
//! `order-host` (the `adapter-driver` fixture) against the simulators:
//!
//! - a fast fail with the breaker open versus a call that runs into `call_timeout_ms`;
//! - a cached versus an uncached product lookup;
//! - key-value operations per adapter call.
//!
//! Key-value operations are counted by the store itself: the host's `default` store is put
//! on a `redis-server` of our own (runtime config, as in production scale-out), and Redis'
//! `INFO commandstats` is read after each scenario (`CONFIG RESETSTAT` before). That counts
//! exactly what the component asked for, with no counter in the component and nothing in
//! the host (the SQLite file's change counter would miss reads).
//!
//! Usage: `cargo run --release -p integration-tests --bin bench_adapters -- [--iterations 200]
//! [--timeout-ms 1000] [--timeout-calls 5]` (after `bash scripts/test.sh`, which builds the
//! host and the `.wasm` files). Prints a Markdown table.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use integration_tests::adapter_rig as rig;
use integration_tests::{Host, RedisServer, manifest_in_tempdir};
use serde_json::json;
use simulators::{Fault, Money, Product, Simulators, demo};

struct Args {
    iterations: usize,
    timeout_ms: u64,
    timeout_calls: usize,
}

fn args() -> Args {
    let mut args = Args {
        iterations: 200,
        timeout_ms: 1_000,
        timeout_calls: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().and_then(|v| v.parse::<u64>().ok());
        match (flag.as_str(), value) {
            ("--iterations", Some(v)) => args.iterations = v.max(1) as usize,
            ("--timeout-ms", Some(v)) => args.timeout_ms = v.max(1),
            ("--timeout-calls", Some(v)) => args.timeout_calls = v.max(1) as usize,
            _ => {
                eprintln!(
                    "usage: bench_adapters [--iterations N] [--timeout-ms MS] [--timeout-calls N]"
                );
                std::process::exit(2);
            }
        }
    }
    args
}

/// Key-value commands Redis executed, by kind.
#[derive(Default, Clone, Copy)]
struct KvOps {
    get: u64,
    set: u64,
    del: u64,
    other: u64,
}

impl KvOps {
    fn total(&self) -> u64 {
        self.get + self.set + self.del + self.other
    }
}

/// One measured scenario.
struct Row {
    name: &'static str,
    latencies: Vec<Duration>,
    ops: KvOps,
}

impl Row {
    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted.get(i).copied().unwrap_or_default()
    }

    fn per_call(&self, count: u64) -> f64 {
        count as f64 / self.latencies.len() as f64
    }
}

struct Bench {
    host: Host,
    redis: redis::Connection,
    agent: ureq::Agent,
}

impl Bench {
    fn request(&self, method: &str, path: &str, body: Option<String>) -> u16 {
        let url = format!("{}{path}", self.host.base);
        let result = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            (_, body) => self.agent.post(&url).send(body.unwrap_or_default()),
        };
        let mut response = result.expect("request to the host");
        let _ = response.body_mut().read_to_string();
        response.status().as_u16()
    }

    /// Runs `call` `n` times (its index as argument), timing each and counting the
    /// key-value commands it caused.
    fn measure(
        &mut self,
        name: &'static str,
        n: usize,
        mut call: impl FnMut(&Self, usize) -> u16,
        expect: u16,
    ) -> Row {
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query(&mut self.redis)
            .expect("CONFIG RESETSTAT");
        let mut latencies = Vec::with_capacity(n);
        for i in 0..n {
            let started = Instant::now();
            let status = call(self, i);
            latencies.push(started.elapsed());
            assert_eq!(status, expect, "{name}: unexpected status");
        }
        let stats: String = redis::cmd("INFO")
            .arg("commandstats")
            .query(&mut self.redis)
            .expect("INFO");
        Row {
            name,
            latencies,
            ops: parse_commandstats(&stats),
        }
    }
}

/// `cmdstat_get:calls=12,usec=…` lines → counts.
fn parse_commandstats(stats: &str) -> KvOps {
    let mut ops = KvOps::default();
    for line in stats.lines() {
        let Some((command, rest)) = line
            .strip_prefix("cmdstat_")
            .and_then(|l| l.split_once(':'))
        else {
            continue;
        };
        let calls = rest
            .split(',')
            .find_map(|field| field.strip_prefix("calls="))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        match command {
            "get" => ops.get += calls,
            "set" => ops.set += calls,
            "del" => ops.del += calls,
            // The bench's own CONFIG RESETSTAT / INFO.
            c if c.starts_with("config") || c.starts_with("info") => {}
            _ => ops.other += calls,
        }
    }
    ops
}

fn main() {
    let args = args();
    let redis_server = RedisServer::start();
    let sims = Simulators::spawn().expect("simulators");
    for i in 0..args.iterations {
        for prefix in ["prd_bench", "prd_multi"] {
            sims.product.upsert(Product {
                id: format!("{prefix}_{i}"),
                name: format!("Bench product {i}"),
                price: Money::eur(100 + i as i64),
                active: true,
            });
        }
    }
    let (dir, manifest) = manifest_in_tempdir(&rig::manifest(&sims));
    let runtime_config =
        integration_tests::write_runtime_config(dir.path(), &redis_server.key_value_config());
    let timeout_ms = args.timeout_ms.to_string();
    // The breaker must not trip on its own during the timeout scenario: a huge volume
    // threshold. The open-breaker scenario writes the open state into the store instead.
    let knobs = [
        ("call_timeout_ms", timeout_ms.as_str()),
        ("breaker_volume_threshold", "1000000"),
        ("breaker_reset_timeout_ms", "3600000"),
        ("retry_base_delay_ms", "10"),
    ];
    let host = rig::host_for(&sims, &manifest, &knobs, Some(&runtime_config));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let redis = redis_server.connection().expect("redis connection");
    let mut bench = Bench { host, redis, agent };
    let n = args.iterations;
    let user = |id: &str| format!("/users/{id}");
    let products = |ids: &[&str]| Some(json!({ "ids": ids }).to_string());

    // Warm-up: instance compiled and warm, service token fetched.
    for _ in 0..20 {
        bench.request("GET", &user(demo::ACTIVE_USER), None);
    }

    let mut rows = Vec::new();
    rows.push(bench.measure(
        "user: live call, breaker closed",
        n,
        |b, _| b.request("GET", &user(demo::ACTIVE_USER), None),
        200,
    ));
    rows.push(bench.measure(
        "product: uncached lookup (1 id)",
        n,
        |b, i| b.request("POST", "/products", products(&[&format!("prd_bench_{i}")])),
        200,
    ));
    rows.push(bench.measure(
        "product: fresh cache hit (1 id)",
        n,
        |b, i| b.request("POST", "/products", products(&[&format!("prd_bench_{i}")])),
        200,
    ));
    rows.push(bench.measure(
        "product: 4 ids uncached, fetched concurrently",
        n / 4,
        |b, i| {
            let ids: Vec<String> = (0..4).map(|k| format!("prd_multi_{}", i * 4 + k)).collect();
            b.request("POST", "/products", Some(json!({ "ids": ids }).to_string()))
        },
        200,
    ));
    rows.push(bench.measure(
        "inventory: reserve, breaker closed",
        n,
        |b, i| {
            let body = json!({ "orderId": format!("order-bench-{i}"), "items": [{ "productId": demo::CABLE, "quantity": 1 }] });
            b.request("POST", "/inventory/reserve", Some(body.to_string()))
        },
        200,
    ));
    rows.push(bench.measure(
        "payment: charge retried once after a 503 (same key)",
        n / 4,
        |b, i| {
            sims.payment.fail_next(1, Fault::Status(503));
            let body = json!({
                "orderId": format!("order-bench-{i}"),
                "amount": { "amountMinor": 999, "currency": "EUR" },
                "paymentMethod": { "type": "card", "token": "tok_visa" },
                "idempotencyKey": format!("charge-order-bench-{i}"),
            });
            b.request("POST", "/payments/charge", Some(body.to_string()))
        },
        200,
    ));
    rows.push(bench.measure(
        "health: dependency-health.status",
        n,
        |b, _| b.request("GET", "/health", None),
        200,
    ));

    // Breaker open: the state every instance reads from the store.
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let open =
        json!({ "state": "open", "version": 1, "openedAtMs": now_ms, "changedAtMs": now_ms });
    let _: () = redis::cmd("SET")
        .arg("breaker:user:state")
        .arg(open.to_string())
        .query(&mut bench.redis)
        .unwrap();
    rows.push(bench.measure(
        "user: breaker open, fast fail (no fallback)",
        n,
        |b, _| b.request("GET", &user("usr_bench_unknown"), None),
        503,
    ));
    rows.push(bench.measure(
        "user: breaker open, last known good served",
        n,
        |b, _| b.request("GET", &user(demo::ACTIVE_USER), None),
        200,
    ));
    let _: () = redis::cmd("DEL")
        .arg("breaker:user:state")
        .query(&mut bench.redis)
        .unwrap();
    sims.user.set_fault(Fault::Hang);
    rows.push(bench.measure(
        "user: call cut by call_timeout_ms (breaker closed)",
        args.timeout_calls,
        |b, _| b.request("GET", &user("usr_bench_unknown"), None),
        504,
    ));
    sims.user.clear_fault();

    println!(
        "Adapters via adapter-driver on order-host (release), key-value on Redis; call_timeout_ms = {}.\n",
        args.timeout_ms
    );
    println!("| scenario | requests | p50 ms | p99 ms | KV ops / call | GET | SET | DEL |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            row.name,
            row.latencies.len(),
            row.percentile(0.5).as_secs_f64() * 1e3,
            row.percentile(0.99).as_secs_f64() * 1e3,
            row.per_call(row.ops.total()),
            row.per_call(row.ops.get),
            row.per_call(row.ops.set),
            row.per_call(row.ops.del + row.ops.other),
        );
    }
    let p50 = |name: &str| {
        rows.iter()
            .find(|r| r.name == name)
            .map(|r| r.percentile(0.5).as_secs_f64())
            .unwrap_or(0.0)
    };
    let fast_fail = p50("user: breaker open, fast fail (no fallback)");
    let timed_out = p50("user: call cut by call_timeout_ms (breaker closed)");
    let cached = p50("product: fresh cache hit (1 id)");
    let uncached = p50("product: uncached lookup (1 id)");
    println!();
    println!(
        "- fast fail (breaker open) vs a call that times out: {:.0}× faster (p50 {:.2} ms vs {:.0} ms)",
        timed_out / fast_fail,
        fast_fail * 1e3,
        timed_out * 1e3
    );
    println!(
        "- fresh cache hit vs uncached product lookup: {:.1}× faster (p50 {:.2} ms vs {:.2} ms)",
        uncached / cached,
        cached * 1e3,
        uncached * 1e3
    );
}
