//! Application variables, resolved as Spin does: the manifest default, overridden by the
//! environment provider (`SPIN_VARIABLE_<NAME>`). Component variables and templated manifest
//! fields (`allowed_outbound_hosts`, Redis `address`/`channel`) are expanded from them once, at
//! load time; the values are then immutable for the life of the process.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Result, bail};

use crate::manifest::Manifest;

/// Resolved application variables.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    values: HashMap<String, String>,
}

impl Variables {
    /// Resolves every declared variable from `env` (name → value) and manifest defaults.
    /// A `required` variable with no value is an error naming the environment variable to set.
    pub fn resolve(manifest: &Manifest, env: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let mut values = HashMap::new();
        for (name, decl) in &manifest.variables {
            let key = format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase());
            match env(&key).or_else(|| decl.default.clone()) {
                Some(v) => {
                    values.insert(name.clone(), v);
                }
                None if decl.required => {
                    bail!("required variable `{name}` has no value: set {key}")
                }
                None => {}
            }
        }
        Ok(Self { values })
    }

    /// Resolves from the process environment.
    pub fn from_process_env(manifest: &Manifest) -> Result<Self> {
        Self::resolve(manifest, |k| std::env::var(k).ok())
    }

    /// The value of application variable `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Expands `{{ name }}` placeholders; an unknown name is an error.
    pub fn expand(&self, template: &str) -> Result<String> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                bail!("unterminated `{{{{` in `{template}`");
            };
            let name = after[..end].trim();
            match self.get(name) {
                Some(v) => out.push_str(v),
                None => bail!("`{template}` refers to variable `{name}`, which has no value"),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Expands a component's `[component.x.variables]` table.
    pub fn component_values(
        &self,
        templates: &BTreeMap<String, String>,
    ) -> Result<HashMap<String, String>> {
        templates
            .iter()
            .map(|(k, t)| Ok((k.clone(), self.expand(t)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn manifest() -> Manifest {
        Manifest::parse(
            r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
call_timeout_ms = { default = "3000" }
client_secret = { required = true, secret = true }
"#,
            PathBuf::from("/"),
        )
        .unwrap()
    }

    #[test]
    fn environment_overrides_default() {
        let vars = Variables::resolve(&manifest(), |k| match k {
            "SPIN_VARIABLE_CALL_TIMEOUT_MS" => Some("50".into()),
            "SPIN_VARIABLE_CLIENT_SECRET" => Some("s".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(vars.get("call_timeout_ms"), Some("50"));
    }

    #[test]
    fn missing_required_variable_names_the_env_var() {
        let err = Variables::resolve(&manifest(), |_| None).unwrap_err();
        assert!(
            err.to_string().contains("SPIN_VARIABLE_CLIENT_SECRET"),
            "{err}"
        );
    }

    #[test]
    fn expands_templates_with_spaces_and_rejects_unknown_names() {
        let vars = Variables::resolve(&manifest(), |k| {
            (k == "SPIN_VARIABLE_CLIENT_SECRET").then(|| "x".into())
        })
        .unwrap();
        assert_eq!(
            vars.expand("t={{call_timeout_ms}}ms {{ call_timeout_ms }}")
                .unwrap(),
            "t=3000ms 3000"
        );
        assert!(vars.expand("{{ nope }}").is_err());
        assert!(vars.expand("{{ open").is_err());
    }
}

mod host {
    use wasmtime::component::Accessor;

    use crate::bindings::SpinHost;
    use crate::bindings::spin::variables::variables::{self as wit, Error};
    use crate::ctx::Ctx;

    impl wit::Host for Ctx {}

    impl wit::HostWithStore<Ctx> for SpinHost {
        async fn get(
            accessor: &Accessor<Ctx, Self>,
            name: String,
        ) -> wasmtime::Result<Result<String, Error>> {
            accessor.with(|mut a| {
                let caps = &a.get().caps;
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    return Ok(Err(Error::InvalidName(name)));
                }
                Ok(caps
                    .variables
                    .get(&name)
                    .cloned()
                    .ok_or(Error::Undefined(name)))
            })
        }
    }
}
