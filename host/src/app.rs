//! Loading an application: manifest → variables → runtime config → shared backends → one
//! pre-instantiated (and, where it has dependencies, composed) component per trigger target.
//! Every failure here is reported once, naming what and where, before anything is served.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use crate::allowed_hosts::AllowedHosts;
use crate::compose::{self, Dependency};
use crate::ctx::{ComponentCaps, Ctx, HostServices};
use crate::dependency_name::DependencyName;
use crate::engine::{self, EngineOptions};
use crate::instance_reuse::InstanceReuse;
use crate::kv::KvBackend;
use crate::manifest::Manifest;
use crate::outbound_https::HttpsClients;
use crate::routes::{Route, Router};
use crate::runtime_config::{KvBackendConfig, RuntimeConfig};
use crate::sqlite::SqliteBackend;
use crate::tls::client::ClientTlsEntry;
use crate::tls::server::InboundTls;
use crate::trigger_http::{HttpComponent, HttpTrigger};
use crate::trigger_redis::{RedisComponent, RedisSubscription};
use crate::variables::Variables;

/// How to load and serve an application.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// Path of `spin.toml`.
    pub manifest: PathBuf,
    /// Spin-format runtime config file.
    pub runtime_config: Option<PathBuf>,
    /// Where default stores live (Spin's `--state-dir`); `.spin/` next to the manifest if unset.
    pub state_dir: Option<PathBuf>,
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// Instance reuse limits.
    pub reuse: InstanceReuse,
    /// Engine settings.
    pub engine: EngineOptions,
    /// Variable values that take precedence over `SPIN_VARIABLE_*` (name → value).
    pub variable_overrides: HashMap<String, String>,
    /// Set `TCP_NODELAY` on accepted connections. Spin does not (`false` is Spin's behaviour);
    /// see [`HttpTrigger::new`].
    pub tcp_nodelay: bool,
    /// Serve HTTPS (`--tls-cert`, `--tls-key`, optionally `--tls-client-ca`); plain HTTP if
    /// `None`.
    pub inbound_tls: Option<InboundTls>,
}

/// A loaded application, ready to serve.
pub struct App {
    /// The HTTP trigger, if the manifest has one.
    pub http: Option<Arc<HttpTrigger>>,
    /// Redis subscriptions, one per server address.
    pub redis: Vec<RedisSubscription>,
}

impl App {
    /// Loads everything; nothing is served yet.
    pub async fn load(options: &AppOptions) -> Result<Self> {
        let manifest = Manifest::load(&options.manifest)?;
        let overrides = &options.variable_overrides;
        let vars = Variables::resolve(&manifest, |key| {
            let name = key
                .strip_prefix("SPIN_VARIABLE_")
                .map(str::to_ascii_lowercase);
            name.and_then(|n| overrides.get(&n).cloned())
                .or_else(|| std::env::var(key).ok())
        })?;
        let state_dir = options
            .state_dir
            .clone()
            .unwrap_or_else(|| manifest.root.join(".spin"));
        let runtime = RuntimeConfig::load(options.runtime_config.as_deref(), &state_dir)?;
        let services = Arc::new(open_services(&manifest, &runtime).await?);
        warn_about_client_tls(&manifest, &runtime.client_tls);
        let https = HttpsClients::new(&runtime.client_tls)
            .context("cannot build the default outbound TLS configuration")?;
        let acceptor = options
            .inbound_tls
            .as_ref()
            .map(InboundTls::acceptor)
            .transpose()?;
        let engine = engine::engine(options.engine)?;
        let linker = engine::linker(&engine).map_err(crate::log::wasmtime_error)?;
        let loader = Loader {
            manifest: &manifest,
            vars: &vars,
            services,
            https: &https,
            engine: &engine,
            linker: &linker,
        };

        let mut components: HashMap<String, (Component, Arc<ComponentCaps>)> = HashMap::new();
        let mut prepared = |id: &str| -> Result<(Component, Arc<ComponentCaps>)> {
            if let Some(found) = components.get(id) {
                return Ok(found.clone());
            }
            let loaded = loader
                .load_component(id)
                .with_context(|| format!("component `{id}`"))?;
            components.insert(id.to_string(), loaded.clone());
            Ok(loaded)
        };

        let http = if manifest.http_triggers.is_empty() {
            None
        } else {
            let mut routes = Vec::new();
            let mut ids = Vec::new();
            let mut handlers: HashMap<String, Arc<HttpComponent>> = HashMap::new();
            for trigger in &manifest.http_triggers {
                let Some(pattern) = &trigger.route else {
                    continue;
                };
                let handler = match handlers.get(&trigger.component) {
                    Some(h) => h.clone(),
                    None => {
                        let (component, caps) = prepared(&trigger.component)?;
                        let pre = loader.instantiate_pre(&component, &trigger.component)?;
                        let pre = wasmtime_wasi_http::p3::bindings::ServicePre::new(pre).map_err(
                            |e| {
                                anyhow::anyhow!(
                                    "component `{}` does not export wasi:http/handler@0.3.0: {e}",
                                    trigger.component
                                )
                            },
                        )?;
                        let h =
                            Arc::new(HttpComponent::new(engine.clone(), pre, caps, options.reuse));
                        handlers.insert(trigger.component.clone(), h.clone());
                        h
                    }
                };
                routes.push((Route::parse(pattern)?, handler));
                ids.push((pattern.clone(), Arc::from(trigger.component.as_str())));
            }
            Some(Arc::new(
                HttpTrigger::new(Router::new(routes)?, ids, options.tcp_nodelay).with_tls(acceptor),
            ))
        };

        let mut by_address: HashMap<String, RedisSubscription> = HashMap::new();
        for trigger in &manifest.redis_triggers {
            let address = vars.expand(manifest.redis_address(trigger))?;
            let channel = vars.expand(&trigger.channel)?;
            let (component, caps) = prepared(&trigger.component)?;
            let pre = loader.instantiate_pre(&component, &trigger.component)?;
            let pre = crate::bindings::redis_trigger::RedisTriggerPre::new(pre).map_err(|e| {
                anyhow::anyhow!(
                    "component `{}` does not export spin:redis/inbound-redis@3.0.0: {e}",
                    trigger.component
                )
            })?;
            let handler = Arc::new(RedisComponent::new(engine.clone(), pre, caps));
            by_address
                .entry(address.clone())
                .or_insert_with(|| RedisSubscription {
                    address,
                    channels: HashMap::new(),
                    connected: None,
                })
                .channels
                .insert(channel, handler);
        }
        Ok(Self {
            http,
            redis: by_address.into_values().collect(),
        })
    }

    /// Connects every Redis trigger subscription before the app serves, as Spin does.
    ///
    /// # Errors
    /// The first subscription that cannot connect (Spin exits in that case too).
    pub async fn connect_triggers(&mut self) -> Result<()> {
        for subscription in &mut self.redis {
            subscription.connect().await?;
        }
        Ok(())
    }
}

/// Opens every store and database some component is granted; an undefined label is an error.
async fn open_services(manifest: &Manifest, runtime: &RuntimeConfig) -> Result<HostServices> {
    let kv_labels: BTreeSet<&String> = manifest
        .components
        .values()
        .flat_map(|c| &c.key_value_stores)
        .collect();
    let db_labels: BTreeSet<&String> = manifest
        .components
        .values()
        .flat_map(|c| &c.sqlite_databases)
        .collect();
    let mut key_value = HashMap::new();
    for label in kv_labels {
        let backend = match runtime.key_value_stores.get(label) {
            Some(KvBackendConfig::Sqlite(path)) => KvBackend::open_sqlite(label, path)?,
            Some(KvBackendConfig::Redis(url)) => KvBackend::open_redis(url).await?,
            None => bail!(
                "key-value store `{label}` is used by a component but not defined in the runtime config"
            ),
        };
        key_value.insert(label.clone(), backend);
    }
    let mut sqlite = HashMap::new();
    for label in db_labels {
        let config = runtime.sqlite_databases.get(label).with_context(|| {
            format!("SQLite database `{label}` is used by a component but not defined in the runtime config")
        })?;
        sqlite.insert(label.clone(), SqliteBackend::open(label, config).await?);
    }
    Ok(HostServices { key_value, sqlite })
}

/// Warns about `[[client_tls]]` component ids that can never match a call: ids the manifest
/// does not have, and components that only run composed into another (their calls carry the
/// outer component's id). Spin accepts both silently; the tables stay in force either way.
fn warn_about_client_tls(manifest: &Manifest, entries: &[ClientTlsEntry]) {
    let composed_into = |id: &str| {
        manifest
            .components
            .iter()
            .find(|(_, c)| {
                c.dependencies
                    .values()
                    .any(|d| d.component.as_deref() == Some(id))
            })
            .map(|(outer, _)| outer.clone())
    };
    for id in entries.iter().flat_map(|e| &e.component_ids) {
        if !manifest.components.contains_key(id) {
            crate::log::warn(
                "tls",
                &format!("[[client_tls]] names component `{id}`, which the manifest does not have"),
            );
        } else if let Some(outer) = composed_into(id) {
            crate::log::warn(
                "tls",
                &format!(
                    "[[client_tls]] names component `{id}`, which runs composed into `{outer}`: its calls use `{outer}`'s tables"
                ),
            );
        }
    }
}

struct Loader<'a> {
    manifest: &'a Manifest,
    vars: &'a Variables,
    services: Arc<HostServices>,
    https: &'a HttpsClients,
    engine: &'a Engine,
    linker: &'a Linker<Ctx>,
}

impl Loader<'_> {
    fn read_wasm(&self, id: &str) -> Result<Vec<u8>> {
        let path = self.manifest.source_path(id)?;
        std::fs::read(&path).with_context(|| {
            format!(
                "cannot read {} (build it first: run `order-host up` without --no-build)",
                path.display()
            )
        })
    }

    /// Reads, composes and compiles component `id`, and resolves what it may use.
    fn load_component(&self, id: &str) -> Result<(Component, Arc<ComponentCaps>)> {
        let decl = &self.manifest.components[id];
        let mut bytes = self.read_wasm(id)?;
        if !decl.dependencies.is_empty() {
            let mut dependencies = Vec::new();
            for (entry, dep) in &decl.dependencies {
                let provider = match (&dep.component, &dep.path) {
                    (Some(pid), _) => self
                        .read_wasm(pid)
                        .with_context(|| format!("dependency `{pid}`"))?,
                    (None, Some(path)) => {
                        let p = self.manifest.resolve(path);
                        std::fs::read(&p)
                            .with_context(|| format!("cannot read dependency {}", p.display()))?
                    }
                    (None, None) => unreachable!("validated by Manifest::parse"),
                };
                dependencies.push(Dependency {
                    name: DependencyName::parse(entry)?,
                    provider,
                    export: dep.export.clone(),
                    inherited: compose::inherited(decl.dependencies_inherit_configuration, dep),
                });
            }
            bytes = compose::compose(id, bytes, dependencies)?;
        }
        let component = Component::new(self.engine, &bytes)
            .map_err(crate::log::wasmtime_error)
            .context("compiling failed")?;
        let allowed: Vec<String> = decl
            .allowed_outbound_hosts
            .iter()
            .map(|h| self.vars.expand(h))
            .collect::<Result<_>>()?;
        let caps = ComponentCaps {
            id: Arc::from(id),
            key_value_stores: decl
                .key_value_stores
                .iter()
                .cloned()
                .collect::<HashSet<_>>(),
            sqlite_databases: decl
                .sqlite_databases
                .iter()
                .cloned()
                .collect::<HashSet<_>>(),
            variables: self.vars.component_values(&decl.variables)?,
            allowed_hosts: Arc::new(AllowedHosts::parse(&allowed)?),
            https: self.https.for_component(id),
            environment: decl
                .environment
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            services: self.services.clone(),
        };
        Ok((component, Arc::new(caps)))
    }

    fn instantiate_pre(
        &self,
        component: &Component,
        id: &str,
    ) -> Result<wasmtime::component::InstancePre<Ctx>> {
        self.linker
            .instantiate_pre(component)
            .map_err(crate::log::wasmtime_error)
            .with_context(|| {
                format!("component `{id}` imports something order-host does not provide")
            })
    }
}
