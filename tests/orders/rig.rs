//! The orders tests' rig: simulators, a Redis and a host on the repository's `spin.toml`,
//! with a token for every orders scope.

use std::path::Path;

use integration_tests::{Answer, Host, HostBuilder, RedisServer, workspace_root};
use simulators::Simulators;

/// Every scope the order API knows but statistics.
pub(crate) const SCOPES: &str = "orders:write orders:read orders:admin";

/// Simulators, Redis and a host running the repository's `spin.toml`.
pub(crate) struct Rig {
    pub(crate) sims: Simulators,
    pub(crate) redis: RedisServer,
    pub(crate) host: Host,
    pub(crate) token: String,
}

/// A host builder for the repository's manifest pointed at `sims` and `redis`.
pub(crate) fn builder(
    sims: &Simulators,
    redis: &RedisServer,
    knobs: &[(&str, &str)],
) -> HostBuilder {
    let mut builder = HostBuilder::new(workspace_root().join("spin.toml"))
        .simulators(sims)
        .variable("redis_url", redis.url())
        .variable("retry_base_delay_ms", "20");
    for (name, value) in knobs {
        builder = builder.variable(name, *value);
    }
    builder
}

/// A rig with extra variables and, optionally, a state directory that outlives the host.
pub(crate) fn rig_with(knobs: &[(&str, &str)], state_dir: Option<&Path>) -> Rig {
    let sims = Simulators::spawn().expect("simulators");
    let redis = RedisServer::start();
    let mut builder = builder(&sims, &redis, knobs);
    if let Some(dir) = state_dir {
        builder = builder.state_dir(dir);
    }
    let host = builder.start();
    let token = host.token(SCOPES);
    Rig {
        sims,
        redis,
        host,
        token,
    }
}

/// A rig with the defaults.
pub(crate) fn rig() -> Rig {
    rig_with(&[], None)
}

/// A create-order body.
pub(crate) use integration_tests::cluster::order_body;

impl Rig {
    /// The `Authorization` value.
    pub(crate) fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// `POST /api/v1/orders` with an `Idempotency-Key`.
    pub(crate) fn create(&self, key: &str, body: &str) -> Answer {
        let auth = self.auth();
        let headers = [
            ("authorization", auth.as_str()),
            ("idempotency-key", key),
            ("content-type", "application/json"),
        ];
        self.host
            .request("POST", "/api/v1/orders", &headers, Some(body))
    }

    /// An authorised `GET`.
    pub(crate) fn get(&self, path: &str) -> Answer {
        let auth = self.auth();
        self.host
            .request("GET", path, &[("authorization", auth.as_str())], None)
    }

    /// An authorised `POST` with a JSON body.
    pub(crate) fn post(&self, path: &str, body: &str) -> Answer {
        let auth = self.auth();
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        self.host.request("POST", path, &headers, Some(body))
    }

    /// Places a good order (`usr_alice`, one unit of `product`, `tok_visa`) under `key`,
    /// asserting 201; its id.
    pub(crate) fn place_order(&self, key: &str, product: &str) -> String {
        let created = self.create(key, &order_body("usr_alice", &[(product, 1)], "tok_visa"));
        assert_eq!(created.status, 201, "{created:?}");
        created.json()["id"].as_str().expect("id").to_owned()
    }

    /// The id of a delivered outbox event, once the relay (which runs after the response)
    /// has delivered one.
    pub(crate) fn delivered_event_id(&self) -> String {
        integration_tests::eventually(
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
    pub(crate) fn order_count(&self) -> usize {
        let page = self.get("/api/v1/admin/orders?limit=100");
        assert_eq!(page.status, 200, "{page:?}");
        page.json()["orders"].as_array().map_or(0, Vec::len)
    }
}

/// The last segment of a problem's `type`, checking the content type.
pub(crate) fn problem_type(answer: &Answer) -> String {
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
