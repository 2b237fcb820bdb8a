//! `bench --compare DIR_A DIR_B … [--rounds N]`: create-order with two (or more) builds of the
//! components, interleaved on one machine, so a change is judged against the noise of the
//! moment (issue 10: this VM's hello-world varies 1,700–13,000 req/s between runs).
//!
//! Each directory holds a set of the app's `.wasm` files as the build leaves them
//! (`order_api.wasm`, `dependency_adapters.wasm`, `event_emitter.wasm`,
//! `payment_listener.wasm`); `DIR:REUSE` serves that set with `--max-instance-reuse-count
//! REUSE` instead of Spin's default 128 (`fin:1 fin fin:1000000` compares one build with an
//! instance per request, at Spin's default and with instances never replaced), and
//! `DIR:REUSE/CONCURRENT` also with `--max-instance-concurrent-reuse-count CONCURRENT`
//! instead of Spin's 16 (`fin fin:128/1`: one request at a time per instance). For each set,
//! the manifest is the real `spin.toml` with every `source = "target/wasm32-wasip2/release/…"`
//! pointed at that directory, plus the current build's hello-world on `/bench/hello` (the same
//! yardstick for every set), written to a temporary directory (every source is absolute). A
//! round runs each set in turn (A, B, A, B, …) on a fresh `order-host` (fresh state) with its
//! reuse counts: one second of hello-world and of create-order to warm up, then hello-world,
//! create-order (op counts, socket writes per response and page faults read from the host
//! before and after) and create-order's floor (`floor.rs`, same reuse counts) on its own host
//! right after, after a warm-up of its own. Rows per round, then per set the median of each column but errors: the
//! medians of ratios measured within a round are what a before/after claim may rest on; raw
//! req/s and latencies are shown but drift with the machine.

use std::path::{Path, PathBuf};

use integration_tests::workspace_root;

use super::{
    HELLO, Run, Target, count_deltas, create_order_target, load, per_request, settled_counts,
};

/// Spin 4's `--max-instance-reuse-count` default.
const SPIN_REUSE: u32 = 128;

/// Spin 4's `--max-instance-concurrent-reuse-count` default.
const SPIN_CONCURRENT_REUSE: u32 = 16;

/// The prefix of every component `source` in `spin.toml` (the build's output directory).
const BUILD_SOURCE: &str = "source = \"target/wasm32-wasip2/release/";

/// One set to measure: a directory of `.wasm` files and the instance reuse counts to serve it
/// with.
pub(crate) struct Set {
    /// Holds the set's `.wasm` files, named as `spin.toml` names them.
    pub(crate) dir: PathBuf,
    /// `--max-instance-reuse-count` ([`SPIN_REUSE`] unless the argument names one).
    pub(crate) reuse: u32,
    /// `--max-instance-concurrent-reuse-count` ([`SPIN_CONCURRENT_REUSE`] unless named).
    pub(crate) concurrent: u32,
}

impl Set {
    /// Parses `DIR`, `DIR:REUSE` or `DIR:REUSE/CONCURRENT` (positive integers); `None` if a
    /// count is not one.
    pub(crate) fn parse(arg: &str) -> Option<Self> {
        let positive = |count: &str| count.parse().ok().filter(|c: &u32| *c > 0);
        match arg.rsplit_once(':') {
            Some((dir, counts)) => {
                let (reuse, concurrent) = match counts.split_once('/') {
                    Some((reuse, concurrent)) => (positive(reuse)?, positive(concurrent)?),
                    None => (positive(counts)?, SPIN_CONCURRENT_REUSE),
                };
                Some(Self {
                    dir: PathBuf::from(dir),
                    reuse,
                    concurrent,
                })
            }
            None => Some(Self {
                dir: PathBuf::from(arg),
                reuse: SPIN_REUSE,
                concurrent: SPIN_CONCURRENT_REUSE,
            }),
        }
    }

    /// The set's name in the tables: its directory's last component, and its reuse counts if
    /// not Spin's defaults (see [`names`] for sets that would share one).
    fn name(&self) -> String {
        let dir = self
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.dir.display().to_string());
        match (self.reuse, self.concurrent) {
            (SPIN_REUSE, SPIN_CONCURRENT_REUSE) => dir,
            (reuse, SPIN_CONCURRENT_REUSE) => format!("{dir} (reuse {reuse})"),
            (reuse, concurrent) => format!("{dir} (reuse {reuse}/{concurrent})"),
        }
    }
}

/// The sets' names in the tables ([`Set::name`]), each suffixed with its place on the command
/// line (`#1`, `#2`…) when another set has the same name (`a/fin` and `b/fin`).
fn names(sets: &[Set]) -> Vec<String> {
    let plain: Vec<String> = sets.iter().map(Set::name).collect();
    plain
        .iter()
        .enumerate()
        .map(
            |(i, name)| match plain.iter().filter(|n| *n == name).count() {
                1 => name.clone(),
                _ => format!("{name} #{}", i + 1),
            },
        )
        .collect()
}

/// One set's figures in one round.
struct Row {
    set: usize,
    round: usize,
    create: Run,
    hello_rps: f64,
    floor_rps: f64,
    /// Write transactions, statements, key-value operations, Redis commands per created order
    /// (under load, relay included).
    counts: [f64; 4],
    /// The host's minor page faults per created order (`super::proc_stat::minor_faults`).
    faults: f64,
    /// Writes to the accepted sockets per response (`httpSocketWrites` / `httpResponses`):
    /// 1.0 when every answer left in one write.
    writes: f64,
}

/// Runs `rounds` interleaved rounds over `sets` at `(seconds, connections)` and prints the
/// Markdown tables. Exits with status 2 and a message, before any run, if a set's directory is
/// missing, lacks a component `spin.toml` names, or has a path a manifest cannot quote.
pub(crate) fn run(
    runtime: &tokio::runtime::Runtime,
    sets: &[Set],
    rounds: usize,
    (seconds, connections): (u64, usize),
) {
    let manifests_dir = tempfile::tempdir().expect("tempdir");
    let manifests: Vec<PathBuf> = sets
        .iter()
        .enumerate()
        .map(|(i, set)| {
            manifest(
                &manifests_dir.path().join(format!("set-{i}.toml")),
                &set.dir,
            )
            .unwrap_or_else(|refused| {
                eprintln!("bench --compare: {refused}");
                std::process::exit(2);
            })
        })
        .collect();
    let names = names(sets);
    let sims = simulators::Simulators::spawn().expect("simulators");
    for product in [simulators::demo::CABLE, simulators::demo::MOUSE] {
        sims.inventory.set_stock(product, u32::MAX / 2);
    }
    println!(
        "| set | round | orders/s | p50 ms | p99 ms | errors | host CPU µs/order | × floor | × hello-world | write tx | statements | KV ops | Redis cmds | page faults | writes/response |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    for round in 1..=rounds {
        for (set, manifest) in manifests.iter().enumerate() {
            let row = measure(
                runtime,
                &sims,
                manifest,
                (sets[set].reuse, sets[set].concurrent),
                (seconds, connections),
                (set, round),
            );
            println!(
                "| {} | {round} | {:.0} | {} | {} | {} | {:.0} | {:.3} | {:.4} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.3} |",
                names[set],
                row.create.rps(),
                super::ms(row.create.percentile(0.50)),
                super::ms(row.create.percentile(0.99)),
                row.create.errors,
                row.create.host_cpu_per_request().as_secs_f64() * 1e6,
                row.create.rps() / row.floor_rps,
                row.create.rps() / row.hello_rps,
                row.counts[0],
                row.counts[1],
                row.counts[2],
                row.counts[3],
                row.faults,
                row.writes,
            );
            rows.push(row);
        }
    }
    println!();
    println!(
        "| set (median of {rounds} rounds) | orders/s | p50 ms | p99 ms | host CPU µs/order | × floor | × hello-world | write tx | statements | KV ops | Redis cmds | page faults | writes/response |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (index, name) in names.iter().enumerate() {
        let of_set: Vec<&Row> = rows.iter().filter(|r| r.set == index).collect();
        let median_of = |f: &dyn Fn(&Row) -> f64| median(of_set.iter().map(|r| f(r)).collect());
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.0} | {:.3} | {:.4} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.3} |",
            name,
            median_of(&|r| r.create.rps()),
            median_of(&|r| r.create.percentile(0.50).as_secs_f64() * 1e3),
            median_of(&|r| r.create.percentile(0.99).as_secs_f64() * 1e3),
            median_of(&|r| r.create.host_cpu_per_request().as_secs_f64() * 1e6),
            median_of(&|r| r.create.rps() / r.floor_rps),
            median_of(&|r| r.create.rps() / r.hello_rps),
            median_of(&|r| r.counts[0]),
            median_of(&|r| r.counts[1]),
            median_of(&|r| r.counts[2]),
            median_of(&|r| r.counts[3]),
            median_of(&|r| r.faults),
            median_of(&|r| r.writes),
        );
    }
    println!();
    println!(
        "{connections} connections, {seconds} s per target, sets interleaved round by round, a fresh order-host per set and round; `× floor` and `× hello-world` are measured in the same round. Rounds: {}.",
        rows.iter().map(|r| r.round).max().unwrap_or(0)
    );
}

/// One set's round: hello-world, create-order and its floor (the same reuse counts), as the
/// module's documentation says.
fn measure(
    runtime: &tokio::runtime::Runtime,
    sims: &simulators::Simulators,
    manifest: &Path,
    (reuse, concurrent): (u32, u32),
    (seconds, connections): (u64, usize),
    (set, round): (usize, usize),
) -> Row {
    let (reuse, concurrent) = (reuse.to_string(), concurrent.to_string());
    let flags = [
        "--max-instance-reuse-count",
        reuse.as_str(),
        "--max-instance-concurrent-reuse-count",
        concurrent.as_str(),
    ];
    let (host, _counts_dir, counts_file) = super::counted_host(manifest, sims, &flags);
    let addr = host.base.trim_start_matches("http://").to_string();
    let hello = Target::open(HELLO, "/bench/hello");
    let create = create_order_target(&host);
    for target in [&hello, &create] {
        runtime.block_on(load(&addr, target, 1, 2, host.pid()));
    }
    let hello_run = runtime.block_on(load(&addr, &hello, seconds, connections, host.pid()));
    let before = settled_counts(&counts_file);
    let faults_before = super::proc_stat::minor_faults(host.pid());
    let create_run = runtime.block_on(load(&addr, &create, seconds, connections, host.pid()));
    let after = settled_counts(&counts_file);
    // Read after the settle, as the op counts: the relay and metrics run after the responses.
    let faults = super::proc_stat::minor_faults(host.pid()).saturating_sub(faults_before) as f64
        / create_run.requests.max(1) as f64;
    host.stop();
    let [tx, statements, kv, redis, ..] = per_request(&before, &after, create_run.requests);
    let writes = writes_per_response(&before, &after);
    let (floor_host, floor_target) = super::floor::start(&flags, sims, &super::create_order_body());
    let floor_addr = floor_host.base.trim_start_matches("http://").to_string();
    runtime.block_on(load(&floor_addr, &floor_target, 1, 2, floor_host.pid()));
    let floor_run = runtime.block_on(load(
        &floor_addr,
        &floor_target,
        seconds,
        connections,
        floor_host.pid(),
    ));
    floor_host.stop();
    Row {
        set,
        round,
        create: create_run,
        hello_rps: hello_run.rps(),
        floor_rps: floor_run.rps(),
        counts: [tx, statements, kv, redis],
        faults,
        writes,
    }
}

/// Socket writes per response between two readings of the host's counts (NaN when it answered
/// nothing, which [`median`] leaves out).
fn writes_per_response(before: &serde_json::Value, after: &serde_json::Value) -> f64 {
    let [writes, responses] = count_deltas(before, after, ["httpSocketWrites", "httpResponses"]);
    writes / responses
}

/// Writes to `path` the manifest of the set in `dir`: `spin.toml` with its build sources in
/// `dir` (absolute), plus hello-world. Refuses a missing directory, a missing file and a path
/// with a character a TOML basic string would need to escape.
fn manifest(path: &Path, dir: &Path) -> Result<PathBuf, String> {
    let dir =
        std::fs::canonicalize(dir).map_err(|_| format!("{}: no such directory", dir.display()))?;
    let shown = dir.display().to_string();
    if shown.contains(['"', '\\']) || shown.chars().any(char::is_control) {
        return Err(format!(
            "{shown}: a path with quotes, backslashes or control characters"
        ));
    }
    let text = std::fs::read_to_string(workspace_root().join("spin.toml")).expect("read spin.toml");
    for line in text.lines().filter(|l| l.starts_with(BUILD_SOURCE)) {
        let file = line[BUILD_SOURCE.len()..].trim_end_matches('"');
        if !dir.join(file).is_file() {
            return Err(format!(
                "{shown} has no {file} (spin.toml names it; copy the set from a build's \
                 target/wasm32-wasip2/release/)"
            ));
        }
    }
    let mut text = text.replace(BUILD_SOURCE, &format!("source = \"{shown}/"));
    text.push_str(&super::hello_route());
    std::fs::write(path, text).expect("write compare manifest");
    Ok(path.to_owned())
}

/// The median of the finite `values` (the mean of the middle two for an even count); NaN when
/// none is finite (a ratio whose yardstick answered nothing is left out, not sorted first).
fn median(values: Vec<f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::{Set, median, names};

    #[test]
    fn a_set_is_a_directory_with_spins_reuse_counts_unless_it_names_them() {
        let plain = Set::parse("/tmp/sets/fin").expect("a directory");
        assert_eq!(
            (plain.dir.to_str(), plain.reuse),
            (Some("/tmp/sets/fin"), 128)
        );
        let reused = Set::parse("/tmp/sets/fin:1").expect("a directory and a count");
        assert_eq!(
            (reused.dir.to_str(), reused.reuse),
            (Some("/tmp/sets/fin"), 1)
        );
        let one_at_a_time = Set::parse("/tmp/sets/fin:128/1").expect("both counts");
        assert_eq!(
            (
                one_at_a_time.dir.to_str(),
                one_at_a_time.reuse,
                one_at_a_time.concurrent
            ),
            (Some("/tmp/sets/fin"), 128, 1)
        );
        assert_eq!((plain.concurrent, reused.concurrent), (16, 16));
        for refused in [
            "/tmp/sets/fin:0",
            "/tmp/sets/fin:",
            "/tmp/sets/fin:many",
            "/tmp/sets/fin:128/",
            "/tmp/sets/fin:128/0",
            "/tmp/sets/fin:/4",
        ] {
            assert!(Set::parse(refused).is_none(), "{refused}");
        }
    }

    #[test]
    fn names_show_a_reuse_count_other_than_spins_and_tell_equal_names_apart() {
        let sets: Vec<Set> = ["a/fin", "b/fin", "fin:1", "new", "fin:128/1"]
            .iter()
            .map(|arg| Set::parse(arg).unwrap())
            .collect();
        assert_eq!(
            names(&sets),
            [
                "fin #1",
                "fin #2",
                "fin (reuse 1)",
                "new",
                "fin (reuse 128/1)"
            ]
            .map(String::from)
        );
    }

    #[test]
    fn the_median_is_of_the_finite_values() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        // A ratio over a yardstick that answered nothing (x / 0, 0 / 0) is left out.
        assert_eq!(median(vec![f64::NAN, 5.0, f64::INFINITY, 1.0, 3.0]), 3.0);
        assert!(median(vec![f64::NAN]).is_nan());
        assert!(median(Vec::new()).is_nan());
    }
}
