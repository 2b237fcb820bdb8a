//! Whether the dependency stand-ins limit the create-order benchmark (issue 10): the requests
//! they answer per order, the CPU time of the one runtime thread all five run on (the
//! `simulators` thread of this process), and the latency a probe client sees from them while
//! the load runs.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use simulators::Simulators;

/// How often the probe asks the User stand-in during a run.
const PROBE_EVERY: Duration = Duration::from_millis(10);

/// The name of the stand-ins' runtime thread (`simulators::server::Runner`).
const THREAD_NAME: &str = "simulators";

/// What the stand-ins had answered, and the CPU time of their thread, at one moment.
#[derive(Clone, Copy)]
pub(crate) struct Snapshot {
    calls: u64,
    cpu: Duration,
    at: Instant,
}

impl Snapshot {
    /// Now.
    pub(crate) fn take(sims: &Simulators) -> Self {
        Self {
            calls: sims.user.calls()
                + sims.product.calls()
                + sims.inventory.calls()
                + sims.payment.calls()
                + sims.auth.calls(),
            cpu: thread_cpu(THREAD_NAME),
            at: Instant::now(),
        }
    }
}

/// The stand-ins during one create-order run.
pub(crate) struct Report {
    /// Requests the app sent them per created order (the probe's own not counted).
    pub(crate) requests_per_order: f64,
    /// CPU time of their thread per created order.
    pub(crate) cpu_per_order: Duration,
    /// Their thread's CPU time over the run's wall time: 1.0 would be a saturated thread.
    pub(crate) busy: f64,
    /// The probe's answers: how many, and their latency's p50 and p99.
    pub(crate) probes: usize,
    pub(crate) probe_p50: Duration,
    pub(crate) probe_p99: Duration,
}

impl Report {
    /// From the snapshots around a run that created `orders` orders, during which the probe
    /// got `probe` (sorted latencies).
    pub(crate) fn new(
        before: Snapshot,
        after: Snapshot,
        orders: usize,
        probe: &[Duration],
    ) -> Self {
        let orders = orders.max(1) as f64;
        let calls = after
            .calls
            .saturating_sub(before.calls + probe.len() as u64);
        let cpu = after.cpu.saturating_sub(before.cpu);
        let wall = after
            .at
            .duration_since(before.at)
            .as_secs_f64()
            .max(f64::EPSILON);
        let percentile = |p: f64| {
            let i = ((probe.len() as f64 - 1.0) * p).round() as usize;
            probe.get(i).copied().unwrap_or_default()
        };
        Self {
            requests_per_order: calls as f64 / orders,
            cpu_per_order: cpu.div_f64(orders),
            busy: cpu.as_secs_f64() / wall,
            probes: probe.len(),
            probe_p50: percentile(0.50),
            probe_p99: percentile(0.99),
        }
    }
}

/// Asks the User stand-in for the demo user every [`PROBE_EVERY`] on one kept-alive
/// connection until `until`; the latencies of its 200 answers, sorted. The probe waits in the
/// stand-ins' queue like the app's requests do, so a busy stand-in shows here.
pub(crate) async fn probe(user_url: String, until: Instant) -> Vec<Duration> {
    let addr = user_url.trim_start_matches("http://").to_owned();
    let mut sender = crate::connect(&addr).await;
    let path = format!("/users/{}", simulators::demo::ACTIVE_USER);
    let mut latencies = Vec::new();
    while Instant::now() < until {
        let request = http::Request::get(&path)
            .header("host", &addr)
            .body(Full::new(Bytes::new()))
            .expect("request");
        let sent = Instant::now();
        let answer = sender
            .send_request(request)
            .await
            .expect("the stand-in answers");
        let ok = answer.status() == 200;
        answer.into_body().collect().await.expect("body");
        if ok {
            latencies.push(sent.elapsed());
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
    latencies.sort();
    latencies
}

/// CPU time (user + system) of this process's threads named `name`, from `/proc` (Linux);
/// zero elsewhere.
fn thread_cpu(name: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    tasks
        .filter_map(Result::ok)
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|comm| comm.trim() == name)
        })
        .map(|task| crate::stat_cpu(&task.path().join("stat")))
        .sum()
}
