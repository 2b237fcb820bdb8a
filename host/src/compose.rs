//! Component dependencies (`[component.x.dependencies]`), composed exactly as Spin 4.1 composes
//! them at load time (`spin/crates/compose/src/lib.rs`):
//!
//! 1. the depending component is registered in a wac composition graph under its component id;
//! 2. for each entry, the imports it matches are collected (package- or interface-level, with or
//!    without version; see [`DependencyName::matches_import`]); an entry that matches nothing is
//!    refused;
//! 3. each entry's component is registered **as its own package, named after the entry's
//!    package** (`shop:adapters` for `shop:adapters@0.1.0`), and instantiated once: a second
//!    entry for the same package fails with wac's "package `…` has already been registered in
//!    the graph";
//! 4. an import matched by two entries is a conflict;
//! 5. each matched import is satisfied by the provider's export of the same name (or the entry's
//!    `export`), which must exist (types-only interfaces included) and be a subtype of the import;
//! 6. every export of the depending component is re-exported; the provider's other imports stay
//!    imports of the composition, for the host to link.
//!
//! The messages are Spin's, so a failure here reads like the failure `spin up` would print.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow, bail};
use wac_graph::types::{Package, SubtypeChecker, WorldId};
use wac_graph::{CompositionGraph, EncodeOptions, NodeId};

use crate::dependency_name::DependencyName;

/// One `[component.x.dependencies]` entry, resolved to its provider's bytes.
pub struct Dependency {
    /// The entry's name, e.g. `shop:adapters@0.1.0`.
    pub name: DependencyName,
    /// The provider component (`component = …` or `path = …`).
    pub provider: Vec<u8>,
    /// The entry's `export`: which of the provider's exports satisfies the import (only with
    /// an interface-level name; Spin refuses it on package-level names).
    pub export: Option<String>,
    /// Which of the depending component's capabilities the provider inherits.
    pub inherited: Inherited,
}

/// What a dependency inherits from the component that depends on it (Spin's
/// `InheritConfiguration`, after `dependencies_inherit_configuration` is spread onto entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inherited {
    /// Everything.
    All,
    /// The named capability sets (`key_value_stores`, `sqlite_databases`,
    /// `allowed_outbound_hosts`, `variables`, …); empty is Spin's default.
    Some(Vec<String>),
}

/// What one dependency entry inherits, as Spin normalizes it
/// (`spin/crates/manifest/src/normalize.rs`, `spin/crates/loader/src/local.rs` `locked_inherit`):
/// `dependencies_inherit_configuration = true` on the component gives every entry everything;
/// otherwise the entry's own `inherit_configuration` (`true`, `false` or a list) decides, and
/// nothing is inherited by default.
pub fn inherited(
    dependencies_inherit_configuration: Option<bool>,
    entry: &crate::manifest::DependencyDecl,
) -> Inherited {
    use crate::manifest::InheritConfiguration;
    if dependencies_inherit_configuration == Some(true) {
        return Inherited::All;
    }
    match &entry.inherit_configuration {
        Some(InheritConfiguration::All(true)) => Inherited::All,
        Some(InheritConfiguration::Some(list)) => Inherited::Some(list.clone()),
        Some(InheritConfiguration::All(false)) | None => Inherited::Some(vec![]),
    }
}

/// The manifest capability set an import belongs to (`spin/crates/capabilities/src/lib.rs`),
/// if it is a capability at all.
fn capability_of(import: &str) -> Option<&'static str> {
    let name = import.split('@').next().unwrap_or(import);
    match name {
        "spin:key-value/key-value" | "wasi:keyvalue/store" => Some("key_value_stores"),
        "spin:sqlite/sqlite" => Some("sqlite_databases"),
        "spin:variables/variables" | "wasi:config/store" => Some("variables"),
        "wasi:cli/environment" => Some("environment"),
        "wasi:filesystem/preopens" => Some("files"),
        "spin:redis/redis"
        | "spin:mqtt/mqtt"
        | "spin:mysql/mysql"
        | "spin:postgres/postgres"
        | "wasi:http/client"
        | "wasi:http/outgoing-handler"
        | "wasi:sockets/ip-name-lookup"
        | "wasi:sockets/tcp-create-socket"
        | "wasi:sockets/tcp"
        | "wasi:sockets/udp-create-socket"
        | "wasi:sockets/udp" => Some("allowed_outbound_hosts"),
        _ => None,
    }
}

/// Spin wraps a dependency that does not inherit a capability in a deny-all adapter, so every
/// use of it fails at run time. A composed component shares one set of grants in this host, so
/// it cannot give a dependency *less* than its parent: instead it refuses, at load time, a
/// dependency that imports a capability it does not inherit. Stricter than Spin (Spin loads
/// it and denies the call), never laxer.
fn check_inheritance(
    entry: &DependencyName,
    imports: &[String],
    inherited: &Inherited,
) -> Result<()> {
    let Inherited::Some(granted) = inherited else {
        return Ok(());
    };
    for import in imports {
        let Some(capability) = capability_of(import) else {
            continue;
        };
        if !granted.iter().any(|c| c == capability) {
            bail!(
                "dependency '{entry}' imports {import}, which needs `{capability}`, but does not inherit it \
                 (Spin would deny every such call); set `dependencies_inherit_configuration = true` on the \
                 component or `inherit_configuration` on the dependency"
            );
        }
    }
    Ok(())
}

/// A registered dependency: where it sits in the graph and how the manifest named it.
#[derive(Clone)]
struct Registered {
    name: DependencyName,
    instance: NodeId,
    world: WorldId,
    export: Option<String>,
}

/// Composes component `component_id` with its dependencies into one component, as Spin does.
/// Errors carry Spin's messages (see the module documentation for the rules).
pub fn compose(
    component_id: &str,
    component: Vec<u8>,
    dependencies: Vec<Dependency>,
) -> Result<Vec<u8>> {
    compose_inner(component_id, component, dependencies)
        .with_context(|| format!("failed to resolve dependencies for component \"{component_id}\""))
}

fn compose_inner(
    component_id: &str,
    component: Vec<u8>,
    dependencies: Vec<Dependency>,
) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let (world, instance) = register(&mut graph, component_id, component)
        .context("an error occurred when preparing dependencies")?;
    let import_names: Vec<String> = graph.types()[world].imports.keys().cloned().collect();

    let mut mappings: BTreeMap<String, Vec<Registered>> = BTreeMap::new();
    for dependency in dependencies {
        let matched: Vec<&String> = import_names
            .iter()
            .filter(|import| dependency.name.matches_import(import))
            .collect();
        if matched.is_empty() {
            bail!(
                "dependency '{}' doesn't match any imports of component '{component_id}'",
                dependency.name
            );
        }
        let (dep_world, dep_instance) = register(
            &mut graph,
            dependency.name.registration_name(),
            dependency.provider,
        )
        .context("an error occurred when preparing dependencies")?;
        let provider_imports: Vec<String> =
            graph.types()[dep_world].imports.keys().cloned().collect();
        check_inheritance(&dependency.name, &provider_imports, &dependency.inherited)?;
        let registered = Registered {
            name: dependency.name,
            instance: dep_instance,
            world: dep_world,
            export: dependency.export,
        };
        for import in matched {
            mappings
                .entry(import.clone())
                .or_default()
                .push(registered.clone());
        }
    }

    let conflicts: Vec<String> = mappings
        .iter()
        .filter(|(_, infos)| infos.len() > 1)
        .map(|(import, infos)| {
            let names: Vec<String> = infos.iter().map(|i| i.name.to_string()).collect();
            format!(
                "import '{import}' satisfied by dependencies: '{}'",
                names.join(", ")
            )
        })
        .collect();
    if !conflicts.is_empty() {
        bail!(
            "component '{component_id}' has dependency conflicts: {}",
            conflicts.join("; ")
        );
    }

    let mut cache = Default::default();
    let mut arguments = Vec::new();
    for (import, mut infos) in mappings {
        let info = infos.remove(0);
        let export_name = info.export.clone().unwrap_or_else(|| import.clone());
        let Some(export_ty) = graph.types()[info.world].exports.get(&export_name).copied() else {
            bail!(
                "dependency '{}' doesn't export '{export_name}' to satisfy import '{import}'",
                info.name
            );
        };
        let import_ty = graph.types()[world].imports[&import];
        SubtypeChecker::new(&mut cache)
            .is_subtype(export_ty, graph.types(), import_ty, graph.types())
            .with_context(|| {
                format!(
                    "dependency '{}' exports '{export_name}' which is not compatible with import '{import}'",
                    info.name
                )
            })
            .context("an error occurred when preparing dependencies")?;
        let node = graph
            .alias_instance_export(info.instance, &export_name)
            .map_err(|e| anyhow!(e))
            .context("an error occurred when preparing dependencies")?;
        arguments.push((import, node));
    }
    for (import, node) in arguments {
        graph
            .set_instantiation_argument(instance, &import, node)
            .map_err(|e| anyhow!(e))
            .context("an error occurred when preparing dependencies")?;
    }

    let exports: Vec<String> = graph.types()[world].exports.keys().cloned().collect();
    for name in exports {
        let node = graph.alias_instance_export(instance, &name)?;
        graph.export(node, &name)?;
    }
    graph
        .encode(EncodeOptions::default())
        .map_err(|e| anyhow!(e))
        .context("failed to encode composition graph")
}

/// Registers `bytes` as package `name` and instantiates it once.
fn register(graph: &mut CompositionGraph, name: &str, bytes: Vec<u8>) -> Result<(WorldId, NodeId)> {
    let package = Package::from_bytes(name, None, bytes, graph.types_mut())?;
    let world = package.ty();
    let package = graph.register_package(package)?;
    Ok((world, graph.instantiate(package)))
}

#[cfg(test)]
mod tests;
