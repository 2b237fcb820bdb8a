//! `spin:key-value@3.0.0`: key-value stores by label, each backed by a SQLite file (Spin's
//! default) or a Redis server (runtime config). A component may open only the labels its
//! manifest entry grants; any other label is `access-denied`, an undeclared one `no-such-store`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use redis::AsyncCommands;
use wasmtime::component::{Accessor, FutureReader, Resource, StreamReader};

use crate::bindings::SpinHost;
use crate::bindings::spin::key_value::key_value::{self as wit, Error};
use crate::ctx::Ctx;
use crate::telemetry::request::call_span;

/// A store opened by a guest: the resource behind `key-value.store`.
#[allow(unreachable_pub)] // named in `bindgen!`'s `with`, which re-exports it
pub struct KvStoreHandle {
    backend: KvBackend,
}

/// One configured store.
#[derive(Clone)]
pub enum KvBackend {
    /// Rows of one table in a SQLite file, keyed by (store label, key), as Spin stores them.
    Sqlite {
        label: String,
        conn: Arc<Mutex<rusqlite::Connection>>,
    },
    /// Plain keys on a Redis server.
    Redis(redis::aio::MultiplexedConnection),
}

impl KvBackend {
    /// Opens (creating if needed) the SQLite file behind store `label`.
    pub fn open_sqlite(label: &str, path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let conn = rusqlite::Connection::open(path)
            .with_context(|| format!("cannot open key-value file {}", path.display()))?;
        // As Spin's `key-value-spin`: one plain rusqlite connection per file, SQLite's defaults
        // (rollback journal, `synchronous = FULL`: every set is a synced transaction) and
        // rusqlite's 5 s busy timeout. The app keeps its writes here rare instead
        // (`breaker_write_behind_ms`).
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                PRIMARY KEY (store, key))",
        )?;
        Ok(Self::Sqlite {
            label: label.to_string(),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Connects to the Redis server behind a store.
    pub async fn open_redis(url: &str) -> Result<Self> {
        let client = redis::Client::open(url)
            .with_context(|| format!("invalid Redis URL for key-value store: {url}"))?;
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .with_context(|| format!("cannot connect to key-value Redis at {url}"))?;
        Ok(Self::Redis(conn))
    }

    /// Runs one point statement on the store's connection in `block_in_place`, as Spin's
    /// `key-value-spin` does: a set waits for its fsync, and the runtime's other tasks move to
    /// another thread meanwhile.
    async fn sqlite<R: Send + 'static>(
        conn: &Arc<Mutex<rusqlite::Connection>>,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, Error> {
        tokio::task::block_in_place(|| {
            let conn = conn
                .lock()
                .map_err(|_| Error::Other("key-value store lock poisoned".into()))?;
            f(&conn).map_err(|e| Error::Other(e.to_string()))
        })
    }

    /// `kv.backend` of its spans: `spin` (Spin's SQLite file) or `redis`.
    fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "spin",
            Self::Redis(_) => "redis",
        }
    }

    /// The value of `key`, if any.
    pub async fn get(&self, key: String) -> Result<Option<Vec<u8>>, Error> {
        crate::op_counts::key_value_operation();
        match self {
            Self::Sqlite { label, conn } => {
                let label = label.clone();
                Self::sqlite(conn, move |c| {
                    let mut stmt = c.prepare_cached(
                        "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                    )?;
                    let mut rows = stmt.query((label, key))?;
                    rows.next()?.map(|r| r.get(0)).transpose()
                })
                .await
            }
            Self::Redis(conn) => conn.clone().get(key).await.map_err(redis_error),
        }
    }

    /// Sets `key` to `value`.
    pub async fn set(&self, key: String, value: Vec<u8>) -> Result<(), Error> {
        crate::op_counts::key_value_operation();
        match self {
            Self::Sqlite { label, conn } => {
                let label = label.clone();
                Self::sqlite(conn, move |c| {
                    c.prepare_cached(
                        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                         ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                    )?
                    .execute((label, key, value))
                    .map(drop)
                })
                .await
            }
            Self::Redis(conn) => conn.clone().set(key, value).await.map_err(redis_error),
        }
    }

    /// Deletes `key`; deleting a missing key is not an error.
    pub async fn delete(&self, key: String) -> Result<(), Error> {
        crate::op_counts::key_value_operation();
        match self {
            Self::Sqlite { label, conn } => {
                let label = label.clone();
                Self::sqlite(conn, move |c| {
                    c.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                        .execute((label, key))
                        .map(drop)
                })
                .await
            }
            Self::Redis(conn) => conn.clone().del(key).await.map_err(redis_error),
        }
    }

    /// Whether `key` exists.
    pub async fn exists(&self, key: String) -> Result<bool, Error> {
        crate::op_counts::key_value_operation();
        match self {
            Self::Sqlite { label, conn } => {
                let label = label.clone();
                Self::sqlite(conn, move |c| {
                    c.prepare_cached("SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                        .exists((label, key))
                })
                .await
            }
            Self::Redis(conn) => conn.clone().exists(key).await.map_err(redis_error),
        }
    }

    /// Every key of the store.
    pub async fn keys(&self) -> Result<Vec<String>, Error> {
        crate::op_counts::key_value_operation();
        match self {
            Self::Sqlite { label, conn } => {
                let label = label.clone();
                Self::sqlite(conn, move |c| {
                    let mut stmt =
                        c.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?;
                    stmt.query_map([label], |r| r.get(0))?.collect()
                })
                .await
            }
            Self::Redis(conn) => {
                let mut conn = conn.clone();
                let mut iter: redis::AsyncIter<String> = conn.scan().await.map_err(redis_error)?;
                let mut keys = Vec::new();
                while let Some(key) = futures::StreamExt::next(&mut iter).await {
                    keys.push(key.map_err(redis_error)?);
                }
                Ok(keys)
            }
        }
    }
}

fn redis_error(e: redis::RedisError) -> Error {
    Error::Other(e.to_string())
}

fn backend(
    accessor: &Accessor<Ctx, SpinHost>,
    store: &Resource<KvStoreHandle>,
) -> wasmtime::Result<KvBackend> {
    accessor.with(|mut a| Ok(a.get().table.get(store)?.backend.clone()))
}

impl wit::Host for Ctx {}

impl wit::HostStore for Ctx {
    fn drop(&mut self, store: Resource<KvStoreHandle>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl wit::HostStoreWithStore<Ctx> for SpinHost {
    async fn open(
        accessor: &Accessor<Ctx, Self>,
        label: String,
    ) -> wasmtime::Result<Result<Resource<KvStoreHandle>, Error>> {
        let mut span = call_span(accessor, "spin_key_value.open", Vec::new);
        let opened = accessor.with(|mut a| {
            let ctx = a.get();
            let backend = match ctx.caps.key_value_store(&label) {
                Ok(b) => b,
                Err(e) => return Ok(Err(e)),
            };
            span.set(opentelemetry::KeyValue::new("kv.backend", backend.kind()));
            Ok(Ok(ctx.table.push(KvStoreHandle { backend })?))
        });
        span.record_outcome(&opened);
        opened
    }

    async fn get(
        accessor: &Accessor<Ctx, Self>,
        store: Resource<KvStoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let mut span = call_span(accessor, "spin_key_value.get", Vec::new);
        let b = backend(accessor, &store)?;
        let result = b.get(key).await;
        span.record(&result);
        Ok(result)
    }

    async fn set(
        accessor: &Accessor<Ctx, Self>,
        store: Resource<KvStoreHandle>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let mut span = call_span(accessor, "spin_key_value.set", Vec::new);
        let b = backend(accessor, &store)?;
        let result = b.set(key, value).await;
        span.record(&result);
        Ok(result)
    }

    async fn delete(
        accessor: &Accessor<Ctx, Self>,
        store: Resource<KvStoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        let mut span = call_span(accessor, "spin_key_value.delete", Vec::new);
        let b = backend(accessor, &store)?;
        let result = b.delete(key).await;
        span.record(&result);
        Ok(result)
    }

    async fn exists(
        accessor: &Accessor<Ctx, Self>,
        store: Resource<KvStoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        let mut span = call_span(accessor, "spin_key_value.exists", Vec::new);
        let b = backend(accessor, &store)?;
        let result = b.exists(key).await;
        span.record(&result);
        Ok(result)
    }

    async fn get_keys(
        accessor: &Accessor<Ctx, Self>,
        store: Resource<KvStoreHandle>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), Error>>)> {
        let mut span = call_span(accessor, "spin_key_value.get_keys", Vec::new);
        let b = backend(accessor, &store)?;
        let result = b.keys().await;
        span.record(&result);
        accessor.with(|mut a| {
            let (keys, outcome) = match result {
                Ok(keys) => (keys, Ok(())),
                Err(e) => (Vec::new(), Err(e)),
            };
            let stream = StreamReader::new(&mut a, keys)?;
            let future = FutureReader::new(&mut a, async move {
                wasmtime::Result::<Result<(), Error>>::Ok(outcome)
            })?;
            Ok((stream, future))
        })
    }
}
