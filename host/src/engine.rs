//! The wasmtime engine and the linker every component is instantiated with.

use anyhow::{Context, Result};
use wasmtime::component::Linker;
use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
};

use crate::bindings::{self, SpinHost};
use crate::ctx::Ctx;

/// Engine settings chosen on the command line.
#[derive(Debug, Clone, Copy)]
pub struct EngineOptions {
    /// Use the pooling instance allocator (default) instead of on-demand allocation.
    pub pooling: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self { pooling: true }
    }
}

/// Builds the engine: component-model async (WASI 0.3) on, compiled artifacts cached on disk so
/// a restart (or a test) does not recompile an unchanged component.
pub fn engine(options: EngineOptions) -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model_async(true);
    let cache = Cache::new(CacheConfig::new())
        .map_err(crate::log::wasmtime_error)
        .context("cannot set up the compilation cache")?;
    config.cache(Some(cache));
    // Profiling aid, not a Spin feature: with `ORDER_HOST_PERFMAP` set, wasmtime writes
    // `/tmp/perf-<pid>.map`, so `perf report` names the guests' functions.
    if std::env::var_os("ORDER_HOST_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if options.pooling {
        let mut pooling = PoolingAllocationConfig::default();
        pooling
            .total_component_instances(1000)
            .total_memories(4000)
            .total_tables(4000)
            .total_core_instances(4000);
        pooling
            .max_memories_per_component(32)
            .max_tables_per_component(32)
            .max_core_instances_per_component(64);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    }
    Engine::new(&config)
        .map_err(crate::log::wasmtime_error)
        .context("cannot create the wasmtime engine")
}

/// The linker with every interface the host provides: WASI 0.2 (Rust std in the guest uses it)
/// and 0.3, `wasi:http@0.3.0`, and the Spin interfaces.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<Ctx>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    bindings::spin::key_value::key_value::add_to_linker::<Ctx, SpinHost>(&mut linker, ctx_of)?;
    bindings::spin::sqlite::sqlite::add_to_linker::<Ctx, SpinHost>(&mut linker, ctx_of)?;
    bindings::spin::variables::variables::add_to_linker::<Ctx, SpinHost>(&mut linker, ctx_of)?;
    bindings::spin::redis::redis::add_to_linker::<Ctx, SpinHost>(&mut linker, ctx_of)?;
    Ok(linker)
}

fn ctx_of(ctx: &mut Ctx) -> &mut Ctx {
    ctx
}
