//! Instantiation cost of the app's HTTP component (order-api with dependency-adapters and
//! event-emitter composed in) against a hello-world component, measured in-process with the
//! host library and `up`'s engine settings: the mean time to create a fresh store and instance
//! from the pre-instance, over 500 sequential instantiations after 20 to warm up.
//!
//! Usage (after the test command built the components):
//! `cargo run --release -p order-host --example instantiation`. Prints a Markdown table for the
//! README's Benchmarks section. It lives here, not in the integration tests, so the test crate
//! never links the host (wasmtime would be compiled a second time with other features).

use std::path::{Path, PathBuf};

use order_host::{App, AppOptions};

/// The repository's `spin.toml` plus the hello-world fixture on `/bench/hello`, written to
/// `target/` with every `source` made absolute.
fn manifest(root: &Path) -> PathBuf {
    let release = root.join("target/wasm32-wasip2/release");
    let text = std::fs::read_to_string(root.join("spin.toml")).expect("read spin.toml");
    let text = text.replace(
        "source = \"target/",
        &format!("source = \"{}/target/", root.display()),
    );
    let hello = release.join("hello.wasm");
    let text = format!(
        "{text}\n[[trigger.http]]\nroute = \"/bench/hello\"\ncomponent = \"bench-hello\"\n\n[component.bench-hello]\nsource = \"{}\"\n",
        hello.display()
    );
    let path = root.join("target/instantiation-spin.toml");
    std::fs::write(&path, text).expect("write manifest");
    path
}

fn main() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the host crate lives in the repository")
        .to_path_buf();
    let state = tempfile::tempdir()?;
    let options = AppOptions {
        manifest: manifest(&root),
        runtime_config: None,
        state_dir: Some(state.path().to_path_buf()),
        listen: "127.0.0.1:0".parse()?,
        reuse: Default::default(),
        engine: Default::default(),
        variable_overrides: Default::default(),
        tcp_nodelay: false,
        inbound_tls: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let app = App::load(&options).await?;
        let http = app.http.expect("the manifest has an HTTP trigger");
        println!("| component | mean instantiation (new store + instance) |");
        println!("|---|---|");
        for (name, path) in [
            (
                "order-api + dependency-adapters + event-emitter (composed)",
                "/health/live",
            ),
            ("hello-world", "/bench/hello"),
        ] {
            http.mean_instantiation_time(path, 20).await?;
            let mean = http.mean_instantiation_time(path, 500).await?;
            println!("| {name} | {:.1} µs |", mean.as_secs_f64() * 1e6);
        }
        anyhow::Ok(())
    })?;
    let _ = std::fs::remove_file(root.join("target/instantiation-spin.toml"));
    Ok(())
}
