//! Names of `[component.<id>.dependencies]` entries, parsed and matched against a component's
//! imports by Spin 4.1's rules (`spin/crates/serde/src/dependencies.rs` for the syntax,
//! `spin/crates/compose/src/lib.rs` `matches_import` for the matching).
//!
//! Forms: `ns:pkg/iface@1.2.3`, `ns:pkg/iface`, `ns:pkg@1.2.3`, `ns:pkg` (package names), and
//! a plain kebab-case name such as `foo-bar` that matches only an import of exactly that name.

use std::fmt;

use anyhow::{Context, Result, anyhow, bail};
use semver::Version;

/// A dependency entry's name, as Spin parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DependencyName {
    /// A plain kebab-case name (`foo-bar`).
    Plain(String),
    /// A package name with an optional interface and version.
    Package(PackageName),
}

/// `ns:pkg[/iface][@version]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageName {
    /// `ns:pkg`.
    pub package: String,
    /// The interface, when the entry names one (`/iface`).
    pub interface: Option<String>,
    /// The exact version, when the entry names one (`@1.2.3`).
    pub version: Option<Version>,
}

impl DependencyName {
    /// Parses an entry name. Errors say which part is malformed.
    pub fn parse(name: &str) -> Result<Self> {
        if !name.contains([':', '/']) {
            check_kebab(name).map_err(|e| anyhow!("invalid dependency name {name:?}: {e}"))?;
            return Ok(Self::Plain(name.to_string()));
        }
        let (base, version) = match name.split_once('@') {
            Some((base, version)) => (
                base,
                Some(
                    Version::parse(version)
                        .with_context(|| format!("invalid version in dependency name {name:?}"))?,
                ),
            ),
            None => (name, None),
        };
        let (package, interface) = match base.split_once('/') {
            Some((package, interface)) => (package, Some(interface)),
            None => (base, None),
        };
        let Some((namespace, pkg)) = package.split_once(':') else {
            bail!("invalid dependency name {name:?}: a package is written `namespace:name`");
        };
        for part in [namespace, pkg].into_iter().chain(interface) {
            check_kebab(part).map_err(|e| anyhow!("invalid dependency name {name:?}: {e}"))?;
        }
        Ok(Self::Package(PackageName {
            package: package.to_string(),
            interface: interface.map(str::to_string),
            version,
        }))
    }

    /// The name Spin registers the dependency under in the composition graph: the package
    /// (`ns:pkg`, without interface or version) or the plain name. Two entries with the same
    /// registration name cannot coexist in one component.
    pub fn registration_name(&self) -> &str {
        match self {
            Self::Plain(name) => name,
            Self::Package(p) => &p.package,
        }
    }

    /// Whether this entry satisfies the import `import_name` (e.g. `shop:adapters/users@0.1.0`).
    /// A package-level entry matches every interface of the package; a versioned entry only
    /// imports of exactly that version; a plain name only the identical plain import.
    pub fn matches_import(&self, import_name: &str) -> bool {
        match self {
            Self::Plain(name) => name == import_name,
            Self::Package(entry) => {
                let Some((package, rest)) = import_name.split_once('/') else {
                    return false;
                };
                let (interface, version) = match rest.split_once('@') {
                    Some((interface, version)) => (interface, Version::parse(version).ok()),
                    None => (rest, None),
                };
                package == entry.package
                    && entry.interface.as_deref().is_none_or(|i| i == interface)
                    && entry
                        .version
                        .as_ref()
                        .is_none_or(|v| version.as_ref() == Some(v))
            }
        }
    }
}

impl fmt::Display for DependencyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plain(name) => f.write_str(name),
            Self::Package(p) => {
                f.write_str(&p.package)?;
                if let Some(interface) = &p.interface {
                    write!(f, "/{interface}")?;
                }
                if let Some(version) = &p.version {
                    write!(f, "@{version}")?;
                }
                Ok(())
            }
        }
    }
}

/// Spin's kebab-case identifier: `-`-separated words, each starting with an ASCII letter,
/// alphanumeric, all lower- or all upper-case.
pub(crate) fn check_kebab(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("empty name".into());
    }
    for word in id.split('-') {
        let mut chars = word.chars();
        let Some(first) = chars.next() else {
            return Err("'-'-separated words must not be empty".into());
        };
        if !first.is_ascii_alphabetic() {
            return Err(format!(
                "words must start with an ASCII letter; got {first:?}"
            ));
        }
        let upper = first.is_ascii_uppercase();
        for ch in chars {
            if !ch.is_ascii_alphanumeric() {
                return Err(format!(
                    "words may only contain alphanumeric ASCII; got {ch:?}"
                ));
            }
            if ch.is_ascii_alphabetic() && ch.is_ascii_uppercase() != upper {
                return Err(format!(
                    "words must be all lowercase or all UPPERCASE; got {word:?}"
                ));
            }
        }
    }
    Ok(())
}

/// Whether two entries of one component overlap (Spin's `ensure_disjoint`): same package, and
/// neither different compatible versions nor different interfaces keep them apart.
pub fn conflicting(a: &DependencyName, b: &DependencyName) -> bool {
    let (DependencyName::Package(a), DependencyName::Package(b)) = (a, b) else {
        return false;
    };
    if a.package != b.package {
        return false;
    }
    if let (Some(va), Some(vb)) = (&a.version, &b.version)
        && compatible_version(va) != compatible_version(vb)
    {
        return false;
    }
    if let (Some(ia), Some(ib)) = (&a.interface, &b.interface)
        && ia != ib
    {
        return false;
    }
    true
}

/// Semver compatibility class (as Spin normalizes it): `1.x.y` → `1.0.0`, `0.2.x` → `0.2.0`,
/// `0.0.3` stays; pre-releases stay exact.
fn compatible_version(version: &Version) -> Version {
    let mut v = version.clone();
    v.build = semver::BuildMetadata::EMPTY;
    if !v.pre.is_empty() {
        return v;
    }
    if v.major > 0 {
        v.minor = 0;
        v.patch = 0;
    } else if v.minor > 0 {
        v.patch = 0;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> DependencyName {
        DependencyName::parse(s).unwrap()
    }

    #[test]
    fn entries_match_imports_as_spin_matches_them() {
        for (entry, imports) in [
            ("foo:bar/baz@0.1.0", vec!["foo:bar/baz@0.1.0"]),
            ("foo:bar/baz", vec!["foo:bar/baz@0.1.0", "foo:bar/baz"]),
            ("foo:bar", vec!["foo:bar/baz@0.1.0", "foo:bar/baz"]),
            ("foo:bar@0.1.0", vec!["foo:bar/baz@0.1.0"]),
            ("foo-bar", vec!["foo-bar"]),
        ] {
            for import in imports {
                assert!(
                    name(entry).matches_import(import),
                    "{entry} should match {import}"
                );
            }
        }
        for (entry, imports) in [
            ("foo:bar/baz@0.1.0", vec!["foo:bar/baz"]),
            ("foo:bar/baz", vec!["foo:bar/bub", "foo:bar/bub@0.1.0"]),
            ("foo:bar", vec!["foo:bub/bib"]),
            ("foo:bar@0.1.0", vec!["foo:bar/baz", "foo:bar/baz@0.2.0"]),
            ("foo:bar/baz", vec!["foo:bar/baz-bub", "foo-bar"]),
        ] {
            for import in imports {
                assert!(
                    !name(entry).matches_import(import),
                    "{entry} should not match {import}"
                );
            }
        }
    }

    #[test]
    fn registration_name_is_the_package_without_interface_or_version() {
        assert_eq!(
            name("shop:adapters/users@0.1.0").registration_name(),
            "shop:adapters"
        );
        assert_eq!(
            name("shop:adapters@0.1.0").registration_name(),
            "shop:adapters"
        );
        assert_eq!(name("my-dep").registration_name(), "my-dep");
    }

    #[test]
    fn malformed_names_are_refused_with_the_reason() {
        for bad in [
            "shop",
            "shop:",
            "shop:Order_x",
            "shop:order@one",
            "1shop:order",
            "shop:order/",
        ] {
            let parsed = DependencyName::parse(bad);
            if bad == "shop" {
                assert!(parsed.is_ok(), "a plain name is valid");
                continue;
            }
            assert!(parsed.is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn entries_of_one_package_conflict_unless_interfaces_or_versions_differ() {
        assert!(conflicting(&name("a:b/c@0.1.0"), &name("a:b/c@0.1.0")));
        assert!(conflicting(&name("a:b@0.1.0"), &name("a:b/c@0.1.0")));
        assert!(conflicting(&name("a:b/c@0.1.0"), &name("a:b/c@0.1.5")));
        assert!(!conflicting(&name("a:b/c@0.1.0"), &name("a:b/d@0.1.0")));
        assert!(!conflicting(&name("a:b/c@0.1.0"), &name("a:b/c@0.2.0")));
        assert!(!conflicting(&name("a:b"), &name("x:y")));
        assert!(!conflicting(&name("plain"), &name("plain")));
    }

    #[test]
    fn display_round_trips() {
        for s in ["a:b", "a:b/c", "a:b@1.0.0", "a:b/c@0.1.0", "plain-name"] {
            assert_eq!(name(s).to_string(), s);
        }
    }
}
