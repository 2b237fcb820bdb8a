//! The steady stream of orders: each order has its own `Idempotency-Key`; a 503, a 409 "still in
//! flight" or a transport error is retried with the same key, as a real client would.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use simulators::demo;

/// Attempts per order: the first plus this many retries with the same key.
const RETRIES: u32 = 2;
/// Pause before a retry. Shorter than most `Retry-After` values, to keep the run bounded.
const RETRY_PAUSE: Duration = Duration::from_millis(200);
/// Pause before retrying a 409 "request in progress" (its `Retry-After: 1`).
const IN_PROGRESS_PAUSE: Duration = Duration::from_millis(1100);
/// The client gives up on one attempt after this long (the host's SQLite busy timeout is 5 s).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Orders in flight at once.
pub(crate) const CONCURRENCY: usize = 2;

/// What one order ended with, after its retries.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// Final status code, or `"timeout"` / `"error"` for a transport failure.
    pub(crate) last: String,
    /// Every order id an attempt answered 201 or 202 for, with that status.
    pub(crate) accepted: Vec<(String, u16)>,
}

/// One HTTP attempt's result: status and body, or a transport failure.
enum Attempt {
    Answered(u16, String),
    Failed(&'static str),
}

/// Sends orders to one host, or spreads them over several nodes of one service, with one token.
pub(crate) struct Client {
    agent: ureq::Agent,
    /// Order *n*'s attempt *a* goes to `bases[(n + a) % len]`: a retry after a transport
    /// failure reaches another node, as behind a load balancer.
    bases: Mutex<Vec<String>>,
    auth: String,
    key_prefix: String,
    next: AtomicUsize,
    /// Requests under way per node (index into the bases).
    in_flight: Vec<AtomicUsize>,
    /// Attempts that got no answer (timeout, reset, refused).
    pub(crate) transport_failures: AtomicUsize,
    /// Every order sent so far, in completion order.
    pub(crate) outcomes: Mutex<Vec<Outcome>>,
}

impl Client {
    /// A client for `base` (the host's `http://…`), authorised by `token`.
    pub(crate) fn new(base: &str, token: &str, key_prefix: &str) -> Self {
        Self::spread(vec![base.to_owned()], token, key_prefix)
    }

    /// A client spreading orders over `bases` (the nodes' `http://…`).
    pub(crate) fn spread(bases: Vec<String>, token: &str, key_prefix: &str) -> Self {
        let nodes = bases.len();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(CLIENT_TIMEOUT))
            .build()
            .into();
        Self {
            agent,
            bases: Mutex::new(bases),
            auth: format!("Bearer {token}"),
            key_prefix: key_prefix.to_owned(),
            next: AtomicUsize::new(0),
            in_flight: (0..nodes).map(|_| AtomicUsize::new(0)).collect(),
            transport_failures: AtomicUsize::new(0),
            outcomes: Mutex::new(Vec::new()),
        }
    }

    /// Points node `index` at a new address (a node restarted on another port).
    pub(crate) fn set_base(&self, index: usize, base: &str) {
        if let Ok(mut bases) = self.bases.lock() {
            bases[index] = base.to_owned();
        }
    }

    /// Orders finished so far (after their retries).
    pub(crate) fn finished(&self) -> usize {
        self.outcomes.lock().map_or(0, |o| o.len())
    }

    /// Requests under way on node `index` right now.
    pub(crate) fn in_flight_on(&self, index: usize) -> usize {
        self.in_flight[index].load(Ordering::SeqCst)
    }

    fn base(&self, pick: usize) -> String {
        self.bases
            .lock()
            .map(|b| b[pick % b.len()].clone())
            .unwrap_or_default()
    }

    fn send(
        &self,
        pick: usize,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: &str,
    ) -> Attempt {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base(pick)))
            .header("authorization", &self.auth)
            .header("content-type", "application/json");
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let request = request.body(body.to_owned()).expect("a valid request");
        let node = &self.in_flight[pick % self.in_flight.len()];
        node.fetch_add(1, Ordering::SeqCst);
        let result = self.agent.run(request);
        node.fetch_sub(1, Ordering::SeqCst);
        match result {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let text = response.body_mut().read_to_string().unwrap_or_default();
                Attempt::Answered(status, text)
            }
            Err(ureq::Error::Timeout(_)) => Attempt::Failed("timeout"),
            Err(_) => Attempt::Failed("error"),
        }
    }

    /// An admin `POST` (recover, dispatch) to the first node: its status and JSON body.
    pub(crate) fn admin_post(&self, path: &str) -> (u16, serde_json::Value) {
        match self.send(0, "POST", path, None, "{}") {
            Attempt::Answered(status, body) => {
                (status, serde_json::from_str(&body).unwrap_or_default())
            }
            Attempt::Failed(_) => (0, serde_json::Value::Null),
        }
    }

    /// Sends `count` orders, [`CONCURRENCY`] at a time, each retried as [`Outcome`] says.
    pub(crate) fn run_orders(&self, count: usize) {
        let remaining = AtomicUsize::new(count);
        std::thread::scope(|scope| {
            for _ in 0..CONCURRENCY {
                scope.spawn(|| {
                    while remaining
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                    {
                        let outcome = self.one_order();
                        if let Ok(mut outcomes) = self.outcomes.lock() {
                            outcomes.push(outcome);
                        }
                    }
                });
            }
        });
    }

    /// Sends orders until `done()` is true (checked between orders), at least `min` of them.
    pub(crate) fn run_orders_until(&self, min: usize, done: impl Fn() -> bool + Sync) {
        let sent = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..CONCURRENCY {
                scope.spawn(|| {
                    while sent.load(Ordering::SeqCst) < min || !done() {
                        sent.fetch_add(1, Ordering::SeqCst);
                        let outcome = self.one_order();
                        if let Ok(mut outcomes) = self.outcomes.lock() {
                            outcomes.push(outcome);
                        }
                    }
                });
            }
        });
    }

    fn one_order(&self) -> Outcome {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let key = format!("{}-{n}", self.key_prefix);
        let user = if n.is_multiple_of(2) {
            demo::ACTIVE_USER
        } else {
            demo::OTHER_ACTIVE_USER
        };
        let product = if n.is_multiple_of(3) {
            demo::CABLE
        } else {
            demo::MOUSE
        };
        let body = json!({
            "userId": user,
            "items": [{ "productId": product, "quantity": 1 }],
            "paymentMethod": { "type": "card", "token": "tok_visa" },
        })
        .to_string();
        let mut outcome = Outcome {
            last: String::new(),
            accepted: Vec::new(),
        };
        for attempt in 0..=RETRIES {
            let mut pause = RETRY_PAUSE;
            let pick = n + attempt as usize;
            let retry = match self.send(pick, "POST", "/api/v1/orders", Some(&key), &body) {
                Attempt::Answered(status, text) => {
                    outcome.last = status.to_string();
                    if status == 201 || status == 202 {
                        let id = serde_json::from_str::<serde_json::Value>(&text)
                            .ok()
                            .and_then(|v| v["id"].as_str().map(str::to_owned))
                            .unwrap_or_default();
                        outcome.accepted.push((id, status));
                    }
                    let in_progress = status == 409 && text.contains("request-in-progress");
                    if in_progress {
                        pause = IN_PROGRESS_PAUSE;
                    }
                    status == 503 || in_progress
                }
                Attempt::Failed(kind) => {
                    self.transport_failures.fetch_add(1, Ordering::SeqCst);
                    outcome.last = kind.to_owned();
                    true
                }
            };
            if !retry || attempt == RETRIES {
                break;
            }
            std::thread::sleep(pause);
        }
        outcome
    }

    /// Final answers by status, e.g. `201×25 503×5`.
    pub(crate) fn answers_by_status(&self) -> String {
        let outcomes = self.outcomes.lock().map(|o| o.clone()).unwrap_or_default();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for outcome in &outcomes {
            *counts.entry(outcome.last.clone()).or_default() += 1;
        }
        counts
            .iter()
            .map(|(status, n)| format!("{status}×{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}
