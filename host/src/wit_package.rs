//! The published interfaces: the WIT packages under `wit/` as binary WIT packages
//! (`<namespace>-<name>-<version>.wasm`, the form `wasm-tools component wit --wasm` and
//! `wkg wit build` produce, which registries store), and the documentation rule every
//! published item follows (each interface, world and function says what it does).

use std::path::Path;

use anyhow::{Context, Result, bail};
use wit_parser::{PackageId, Resolve};

/// One binary WIT package: its file name and bytes.
pub struct BinaryPackage {
    /// `shop-events-0.1.0.wasm`.
    pub file_name: String,
    /// The encoded package.
    pub bytes: Vec<u8>,
}

/// Parses `wit_dir` (its own package and `deps/`) and encodes every package of namespace
/// `shop` as a binary WIT package.
///
/// # Errors
/// When the WIT does not parse or resolve, a `shop` package has no version, or an interface,
/// world or function of one has no documentation.
pub fn build(wit_dir: &Path) -> Result<Vec<BinaryPackage>> {
    let mut resolve = Resolve::default();
    resolve
        .push_dir(wit_dir)
        .with_context(|| format!("{} does not parse", wit_dir.display()))?;
    let mut out = Vec::new();
    for (id, package) in resolve.packages.iter() {
        if package.name.namespace != "shop" {
            continue;
        }
        let Some(version) = &package.name.version else {
            bail!("package {} has no version", package.name);
        };
        let missing = undocumented(&resolve, id);
        if !missing.is_empty() {
            bail!(
                "package {} has undocumented items: {}",
                package.name,
                missing.join(", ")
            );
        }
        let bytes = wit_component::encode(&resolve, id)
            .with_context(|| format!("encoding {}", package.name))?;
        out.push(BinaryPackage {
            file_name: format!(
                "{}-{}-{version}.wasm",
                package.name.namespace, package.name.name
            ),
            bytes,
        });
    }
    out.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    Ok(out)
}

/// The interfaces, worlds and functions of package `id` that carry no doc comment.
fn undocumented(resolve: &Resolve, id: PackageId) -> Vec<String> {
    let package = &resolve.packages[id];
    let mut missing = Vec::new();
    let blank =
        |docs: &wit_parser::Docs| docs.contents.as_deref().is_none_or(|d| d.trim().is_empty());
    for (name, interface) in &package.interfaces {
        let interface = &resolve.interfaces[*interface];
        if blank(&interface.docs) {
            missing.push(format!("interface {name}"));
        }
        for (function, f) in &interface.functions {
            if blank(&f.docs) {
                missing.push(format!("{name}.{function}"));
            }
        }
    }
    for (name, world) in &package.worlds {
        if blank(&resolve.worlds[*world].docs) {
            missing.push(format!("world {name}"));
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wit_dir() -> std::path::PathBuf {
        crate::test_support::repository_root().join("wit")
    }

    #[test]
    fn every_shop_package_builds_as_a_versioned_binary_wit_package() {
        let packages = build(&wit_dir()).expect("wit/ builds");
        let names: Vec<&str> = packages.iter().map(|p| p.file_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "shop-adapters-0.1.1.wasm",
                "shop-events-0.1.0.wasm",
                "shop-order-0.1.0.wasm"
            ]
        );
        for package in &packages {
            // A binary WIT package decodes back to the same package.
            let decoded = wit_parser::decoding::decode(&package.bytes).expect("decodes");
            let resolve = decoded.resolve();
            let main = &resolve.packages[decoded.package()];
            assert!(
                package
                    .file_name
                    .starts_with(&format!("shop-{}-", main.name.name))
            );
        }
    }

    #[test]
    fn an_undocumented_function_is_refused() {
        let dir = tempfile_dir();
        std::fs::write(
            dir.join("x.wit"),
            "package shop:x@0.1.0;\n/// Documented.\ninterface i {\n    f: func();\n}\n",
        )
        .unwrap();
        let error = build(&dir).err().expect("refused").to_string();
        assert!(error.contains("i.f"), "{error}");
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("wit-package-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
