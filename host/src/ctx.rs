//! The data of one wasmtime `Store`: what a component instance may touch (its grants, fixed at
//! load time and shared by every instance of it) plus its WASI state and resource table.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::allowed_hosts::AllowedHosts;
use crate::bindings::spin::key_value::key_value::Error as KvError;
use crate::bindings::spin::sqlite::sqlite::Error as SqliteError;
use crate::kv::KvBackend;
use crate::outbound_http::OutboundHttp;
use crate::outbound_https::ComponentHttps;
use crate::sqlite::SqliteBackend;
use crate::telemetry::request::StoreTraces;

/// Backends shared by every component of the application.
pub struct HostServices {
    /// Key-value stores by label.
    pub key_value: HashMap<String, KvBackend>,
    /// SQLite databases by label.
    pub sqlite: HashMap<String, SqliteBackend>,
}

/// What one component may use: its manifest entry, resolved.
pub struct ComponentCaps {
    /// Component id (for logs).
    pub id: Arc<str>,
    /// Key-value labels granted.
    pub key_value_stores: HashSet<String>,
    /// SQLite labels granted.
    pub sqlite_databases: HashSet<String>,
    /// Component variables, resolved.
    pub variables: HashMap<String, String>,
    /// Outbound allow-list, resolved.
    pub allowed_hosts: Arc<AllowedHosts>,
    /// The TLS clients of its `https://` calls (its `[[client_tls]]` tables, by host).
    pub https: ComponentHttps,
    /// Environment variables.
    pub environment: Vec<(String, String)>,
    /// The shared backends.
    pub services: Arc<HostServices>,
}

impl ComponentCaps {
    /// The store behind `label`, if this component was granted it.
    pub fn key_value_store(&self, label: &str) -> Result<KvBackend, KvError> {
        if !self.key_value_stores.contains(label) {
            return Err(KvError::AccessDenied);
        }
        self.services
            .key_value
            .get(label)
            .cloned()
            .ok_or(KvError::NoSuchStore)
    }

    /// The database behind `label`, if this component was granted it.
    pub fn sqlite_database(&self, label: &str) -> Result<SqliteBackend, SqliteError> {
        if !self.sqlite_databases.contains(label) {
            return Err(SqliteError::AccessDenied);
        }
        self.services
            .sqlite
            .get(label)
            .cloned()
            .ok_or(SqliteError::NoSuchDatabase)
    }
}

/// Store data of one component instance.
pub struct Ctx {
    /// The component's grants.
    pub caps: Arc<ComponentCaps>,
    /// Resources handed to the guest.
    pub table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: OutboundHttp,
    /// The requests this instance serves and their spans; `None` when traces are off.
    pub(crate) traces: Option<Arc<StoreTraces>>,
}

impl Ctx {
    /// Fresh state for a new instance of the component described by `caps`.
    pub fn new(caps: Arc<ComponentCaps>) -> Self {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stdout().inherit_stderr();
        for (k, v) in &caps.environment {
            wasi.env(k, v);
        }
        let traces = crate::telemetry::enabled().then(StoreTraces::new);
        Self {
            hooks: OutboundHttp::new(
                caps.id.clone(),
                caps.allowed_hosts.clone(),
                caps.https.clone(),
                traces.clone(),
            ),
            traces,
            caps,
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
        }
    }

    /// The `wasi:http` view (also the accessor `ProxyHandler` needs).
    pub fn http_view(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl WasiView for Ctx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Ctx {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        self.http_view()
    }
}
