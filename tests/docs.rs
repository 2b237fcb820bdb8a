//! The README is part of the contract with operators: its configuration table must list every
//! variable `spin.toml` declares, with the same default.

use integration_tests::workspace_root;
use order_host::manifest::Manifest;

#[test]
fn readme_configuration_table_lists_every_manifest_variable_with_its_default() {
    let manifest = Manifest::load(&workspace_root().join("spin.toml")).expect("spin.toml loads");
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    for (name, decl) in &manifest.variables {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("README configuration table has no row for `{name}`"));
        match decl.default.as_deref() {
            Some("") | None => assert!(row.contains("(empty"), "`{name}` defaults to empty: {row}"),
            Some(default) => assert!(
                row.contains(&format!("`{default}`")),
                "`{name}` defaults to `{default}`: {row}"
            ),
        }
    }
}

#[test]
fn every_component_variable_refers_to_a_declared_application_variable() {
    let manifest = Manifest::load(&workspace_root().join("spin.toml")).expect("spin.toml loads");
    for (id, component) in &manifest.components {
        for (name, template) in &component.variables {
            let referenced = template
                .trim()
                .trim_start_matches("{{")
                .trim_end_matches("}}")
                .trim();
            assert!(
                manifest.variables.contains_key(referenced),
                "[component.{id}.variables] {name} = \"{template}\" refers to an undeclared variable"
            );
        }
    }
}
