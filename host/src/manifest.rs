//! The subset of Spin's application manifest (`spin_manifest_version = 2`) that this host runs.
//!
//! Unknown keys are ignored, exactly as Spin ignores keys it does not know, so the same file
//! stays valid for real Spin. Everything the host *does* read is validated here, once, at load
//! time, so a bad manifest fails with one line naming the key that is wrong.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::dependency_name::{self, DependencyName};

/// A parsed `spin.toml` plus the directory it was read from (relative paths resolve there).
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Directory containing the manifest; `source` and `workdir` paths are relative to it.
    pub root: PathBuf,
    /// The application table.
    pub application: Application,
    /// Application variables by name.
    pub variables: BTreeMap<String, VariableDecl>,
    /// HTTP trigger entries, in manifest order.
    pub http_triggers: Vec<HttpTrigger>,
    /// Redis trigger entries, in manifest order.
    pub redis_triggers: Vec<RedisTrigger>,
    /// Components by id.
    pub components: BTreeMap<String, ComponentDecl>,
}

/// `[application]`.
#[derive(Debug, Clone, Deserialize)]
pub struct Application {
    /// Application name.
    pub name: String,
    /// Trigger-wide settings (`[application.trigger.redis] address`, `[application.trigger.http] base`).
    #[serde(default)]
    pub trigger: ApplicationTriggers,
}

/// `[application.trigger]`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApplicationTriggers {
    /// `[application.trigger.redis]`.
    pub redis: Option<RedisTriggerSettings>,
    /// `[application.trigger.http]`.
    pub http: Option<HttpTriggerSettings>,
}

/// `[application.trigger.redis]`.
#[derive(Debug, Clone, Deserialize)]
pub struct RedisTriggerSettings {
    /// Default Redis address for every `[[trigger.redis]]`; may contain `{{ variable }}`.
    pub address: Option<String>,
}

/// `[application.trigger.http]`.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpTriggerSettings {
    /// Base path prepended to every route (Spin 1 compatibility; default `/`).
    pub base: Option<String>,
}

/// One entry of `[variables]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    /// Default value, used when no provider (environment) sets one.
    pub default: Option<String>,
    /// The application refuses to start when no value is provided.
    #[serde(default)]
    pub required: bool,
    /// Never printed by the host.
    #[serde(default)]
    pub secret: bool,
}

/// One `[[trigger.http]]`.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    /// The route pattern (`/...`, `/health/live`, `/orders/:id`), or `None` for a private route.
    pub route: Option<String>,
    /// The component serving it.
    pub component: String,
}

/// One `[[trigger.redis]]`.
#[derive(Debug, Clone)]
pub struct RedisTrigger {
    /// Channel to subscribe to; may contain `{{ variable }}`.
    pub channel: String,
    /// Per-trigger address override; may contain `{{ variable }}`.
    pub address: Option<String>,
    /// The component handling messages.
    pub component: String,
}

/// `[component.<id>]`.
#[derive(Debug, Clone, Deserialize)]
pub struct ComponentDecl {
    /// Path of the `.wasm`, relative to the manifest.
    pub source: ComponentSource,
    /// Outbound hosts this component may reach; may contain `{{ variable }}`.
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    /// Key-value store labels this component may open.
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    /// SQLite database labels this component may open.
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    /// Environment variables of the component.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Component variables: name → template over application variables.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Component dependencies: import name → provider.
    #[serde(default)]
    pub dependencies: BTreeMap<String, DependencyDecl>,
    /// `true`: every dependency inherits this component's configuration. Set at all (even
    /// `false`), it excludes per-dependency `inherit_configuration`, as in Spin.
    #[serde(default)]
    pub dependencies_inherit_configuration: Option<bool>,
    /// `files` (not served by this host): only recorded so that a component with files is
    /// refused as a dependency, as Spin refuses it.
    #[serde(default)]
    pub files: Option<toml::Value>,
    /// `ai_models` (not served by this host): recorded for the dependency check.
    #[serde(default)]
    pub ai_models: Option<toml::Value>,
    /// `allowed_http_hosts` (Spin 1 form): recorded for the dependency check.
    #[serde(default)]
    pub allowed_http_hosts: Option<toml::Value>,
    /// `[component.<id>.build]`.
    pub build: Option<BuildDecl>,
}

/// `source = "file.wasm"` (the only form this host loads; registry/url sources are Spin-only).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ComponentSource {
    /// A local file path.
    Local(String),
    /// `{ url, digest }` — not loadable by this host.
    Remote(toml::Table),
}

/// A value of `[component.<id>.dependencies]`.
#[derive(Debug, Clone, Deserialize)]
pub struct DependencyDecl {
    /// Another component of this application (Spin 4.1 component reference).
    pub component: Option<String>,
    /// A local `.wasm` file.
    pub path: Option<String>,
    /// Which export of the provider satisfies the import (defaults to the import name).
    pub export: Option<String>,
    /// Registry/url forms are recognised so the error can say they are unsupported here.
    pub version: Option<String>,
    /// See `version`.
    pub url: Option<String>,
    /// Per-dependency inheritance: `true`, or a list of capability names.
    pub inherit_configuration: Option<InheritConfiguration>,
}

/// `inherit_configuration = true | ["key_value_stores", ...]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum InheritConfiguration {
    /// All or nothing.
    All(bool),
    /// Only the named capabilities.
    Some(Vec<String>),
}

/// `[component.<id>.build]`.
#[derive(Debug, Clone, Deserialize)]
pub struct BuildDecl {
    /// Shell command that builds the component.
    pub command: String,
    /// Directory to run it in, relative to the manifest.
    pub workdir: Option<String>,
}

#[derive(Deserialize)]
struct RawManifest {
    spin_manifest_version: toml::Value,
    application: Application,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: HashMap<String, Vec<toml::Table>>,
    #[serde(default)]
    component: BTreeMap<String, ComponentDecl>,
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read manifest {}", path.display()))?;
        let root = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."))
            .to_path_buf();
        Self::parse(&text, root).with_context(|| format!("invalid manifest {}", path.display()))
    }

    /// Parses manifest text; `root` is where relative paths resolve.
    pub fn parse(text: &str, root: PathBuf) -> Result<Self> {
        let raw: RawManifest = toml::from_str(text)?;
        if raw.spin_manifest_version.as_integer() != Some(2) {
            bail!("spin_manifest_version must be 2");
        }
        for name in raw.variables.keys() {
            validate_variable_name(name)?;
        }
        let mut http_triggers = Vec::new();
        let mut redis_triggers = Vec::new();
        for (kind, entries) in &raw.trigger {
            for entry in entries {
                let component = trigger_component(kind, entry)?;
                match kind.as_str() {
                    "http" => http_triggers.push(HttpTrigger {
                        route: match entry.get("route") {
                            Some(toml::Value::String(r)) => Some(r.clone()),
                            Some(toml::Value::Table(t)) if t.get("private").is_some() => None,
                            _ => bail!("[[trigger.http]] for `{component}` needs a string `route`"),
                        },
                        component,
                    }),
                    "redis" => redis_triggers.push(RedisTrigger {
                        channel: entry
                            .get("channel")
                            .and_then(|c| c.as_str())
                            .with_context(|| {
                                format!("[[trigger.redis]] for `{component}` needs `channel`")
                            })?
                            .to_string(),
                        address: entry
                            .get("address")
                            .and_then(|a| a.as_str())
                            .map(str::to_string),
                        component,
                    }),
                    other => bail!(
                        "trigger type `{other}` is not supported by order-host (http and redis are)"
                    ),
                }
            }
        }
        let manifest = Manifest {
            root,
            application: raw.application,
            variables: raw.variables,
            http_triggers,
            redis_triggers,
            components: raw.component,
        };
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<()> {
        let known = |id: &str, whence: &str| -> Result<()> {
            if !self.components.contains_key(id) {
                bail!("{whence} refers to component `{id}`, which is not defined");
            }
            Ok(())
        };
        for t in &self.http_triggers {
            known(&t.component, "[[trigger.http]]")?;
        }
        for t in &self.redis_triggers {
            known(&t.component, "[[trigger.redis]]")?;
            if t.address.is_none()
                && self
                    .application
                    .trigger
                    .redis
                    .as_ref()
                    .and_then(|r| r.address.as_ref())
                    .is_none()
            {
                bail!(
                    "[[trigger.redis]] `{}` has no address and [application.trigger.redis] sets none",
                    t.channel
                );
            }
        }
        for (id, c) in &self.components {
            self.validate_dependencies(id, c)?;
            for name in c.variables.keys() {
                validate_variable_name(name)?;
            }
        }
        Ok(())
    }

    /// Spin 4.1's checks of a component's `dependencies` (`spin/crates/manifest/src/schema/v2.rs`
    /// `ComponentDependencies::validate` and `normalize.rs`): names parse; a package-level name
    /// takes no `export`; entries of one package are disjoint; `dependencies_inherit_configuration`
    /// and per-entry `inherit_configuration` exclude each other; a component used as a
    /// dependency has no resources or permissions of its own.
    fn validate_dependencies(&self, id: &str, c: &ComponentDecl) -> Result<()> {
        let mut names = Vec::new();
        for (entry, dep) in &c.dependencies {
            let name = DependencyName::parse(entry)
                .with_context(|| format!("component {id:?} has invalid dependencies"))?;
            if let DependencyName::Package(p) = &name
                && p.interface.is_none()
                && dep.export.is_some()
            {
                bail!(
                    "component {id:?} has invalid dependencies: using an export to satisfy the package dependency {entry:?} is not currently permitted"
                );
            }
            if let Some(provider) = &dep.component {
                if !self.components.contains_key(provider) {
                    bail!("dependency ID {provider} does not exist");
                }
                if provider == id {
                    bail!("component `{id}` cannot depend on itself");
                }
                acceptable_dependency(provider, &self.components[provider], id)?;
            } else if dep.path.is_none() {
                bail!(
                    "[component.{id}.dependencies] \"{entry}\": order-host loads `component = ...` and `path = ...` dependencies only"
                );
            }
            names.push(name);
        }
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                if dependency_name::conflicting(a, b) {
                    bail!(
                        "component {id:?} has invalid dependencies: \"{a}\" dependency conflicts with \"{b}\""
                    );
                }
            }
        }
        if c.dependencies_inherit_configuration.is_some()
            && c.dependencies
                .values()
                .any(|d| d.inherit_configuration.is_some())
        {
            bail!(
                "Component `{id}` specifies both `dependencies_inherit_configuration` and per-dependency \
                 `inherit_configuration`. These are mutually exclusive; use one or the other."
            );
        }
        Ok(())
    }

    /// The address template of a Redis trigger: its own `address`, else
    /// `[application.trigger.redis] address` (validation guarantees one of them).
    pub fn redis_address<'a>(&'a self, trigger: &'a RedisTrigger) -> &'a str {
        trigger
            .address
            .as_deref()
            .or_else(|| {
                self.application
                    .trigger
                    .redis
                    .as_ref()
                    .and_then(|r| r.address.as_deref())
            })
            .unwrap_or_default()
    }

    /// Absolute path of a manifest-relative path.
    pub fn resolve(&self, relative: &str) -> PathBuf {
        let p = Path::new(relative);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.root.join(p)
        }
    }

    /// The `.wasm` path of component `id`.
    pub fn source_path(&self, id: &str) -> Result<PathBuf> {
        let c = self
            .components
            .get(id)
            .with_context(|| format!("no component `{id}`"))?;
        match &c.source {
            ComponentSource::Local(path) => Ok(self.resolve(path)),
            ComponentSource::Remote(_) => {
                bail!(
                    "component `{id}`: remote `source` tables are not supported by order-host; build it locally"
                )
            }
        }
    }
}

fn trigger_component(kind: &str, entry: &toml::Table) -> Result<String> {
    match entry.get("component") {
        Some(toml::Value::String(id)) => Ok(id.clone()),
        _ => bail!(
            "every [[trigger.{kind}]] needs `component = \"<id>\"` (inline components are not supported by order-host)"
        ),
    }
}

/// Spin variable names: lowercase letters, digits and underscores, starting with a letter.
fn validate_variable_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        bail!(
            "variable name `{name}` is invalid: use lowercase letters, digits and `_`, starting with a letter"
        );
    }
    Ok(())
}

/// Spin refuses a component with resources or permissions of its own as a dependency: they
/// would not apply once it is composed (`spin/crates/manifest/src/normalize.rs`
/// `ensure_is_acceptable_dependency`).
fn acceptable_dependency(provider: &str, c: &ComponentDecl, depender: &str) -> Result<()> {
    let mut surprises = Vec::new();
    let set = |v: &Option<toml::Value>| match v {
        None => false,
        Some(toml::Value::Array(a)) => !a.is_empty(),
        Some(toml::Value::Table(t)) => !t.is_empty(),
        Some(_) => true,
    };
    if set(&c.ai_models) {
        surprises.push("ai_models");
    }
    if set(&c.allowed_http_hosts) {
        surprises.push("allowed_http_hosts");
    }
    if !c.allowed_outbound_hosts.is_empty() {
        surprises.push("allowed_outbound_hosts");
    }
    if !c.dependencies.is_empty() {
        surprises.push("dependencies");
    }
    if !c.environment.is_empty() {
        surprises.push("environment");
    }
    if set(&c.files) {
        surprises.push("files");
    }
    if !c.key_value_stores.is_empty() {
        surprises.push("key_value_stores");
    }
    if !c.sqlite_databases.is_empty() {
        surprises.push("sqlite_databases");
    }
    if !c.variables.is_empty() {
        surprises.push("variables");
    }
    if surprises.is_empty() {
        return Ok(());
    }
    bail!(
        "Dependencies may not have their own resources or permissions. Component {provider} cannot be used as a dependency of {depender} because it specifies: {}",
        surprises.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
spin_manifest_version = 2
[application]
name = "demo"
[application.trigger.redis]
address = "{{ redis_url }}"
[variables]
redis_url = { default = "redis://127.0.0.1:6379" }
token = { required = true, secret = true }
[[trigger.http]]
route = "/..."
component = "api"
[[trigger.redis]]
channel = "payments.events"
component = "listener"
[component.api]
source = "api.wasm"
key_value_stores = ["default"]
dependencies_inherit_configuration = true
[component.api.dependencies]
"shop:order/users@0.1.0" = { component = "adapters" }
[component.adapters]
source = "adapters.wasm"
[component.listener]
source = "/abs/listener.wasm"
"#;

    #[test]
    fn parses_triggers_components_and_dependencies() {
        let m = Manifest::parse(MINIMAL, PathBuf::from("/app")).unwrap();
        assert_eq!(m.http_triggers[0].route.as_deref(), Some("/..."));
        assert_eq!(m.redis_triggers[0].channel, "payments.events");
        assert!(m.variables["token"].secret);
        assert_eq!(
            m.source_path("api").unwrap(),
            PathBuf::from("/app/api.wasm")
        );
        assert_eq!(
            m.source_path("listener").unwrap(),
            PathBuf::from("/abs/listener.wasm")
        );
        let dep = &m.components["api"].dependencies["shop:order/users@0.1.0"];
        assert_eq!(dep.component.as_deref(), Some("adapters"));
    }

    #[test]
    fn rejects_trigger_for_unknown_component() {
        let text = MINIMAL.replace("component = \"api\"", "component = \"nope\"");
        let err = Manifest::parse(&text, PathBuf::from("/")).unwrap_err();
        assert!(format!("{err:#}").contains("`nope`"), "{err:#}");
    }

    #[test]
    fn rejects_both_inheritance_forms() {
        let text = MINIMAL.replace(
            "{ component = \"adapters\" }",
            "{ component = \"adapters\", inherit_configuration = true }",
        );
        let err = Manifest::parse(&text, PathBuf::from("/")).unwrap_err();
        assert!(format!("{err:#}").contains("mutually exclusive"), "{err:#}");
        // Spin refuses the pair even when the component-level flag is `false`.
        let text = text.replace(
            "dependencies_inherit_configuration = true",
            "dependencies_inherit_configuration = false",
        );
        let err = Manifest::parse(&text, PathBuf::from("/")).unwrap_err();
        assert!(format!("{err:#}").contains("mutually exclusive"), "{err:#}");
    }

    #[test]
    fn a_dependency_with_resources_of_its_own_is_refused() {
        for grant in [
            "key_value_stores = [\"default\"]",
            "allowed_outbound_hosts = [\"http://x.test\"]",
            "files = [\"static/**\"]",
            "variables = { a = \"b\" }",
        ] {
            let text = MINIMAL.replace(
                "source = \"adapters.wasm\"",
                &format!("source = \"adapters.wasm\"\n{grant}"),
            );
            let err = format!(
                "{:#}",
                Manifest::parse(&text, PathBuf::from("/")).unwrap_err()
            );
            assert!(
                err.contains(
                    "Component adapters cannot be used as a dependency of api because it specifies"
                ),
                "{grant}: {err}"
            );
        }
    }

    #[test]
    fn a_package_level_entry_may_not_name_an_export() {
        let text = MINIMAL.replace(
            "\"shop:order/users@0.1.0\" = { component = \"adapters\" }",
            "\"shop:order@0.1.0\" = { component = \"adapters\", export = \"x\" }",
        );
        let err = format!(
            "{:#}",
            Manifest::parse(&text, PathBuf::from("/")).unwrap_err()
        );
        assert!(
            err.contains("using an export to satisfy the package dependency"),
            "{err}"
        );
    }

    #[test]
    fn overlapping_entries_of_one_package_are_refused() {
        let text = MINIMAL.replace(
            "\"shop:order/users@0.1.0\" = { component = \"adapters\" }",
            "\"shop:order/users@0.1.0\" = { component = \"adapters\" }\n\"shop:order@0.1.0\" = { component = \"adapters\" }",
        );
        let err = format!(
            "{:#}",
            Manifest::parse(&text, PathBuf::from("/")).unwrap_err()
        );
        assert!(err.contains("dependency conflicts with"), "{err}");
    }

    #[test]
    fn malformed_entry_names_are_refused() {
        let text = MINIMAL.replace("\"shop:order/users@0.1.0\"", "\"shop:order/users@next\"");
        let err = format!(
            "{:#}",
            Manifest::parse(&text, PathBuf::from("/")).unwrap_err()
        );
        assert!(err.contains("invalid version in dependency name"), "{err}");
    }

    #[test]
    fn rejects_bad_variable_names() {
        let text = MINIMAL.replace("token = {", "Token = {");
        assert!(Manifest::parse(&text, PathBuf::from("/")).is_err());
    }

    #[test]
    fn redis_trigger_without_any_address_is_an_error() {
        let text = MINIMAL.replace(
            "[application.trigger.redis]\naddress = \"{{ redis_url }}\"\n",
            "",
        );
        let err = Manifest::parse(&text, PathBuf::from("/")).unwrap_err();
        assert!(format!("{err:#}").contains("no address"), "{err:#}");
    }
}
