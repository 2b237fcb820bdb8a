//! The adapters' state in the Spin key-value store `default`, shared by every instance.
//!
//! | key | value (JSON) | written |
//! |---|---|---|
//! | `breaker:{dep}:state` | breaker state, window generation, probe leases, transition counts | on transitions and probe claims |
//! | `breaker:{dep}:window` | rolling window: its generation, counts and latency histogram per bucket | after every call |
//! | `oauth:token:{client_id}` | the outbound service token and when to refresh it | when fetched |
//! | `cache:product:{id}` | product + when stored | after every live product answer |
//! | `lkg:user:{id}` | last known good user + when stored | after every live user answer |
//!
//! `{dep}` is `user`, `product`, `inventory` or `payment`. If the store cannot be opened
//! or fails, calls still go out: the breaker fails open, caches are skipped, and every
//! failure is logged.

use std::cell::RefCell;
use std::rc::Rc;

use resilience::breaker::{BreakerStore, RollingWindow, StateRecord};
use serde::Serialize;
use serde::de::DeserializeOwned;
use spin_sdk::key_value::Store;

use crate::log;
use crate::service::Service;

/// The `default` store, or why it could not be opened.
pub(crate) struct Kv {
    store: Result<Rc<Store>, String>,
}

thread_local! {
    /// The handle this instance opened: a reused instance keeps it for its later calls (two
    /// host calls fewer per adapter call — open and drop). A failed open is not kept.
    static OPENED: RefCell<Option<Rc<Store>>> = const { RefCell::new(None) };
}

impl Kv {
    /// Opens `default` (a handle, not a data operation), once per instance.
    pub(crate) async fn open() -> Self {
        if let Some(store) = OPENED.with_borrow(Clone::clone) {
            return Self { store: Ok(store) };
        }
        let store = Store::open_default()
            .await
            .map(Rc::new)
            .map_err(|error| format!("key-value store `default`: {error:?}"));
        match &store {
            Ok(store) => OPENED.set(Some(store.clone())),
            Err(error) => log::store_error(None, "open", error),
        }
        Self { store }
    }

    fn store(&self) -> Result<&Store, String> {
        self.store.as_deref().map_err(Clone::clone)
    }

    /// Reads and decodes `key`. A value that does not decode counts as absent (and is
    /// logged): a corrupt record must not block calls.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, String> {
        let bytes = self
            .store()?
            .get(key)
            .await
            .map_err(|error| format!("get {key}: {error:?}"))?;
        Ok(
            bytes.and_then(|bytes| match serde_json::from_slice(&bytes) {
                Ok(value) => Some(value),
                Err(error) => {
                    log::undecodable(key, &error);
                    None
                }
            }),
        )
    }

    /// Encodes and writes `value` under `key`.
    pub(crate) async fn set_json<T: Serialize>(&self, key: &str, value: &T) -> Result<(), String> {
        let bytes = serde_json::to_vec(value).map_err(|error| format!("encode {key}: {error}"))?;
        self.store()?
            .set(key, &bytes)
            .await
            .map_err(|error| format!("set {key}: {error:?}"))
    }

    /// Deletes `key` (absent is fine).
    pub(crate) async fn delete(&self, key: &str) -> Result<(), String> {
        self.store()?
            .delete(key)
            .await
            .map_err(|error| format!("delete {key}: {error:?}"))
    }
}

/// Key of a product's cache entry.
pub(crate) fn product_key(product_id: &str) -> String {
    format!("cache:product:{product_id}")
}

/// Key of a user's last known good record.
pub(crate) fn user_key(user_id: &str) -> String {
    format!("lkg:user:{user_id}")
}

/// Key of the outbound service token.
pub(crate) fn token_key(client_id: &str) -> String {
    format!("oauth:token:{client_id}")
}

/// One dependency's breaker records in the store.
pub(crate) struct BreakerKeys<'a> {
    kv: &'a Kv,
    state: String,
    window: String,
}

impl<'a> BreakerKeys<'a> {
    /// The keys of `service`'s breaker.
    pub(crate) fn new(kv: &'a Kv, service: Service) -> Self {
        Self {
            kv,
            state: format!("breaker:{}:state", service.name()),
            window: format!("breaker:{}:window", service.name()),
        }
    }
}

impl BreakerStore for BreakerKeys<'_> {
    type Error = String;

    async fn load_state(&self) -> Result<Option<StateRecord>, String> {
        self.kv.get_json(&self.state).await
    }

    async fn save_state(&self, record: &StateRecord) -> Result<(), String> {
        self.kv.set_json(&self.state, record).await
    }

    async fn load_window(&self) -> Result<Option<RollingWindow>, String> {
        self.kv.get_json(&self.window).await
    }

    async fn save_window(&self, window: &RollingWindow) -> Result<(), String> {
        self.kv.set_json(&self.window, window).await
    }
}
