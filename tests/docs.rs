//! The README is part of the contract with operators: its configuration table must list every
//! variable `spin.toml` declares, with the same default. (`spin.toml` is read as TOML: the test
//! crate never links `order-host`, whose own tests check the manifest under Spin's rules.)

use integration_tests::workspace_root;

/// `spin.toml` as a TOML table.
fn manifest() -> toml::Table {
    let text = std::fs::read_to_string(workspace_root().join("spin.toml")).expect("spin.toml");
    toml::from_str(&text).expect("spin.toml is TOML")
}

/// `[variables]`: name → its declaration.
fn variables(manifest: &toml::Table) -> &toml::Table {
    manifest["variables"].as_table().expect("[variables]")
}

#[test]
fn readme_configuration_table_lists_every_manifest_variable_with_its_default() {
    let manifest = manifest();
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    for (name, decl) in variables(&manifest) {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("README configuration table has no row for `{name}`"));
        match decl.get("default").and_then(toml::Value::as_str) {
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
    let manifest = manifest();
    let declared = variables(&manifest);
    let components = manifest["component"].as_table().expect("[component]");
    for (id, component) in components {
        let Some(component_variables) = component.get("variables").and_then(|v| v.as_table())
        else {
            continue;
        };
        for (name, template) in component_variables {
            let template = template.as_str().expect("a variable template is a string");
            let referenced = template
                .trim()
                .trim_start_matches("{{")
                .trim_end_matches("}}")
                .trim();
            assert!(
                declared.contains_key(referenced),
                "[component.{id}.variables] {name} = \"{template}\" refers to an undeclared variable"
            );
        }
    }
}
