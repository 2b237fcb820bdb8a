//! Whether the dependency stand-ins limit the create-order benchmark (issue 10): the requests
//! they answer per order (in all and by route), the CPU time of the one runtime thread all
//! five run on ([`simulators::RUNTIME_THREAD_NAME`], a thread of this process), and the latency
//! a probe client sees from them while the load runs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use simulators::Simulators;

/// How often the probe asks the User stand-in during a run.
const PROBE_EVERY: Duration = Duration::from_millis(10);

/// What the stand-ins had answered, and the CPU time of their thread, at one moment.
pub(crate) struct Snapshot {
    /// Requests answered so far, per `"{stand-in} {route}"` (the route labels of
    /// `Simulator::route_calls`, unmatched requests included).
    calls: BTreeMap<String, u64>,
    /// CPU time (user + system) of their runtime thread so far; `None` if `/proc` does not
    /// show the thread (not Linux, or the thread was renamed).
    cpu: Option<Duration>,
    at: Instant,
}

impl Snapshot {
    /// Every stand-in's request count by route, and their thread's CPU time, now.
    pub(crate) fn take(sims: &Simulators) -> Self {
        let mut calls = BTreeMap::new();
        for (name, routes) in [
            ("user", sims.user.route_calls()),
            ("product", sims.product.route_calls()),
            ("inventory", sims.inventory.route_calls()),
            ("payment", sims.payment.route_calls()),
            ("auth", sims.auth.route_calls()),
        ] {
            for (route, count) in routes {
                calls.insert(format!("{name} {route}"), count);
            }
        }
        Self {
            calls,
            cpu: thread_cpu(simulators::RUNTIME_THREAD_NAME),
            at: Instant::now(),
        }
    }
}

/// The stand-ins during one create-order run.
pub(crate) struct Report {
    /// Requests the app sent them per created order (the probe's own not counted; the calls
    /// of orders that failed are counted, over the orders answered 2xx).
    pub(crate) requests_per_order: f64,
    /// The same by `"{stand-in} {route}"`, routes without requests left out.
    pub(crate) per_route: Vec<(String, f64)>,
    /// CPU time of their thread per created order; `None` when it could not be read.
    pub(crate) cpu_per_order: Option<Duration>,
    /// Their thread's CPU time over the run's wall time (1.0: a saturated thread); `None`
    /// when it could not be read.
    pub(crate) busy: Option<f64>,
    /// Median latency of the probe's 200 answers.
    pub(crate) probe_p50: Duration,
    /// 99th percentile of the same.
    pub(crate) probe_p99: Duration,
    /// How many 200 answers the probe got.
    pub(crate) probes: usize,
}

impl Report {
    /// From the snapshots around a run that created `orders` orders, during which the probe
    /// did `probe`.
    pub(crate) fn new(before: &Snapshot, after: &Snapshot, orders: usize, probe: &Probe) -> Self {
        let orders = orders.max(1) as f64;
        let mut per_route: Vec<(String, f64)> = after
            .calls
            .iter()
            .map(|(route, count)| {
                let earlier = before.calls.get(route).copied().unwrap_or(0);
                (route.clone(), count.saturating_sub(earlier))
            })
            .filter(|(_, calls)| *calls > 0)
            .map(|(route, calls)| (route, calls as f64 / orders))
            .collect();
        let probe_route = format!("user {}", simulators::user::Users::ROUTES[0]);
        if let Some((_, per_order)) = per_route.iter_mut().find(|(r, _)| *r == probe_route) {
            *per_order -= probe.sent as f64 / orders;
        }
        per_route.retain(|(_, per_order)| *per_order > 0.0);
        let wall = after
            .at
            .duration_since(before.at)
            .as_secs_f64()
            .max(f64::EPSILON);
        let cpu = after.cpu.zip(before.cpu).map(|(a, b)| a.saturating_sub(b));
        Self {
            requests_per_order: per_route.iter().map(|(_, per_order)| per_order).sum(),
            per_route,
            cpu_per_order: cpu.map(|cpu| cpu.div_f64(orders)),
            busy: cpu.map(|cpu| cpu.as_secs_f64() / wall),
            probe_p50: crate::percentile(&probe.latencies, 0.50),
            probe_p99: crate::percentile(&probe.latencies, 0.99),
            probes: probe.latencies.len(),
        }
    }
}

/// What the probe did: requests sent, and the latencies of the 200 answers, sorted.
pub(crate) struct Probe {
    sent: u64,
    latencies: Vec<Duration>,
}

/// Asks the User stand-in for the demo user every [`PROBE_EVERY`] on one kept-alive
/// connection until `until`. The probe waits in the stand-ins' queue like the app's requests
/// do, so a busy stand-in shows in its latency.
pub(crate) async fn probe(user_url: String, until: Instant) -> Probe {
    let addr = user_url.trim_start_matches("http://").to_owned();
    let mut sender = crate::connect(&addr).await;
    let path = format!("/users/{}", simulators::demo::ACTIVE_USER);
    let mut probe = Probe {
        sent: 0,
        latencies: Vec::new(),
    };
    while Instant::now() < until {
        let request = http::Request::get(&path)
            .header("host", &addr)
            .body(Full::new(Bytes::new()))
            .expect("request");
        let sent = Instant::now();
        probe.sent += 1;
        let answer = sender
            .send_request(request)
            .await
            .expect("the stand-in answers");
        let ok = answer.status() == 200;
        answer.into_body().collect().await.expect("body");
        if ok {
            probe.latencies.push(sent.elapsed());
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
    probe.latencies.sort();
    probe
}

/// CPU time (user + system) of this process's threads named `name`, from `/proc` (Linux);
/// `None` if no such thread shows there.
fn thread_cpu(name: &str) -> Option<Duration> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let named: Vec<_> = tasks
        .filter_map(Result::ok)
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|comm| comm.trim() == name)
        })
        .collect();
    (!named.is_empty()).then(|| {
        named
            .iter()
            .map(|task| crate::proc_stat::stat_cpu(&task.path().join("stat")))
            .sum()
    })
}
