//! `spin:redis@3.0.0` (outbound): a guest opens a connection by address; the address must be
//! in the component's `allowed_outbound_hosts` (`redis://host:port`). As on Spin
//! (`spin/crates/factor-outbound-redis/src/host.rs`, `open`), every `open` makes a new
//! multiplexed connection — a TCP connect and the client's handshake — owned by the guest's
//! resource and closed when the guest drops it. (Until issue 10's session 8 connections were
//! shared per address across instances, which hid the cost of an `open` from the app.)

use redis::aio::MultiplexedConnection;
use wasmtime::component::{Accessor, Resource};

use crate::bindings::SpinHost;
use crate::bindings::spin::redis::redis::{self as wit, Error, RedisParameter, RedisResult};
use crate::ctx::Ctx;
use crate::telemetry::request::call_span;
use crate::telemetry::spans::OpSpan;

/// A new connection to `address` (`redis://…`): `invalid-address` when the URL does not
/// parse, `other` naming the (password-redacted) address when nobody answers within 2 s.
async fn connect(address: &str) -> Result<MultiplexedConnection, Error> {
    let client = redis::Client::open(address).map_err(|_| Error::InvalidAddress)?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(std::time::Duration::from_secs(2)))
        .set_response_timeout(Some(std::time::Duration::from_secs(5)));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| {
            Error::Other(format!(
                "cannot connect to Redis at {}: {e}",
                redact(address)
            ))
        })
}

/// An address without its password, for messages.
pub(crate) fn redact(address: &str) -> String {
    match url::Url::parse(address) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => address.to_string(),
    }
}

/// The resource behind `redis.connection`.
#[allow(unreachable_pub)] // named in `bindgen!`'s `with`, which re-exports it
pub struct RedisConnectionHandle {
    conn: MultiplexedConnection,
}

fn conn_of(
    accessor: &Accessor<Ctx, SpinHost>,
    r: &Resource<RedisConnectionHandle>,
) -> wasmtime::Result<MultiplexedConnection> {
    accessor.with(|mut a| Ok(a.get().table.get(r)?.conn.clone()))
}

async fn query<V: redis::FromRedisValue>(
    accessor: &Accessor<Ctx, SpinHost>,
    r: &Resource<RedisConnectionHandle>,
    cmd: redis::Cmd,
    command: &str,
) -> wasmtime::Result<Result<V, Error>> {
    // Spin names the span after the command and records no key, value or argument
    // (`spin/crates/factor-outbound-redis/src/host.rs`; arguments are left out here even
    // for `execute`, where Spin's `#[instrument]` would record them).
    let mut span = if crate::telemetry::enabled() {
        call_span(accessor, command.to_string(), || {
            vec![opentelemetry::KeyValue::new("db.system.name", "redis")]
        })
    } else {
        OpSpan::off()
    };
    let mut conn = conn_of(accessor, r)?;
    crate::op_counts::redis_command();
    match cmd.query_async::<V>(&mut conn).await {
        Ok(v) => Ok(Ok(v)),
        Err(e) => {
            span.fail(e.to_string());
            Ok(Err(if e.kind() == redis::ErrorKind::UnexpectedReturnType {
                Error::TypeError
            } else {
                Error::Other(e.to_string())
            }))
        }
    }
}

impl wit::Host for Ctx {}

impl wit::HostConnection for Ctx {
    fn drop(&mut self, r: Resource<RedisConnectionHandle>) -> wasmtime::Result<()> {
        self.table.delete(r)?;
        Ok(())
    }
}

impl wit::HostConnectionWithStore<Ctx> for SpinHost {
    async fn open(
        accessor: &Accessor<Ctx, Self>,
        address: String,
    ) -> wasmtime::Result<Result<Resource<RedisConnectionHandle>, Error>> {
        let mut span = call_span(accessor, "spin_outbound_redis.open_connection", || {
            vec![opentelemetry::KeyValue::new("db.system.name", "redis")]
        });
        let allowed = accessor.with(|mut a| a.get().caps.allowed_hosts.allows_url(&address));
        if !allowed {
            // Spin 4.1 answers a Redis host outside `allowed_outbound_hosts` with
            // `invalid-address`; so do we, and no connection is attempted.
            let component = accessor.with(|mut a| a.get().caps.id.clone());
            crate::log::warn(
                &component,
                &format!(
                    "outbound Redis denied: {} is not in allowed_outbound_hosts",
                    redact(&address)
                ),
            );
            span.fail("invalid-address");
            return Ok(Err(Error::InvalidAddress));
        }
        let conn = match connect(&address).await {
            Ok(c) => {
                crate::op_counts::redis_open();
                c
            }
            Err(e) => {
                span.fail(format!("{e:?}"));
                return Ok(Err(e));
            }
        };
        accessor.with(|mut a| Ok(Ok(a.get().table.push(RedisConnectionHandle { conn })?)))
    }

    async fn publish(
        accessor: &Accessor<Ctx, Self>,
        r: Resource<RedisConnectionHandle>,
        channel: String,
        payload: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(channel).arg(payload);
        query::<i64>(accessor, &r, cmd, "PUBLISH")
            .await
            .map(|r| r.map(drop))
    }

    async fn get(
        accessor: &Accessor<Ctx, Self>,
        r: Resource<RedisConnectionHandle>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(key);
        query(accessor, &r, cmd, "GET").await
    }

    async fn set(
        accessor: &Accessor<Ctx, Self>,
        r: Resource<RedisConnectionHandle>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(value);
        query::<()>(accessor, &r, cmd, "SET").await
    }

    async fn incr(
        accessor: &Accessor<Ctx, Self>,
        r: Resource<RedisConnectionHandle>,
        key: String,
    ) -> wasmtime::Result<Result<i64, Error>> {
        let mut cmd = redis::cmd("INCR");
        cmd.arg(key);
        query(accessor, &r, cmd, "INCRBY").await
    }

    async fn del(
        accessor: &Accessor<Ctx, Self>,
        r: Resource<RedisConnectionHandle>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(keys);
        query(accessor, &r, cmd, "DEL").await
    }

    async fn sadd(
        accessor: &Accessor<Ctx, Self>,
        r: Resource<RedisConnectionHandle>,
        key: String,
        values: Vec<String>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        let mut cmd = redis::cmd("SADD");
        cmd.arg(key).arg(values);
        query(accessor, &r, cmd, "SADD").await
    }

    async fn smembers(
        accessor: &Accessor<Ctx, Self>,
        r: Resource<RedisConnectionHandle>,
        key: String,
    ) -> wasmtime::Result<Result<Vec<String>, Error>> {
        let mut cmd = redis::cmd("SMEMBERS");
        cmd.arg(key);
        query(accessor, &r, cmd, "SMEMBERS").await
    }

    async fn srem(
        accessor: &Accessor<Ctx, Self>,
        r: Resource<RedisConnectionHandle>,
        key: String,
        values: Vec<String>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        let mut cmd = redis::cmd("SREM");
        cmd.arg(key).arg(values);
        query(accessor, &r, cmd, "SREM").await
    }

    async fn execute(
        accessor: &Accessor<Ctx, Self>,
        r: Resource<RedisConnectionHandle>,
        command: String,
        arguments: Vec<RedisParameter>,
    ) -> wasmtime::Result<Result<Vec<RedisResult>, Error>> {
        let mut cmd = redis::cmd(&command);
        for arg in arguments {
            match arg {
                RedisParameter::Int64(i) => cmd.arg(i),
                RedisParameter::Binary(b) => cmd.arg(b),
            };
        }
        let value = match query::<redis::Value>(accessor, &r, cmd, &command).await? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        Ok(Ok(flatten(value)))
    }
}

/// Spin's `execute` returns a flat list: arrays are flattened, scalars become one element.
fn flatten(value: redis::Value) -> Vec<RedisResult> {
    use redis::Value as V;
    match value {
        V::Nil => vec![RedisResult::Nil],
        V::Int(i) => vec![RedisResult::Int64(i)],
        V::BulkString(b) => vec![RedisResult::Binary(b)],
        V::SimpleString(s) => vec![RedisResult::Status(s)],
        V::Okay => vec![RedisResult::Status("OK".into())],
        V::Array(items) | V::Set(items) => items.into_iter().flat_map(flatten).collect(),
        V::Map(pairs) => pairs
            .into_iter()
            .flat_map(|(k, v)| flatten(k).into_iter().chain(flatten(v)))
            .collect(),
        V::Boolean(b) => vec![RedisResult::Int64(b as i64)],
        V::Double(d) => vec![RedisResult::Binary(d.to_string().into_bytes())],
        V::VerbatimString { text, .. } => vec![RedisResult::Binary(text.into_bytes())],
        V::BigNumber(n) => vec![RedisResult::Binary(n)],
        other => vec![RedisResult::Binary(format!("{other:?}").into_bytes())],
    }
}
