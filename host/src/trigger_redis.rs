//! The Redis trigger: one subscription per server address covering every channel routed to a
//! component; each message runs, one after another (as Spin awaits each), in a fresh instance calling
//! `spin:redis/inbound-redis.handle-message`.
//!
//! Start-up is Spin's: every subscription connects before the app serves, and an unreachable
//! server fails start-up with Spin's message (`Redis trigger failed to connect to …`,
//! `spin/crates/trigger-redis/src/lib.rs`). A subscription lost *after* start-up is retried
//! with capped exponential backoff while HTTP keeps serving; Spin instead ends its Redis trigger
//! (and `spin up` exits) — a difference the README's compatibility table states.
//!
//! With traces on, each message is a consumer span `{channel} receive` (Spin's
//! `spin_trigger_redis.handle_message`), a trace of its own, parent of the host calls the
//! handler makes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use wasmtime::{Engine, Store};

use crate::bindings::redis_trigger::RedisTriggerPre;
use crate::ctx::{ComponentCaps, Ctx};
use crate::log::wasmtime_error;
use crate::redis::redact;
use crate::telemetry::spans::OpSpan;

/// One Redis-triggered component.
pub struct RedisComponent {
    engine: Engine,
    pre: RedisTriggerPre<Ctx>,
    caps: Arc<ComponentCaps>,
}

impl RedisComponent {
    /// Wraps a pre-instantiated component.
    pub fn new(engine: Engine, pre: RedisTriggerPre<Ctx>, caps: Arc<ComponentCaps>) -> Self {
        Self { engine, pre, caps }
    }

    /// Runs one message, received on `channel`, through a new instance.
    pub async fn handle(&self, channel: &str, payload: Vec<u8>) -> anyhow::Result<()> {
        let mut span = if crate::telemetry::enabled() {
            message_span(channel)
        } else {
            OpSpan::off()
        };
        let handled = self.run(payload, span.context()).await;
        if let Err(e) = &handled {
            span.fail(format!("{e:#}"));
        }
        handled
    }

    async fn run(
        &self,
        payload: Vec<u8>,
        span: Option<opentelemetry::trace::SpanContext>,
    ) -> anyhow::Result<()> {
        let mut store = Store::new(&self.engine, Ctx::new(self.caps.clone()));
        if let (Some(span), Some(traces)) = (span, &store.data().traces) {
            // One message per instance: every call the handler makes belongs to it.
            traces.request_started(None, span);
        }
        let guest = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(wasmtime_error)?;
        let outcome = store
            .run_concurrent(async |accessor| {
                guest
                    .spin_redis_inbound_redis()
                    .call_handle_message(accessor, payload)
                    .await
            })
            .await
            .and_then(|r| r)
            .map_err(wasmtime_error)?;
        outcome.map_err(|e| anyhow::anyhow!("handler returned {e:?}"))
    }
}

/// Spin's message span (`spin/crates/trigger-redis/src/lib.rs`): `{channel} receive`,
/// consumer, `messaging.operation = receive`, `messaging.system = redis`. No parent: a Redis
/// message carries no trace context.
fn message_span(channel: &str) -> OpSpan {
    OpSpan::start(
        None,
        format!("{channel} receive"),
        opentelemetry::trace::SpanKind::Consumer,
        || {
            vec![
                opentelemetry::KeyValue::new("messaging.operation", "receive"),
                opentelemetry::KeyValue::new("messaging.system", "redis"),
            ]
        },
    )
}

/// All channels on one Redis server.
pub struct RedisSubscription {
    /// `redis://…` address.
    pub address: String,
    /// Channel → component.
    pub channels: HashMap<String, Arc<RedisComponent>>,
    /// The subscription made by [`RedisSubscription::connect`], consumed by `run`.
    pub connected: Option<redis::aio::PubSub>,
}

impl RedisSubscription {
    /// Connects and subscribes to every channel, as Spin does before it serves.
    ///
    /// # Errors
    /// `Redis trigger failed to connect to <address>` (password redacted) with the cause, when
    /// the server cannot be reached or refuses a subscription.
    pub async fn connect(&mut self) -> anyhow::Result<()> {
        let pubsub = self.subscribe().await.map_err(|e| {
            anyhow::anyhow!(
                "Redis trigger failed to connect to {}: {e}",
                redact(&self.address)
            )
        })?;
        self.connected = Some(pubsub);
        Ok(())
    }

    /// Dispatches messages until the task is dropped, starting with the subscription made by
    /// `connect` (or a new one); reconnects with backoff if the subscription is lost.
    pub async fn run(mut self) {
        let shown = redact(&self.address);
        let mut backoff = Duration::from_millis(200);
        let mut warned = false;
        loop {
            let subscribed = match self.connected.take() {
                Some(pubsub) => Ok(pubsub),
                None => self.subscribe().await,
            };
            match subscribed {
                Ok(mut pubsub) => {
                    backoff = Duration::from_millis(200);
                    warned = false;
                    crate::log::info(
                        "redis",
                        &format!(
                            "subscribed to {} on {shown}",
                            self.channels.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    );
                    let mut messages = pubsub.on_message();
                    while let Some(msg) = messages.next().await {
                        let channel = msg.get_channel_name().to_string();
                        let Some(component) = self.channels.get(&channel).cloned() else {
                            continue;
                        };
                        let payload = msg.get_payload_bytes().to_vec();
                        // One message at a time, as Spin's subscriber awaits each handler before
                        // reading the next (`spin/crates/trigger-redis/src/lib.rs`): a slow
                        // handler holds up the channel on Spin, so it does here.
                        if let Err(e) = component.handle(&channel, payload).await {
                            crate::log::error(
                                &component.caps.id,
                                &format!("message on `{channel}` failed: {e:#}"),
                            );
                        }
                    }
                    crate::log::warn(
                        "redis",
                        &format!("subscription to {shown} lost; reconnecting"),
                    );
                }
                Err(e) => {
                    if !warned {
                        crate::log::warn(
                            "redis",
                            &format!(
                                "Redis trigger cannot reach {shown}: {e}; HTTP keeps serving, retrying with backoff"
                            ),
                        );
                        warned = true;
                    }
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }

    async fn subscribe(&self) -> redis::RedisResult<redis::aio::PubSub> {
        let client = redis::Client::open(self.address.as_str())?;
        let mut pubsub = tokio::time::timeout(Duration::from_secs(3), client.get_async_pubsub())
            .await
            .map_err(|_| redis::RedisError::from((redis::ErrorKind::Io, "connect timed out")))??;
        for channel in self.channels.keys() {
            pubsub.subscribe(channel).await?;
        }
        Ok(pubsub)
    }
}
