//! Benchmark (not a test): throughput and latency of the Order Service's `/health/live`,
//! `/health/ready`, an authenticated order read (`GET /api/v1/orders/{id}`: JWT verification
//! and a SQLite read) and create-order versus a hello-world component, all served by the same
//! `order-host` process in one run, plus what one order asks of the host (SQLite, key-value and
//! Redis operations, counted by `order-host` itself) and whether the dependency stand-ins kept up
//! meanwhile (`stand_ins.rs`), and create-order's floor right after it (`floor.rs`: the saga's
//! host work and nothing else, on a host of its own). Prints Markdown tables for the README.
//! (Instantiation cost is `order-host`'s example `instantiation`: this crate never links the
//! host.)
//!
//! Usage: `cargo run --release -p integration-tests --bin bench -- [--seconds 5] [--connections 16]
//! [--setups 5]` (after `bash scripts/test.sh` or the component build it runs); `--setups 1` runs
//! only the default setup, for quick before/after comparisons; `--setups 2` adds the same setup
//! with `--tcp-nodelay`, to compare Spin's sockets (no `TCP_NODELAY`) with Nagle off.
//! `--only POST` runs only the targets whose label starts with `POST` (and hello-world), for
//! profiling one path.
//! `--scale-out` runs only the create-order target on one and three nodes, with the database on
//! libSQL and on one local SQLite file (see `scale_out.rs`).
//! `--operations` measures what one host operation (a SQLite statement, a key-value get, an
//! outbound request) costs the host, with the `probe` fixture (see `operations.rs`).
//! `--compare DIR_A DIR_B … [--rounds 4]` runs create-order with two or more sets of built components
//! (`DIR:REUSE` for another instance reuse count than Spin's 128) interleaved round by round, each against hello-world and the floor in the same round (see
//! `compare.rs`): for before/after claims on a noisy machine.

mod compare;
mod floor;
mod operations;
mod proc_stat;
mod scale_out;
mod stand_ins;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use integration_tests::{HostBuilder, wasm, workspace_root};
use proc_stat::process_cpu;

const LIVE: &str = "/health/live (order-api)";
const READY: &str = "/health/ready (order-api → SQLite, KV, composed adapters + emitter)";
const ORDER_READ: &str = "GET /api/v1/orders/{id} (order-api: JWT RS256 verify + SQLite read)";
const HELLO: &str = "hello-world component";
const CREATE: &str = "POST /api/v1/orders (user, 2 products, reserve, charge, confirm, 2 events)";

struct Args {
    seconds: u64,
    connections: usize,
    setups: usize,
    scale_out: bool,
    /// Per-operation host costs with the `probe` fixture instead (`operations.rs`).
    operations: bool,
    /// Only the targets whose label starts with this (plus hello-world, the yardstick), and no
    /// in-process counts: for profiling one path.
    only: Option<String>,
    /// Sets of built components to compare interleaved instead (`compare.rs`); `Some` when
    /// `--compare` was given.
    compare: Option<Vec<compare::Set>>,
    /// Rounds of `--compare`.
    rounds: usize,
}

fn args() -> Args {
    let mut args = Args {
        seconds: 5,
        connections: 16,
        setups: 5,
        scale_out: false,
        operations: false,
        only: None,
        compare: None,
        rounds: 4,
    };
    let mut it = std::env::args().skip(1).peekable();
    while let Some(flag) = it.next() {
        if flag == "--compare" {
            let sets = args.compare.get_or_insert_default();
            while let Some(set) = it.next_if(|next| !next.starts_with("--")) {
                sets.push(compare::Set::parse(&set).unwrap_or_else(|| usage()));
            }
            continue;
        }
        if flag == "--scale-out" {
            args.scale_out = true;
            continue;
        }
        if flag == "--operations" {
            args.operations = true;
            continue;
        }
        if flag == "--only" {
            args.only = it.next();
            continue;
        }
        let value = it.next().and_then(|v| v.parse().ok());
        match (flag.as_str(), value) {
            ("--seconds", Some(v)) if v > 0 => args.seconds = v,
            ("--connections", Some(v)) => args.connections = v as usize,
            ("--setups", Some(v)) => args.setups = v as usize,
            ("--rounds", Some(v)) if v > 0 => args.rounds = v as usize,
            _ => usage(),
        }
    }
    // --compare takes two sets or more, and no other mode beside it.
    if args
        .compare
        .as_ref()
        .is_some_and(|sets| sets.len() < 2 || args.scale_out || args.operations)
    {
        usage();
    }
    args
}

/// Prints the command line and exits with status 2.
fn usage() -> ! {
    eprintln!(
        "usage: bench [--seconds N] [--connections N] [--setups 1..5] [--only LABEL-PREFIX] [--scale-out] [--operations] [--compare DIR[:REUSE[/CONCURRENT]] DIR[:REUSE[/CONCURRENT]]... [--rounds N]]"
    );
    std::process::exit(2);
}

/// The app's own manifest plus the hello-world fixture on `/bench/hello`, written next to the
/// real `spin.toml` so relative `source` paths still resolve.
fn bench_manifest() -> PathBuf {
    let root = workspace_root();
    let mut text = std::fs::read_to_string(root.join("spin.toml")).expect("read spin.toml");
    text.push_str(&hello_route());
    let path = root.join("target/bench-spin.toml");
    std::fs::write(&path, text).expect("write bench manifest");
    // The copy lives in target/, so relative sources would resolve there: point them back.
    let fixed = std::fs::read_to_string(&path).unwrap().replace(
        "source = \"target/",
        &format!("source = \"{}/target/", root.display()),
    );
    std::fs::write(&path, fixed).expect("write bench manifest");
    path
}

/// The manifest lines that serve the build's hello-world fixture on `/bench/hello` (component
/// `bench-hello`, an absolute source), to append to a copy of `spin.toml`.
fn hello_route() -> String {
    format!(
        "\n[[trigger.http]]\nroute = \"/bench/hello\"\ncomponent = \"bench-hello\"\n\n[component.bench-hello]\nsource = \"{}\"\n",
        wasm("hello").display()
    )
}

struct Run {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    /// CPU time the host process used during the run (user + system).
    host_cpu: Duration,
}

impl Run {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
    /// Host CPU per answered request: less sensitive than req/s to other load on the machine.
    fn host_cpu_per_request(&self) -> Duration {
        self.host_cpu / (self.requests.max(1) as u32)
    }
    fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }
}

/// The `p` quantile (0.0–1.0, nearest rank) of `sorted`; zero when it is empty.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

/// A request with no answer after this long is counted as an error (a stuck request must not
/// hang the benchmark).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

async fn load(addr: &str, target: &Target, seconds: u64, connections: usize, pid: u32) -> Run {
    load_spread(&[addr.to_owned()], target, seconds, connections, &[pid]).await
}

/// [`load`] of `target` at `addr` for `(seconds, connections)`, with the stand-ins `sims`
/// watched meanwhile (`stand_ins.rs`: their requests and CPU per answered request, and a
/// probe client's latency).
fn watched_load(
    runtime: &tokio::runtime::Runtime,
    sims: &simulators::Simulators,
    addr: &str,
    target: &Target,
    (seconds, connections): (u64, usize),
    pid: u32,
) -> (Run, stand_ins::Report) {
    let until = Instant::now() + Duration::from_secs(seconds);
    let before = stand_ins::Snapshot::take(sims);
    let probe = runtime.spawn(stand_ins::probe(sims.user.url(), until));
    let run = runtime.block_on(load(addr, target, seconds, connections, pid));
    let probe = runtime.block_on(probe).expect("probe task");
    let after = stand_ins::Snapshot::take(sims);
    let report = stand_ins::Report::new(&before, &after, run.requests, &probe);
    (run, report)
}

/// Like [`load`], with connection *i* on `addrs[i % addrs.len()]` (several nodes of one
/// service) and the CPU time of every process in `pids` counted.
async fn load_spread(
    addrs: &[String],
    target: &Target,
    seconds: u64,
    connections: usize,
    pids: &[u32],
) -> Run {
    let cpu = || pids.iter().map(|pid| process_cpu(*pid)).sum::<Duration>();
    let cpu_before = cpu();
    // Keys unique to this run: a warm-up's keys sent again would be answered from the
    // stored answers (replays), not placed as orders.
    let run_id = LOAD_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..connections {
        let addr = addrs[i % addrs.len()].clone();
        let path: Arc<str> = Arc::from(target.path.as_str());
        let authorization = target.authorization.clone();
        let body = target.body.clone();
        let connection = tasks.len();
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(&addr).await;
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut sent = 0u64;
            while Instant::now() < deadline {
                let method = if body.is_some() { "POST" } else { "GET" };
                let mut req = http::Request::builder()
                    .method(method)
                    .uri(&*path)
                    .header("host", &addr);
                if let Some(value) = authorization.as_deref() {
                    req = req.header("authorization", value);
                }
                let payload = match body.as_deref() {
                    // A create-order target: one new order per request.
                    Some(json) => {
                        sent += 1;
                        req = req.header("content-type", "application/json").header(
                            "idempotency-key",
                            format!("bench-{}-{run_id}-{connection}-{sent}", run_nonce()),
                        );
                        Bytes::from(json.to_owned())
                    }
                    None => Bytes::new(),
                };
                let req = req.body(Full::new(payload)).unwrap();
                let t = Instant::now();
                let answer = tokio::time::timeout(REQUEST_TIMEOUT, async {
                    let resp = sender.send_request(req).await?;
                    let ok = resp.status().is_success();
                    resp.into_body().collect().await?;
                    Ok::<bool, hyper::Error>(ok)
                })
                .await;
                match answer {
                    Ok(Ok(true)) => latencies.push(t.elapsed()),
                    Ok(_) => errors += 1,
                    Err(_) => {
                        // No answer in time: counted, and this connection stops (its request
                        // is still pending on it).
                        eprintln!(
                            "bench: a request to {addr} got no answer in {REQUEST_TIMEOUT:?}"
                        );
                        errors += 1;
                        break;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut run = Run {
        requests: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
        host_cpu: Duration::ZERO,
    };
    for t in tasks {
        let (l, e) = t.await.expect("load task");
        run.latencies.extend(l);
        run.errors += e;
    }
    run.elapsed = start.elapsed();
    run.host_cpu = cpu().saturating_sub(cpu_before);
    run.requests = run.latencies.len();
    run.latencies.sort();
    run
}

/// An `order-host` for `manifest` with the stand-ins `sims` and the extra `flags`, keeping its
/// op counts (`ORDER_HOST_OP_COUNTS_FILE`) in a file of a temporary directory: returns the
/// host, the directory (keep it alive while the host runs) and the file's path for
/// [`settled_counts`].
fn counted_host(
    manifest: &std::path::Path,
    sims: &simulators::Simulators,
    flags: &[&str],
) -> (integration_tests::Host, tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let counts_file = dir.path().join("op-counts.json");
    let host = flags
        .iter()
        .fold(
            HostBuilder::new(manifest).simulators(sims).env(
                "ORDER_HOST_OP_COUNTS_FILE",
                counts_file.display().to_string(),
            ),
            |builder, flag| builder.arg(*flag),
        )
        .start();
    (host, dir, counts_file)
}

/// Host operations per created order, as `order-host` counts them (`op_counts`, read from the
/// file it keeps when `ORDER_HOST_OP_COUNTS_FILE` is set): 50 orders one after another on one
/// connection, then a pause for work that runs after the response (event relay, metrics),
/// divided by 50. Returns (write transactions, statements, key-value operations, Redis
/// commands) per order.
fn create_order_counts(
    runtime: &tokio::runtime::Runtime,
    manifest: &std::path::Path,
    sims: &simulators::Simulators,
) -> (f64, f64, f64, f64, f64, f64) {
    const ORDERS: u64 = 50;
    let (host, _counts_dir, counts_file) = counted_host(manifest, sims, &[]);
    let target = create_order_target(&host);
    let addr = host.base.trim_start_matches("http://").to_string();
    // Warm-up: migrations, caches and tokens are not per-order costs.
    runtime.block_on(sequential_orders(&addr, &target, 5));
    let before = settled_counts(&counts_file);
    runtime.block_on(sequential_orders(&addr, &target, ORDERS));
    let after = settled_counts(&counts_file);
    host.stop();
    let [tx, statements, kv, redis, _, opens, redis_opens] =
        per_request(&before, &after, ORDERS as usize);
    (tx, statements, kv, redis, opens, redis_opens)
}

/// The counts once work after the last response has run (relay, metrics) and the file was
/// rewritten since.
fn settled_counts(path: &std::path::Path) -> serde_json::Value {
    std::thread::sleep(Duration::from_millis(600));
    read_counts(path)
}

/// What happened between `before` and `after` per answered request: write transactions,
/// statements, key-value operations, Redis commands, instances created, SQLite connections
/// opened, Redis connections opened.
fn per_request(before: &serde_json::Value, after: &serde_json::Value, requests: usize) -> [f64; 7] {
    count_deltas(
        before,
        after,
        [
            "sqliteWriteTransactions",
            "sqliteStatements",
            "keyValueOperations",
            "redisCommands",
            "instantiations",
            "sqliteOpens",
            "redisOpens",
        ],
    )
    .map(|delta| delta / requests.max(1) as f64)
}

/// How much each of `fields` of the host's counts grew from `before` to `after` (0 for a field
/// either reading lacks, or one that shrank: another host's file).
fn count_deltas<const N: usize>(
    before: &serde_json::Value,
    after: &serde_json::Value,
    fields: [&str; N],
) -> [f64; N] {
    fields.map(|field| {
        let read = |counts: &serde_json::Value| counts[field].as_u64().unwrap_or(0);
        read(after).saturating_sub(read(before)) as f64
    })
}

/// The counts `order-host` last wrote to `path` (it rewrites the file every 50 ms).
fn read_counts(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("order-host writes its op counts");
    serde_json::from_str(&text).expect("op counts JSON")
}

/// An HTTP/1.1 client connection to `addr` (`host:port`), kept alive, Nagle off.
async fn connect(addr: &str) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).ok();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    sender
}

/// Places `orders` orders one after another on one kept-alive connection, each answered 201.
async fn sequential_orders(addr: &str, target: &Target, orders: u64) {
    let mut sender = connect(addr).await;
    for _ in 0..orders {
        let mut req = http::Request::post(&target.path)
            .header("host", addr)
            .header("content-type", "application/json")
            .header("idempotency-key", uuid_key());
        if let Some(value) = target.authorization.as_deref() {
            req = req.header("authorization", value);
        }
        let body = target.body.as_deref().unwrap_or_default().to_owned();
        let req = req.body(Full::new(Bytes::from(body))).unwrap();
        sender.ready().await.expect("connection ready");
        let resp = sender.send_request(req).await.expect("order");
        assert_eq!(resp.status(), 201, "order not created");
        let _ = resp.into_body().collect().await;
    }
}

/// A fresh idempotency key for a counted order.
fn uuid_key() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("count-{}-{n}", run_nonce())
}

/// One thing to load: a label, a path, for the order API a bearer token, and for a POST its
/// JSON body (each request then carries a new `Idempotency-Key`).
struct Target {
    label: &'static str,
    path: String,
    authorization: Option<Arc<str>>,
    body: Option<Arc<str>>,
}

impl Target {
    fn open(label: &'static str, path: &str) -> Self {
        Self {
            label,
            path: path.to_owned(),
            authorization: None,
            body: None,
        }
    }
}

/// Load runs started by this process: part of their idempotency keys.
static LOAD_RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Distinguishes this process's idempotency keys from an earlier run's on the same state.
fn run_nonce() -> u32 {
    static NONCE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *NONCE.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default()
    })
}

/// The create-order body of the benchmark: one user, two products (reserve, charge, confirm).
fn create_order_body() -> String {
    serde_json::json!({
        "userId": simulators::demo::ACTIVE_USER,
        "items": [
            { "productId": simulators::demo::CABLE, "quantity": 1 },
            { "productId": simulators::demo::MOUSE, "quantity": 1 },
        ],
        "paymentMethod": { "type": "card", "token": "tok_visa" },
    })
    .to_string()
}

/// `POST /api/v1/orders`, a new order per request.
fn create_order_target(host: &integration_tests::Host) -> Target {
    Target {
        label: CREATE,
        path: "/api/v1/orders".to_owned(),
        authorization: Some(Arc::from(
            format!("Bearer {}", host.token("orders:write")).as_str(),
        )),
        body: Some(Arc::from(create_order_body().as_str())),
    }
}

/// Places one order through the API and returns the authenticated read of it.
fn order_read_target(host: &integration_tests::Host) -> Target {
    let token = format!("Bearer {}", host.token("orders:read orders:write"));
    let body = serde_json::json!({
        "userId": simulators::demo::ACTIVE_USER,
        "items": [{ "productId": simulators::demo::CABLE, "quantity": 1 }],
        "paymentMethod": { "type": "card", "token": "tok_visa" },
    });
    let created = host.request(
        "POST",
        "/api/v1/orders",
        &[
            ("authorization", &token),
            ("idempotency-key", "bench-1"),
            ("content-type", "application/json"),
        ],
        Some(&body.to_string()),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json()["id"].as_str().expect("order id").to_owned();
    Target {
        label: ORDER_READ,
        path: format!("/api/v1/orders/{id}"),
        authorization: Some(Arc::from(token.as_str())),
        body: None,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if args.scale_out {
        scale_out::run(&runtime, args.seconds, args.connections);
        return;
    }
    if args.operations {
        operations::run(&runtime, args.seconds, args.connections);
        return;
    }
    if let Some(sets) = &args.compare {
        compare::run(
            &runtime,
            sets,
            args.rounds,
            (args.seconds, args.connections),
        );
        return;
    }
    let manifest = bench_manifest();
    println!("| setup | target | req/s | p50 ms | p99 ms | errors | host CPU µs/req |");
    println!("|---|---|---|---|---|---|---|");
    let mut summary = Vec::new();
    let mut order_reads = Vec::new();
    let mut creates = Vec::new();
    let mut under_load = Vec::new();
    let mut stand_in_reports = Vec::new();
    let setups: [(&str, &[&str]); 5] = [
        (
            "reuse 128/16 (Spin 4 default), pooling (default)",
            &["--max-instance-reuse-count", "128"],
        ),
        (
            "as above, with TCP_NODELAY (not Spin)",
            &["--max-instance-reuse-count", "128", "--tcp-nodelay"],
        ),
        (
            "reuse 128/16, on-demand",
            &["--max-instance-reuse-count", "128", "--no-pooling"],
        ),
        (
            "instance per request, pooling",
            &["--max-instance-reuse-count", "1"],
        ),
        (
            "instance per request, on-demand",
            &["--max-instance-reuse-count", "1", "--no-pooling"],
        ),
    ];
    let sims = simulators::Simulators::spawn().expect("simulators");
    // Stock for every order the create target can place: the stand-ins must not be the limit.
    for product in [simulators::demo::CABLE, simulators::demo::MOUSE] {
        sims.inventory.set_stock(product, u32::MAX / 2);
    }
    for (setup, flags) in setups.into_iter().take(args.setups) {
        let (host, _counts_dir, counts_file) = counted_host(&manifest, &sims, flags);
        let addr = host.base.trim_start_matches("http://").to_string();
        let targets: Vec<Target> = [
            Target::open(LIVE, "/health/live"),
            Target::open(READY, "/health/ready"),
            order_read_target(&host),
            Target::open(HELLO, "/bench/hello"),
            create_order_target(&host),
        ]
        .into_iter()
        .filter(|t| {
            t.label == HELLO
                || args
                    .only
                    .as_deref()
                    .is_none_or(|prefix| t.label.starts_with(prefix))
        })
        .collect();
        // Warm up every path (first-request compile/instantiate costs are not the subject).
        for target in &targets {
            runtime.block_on(load(&addr, target, 1, 2, host.pid()));
        }
        let runs: Vec<(&str, Run)> = targets
            .iter()
            .map(|target| {
                let before = settled_counts(&counts_file);
                // The stand-ins are watched during the create-order run (and its floor's).
                if target.label != CREATE {
                    let run = runtime.block_on(load(
                        &addr,
                        target,
                        args.seconds,
                        args.connections,
                        host.pid(),
                    ));
                    return (target.label, run);
                }
                let (run, report) = watched_load(
                    &runtime,
                    &sims,
                    &addr,
                    target,
                    (args.seconds, args.connections),
                    host.pid(),
                );
                stand_in_reports.push((setup.to_owned(), report));
                let after = settled_counts(&counts_file);
                under_load.push((setup, per_request(&before, &after, run.requests)));
                (target.label, run)
            })
            .collect();
        // Create-order's floor, on a host of its own with the same flags, right after it.
        let floor_run = targets.iter().any(|t| t.label == CREATE).then(|| {
            let (floor_host, floor_target) = floor::start(flags, &sims, &create_order_body());
            let floor_addr = floor_host.base.trim_start_matches("http://").to_string();
            runtime.block_on(load(&floor_addr, &floor_target, 1, 2, floor_host.pid()));
            let (run, report) = watched_load(
                &runtime,
                &sims,
                &floor_addr,
                &floor_target,
                (args.seconds, args.connections),
                floor_host.pid(),
            );
            stand_in_reports.push((format!("{setup}: the floor"), report));
            floor_host.stop();
            run
        });
        let floor_row = floor_run.as_ref().map(|run| (floor::LABEL, run));
        for (target, run) in runs
            .iter()
            .map(|(label, run)| (*label, run))
            .chain(floor_row)
        {
            println!(
                "| {setup} | {target} | {:.0} | {} | {} | {} | {:.0} |",
                run.rps(),
                ms(run.percentile(0.50)),
                ms(run.percentile(0.99)),
                run.errors,
                run.host_cpu_per_request().as_secs_f64() * 1e6
            );
        }
        let find = |label: &str| runs.iter().find(|(l, _)| *l == label).map(|(_, r)| r);
        let hello = find(HELLO).expect("hello-world always runs").rps();
        if let (Some(live), Some(ready), Some(read)) = (find(LIVE), find(READY), find(ORDER_READ)) {
            summary.push((
                setup,
                live.rps() / hello,
                ready.rps() / hello,
                read.rps() / hello,
            ));
            order_reads.push((setup, read.rps(), read.percentile(0.50)));
        }
        if let Some(create) = find(CREATE) {
            let floor = floor_run.as_ref().map(Run::rps).unwrap_or(f64::NAN);
            creates.push((
                setup,
                create.rps() / hello,
                create.rps() / floor,
                floor / hello,
            ));
        }
        host.stop();
    }
    println!();
    for (setup, live, ready, read) in summary {
        println!(
            "- {setup}: /health/live at {live:.2}x, /health/ready at {ready:.2}x and an authenticated order read at {read:.2}x the hello-world throughput"
        );
    }
    // Spin leaves TCP_NODELAY off; the app's responses must not stall on it (issue 15).
    if let [
        (spin_setup, spin_rps, spin_p50),
        (nodelay_setup, nodelay_rps, nodelay_p50),
        ..,
    ] = order_reads[..]
    {
        println!(
            "- authenticated order read, Spin's sockets ({spin_setup}) vs TCP_NODELAY ({nodelay_setup}): {spin_rps:.0} vs {nodelay_rps:.0} req/s ({:.2}x), p50 {} vs {} ms",
            spin_rps / nodelay_rps,
            ms(spin_p50),
            ms(nodelay_p50)
        );
    }
    for (setup, ratio, of_floor, floor) in creates {
        println!(
            "- {setup}: create-order at {ratio:.3}x the hello-world throughput, {of_floor:.2}x its floor's (the floor at {floor:.3}x hello-world)"
        );
    }
    if !under_load.is_empty() {
        println!();
        println!(
            "| per created order under load ({} connections, relay included) | write transactions | statements | key-value operations | Redis commands | instances created | SQLite connections opened | Redis connections opened |",
            args.connections
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for (setup, [tx, statements, kv, redis, instances, opens, redis_opens]) in &under_load {
            println!(
                "| {setup} | {tx:.2} | {statements:.2} | {kv:.2} | {redis:.2} | {instances:.3} | {opens:.3} | {redis_opens:.3} |"
            );
        }
    }
    if !stand_in_reports.is_empty() {
        println!();
        println!(
            "| dependency stand-ins during the create-order run (one thread for all five) | requests per order | thread CPU per order | thread busy | probe GET p50 | probe GET p99 | probes |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        let or_na = |value: Option<String>| value.unwrap_or_else(|| "n/a".to_owned());
        for (setup, r) in &stand_in_reports {
            println!(
                "| {setup} | {:.2} | {} | {} | {} ms | {} ms | {} |",
                r.requests_per_order,
                or_na(
                    r.cpu_per_order
                        .map(|cpu| format!("{:.0} µs", cpu.as_secs_f64() * 1e6))
                ),
                or_na(r.busy.map(|busy| format!("{:.0} %", busy * 100.0))),
                ms(r.probe_p50),
                ms(r.probe_p99),
                r.probes
            );
        }
        for (setup, r) in &stand_in_reports {
            let routes: Vec<String> = r
                .per_route
                .iter()
                .map(|(route, per_order)| format!("{route} {per_order:.2}"))
                .collect();
            println!(
                "- {setup}: stand-in requests per order by route: {}",
                routes.join(", ")
            );
        }
    }
    if args.only.is_some() {
        let _ = std::fs::remove_file(manifest);
        return;
    }
    println!();
    let counts = create_order_counts(&runtime, &manifest, &sims);
    println!(
        "| per created order (counted by order-host, 50 sequential orders, relay included) | count |"
    );
    println!("|---|---|");
    println!("| SQLite write transactions | {:.1} |", counts.0);
    println!("| SQLite statements | {:.1} |", counts.1);
    println!("| key-value operations | {:.1} |", counts.2);
    println!("| Redis commands | {:.1} |", counts.3);
    println!("| SQLite connections opened | {:.2} |", counts.4);
    println!("| Redis connections opened | {:.2} |", counts.5);
    println!();
    println!("(Instantiation times: `cargo run --release -p order-host --example instantiation`.)");
    println!();
    println!(
        "{} connections, {} s per target, one order-host process per setup, same machine.",
        args.connections, args.seconds
    );
    let _ = std::fs::remove_file(manifest);
}
