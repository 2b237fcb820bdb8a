//! Component dependencies (`[component.x.dependencies]`), composed as Spin 4.1 does at load time:
//! each import named in the manifest is satisfied by the provider component's export of the same
//! name (or the `export` given), and every other import of either side stays an import of the
//! composed component, for the host to link.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use wac_graph::{CompositionGraph, EncodeOptions, types::Package};

/// One resolved dependency: the socket's import name, the provider's bytes and its export name.
pub struct Plug {
    /// Import of the depending component, e.g. `shop:order/users@0.1.0`.
    pub import: String,
    /// Identifies the provider in messages and deduplicates instantiations.
    pub provider_id: String,
    /// The provider component.
    pub provider: Vec<u8>,
    /// The provider's export that satisfies the import.
    pub export: String,
    /// Which of the depending component's capabilities the provider inherits.
    pub inherited: Inherited,
}

/// What a dependency inherits from the component that depends on it.
#[derive(Debug, Clone)]
pub enum Inherited {
    /// Nothing (Spin's default): any capability use is `access-denied` on Spin.
    None,
    /// Everything.
    All,
    /// The named capabilities (`key_value_stores`, `sqlite_databases`, `allowed_outbound_hosts`,
    /// `variables`, ...).
    Some(Vec<String>),
}

/// The manifest capability an import needs, if it is a capability at all.
fn capability_of(import: &str) -> Option<&'static str> {
    let name = import.split('@').next().unwrap_or(import);
    match name {
        "spin:key-value/key-value" | "wasi:keyvalue/store" => Some("key_value_stores"),
        "spin:sqlite/sqlite" => Some("sqlite_databases"),
        "spin:variables/variables" | "wasi:config/store" => Some("variables"),
        "spin:redis/redis"
        | "wasi:http/client"
        | "wasi:http/handler"
        | "wasi:http/outgoing-handler" => Some("allowed_outbound_hosts"),
        _ => None,
    }
}

/// A composed component shares one set of grants, so this host cannot give a dependency *less*
/// than its parent. Instead it refuses, at load time, any dependency that would be denied a
/// capability on real Spin, so local runs never hide a production `access-denied`.
fn check_inheritance(provider_id: &str, imports: &[String], inherited: &Inherited) -> Result<()> {
    for import in imports {
        let Some(capability) = capability_of(import) else {
            continue;
        };
        let granted = match inherited {
            Inherited::All => true,
            Inherited::None => false,
            Inherited::Some(list) => list.iter().any(|c| c == capability),
        };
        if !granted {
            bail!(
                "dependency `{provider_id}` imports {import}, which needs `{capability}`, but does not inherit it; \
                 set `dependencies_inherit_configuration = true` or `inherit_configuration` on the dependency"
            );
        }
    }
    Ok(())
}

/// Composes `socket` with its `plugs` into one component. One provider instance serves every
/// import it satisfies, as in Spin.
pub fn compose(socket_id: &str, socket: Vec<u8>, plugs: Vec<Plug>) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let socket_pkg = Package::from_bytes(&package_name(socket_id), None, socket, graph.types_mut())
        .with_context(|| format!("component `{socket_id}` is not a valid component"))?;
    let socket_ty = socket_pkg.ty();
    let socket_pkg = graph.register_package(socket_pkg)?;
    let socket_inst = graph.instantiate(socket_pkg);

    let mut provider_instances = BTreeMap::new();
    for plug in plugs {
        if !graph.types()[socket_ty].imports.contains_key(&plug.import) {
            bail!(
                "component `{socket_id}` declares dependency \"{}\" but does not import it",
                plug.import
            );
        }
        let inst = match provider_instances.get(&plug.provider_id) {
            Some(inst) => *inst,
            None => {
                let pkg = Package::from_bytes(
                    &package_name(&plug.provider_id),
                    None,
                    plug.provider,
                    graph.types_mut(),
                )
                .with_context(|| {
                    format!("dependency `{}` is not a valid component", plug.provider_id)
                })?;
                let exports: Vec<String> =
                    graph.types()[pkg.ty()].exports.keys().cloned().collect();
                let imports: Vec<String> =
                    graph.types()[pkg.ty()].imports.keys().cloned().collect();
                check_inheritance(&plug.provider_id, &imports, &plug.inherited)?;
                if !exports.contains(&plug.export) {
                    bail!(
                        "component `{}` does not export \"{}\" needed by `{socket_id}` (it exports: {})",
                        plug.provider_id,
                        plug.export,
                        exports.join(", ")
                    );
                }
                let pkg = graph.register_package(pkg)?;
                let inst = graph.instantiate(pkg);
                provider_instances.insert(plug.provider_id.clone(), inst);
                inst
            }
        };
        let export = graph
            .alias_instance_export(inst, &plug.export)
            .with_context(|| format!("`{}` has no export \"{}\"", plug.provider_id, plug.export))?;
        graph
            .set_instantiation_argument(socket_inst, &plug.import, export)
            .with_context(|| {
                format!(
                    "\"{}\" exported by `{}` does not match what `{socket_id}` imports",
                    plug.export, plug.provider_id
                )
            })?;
    }

    let exports: Vec<String> = graph.types()[socket_ty].exports.keys().cloned().collect();
    for name in exports {
        let node = graph.alias_instance_export(socket_inst, &name)?;
        graph.export(node, &name)?;
    }
    graph
        .encode(EncodeOptions::default())
        .with_context(|| format!("composing `{socket_id}` with its dependencies failed"))
}

/// wac package names must look like `ns:name`.
fn package_name(component_id: &str) -> String {
    format!("app:{}", component_id.replace('_', "-"))
}
