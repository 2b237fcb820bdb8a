//! The `order-host` command line (ARCHITECTURE §10).

mod local_redis;
mod simulators;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};
use order_host::engine::EngineOptions;
use order_host::instance_reuse::InstanceReuse;
use order_host::manifest::Manifest;
use order_host::tls::server::InboundTls;
use order_host::{App, AppOptions, builder};

#[derive(Parser)]
#[command(
    name = "order-host",
    version,
    about = "Runs the Order Service's Spin app locally on wasmtime"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the components (like `spin build`) and serve the application (like `spin up`).
    Up(UpArgs),
    /// Print a JWT signed with the local development key that `up` trusts (or, with
    /// `--jwks`, that key's public JWKS).
    Token(order_host::dev_token::TokenArgs),
    /// Build the published WIT packages (`shop:*` under `wit/`) as binary WIT packages, the
    /// form registries store (`wasm-tools component wit --wasm`, `wkg wit build`).
    Wit(WitArgs),
}

#[derive(Parser)]
struct WitArgs {
    /// The WIT directory (its own package plus `deps/`).
    #[arg(long, default_value = "wit")]
    wit: PathBuf,
    /// Where the `<namespace>-<name>-<version>.wasm` files go.
    #[arg(long, default_value = "target/wit")]
    out: PathBuf,
}

/// Writes every `shop:*` package of `args.wit` to `args.out` and prints each path.
fn wit(args: &WitArgs) -> Result<()> {
    std::fs::create_dir_all(&args.out)?;
    for package in order_host::wit_package::build(&args.wit)? {
        let path = args.out.join(&package.file_name);
        std::fs::write(&path, &package.bytes)?;
        println!("{}", path.display());
    }
    Ok(())
}

#[derive(Parser)]
#[command(args_override_self = true)]
struct UpArgs {
    /// Address to listen on (port 0 picks a free port; the chosen one is printed).
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// The application manifest.
    #[arg(long, default_value = "spin.toml")]
    manifest: PathBuf,
    /// Spin-format runtime config (key-value and SQLite backends).
    #[arg(long)]
    runtime_config: Option<PathBuf>,
    /// Directory for default stores (default: `.spin/` next to the manifest).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Do not run the components' build commands.
    #[arg(long)]
    no_build: bool,
    /// Requests one instance serves before it is dropped (Spin 4: 128).
    #[arg(long, default_value_t = 128)]
    max_instance_reuse_count: usize,
    /// Requests one instance serves concurrently (Spin 4: 16).
    #[arg(long, default_value_t = 16)]
    max_instance_concurrent_reuse_count: usize,
    /// Milliseconds an idle instance is kept (Spin 4: 1000).
    #[arg(long, default_value_t = 1000)]
    idle_instance_timeout_ms: u64,
    /// Allocate instances on demand instead of from wasmtime's pooling allocator (the
    /// default, which measured faster: see the README's benchmarks).
    #[arg(long)]
    no_pooling: bool,
    /// Do not start the built-in dependency simulators (they start only when no
    /// SPIN_VARIABLE_*_SERVICE_URL / SPIN_VARIABLE_AUTH_TOKEN_URL is set).
    #[arg(long)]
    no_simulators: bool,
    /// Set TCP_NODELAY on accepted connections. Spin does not, and neither does order-host
    /// by default, so a response that leaves in pieces stalls here as it would on Spin.
    #[arg(long)]
    tcp_nodelay: bool,
    /// Serve HTTPS with this certificate chain (PEM), as `spin up --tls-cert`.
    #[arg(long, env = "SPIN_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM, PKCS#8), as `spin up --tls-key`.
    #[arg(long, env = "SPIN_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require every HTTPS client to present a certificate chained to a CA in this PEM file
    /// (mutual TLS; not a Spin flag: on Spin the ingress or service mesh does this).
    #[arg(long, requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => up(args),
        Command::Token(args) => order_host::dev_token::run(&args),
        Command::Wit(args) => wit(&args),
    };
    if let Err(e) = result {
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}

fn up(args: UpArgs) -> Result<()> {
    let manifest = Manifest::load(&args.manifest)?;
    if !args.no_build {
        builder::build_all(&manifest)?;
    }
    // Kept until `up` returns: the simulators and the local Redis serve as long as the app does.
    let running_simulators = simulators::start(args.no_simulators)?;
    let sims = running_simulators.as_ref();
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(|| manifest.root.join(".spin"));
    let local_redis = local_redis::start(&manifest, &state_dir)?;
    let mut overrides = simulators::variable_overrides(sims);
    if let Some(redis) = &local_redis {
        overrides.insert(redis.variable.0.clone(), redis.variable.1.clone());
    }
    // With no JWKS configured, trust the development key `order-host token` signs with.
    let variable_overrides = order_host::dev_token::with_dev_jwks(&args.manifest, overrides)?;
    let options = AppOptions {
        manifest: args.manifest,
        runtime_config: args.runtime_config,
        state_dir: args.state_dir,
        listen: args.listen,
        reuse: InstanceReuse {
            max_requests: args.max_instance_reuse_count.max(1),
            max_concurrent: args.max_instance_concurrent_reuse_count.max(1),
            idle_timeout: Duration::from_millis(args.idle_instance_timeout_ms),
        },
        engine: EngineOptions {
            pooling: !args.no_pooling,
        },
        variable_overrides,
        tcp_nodelay: args.tcp_nodelay,
        inbound_tls: match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(InboundTls {
                cert,
                key,
                client_ca: args.tls_client_ca,
            }),
            // clap's `requires` makes the two flags come together.
            _ => None,
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // OTLP traces when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set; before loading, so every
        // instance sees it. A refused configuration stops start-up, as on Spin.
        let telemetry = order_host::telemetry::init_from_env()?;
        if let Some(path) = std::env::var_os(order_host::op_counts::FILE_ENV) {
            tokio::spawn(order_host::op_counts::publish(path.into()));
        }
        let mut app = App::load(&options).await?;
        app.connect_triggers().await?;
        let listener = order_host::trigger_http::bind(options.listen).await?;
        let addr = listener.local_addr()?;
        let scheme = if options.inbound_tls.is_some() {
            "https"
        } else {
            "http"
        };
        println!("Serving {scheme}://{addr}");
        if let Some(http) = &app.http {
            println!("Available Routes:");
            for (route, component) in http.routes() {
                match route.strip_suffix("/...") {
                    Some(prefix) => {
                        println!("  {component}: {scheme}://{addr}{prefix} (wildcard)")
                    }
                    None => println!("  {component}: {scheme}://{addr}{route}"),
                }
            }
        }
        simulators::print(sims);
        if let Some(redis) = &local_redis {
            println!("Local Redis ({}): {}", redis.variable.0, redis.variable.1);
        }
        let outcome = tokio::select! {
            served = order_host::serve(app, listener) => served,
            _ = shutdown_signal() => Ok(()),
        };
        // Flush the spans still queued (bounded wait: a dead collector never holds the exit).
        if let Some(telemetry) = telemetry {
            telemetry.shutdown().await;
        }
        outcome
    })
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
