//! One test per composition rule, on small components generated from WIT at test time
//! (wit-component's dummy modules: the right imports and exports, no behaviour), and the
//! repository's own `spin.toml` with components of its worlds.

use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::{LiftLowerAbi, ManglingAndAbi, Resolve};

use super::{Dependency, Inherited, compose};
use crate::dependency_name::DependencyName;

/// A capability package, so providers can import something inheritance governs.
const SQLITE: &str = r#"
package spin:sqlite@3.1.0;
interface sqlite { execute: func(sql: string) -> u32; }
"#;

const FIXTURES: &str = r#"
package test:deps@0.1.0;

interface types { record money { amount: s64 } }
interface users { use types.{money}; balance: func() -> money; }
interface products { count: func() -> u32; }

world app {
    import users;
    import products;
    export run: func();
}
world app-products-only {
    import products;
    export run: func();
}
world app-plain {
    import store: interface { count: func() -> u32; }
    export run: func();
}
world provider {
    export types;
    export users;
    export products;
}
world provider-without-types {
    export users;
    export products;
}
world users-provider {
    export types;
    export users;
}
world products-provider {
    export products;
}
world renamed-provider {
    export other-products: interface { count: func() -> u32; }
}
world incompatible-provider {
    export products: interface { count: func() -> string; }
}
world plain-provider {
    export store: interface { count: func() -> u32; }
}
world sqlite-provider {
    import spin:sqlite/sqlite@3.1.0;
    export products;
}
"#;

/// A component of `world` in the fixture package (or `wit` directory when given).
fn component_of(resolve: &Resolve, pkg: wit_parser::PackageId, world: &str) -> Vec<u8> {
    let world = resolve.select_world(&[pkg], Some(world)).expect("world");
    let mut module =
        wit_component::dummy_module(resolve, world, ManglingAndAbi::Legacy(LiftLowerAbi::Sync));
    wit_component::embed_component_metadata(&mut module, resolve, world, StringEncoding::UTF8)
        .expect("metadata");
    ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .validate(true)
        .encode()
        .expect("component")
}

fn fixture(world: &str) -> Vec<u8> {
    let mut resolve = Resolve::default();
    resolve
        .push_source("sqlite.wit", SQLITE)
        .expect("sqlite wit");
    let pkg = resolve
        .push_source("fixtures.wit", FIXTURES)
        .expect("fixture wit");
    component_of(&resolve, pkg, world)
}

fn dep(name: &str, world: &str) -> Dependency {
    Dependency {
        name: DependencyName::parse(name).expect("name"),
        provider: fixture(world),
        export: None,
        inherited: Inherited::All,
    }
}

fn compose_err(app: &str, deps: Vec<Dependency>) -> String {
    match compose("app", fixture(app), deps) {
        Ok(_) => panic!("composition should fail"),
        Err(e) => format!("{e:#}"),
    }
}

/// The imports of a composed component, to see what is left for the host.
fn imports_of(bytes: &[u8]) -> Vec<String> {
    let mut types = wac_graph::types::Types::default();
    let pkg = wac_graph::types::Package::from_bytes("composed", None, bytes.to_vec(), &mut types)
        .expect("valid component");
    types[pkg.ty()].imports.keys().cloned().collect()
}

#[test]
fn a_package_level_entry_satisfies_every_import_of_the_package_types_included() {
    let composed = compose(
        "app",
        fixture("app"),
        vec![dep("test:deps@0.1.0", "provider")],
    )
    .expect("composes");
    assert!(
        imports_of(&composed).is_empty(),
        "left: {:?}",
        imports_of(&composed)
    );
}

#[test]
fn a_package_level_entry_needs_the_provider_to_export_types_only_interfaces_too() {
    let err = compose_err(
        "app",
        vec![dep("test:deps@0.1.0", "provider-without-types")],
    );
    assert!(
        err.contains("dependency 'test:deps@0.1.0' doesn't export 'test:deps/types@0.1.0' to satisfy import 'test:deps/types@0.1.0'"),
        "{err}"
    );
}

#[test]
fn two_entries_for_one_package_are_refused_as_spin_refuses_them() {
    let err = compose_err(
        "app",
        vec![
            dep("test:deps/users@0.1.0", "users-provider"),
            dep("test:deps/products@0.1.0", "products-provider"),
        ],
    );
    assert!(
        err.contains("failed to resolve dependencies for component \"app\""),
        "{err}"
    );
    assert!(
        err.contains("an error occurred when preparing dependencies"),
        "{err}"
    );
    assert!(
        err.contains("package `test:deps` has already been registered in the graph"),
        "{err}"
    );
}

#[test]
fn an_interface_level_entry_matches_only_its_interface() {
    let composed = compose(
        "app",
        fixture("app-products-only"),
        vec![dep("test:deps/products@0.1.0", "products-provider")],
    )
    .expect("composes");
    assert!(imports_of(&composed).is_empty());

    // `users` (and its types) stay unsatisfied imports of the composition, for the host.
    let composed = compose(
        "app",
        fixture("app"),
        vec![dep("test:deps/products", "products-provider")],
    )
    .expect("composes");
    let left = imports_of(&composed);
    assert!(
        left.contains(&"test:deps/users@0.1.0".to_string()),
        "{left:?}"
    );
    assert!(
        !left.contains(&"test:deps/products@0.1.0".to_string()),
        "{left:?}"
    );
}

#[test]
fn an_entry_that_matches_no_import_is_refused() {
    let err = compose_err(
        "app-products-only",
        vec![dep("test:deps/users@0.1.0", "users-provider")],
    );
    assert!(
        err.contains(
            "dependency 'test:deps/users@0.1.0' doesn't match any imports of component 'app'"
        ),
        "{err}"
    );
    let err = compose_err("app", vec![dep("test:deps@0.2.0", "provider")]);
    assert!(
        err.contains("doesn't match any imports"),
        "a different version matches nothing: {err}"
    );
}

#[test]
fn a_missing_export_names_the_entry_the_export_and_the_import() {
    let err = compose_err(
        "app-products-only",
        vec![dep("test:deps/products@0.1.0", "users-provider")],
    );
    assert!(
        err.contains("dependency 'test:deps/products@0.1.0' doesn't export 'test:deps/products@0.1.0' to satisfy import 'test:deps/products@0.1.0'"),
        "{err}"
    );
}

#[test]
fn export_picks_another_export_of_the_provider() {
    let mut entry = dep("test:deps/products@0.1.0", "renamed-provider");
    entry.export = Some("other-products".into());
    let composed = compose("app", fixture("app-products-only"), vec![entry]).expect("composes");
    assert!(imports_of(&composed).is_empty());

    let mut entry = dep("test:deps/products@0.1.0", "renamed-provider");
    entry.export = Some("missing".into());
    let err = compose_err("app-products-only", vec![entry]);
    assert!(
        err.contains("doesn't export 'missing' to satisfy import 'test:deps/products@0.1.0'"),
        "{err}"
    );
}

#[test]
fn an_export_of_another_shape_is_refused() {
    let mut entry = dep("test:deps/products@0.1.0", "incompatible-provider");
    entry.export = Some("products".into());
    let err = compose_err("app-products-only", vec![entry]);
    assert!(
        err.contains(
            "exports 'products' which is not compatible with import 'test:deps/products@0.1.0'"
        ),
        "{err}"
    );
}

#[test]
fn a_plain_entry_matches_the_plain_import_of_that_name() {
    let composed = compose(
        "app",
        fixture("app-plain"),
        vec![dep("store", "plain-provider")],
    )
    .expect("composes");
    assert!(imports_of(&composed).is_empty());
    let err = compose_err("app-plain", vec![dep("other-store", "plain-provider")]);
    assert!(
        err.contains("dependency 'other-store' doesn't match any imports"),
        "{err}"
    );
}

#[test]
fn a_dependency_using_a_capability_it_does_not_inherit_is_refused() {
    let mut entry = dep("test:deps/products@0.1.0", "sqlite-provider");
    entry.inherited = Inherited::Some(vec![]);
    let err = compose_err("app-products-only", vec![entry]);
    assert!(
        err.contains("needs `sqlite_databases`, but does not inherit it"),
        "{err}"
    );

    let mut entry = dep("test:deps/products@0.1.0", "sqlite-provider");
    entry.inherited = Inherited::Some(vec!["key_value_stores".into()]);
    assert!(compose("app", fixture("app-products-only"), vec![entry]).is_err());

    for inherited in [
        Inherited::All,
        Inherited::Some(vec!["sqlite_databases".into()]),
    ] {
        let mut entry = dep("test:deps/products@0.1.0", "sqlite-provider");
        entry.inherited = inherited;
        let composed = compose("app", fixture("app-products-only"), vec![entry]).expect("composes");
        assert_eq!(
            imports_of(&composed),
            vec!["spin:sqlite/sqlite@3.1.0".to_string()],
            "the capability is left for the host"
        );
    }
}

/// The repository's `spin.toml`, with components of the repository's own worlds in `wit/`:
/// what real Spin composes when it loads the app.
#[test]
fn the_repository_manifest_composes_under_spins_rules() {
    let root = crate::test_support::repository_root();
    let manifest =
        crate::manifest::Manifest::load(&root.join("spin.toml")).expect("spin.toml parses");
    let mut resolve = Resolve::default();
    let (pkg, _) = resolve.push_dir(root.join("wit")).expect("wit/ parses");
    let world_of = |component: &str| match component {
        "order-api" => "shop:order/order-api",
        "dependency-adapters" => "shop:adapters/dependency-adapters",
        "event-emitter" => "shop:events/event-emitter",
        other => panic!("no world for {other}"),
    };
    let api = &manifest.components["order-api"];
    assert!(!api.dependencies.is_empty());
    let deps = api
        .dependencies
        .iter()
        .map(|(name, decl)| Dependency {
            name: DependencyName::parse(name).expect("entry name"),
            provider: component_of(
                &resolve,
                pkg,
                world_of(decl.component.as_deref().expect("component =")),
            ),
            export: decl.export.clone(),
            inherited: Inherited::All,
        })
        .collect();
    let composed = compose(
        "order-api",
        component_of(&resolve, pkg, world_of("order-api")),
        deps,
    )
    .expect("composes");
    assert!(
        imports_of(&composed).is_empty(),
        "every shop:* import is satisfied"
    );
}

fn entry(inherit: &str) -> crate::manifest::DependencyDecl {
    let text = format!(
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n[component.a]\nsource = \"a.wasm\"\n[component.a.dependencies]\n\"x:y\" = {{ component = \"b\"{inherit} }}\n[component.b]\nsource = \"b.wasm\"\n"
    );
    let manifest = crate::manifest::Manifest::parse(&text, "/".into()).expect("manifest");
    manifest.components["a"].dependencies["x:y"].clone()
}

#[test]
fn inheritance_follows_spins_normalisation() {
    use super::inherited;
    // Nothing by default, nothing with `false`.
    assert_eq!(inherited(None, &entry("")), Inherited::Some(vec![]));
    assert_eq!(inherited(Some(false), &entry("")), Inherited::Some(vec![]));
    assert_eq!(
        inherited(None, &entry(", inherit_configuration = false")),
        Inherited::Some(vec![])
    );
    // The component-level flag gives every entry everything.
    assert_eq!(inherited(Some(true), &entry("")), Inherited::All);
    // Per entry: `true` or a list of capability sets.
    assert_eq!(
        inherited(None, &entry(", inherit_configuration = true")),
        Inherited::All
    );
    assert_eq!(
        inherited(
            None,
            &entry(", inherit_configuration = [\"key_value_stores\"]")
        ),
        Inherited::Some(vec!["key_value_stores".into()])
    );
}
