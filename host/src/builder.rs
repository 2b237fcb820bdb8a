//! `spin build`, locally: runs each component's `[component.x.build] command` in its `workdir`,
//! after making sure the `wasm32-wasip2` target is installed.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::manifest::Manifest;

/// Adds the `wasm32-wasip2` target through rustup when it is missing.
pub fn ensure_wasm_target() -> Result<()> {
    let Ok(out) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    else {
        // No rustup: the toolchain is managed some other way; let the build say what is missing.
        return Ok(());
    };
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == "wasm32-wasip2")
    {
        return Ok(());
    }
    eprintln!("Installing the wasm32-wasip2 target (rustup target add wasm32-wasip2)");
    let status = Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2"])
        .status()?;
    if !status.success() {
        bail!("`rustup target add wasm32-wasip2` failed");
    }
    Ok(())
}

/// Runs every build command, in manifest order of component ids.
pub fn build_all(manifest: &Manifest) -> Result<()> {
    ensure_wasm_target()?;
    for (id, component) in &manifest.components {
        let Some(build) = &component.build else {
            continue;
        };
        let workdir = build
            .workdir
            .as_deref()
            .map(|w| manifest.resolve(w))
            .unwrap_or_else(|| manifest.root.clone());
        eprintln!("Building component {id} with `{}`", build.command);
        let status = Command::new("sh")
            .arg("-c")
            .arg(&build.command)
            .current_dir(&workdir)
            .status()
            .with_context(|| {
                format!(
                    "cannot run the build command of `{id}` in {}",
                    workdir.display()
                )
            })?;
        if !status.success() {
            bail!("building component `{id}` failed ({status})");
        }
    }
    Ok(())
}
