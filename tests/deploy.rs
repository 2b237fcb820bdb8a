//! The SpinKube deployment (issue 11, item 6): `deploy/spinkube/*.yaml` parse, the `SpinApp`
//! satisfies spin-operator's CRD schema (a copy in `tests/fixtures/spinkube/`) and its
//! admission rules, every Secret key it or the maintenance CronJob references exists, its
//! variables are the app's own, and the runtime config inside the Secret has key-value on Redis
//! and SQLite on libSQL (that it reads under Spin's rules is order-host's own test).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use integration_tests::workspace_root;
use serde::Deserialize;
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    workspace_root().join("deploy/spinkube")
}

/// Every YAML document of `path`, as JSON values.
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .filter(|doc| !doc.is_null())
        .collect()
}

/// Every object of the deployment, with the file it came from.
fn objects() -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy_dir())
        .expect("deploy/spinkube")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|file| {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            documents(file)
                .into_iter()
                .map(move |doc| (name.clone(), doc))
        })
        .collect()
}

fn find<'a>(objects: &'a [(String, Value)], kind: &str) -> Vec<&'a Value> {
    objects
        .iter()
        .map(|(_, o)| o)
        .filter(|o| o["kind"] == kind)
        .collect()
}

fn the_spinapp(objects: &[(String, Value)]) -> &Value {
    let apps = find(objects, "SpinApp");
    assert_eq!(apps.len(), 1, "one SpinApp");
    apps[0]
}

/// Secret `name`'s keys and values (`stringData`, or base64-free `data` is refused: the
/// placeholders must stay readable).
fn secret(objects: &[(String, Value)], name: &str) -> BTreeMap<String, String> {
    let secret = find(objects, "Secret")
        .into_iter()
        .find(|s| s["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no Secret named {name}"));
    assert_eq!(secret["apiVersion"], "v1");
    secret["stringData"]
        .as_object()
        .unwrap_or_else(|| panic!("Secret {name} has stringData"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string value").to_owned()))
        .collect()
}

/// Checks `value` against an OpenAPI v3 (structural, Kubernetes-flavoured) schema: types,
/// `required`, `enum`, and no field the schema does not know (kubectl's strict validation).
fn validate(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if schema["x-kubernetes-int-or-string"] == true {
        if !(value.is_string() || value.is_i64()) {
            errors.push(format!("{path}: integer or string expected, got {value}"));
        }
        return;
    }
    if schema["x-kubernetes-preserve-unknown-fields"] == true && schema.get("properties").is_none()
    {
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        errors.push(format!("{path}: {value} not one of {allowed:?}"));
    }
    match schema["type"].as_str() {
        Some("object") => {
            let Some(object) = value.as_object() else {
                errors.push(format!("{path}: object expected, got {value}"));
                return;
            };
            for required in schema["required"].as_array().into_iter().flatten() {
                let key = required.as_str().unwrap_or_default();
                if !object.contains_key(key) {
                    errors.push(format!("{path}: required field `{key}` missing"));
                }
            }
            for (key, child) in object {
                let child_path = format!("{path}.{key}");
                if let Some(property) = schema["properties"].get(key) {
                    validate(property, child, &child_path, errors);
                } else if schema["additionalProperties"].is_object() {
                    validate(&schema["additionalProperties"], child, &child_path, errors);
                } else if schema["x-kubernetes-preserve-unknown-fields"] != true {
                    errors.push(format!("{child_path}: unknown field"));
                }
            }
        }
        Some("array") => match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    validate(&schema["items"], item, &format!("{path}[{i}]"), errors);
                }
            }
            None => errors.push(format!("{path}: array expected, got {value}")),
        },
        Some("string") if !value.is_string() => {
            errors.push(format!("{path}: string expected, got {value}"));
        }
        Some("integer") if !value.is_i64() => {
            errors.push(format!("{path}: integer expected, got {value}"));
        }
        Some("boolean") if !value.is_boolean() => {
            errors.push(format!("{path}: boolean expected, got {value}"));
        }
        _ => {}
    }
}

#[test]
fn the_spinapp_satisfies_the_spin_operator_crd_and_its_admission_rules() {
    let objects = objects();
    let app = the_spinapp(&objects);
    let crd = &documents(
        &workspace_root().join("tests/fixtures/spinkube/core.spinkube.dev_spinapps.yaml"),
    )[0];
    assert_eq!(crd["spec"]["names"]["kind"], "SpinApp");
    let version = crd["spec"]["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .find(|v| v["served"] == true && v["storage"] == true)
        .expect("the served storage version");
    let api_version = format!(
        "{}/{}",
        crd["spec"]["group"].as_str().unwrap(),
        version["name"].as_str().unwrap()
    );
    assert_eq!(app["apiVersion"], api_version.as_str());

    // The operator requires `spec.executor` and `spec.image`; `status` is the operator's.
    let schema = &version["schema"]["openAPIV3Schema"];
    let required: Vec<&str> = schema["properties"]["spec"]["required"]
        .as_array()
        .expect("required spec fields")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, ["executor", "image"], "the CRD this test knows");
    let mut errors = Vec::new();
    validate(
        &schema["properties"]["spec"],
        &app["spec"],
        "spec",
        &mut errors,
    );
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(app.get("status").is_none(), "status is the operator's");
    assert!(app["metadata"]["name"].is_string());

    // The validating webhook: an executor that exists, replicas > 0 unless autoscaling.
    let spec = &app["spec"];
    let executors = find(&objects, "SpinAppExecutor");
    let executor = executors
        .iter()
        .find(|e| e["metadata"]["name"] == spec["executor"])
        .expect("the executor the SpinApp names is deployed with it");
    assert_eq!(executor["apiVersion"], api_version.as_str());
    assert_eq!(executor["spec"]["createDeployment"], true);
    assert!(executor["spec"]["deploymentConfig"]["runtimeClassName"].is_string());
    assert_ne!(spec["enableAutoscaling"], true);
    assert!(
        spec["replicas"].as_i64().unwrap_or(0) >= 2,
        "several replicas: {spec}"
    );
    assert_eq!(
        spec["checks"]["liveness"]["httpGet"]["path"],
        "/health/live"
    );
    assert_eq!(
        spec["checks"]["readiness"]["httpGet"]["path"],
        "/health/ready"
    );
}

#[test]
fn the_runtime_config_secret_is_spins_runtime_config_with_libsql_and_redis() {
    let objects = objects();
    let runtime = &the_spinapp(&objects)["spec"]["runtimeConfig"];
    // `loadFromSecret` excludes every generated table (the operator refuses both).
    let keys: Vec<&String> = runtime.as_object().expect("runtimeConfig").keys().collect();
    assert_eq!(keys, ["loadFromSecret"], "{runtime}");
    let name = runtime["loadFromSecret"].as_str().expect("secret name");
    let data = secret(&objects, name);
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        ["runtime-config.toml"],
        "the operator mounts exactly this key"
    );
    let text = &data["runtime-config.toml"];

    // Spin 4.1's rules (type-specific fields, nothing unknown) are applied to this text by
    // order-host's own test (`runtime_config::tests`), so this crate never links the host.
    let table: toml::Table = toml::from_str(text).expect("TOML");
    assert_eq!(
        table["key_value_store"]["default"]["type"].as_str(),
        Some("redis")
    );
    assert_eq!(
        table["sqlite_database"]["default"]["type"].as_str(),
        Some("libsql")
    );
    // Only the tables the app uses.
    assert_eq!(
        table.keys().collect::<Vec<_>>(),
        ["key_value_store", "sqlite_database"]
    );
}

#[test]
fn spinapp_variables_are_the_apps_and_every_secret_reference_resolves() {
    let objects = objects();
    let app = the_spinapp(&objects);
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(workspace_root().join("spin.toml")).unwrap())
            .expect("spin.toml");
    let declared = manifest["variables"].as_table().expect("[variables]");
    let mut seen = Vec::new();
    for variable in app["spec"]["variables"].as_array().expect("variables") {
        let name = variable["name"].as_str().expect("name");
        assert!(
            declared.contains_key(name),
            "`{name}` is not a variable of spin.toml"
        );
        assert!(!seen.contains(&name), "`{name}` twice");
        seen.push(name);
        let secret_value = declared[name].get("secret").and_then(toml::Value::as_bool);
        if secret_value == Some(true) {
            assert!(
                variable.get("value").is_none(),
                "secret variable `{name}` must come from a Secret"
            );
        }
    }
    assert!(
        seen.contains(&"redis_url"),
        "the Redis trigger needs redis_url"
    );

    // Every secretKeyRef (variables, CronJob env) names a Secret and key deployed here.
    let mut references = Vec::new();
    collect_secret_refs(&app["spec"], &mut references);
    for cronjob in find(&objects, "CronJob") {
        collect_secret_refs(&cronjob["spec"], &mut references);
    }
    assert!(references.len() >= 4, "{references:?}");
    for (name, key) in references {
        assert!(
            secret(&objects, &name).contains_key(&key),
            "Secret {name} has no key {key}"
        );
    }
}

fn collect_secret_refs(value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            if let Some(reference) = map.get("secretKeyRef") {
                out.push((
                    reference["name"].as_str().expect("name").to_owned(),
                    reference["key"].as_str().expect("key").to_owned(),
                ));
            }
            map.values().for_each(|v| collect_secret_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_secret_refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_maintenance_cronjob_calls_existing_admin_endpoints_through_the_spinapps_service() {
    let objects = objects();
    let app = the_spinapp(&objects);
    let cronjobs = find(&objects, "CronJob");
    assert_eq!(cronjobs.len(), 1);
    let cronjob = cronjobs[0];
    assert_eq!(cronjob["apiVersion"], "batch/v1");
    assert_eq!(cronjob["spec"]["concurrencyPolicy"], "Forbid");
    let schedule = cronjob["spec"]["schedule"].as_str().expect("schedule");
    assert_eq!(schedule.split_whitespace().count(), 5, "{schedule}");
    let container = &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    let env: BTreeMap<&str, &Value> = container["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e))
        .collect();
    // spin-operator names the Service after the SpinApp (port 80).
    assert_eq!(
        env["ORDER_SERVICE_URL"]["value"],
        format!("http://{}", app["metadata"]["name"].as_str().unwrap()).as_str()
    );
    let script = container["args"][0].as_str().expect("script");
    assert!(script.contains("grant_type=client_credentials"), "{script}");
    assert!(script.contains("scope=orders:admin"), "{script}");

    let openapi: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("components/order-api/src/openapi.json"))
            .unwrap(),
    )
    .unwrap();
    for path in [
        "/api/v1/admin/outbox/dispatch",
        "/api/v1/admin/orders/recover",
        "/api/v1/admin/orders/reconcile",
    ] {
        assert!(script.contains(path), "{path} not called");
        assert!(
            openapi["paths"][path]["post"].is_object(),
            "POST {path} is not in the API"
        );
    }
}

#[test]
fn the_kustomization_applies_every_manifest() {
    let kustomization = &documents(&deploy_dir().join("kustomization.yaml"))[0];
    let mut listed: Vec<&str> = kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    listed.sort_unstable();
    let mut files: Vec<String> = objects()
        .into_iter()
        .map(|(file, _)| file)
        .filter(|f| f != "kustomization.yaml")
        .collect();
    files.dedup();
    assert_eq!(listed, files);
}

/// The schema check above is only worth something if it refuses what the API server would.
#[test]
fn the_schema_check_refuses_unknown_fields_missing_images_and_wrong_types() {
    let objects = objects();
    let crd = &documents(
        &workspace_root().join("tests/fixtures/spinkube/core.spinkube.dev_spinapps.yaml"),
    )[0];
    let spec_schema =
        &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    let mut spec = the_spinapp(&objects)["spec"].clone();
    spec["replica"] = Value::from(3);
    spec["replicas"] = Value::from("three");
    spec.as_object_mut().unwrap().remove("image");
    spec["runtimeConfig"]["sqliteDatabases"] = serde_json::json!([{ "type": "libsql" }]);
    let mut errors = Vec::new();
    validate(spec_schema, &spec, "spec", &mut errors);
    errors.sort();
    assert_eq!(
        errors,
        [
            "spec.replica: unknown field",
            "spec.replicas: integer expected, got \"three\"",
            "spec.runtimeConfig.sqliteDatabases[0]: required field `name` missing",
            "spec: required field `image` missing",
        ]
    );
}
