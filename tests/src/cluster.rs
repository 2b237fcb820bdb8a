//! Several `order-host` processes serving the repository's `spin.toml` as one service: every
//! node is its own process (SIGKILL-able, restartable), all share one SQLite database (a real
//! `sqld`, or one local file), one `redis-server` (key-value `default` through the runtime
//! config, the Redis trigger and event delivery) and one set of simulators. The runtime
//! config is the one a Spin deployment would use: `[key_value_store.default] type = "redis"`
//! and `[sqlite_database.default] type = "libsql"`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use simulators::Simulators;

use crate::rig::service_builder;
use crate::{Answer, Host, HostBuilder, RedisServer, SqldServer};

pub use crate::rig::SCOPES;

/// Requests [`Cluster::create_as_client`] sends at most: enough for a saga left in flight by
/// a busy write to be finished by recovery when the cluster's `saga_recovery_after_s` is a
/// couple of seconds.
const BUSY_ATTEMPTS: usize = 12;

/// The longest `Retry-After` [`Cluster::create_as_client`] waits for.
const BUSY_RETRY_CAP: Duration = Duration::from_secs(1);

/// Where the nodes' `default` SQLite database lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    /// A `sqld` the cluster starts (`type = "libsql"`): the scale-out setup.
    Libsql,
    /// One local SQLite file every node opens (`type = "spin"`, `path`): one machine only.
    SharedFile,
}

/// How to start a [`Cluster`].
pub struct ClusterBuilder {
    nodes: usize,
    database: Database,
    knobs: Vec<(String, String)>,
    args: Vec<String>,
}

impl ClusterBuilder {
    /// `nodes` nodes on libSQL.
    pub fn new(nodes: usize) -> Self {
        Self {
            nodes,
            database: Database::Libsql,
            knobs: Vec::new(),
            args: Vec::new(),
        }
    }

    /// Puts the database on `database`.
    pub fn database(mut self, database: Database) -> Self {
        self.database = database;
        self
    }

    /// Sets a Spin variable (`SPIN_VARIABLE_<NAME>`) on every node.
    pub fn variable(mut self, name: &str, value: &str) -> Self {
        self.knobs.push((name.to_owned(), value.to_owned()));
        self
    }

    /// An extra `order-host up` argument for every node.
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    /// Starts the simulators, Redis, the database and the nodes (in parallel), and makes a
    /// token for [`SCOPES`].
    pub fn start(self) -> Cluster {
        let sims = Simulators::spawn().expect("simulators");
        let redis = RedisServer::start();
        let config = tempfile::tempdir().expect("tempdir");
        let sqld = (self.database == Database::Libsql).then(SqldServer::start);
        let database = match &sqld {
            Some(sqld) => sqld.runtime_config("default"),
            None => format!(
                "[sqlite_database.default]\ntype = \"spin\"\npath = \"{}\"\n",
                config.path().join("orders.db").display()
            ),
        };
        let runtime_config = crate::write_runtime_config(
            config.path(),
            &format!("{}\n{database}", redis.key_value_config()),
        );
        let mut cluster = Cluster {
            nodes: Vec::new(),
            sims,
            redis,
            sqld,
            token: String::new(),
            runtime_config,
            config,
            knobs: self.knobs,
            args: self.args,
        };
        let nodes: Vec<Host> = std::thread::scope(|scope| {
            let starts: Vec<_> = (0..self.nodes)
                .map(|_| {
                    let builder = cluster.node_builder();
                    scope.spawn(move || builder.start())
                })
                .collect();
            starts
                .into_iter()
                .map(|s| s.join().expect("node start"))
                .collect()
        });
        cluster.token = nodes[0].token(SCOPES);
        cluster.nodes = nodes;
        cluster
    }
}

/// Running nodes and what they share; everything is stopped on drop.
pub struct Cluster {
    // Fields drop in order: the nodes go first, so none logs its stores vanishing.
    /// The nodes, in start order; a killed node stays in place until restarted.
    pub nodes: Vec<Host>,
    /// The simulators every node calls.
    pub sims: Simulators,
    /// The Redis every node uses for key-value, the trigger and events.
    pub redis: RedisServer,
    /// The libSQL server, with [`Database::Libsql`].
    pub sqld: Option<SqldServer>,
    /// A token for [`SCOPES`], trusted by every node.
    pub token: String,
    runtime_config: PathBuf,
    config: tempfile::TempDir,
    knobs: Vec<(String, String)>,
    args: Vec<String>,
}

impl Cluster {
    /// A builder for one more node like the others (fresh state directory, same runtime config).
    pub fn node_builder(&self) -> HostBuilder {
        let mut builder = service_builder(&self.sims, &self.redis.url())
            .arg("--runtime-config")
            .arg(self.runtime_config.display().to_string());
        for (name, value) in &self.knobs {
            builder = builder.variable(name, value.as_str());
        }
        for arg in &self.args {
            builder = builder.arg(arg.as_str());
        }
        builder
    }

    /// The runtime config every node reads.
    pub fn runtime_config(&self) -> &Path {
        &self.runtime_config
    }

    /// The shared SQLite file, with [`Database::SharedFile`].
    pub fn shared_file(&self) -> Option<PathBuf> {
        self.sqld
            .is_none()
            .then(|| self.config.path().join("orders.db"))
    }

    /// Node `i`.
    pub fn node(&self, i: usize) -> &Host {
        &self.nodes[i]
    }

    /// Kills node `i` with SIGKILL.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].kill();
    }

    /// Starts node `i` again (after [`kill`](Self::kill), or killing it first).
    pub fn restart(&mut self, i: usize) {
        self.nodes[i].kill();
        self.nodes[i] = self.node_builder().start();
    }

    /// The `Authorization` value.
    pub fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// `POST /api/v1/orders` on node `i` with an `Idempotency-Key`.
    pub fn create(&self, i: usize, key: &str, body: &str) -> Answer {
        self.nodes[i].create_order(&self.token, key, body, &[])
    }

    /// `POST /api/v1/orders` on node `i` as a client that follows the contract: a 503
    /// `storage-busy` answer (the shared database busy for a moment; nothing was lost) and a
    /// 409 `request-in-progress` (the key's saga still running — after a busy write mid-saga,
    /// until recovery finishes it; its detail says to retry shortly) are sent again with the
    /// same `Idempotency-Key` after their `Retry-After` (at most [`BUSY_RETRY_CAP`]), up to
    /// [`BUSY_ATTEMPTS`] requests in all. The last answer.
    pub fn create_as_client(&self, i: usize, key: &str, body: &str) -> Answer {
        let mut answer = self.create(i, key, body);
        for _ in 1..BUSY_ATTEMPTS {
            let busy = answer.status == 503 && answer.body.contains("storage-busy");
            let in_progress = answer.status == 409 && answer.body.contains("request-in-progress");
            if !busy && !in_progress {
                break;
            }
            let wait = answer
                .header("retry-after")
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map_or(BUSY_RETRY_CAP, |s| {
                    Duration::from_secs(s).min(BUSY_RETRY_CAP)
                });
            std::thread::sleep(wait);
            answer = self.create(i, key, body);
        }
        answer
    }

    /// An authorised `GET` on node `i`.
    pub fn get(&self, i: usize, path: &str) -> Answer {
        self.nodes[i].authorized(&self.token, "GET", path, &[], None)
    }

    /// An authorised `POST` with a JSON body on node `i`.
    pub fn post(&self, i: usize, path: &str, body: &str) -> Answer {
        self.nodes[i].authorized(&self.token, "POST", path, &[], Some(body))
    }

    /// Rows of `sql` on the shared database, read outside the nodes (sqld over HTTP, or the
    /// shared file).
    pub fn query(&self, sql: &str, args: &[Value]) -> Vec<Vec<Value>> {
        match &self.sqld {
            Some(sqld) => sqld.query(sql, args),
            None => query_file(&self.config.path().join("orders.db"), sql, args),
        }
    }

    /// One integer from the shared database (e.g. a `COUNT(*)`).
    pub fn count(&self, sql: &str, args: &[Value]) -> i64 {
        crate::sqld::first_integer(&self.query(sql, args), sql)
    }

    /// `(stream entry id, CloudEvent id, type)` of every entry in `orders.events`.
    pub fn stream_events(&self) -> Vec<(String, String, String)> {
        self.redis.stream_events()
    }

    /// JSON log lines node `i` printed whose `event` is `event`.
    pub fn log_events(&self, i: usize, event: &str) -> Vec<Value> {
        self.nodes[i].log_events(event)
    }
}

/// Rows of `sql` on a local SQLite file.
fn query_file(path: &Path, sql: &str, args: &[Value]) -> Vec<Vec<Value>> {
    let db = rusqlite::Connection::open(path).expect("open the shared SQLite file");
    db.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    let params: Vec<rusqlite::types::Value> = args
        .iter()
        .map(|a| match a {
            Value::Null => rusqlite::types::Value::Null,
            Value::Number(n) if n.is_i64() => {
                rusqlite::types::Value::Integer(n.as_i64().unwrap_or(0))
            }
            Value::Number(n) => rusqlite::types::Value::Real(n.as_f64().unwrap_or(0.0)),
            Value::String(s) => rusqlite::types::Value::Text(s.clone()),
            other => rusqlite::types::Value::Text(other.to_string()),
        })
        .collect();
    let mut statement = db.prepare(sql).expect(sql);
    let columns = statement.column_count();
    statement
        .query_map(rusqlite::params_from_iter(params), |row| {
            (0..columns)
                .map(|c| {
                    Ok(match row.get::<_, rusqlite::types::Value>(c)? {
                        rusqlite::types::Value::Null => Value::Null,
                        rusqlite::types::Value::Integer(i) => json!(i),
                        rusqlite::types::Value::Real(f) => json!(f),
                        rusqlite::types::Value::Text(t) => json!(t),
                        rusqlite::types::Value::Blob(b) => json!(b),
                    })
                })
                .collect()
        })
        .expect(sql)
        .collect::<Result<_, _>>()
        .expect(sql)
}
