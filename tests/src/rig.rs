//! The service rig: the repository's `spin.toml` on `order-host` against its own simulators
//! and its own `redis-server`, with a token, and the authorised requests the suites make.
//! Every order-level suite (orders, payments, events, observability, TLS, libSQL) starts here.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use simulators::Simulators;

use crate::{Answer, Host, HostBuilder, RedisServer, eventually, workspace_root};

/// Every scope the order API knows but statistics.
pub const SCOPES: &str = "orders:write orders:read orders:admin";

/// A builder for the repository's manifest pointed at `sims` and the Redis at `redis_url`
/// (so `up` starts no simulators or Redis of its own), with short retry delays.
pub fn service_builder(sims: &Simulators, redis_url: &str) -> HostBuilder {
    HostBuilder::new(workspace_root().join("spin.toml"))
        .simulators(sims)
        .variable("redis_url", redis_url)
        .variable("retry_base_delay_ms", "20")
}

/// Simulators, Redis and a host running the repository's `spin.toml`, with a token.
pub struct Rig {
    /// The simulators the host calls.
    pub sims: Simulators,
    /// The Redis the host's `redis_url` names (events, the trigger).
    pub redis: RedisServer,
    /// The host.
    pub host: Host,
    /// A token for the rig's scopes ([`SCOPES`] unless [`RigBuilder::scopes`] said otherwise).
    pub token: String,
}

/// How to start a [`Rig`].
pub struct RigBuilder {
    sims: Option<Simulators>,
    scopes: String,
    extra: Vec<Box<dyn FnOnce(HostBuilder) -> HostBuilder>>,
}

impl Default for RigBuilder {
    fn default() -> Self {
        Self {
            sims: None,
            scopes: SCOPES.to_owned(),
            extra: Vec::new(),
        }
    }
}

impl RigBuilder {
    /// Sets a Spin variable (`SPIN_VARIABLE_<NAME>`).
    pub fn variable(self, name: &str, value: &str) -> Self {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.host(move |b| b.variable(&name, value))
    }

    /// Sets Spin variables.
    pub fn variables(self, knobs: &[(&str, &str)]) -> Self {
        knobs
            .iter()
            .fold(self, |rig, (name, value)| rig.variable(name, value))
    }

    /// Sets an environment variable of the host process.
    pub fn env(self, name: &str, value: &str) -> Self {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.host(move |b| b.env(&name, value))
    }

    /// Extra `order-host up` arguments.
    pub fn args(self, args: &[&str]) -> Self {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        self.host(move |b| args.into_iter().fold(b, HostBuilder::arg))
    }

    /// Reads this runtime config (`--runtime-config`).
    pub fn runtime_config(self, path: &Path) -> Self {
        self.args(&["--runtime-config", &path.display().to_string()])
    }

    /// Uses (and keeps) this state directory.
    pub fn state_dir(self, dir: Option<&Path>) -> Self {
        match dir.map(PathBuf::from) {
            Some(dir) => self.host(move |b| b.state_dir(dir)),
            None => self,
        }
    }

    /// Runs against these simulators instead of a default set.
    pub fn simulators(mut self, sims: Simulators) -> Self {
        self.sims = Some(sims);
        self
    }

    /// Makes the rig's token for `scopes` instead of [`SCOPES`].
    pub fn scopes(mut self, scopes: &str) -> Self {
        self.scopes = scopes.to_owned();
        self
    }

    /// Any other change to the host builder.
    pub fn host(mut self, change: impl FnOnce(HostBuilder) -> HostBuilder + 'static) -> Self {
        self.extra.push(Box::new(change));
        self
    }

    /// The host builder this rig would start, for `sims` and `redis` (to expect a failure).
    pub fn host_builder(self, sims: &Simulators, redis: &RedisServer) -> HostBuilder {
        self.extra
            .into_iter()
            .fold(service_builder(sims, &redis.url()), |b, change| change(b))
    }

    /// Starts the simulators (unless given), Redis and the host, and makes the token.
    pub fn start(mut self) -> Rig {
        let sims = match self.sims.take() {
            Some(sims) => sims,
            None => Simulators::spawn().expect("simulators"),
        };
        let redis = RedisServer::start();
        let scopes = std::mem::take(&mut self.scopes);
        let host = self.host_builder(&sims, &redis).start();
        let token = host.token(&scopes);
        Rig {
            sims,
            redis,
            host,
            token,
        }
    }
}

/// A rig with the defaults.
pub fn rig() -> Rig {
    Rig::builder().start()
}

impl Rig {
    /// A builder with the defaults: fresh simulators, Redis and state directory, [`SCOPES`].
    pub fn builder() -> RigBuilder {
        RigBuilder::default()
    }

    /// A rig with extra variables and, optionally, a state directory that outlives the host.
    pub fn with(knobs: &[(&str, &str)], state_dir: Option<&Path>) -> Rig {
        Rig::builder().variables(knobs).state_dir(state_dir).start()
    }

    /// The `Authorization` value.
    pub fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// `POST /api/v1/orders` with an `Idempotency-Key`.
    pub fn create(&self, key: &str, body: &str) -> Answer {
        self.create_with(key, body, &[])
    }

    /// `POST /api/v1/orders` with an `Idempotency-Key` and extra headers.
    pub fn create_with(&self, key: &str, body: &str, extra: &[(&str, &str)]) -> Answer {
        self.host.create_order(&self.token, key, body, extra)
    }

    /// An authorised `GET`.
    pub fn get(&self, path: &str) -> Answer {
        self.host.authorized(&self.token, "GET", path, &[], None)
    }

    /// An authorised `POST` with a JSON body.
    pub fn post(&self, path: &str, body: &str) -> Answer {
        self.host
            .authorized(&self.token, "POST", path, &[], Some(body))
    }

    /// An authorised call without a body (admin actions).
    pub fn call(&self, method: &str, path: &str) -> Answer {
        self.host.authorized(&self.token, method, path, &[], None)
    }

    /// The order `id` as `GET /api/v1/orders/{id}` answers it, expecting a 200.
    pub fn order(&self, id: &str) -> Value {
        let answer = self.get(&format!("/api/v1/orders/{id}"));
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.json()
    }

    /// The status of order `id`.
    pub fn status(&self, id: &str) -> Value {
        self.order(id)["status"].clone()
    }

    /// The statuses of order `id`'s history, oldest first.
    pub fn history(&self, id: &str) -> Vec<String> {
        statuses(&self.order(id))
    }

    /// Places a good order (`usr_alice`, one unit of `product`, `tok_visa`) under `key`,
    /// asserting 201; its id.
    pub fn place_order(&self, key: &str, product: &str) -> String {
        let created = self.create(key, &order_body("usr_alice", &[(product, 1)], "tok_visa"));
        assert_eq!(created.status, 201, "{created:?}");
        created.json()["id"].as_str().expect("id").to_owned()
    }

    /// The id of a delivered outbox event, once the relay (which runs after the response)
    /// has delivered one.
    pub fn delivered_event_id(&self) -> String {
        eventually(
            std::time::Duration::from_secs(10),
            "a delivered event",
            || {
                self.get("/api/v1/admin/outbox?status=delivered").json()["events"][0]["eventId"]
                    .as_str()
                    .map(str::to_owned)
            },
        )
    }

    /// Orders stored, via the admin list.
    pub fn order_count(&self) -> usize {
        let page = self.get("/api/v1/admin/orders?limit=100");
        assert_eq!(page.status, 200, "{page:?}");
        page.json()["orders"].as_array().map_or(0, Vec::len)
    }

    /// The host's SQLite file (the `default` database on Spin's SQLite).
    pub fn db_path(&self) -> PathBuf {
        self.host.state_dir.join("sqlite_db.db")
    }
}

/// The statuses of an order's `statusHistory`, oldest first.
pub fn statuses(order: &Value) -> Vec<String> {
    order["statusHistory"]
        .as_array()
        .expect("statusHistory")
        .iter()
        .map(|h| h["status"].as_str().expect("status").to_owned())
        .collect()
}

/// A create-order body.
pub fn order_body(user: &str, items: &[(&str, u32)], token: &str) -> String {
    let items: Vec<Value> = items
        .iter()
        .map(|(id, quantity)| json!({ "productId": id, "quantity": quantity }))
        .collect();
    json!({ "userId": user, "items": items, "paymentMethod": { "type": "card", "token": token } })
        .to_string()
}

/// Concurrent changes of one order: exactly one answer is a 200 and every other one a 409
/// whose problem type is `order-changed` or `illegal-transition`. The losers.
pub fn assert_one_winner(answers: &[Answer]) -> Vec<&Answer> {
    let winners = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(winners, 1, "{answers:?}");
    let losers: Vec<&Answer> = answers.iter().filter(|a| a.status != 200).collect();
    for loser in &losers {
        assert_eq!(loser.status, 409, "{loser:?}");
        let kind = problem_type(loser);
        assert!(
            kind == "order-changed" || kind == "illegal-transition",
            "{loser:?}"
        );
    }
    losers
}

/// The last segment of a problem's `type`, checking the content type.
pub fn problem_type(answer: &Answer) -> String {
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/problem+json"),
        "{answer:?}"
    );
    answer.json()["type"]
        .as_str()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}
