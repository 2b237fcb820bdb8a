//! The variables the relay reads. Composed into its caller, the emitter sees the caller's
//! variables; the optional ones fall back to defaults so any app with an outbox can use it.
//! Read once per instance (as order-api's config): a reused instance's relay passes ask the
//! host for none (six `spin:variables` calls fewer per pass, issue 10). A failed read is not
//! kept, so the next pass reads again.

use std::cell::RefCell;
use std::rc::Rc;

use crate::bindings::exports::shop::events::events::EventsError;

/// Used when the app does not define `outbox_table`: the order service's table.
const DEFAULT_OUTBOX_TABLE: &str = "outbox";
/// Used when the app does not define `events_stream` / `events_channel`.
const DEFAULT_STREAM: &str = events::types::ORDERS_STREAM;
const DEFAULT_CHANNEL: &str = events::types::ORDERS_CHANNEL;

/// Used when the app does not define `outbox_max_attempts`.
const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// Used when the app does not define `events_stream_maxlen`.
const DEFAULT_STREAM_MAXLEN: u64 = 100_000;

thread_local! {
    static RELAY_CONFIG: RefCell<Option<Rc<RelayConfig>>> = const { RefCell::new(None) };
    static OUTBOX_TABLE: RefCell<Option<Rc<str>>> = const { RefCell::new(None) };
}

/// One relay pass's configuration.
pub(crate) struct RelayConfig {
    /// `redis_url` (may hold a password: never put it in an error text).
    pub(crate) redis_url: String,
    /// `outbox_max_attempts`: attempts before a row is dead-lettered (≥ 1).
    pub(crate) max_attempts: u32,
    /// `events_stream_maxlen`: approximate cap of the stream (`XADD MAXLEN ~`); 0 = no cap.
    pub(crate) stream_maxlen: u64,
    /// `events_stream`: the Redis Stream events are appended to (default `orders.events`).
    pub(crate) stream: String,
    /// `events_channel`: the Redis channel events are published on (default `orders.events`).
    pub(crate) channel: String,
}

impl RelayConfig {
    /// The configuration, read at this instance's first pass; a missing `redis_url` or a
    /// malformed number is `InvalidConfig`.
    pub(crate) async fn load() -> Result<Rc<Self>, EventsError> {
        if let Some(config) = RELAY_CONFIG.with_borrow(Clone::clone) {
            return Ok(config);
        }
        let config = Rc::new(Self::read().await?);
        RELAY_CONFIG.set(Some(config.clone()));
        Ok(config)
    }

    /// Reads the variables.
    async fn read() -> Result<Self, EventsError> {
        let redis_url = spin_sdk::variables::get("redis_url")
            .await
            .map_err(|error| EventsError::InvalidConfig(format!("redis_url: {error:?}")))?;
        let max_attempts = number("outbox_max_attempts", u64::from(DEFAULT_MAX_ATTEMPTS)).await?;
        let max_attempts = u32::try_from(max_attempts)
            .ok()
            .filter(|attempts| *attempts > 0)
            .ok_or_else(|| {
                EventsError::InvalidConfig(format!(
                    "outbox_max_attempts must be between 1 and {}, got {max_attempts}",
                    u32::MAX
                ))
            })?;
        Ok(Self {
            redis_url,
            max_attempts,
            stream_maxlen: number("events_stream_maxlen", DEFAULT_STREAM_MAXLEN).await?,
            stream: redis_key("events_stream", DEFAULT_STREAM).await?,
            channel: redis_key("events_channel", DEFAULT_CHANNEL).await?,
        })
    }
}

/// `outbox_table`: the app's outbox table (default `outbox`), checked by
/// `events::check_table_name` because it is spliced into SQL text.
pub(crate) async fn outbox_table() -> Result<Rc<str>, EventsError> {
    if let Some(table) = OUTBOX_TABLE.with_borrow(Clone::clone) {
        return Ok(table);
    }
    let table = text("outbox_table", DEFAULT_OUTBOX_TABLE).await?;
    events::check_table_name(&table).map_err(EventsError::InvalidConfig)?;
    let table: Rc<str> = Rc::from(table);
    OUTBOX_TABLE.set(Some(table.clone()));
    Ok(table)
}

/// A stream or channel name variable: 1–128 printable ASCII characters without spaces.
async fn redis_key(name: &str, default: &str) -> Result<String, EventsError> {
    let key = text(name, default).await?;
    if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(EventsError::InvalidConfig(format!(
            "{name} must be 1–128 printable characters without spaces, got {key:?}"
        )));
    }
    Ok(key)
}

/// A text variable, or `default` when the app does not define it.
async fn text(name: &str, default: &str) -> Result<String, EventsError> {
    match spin_sdk::variables::get(name).await {
        Ok(value) => Ok(value.trim().to_owned()),
        Err(spin_sdk::variables::Error::Undefined(_)) => Ok(default.to_owned()),
        Err(error) => Err(EventsError::InvalidConfig(format!("{name}: {error:?}"))),
    }
}

/// A non-negative integer variable, or `default` when the app does not define it.
async fn number(name: &str, default: u64) -> Result<u64, EventsError> {
    match spin_sdk::variables::get(name).await {
        Ok(value) => value.trim().parse::<u64>().map_err(|_| {
            EventsError::InvalidConfig(format!(
                "{name} must be a non-negative integer, got {value:?}"
            ))
        }),
        Err(spin_sdk::variables::Error::Undefined(_)) => Ok(default),
        Err(error) => Err(EventsError::InvalidConfig(format!("{name}: {error:?}"))),
    }
}
