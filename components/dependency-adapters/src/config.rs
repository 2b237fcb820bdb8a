//! The adapters' configuration, read from Spin variables (ARCHITECTURE §7) once per
//! instance. Variables do not change while an instance lives, so keeping them in a global
//! is only a saving; a fresh instance reads them again.
//!
//! A knob that is undefined or not a number falls back to its documented default (and
//! says so on stderr once per instance): a typo must not take the service down.

use std::sync::OnceLock;

use resilience::{BreakerConfig, CachePolicy, Jitter, RetryPolicy};

use crate::log;
use crate::service::Service;

/// Everything the adapters read from variables.
pub(crate) struct Settings {
    /// Base URL per service (`Service::of`), or why it is missing.
    pub(crate) urls: [Result<String, String>; 4],
    /// The OAuth2 token endpoint; empty disables outbound tokens.
    pub(crate) auth_token_url: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    /// `scope` of the token request (space separated); empty sends none.
    pub(crate) client_scope: String,
    /// Per-attempt timeout (`call_timeout_ms`).
    pub(crate) call_timeout_ms: u64,
    pub(crate) breaker: BreakerConfig,
    /// Inventory and Payment retries.
    pub(crate) retry: RetryPolicy,
    /// Product cache: fresh for `product_cache_ttl_s`, served stale on failure for up to
    /// [`PRODUCT_MAX_STALE_MS`].
    pub(crate) product_cache: CachePolicy,
    /// User last-known-good: never fresh, served on failure up to `user_fallback_max_age_s`.
    pub(crate) user_fallback: CachePolicy,
}

/// How old a product entry may be and still stand in for a failed call: a day. Prices
/// older than that are not worth selling at.
pub(crate) const PRODUCT_MAX_STALE_MS: u64 = 24 * 60 * 60 * 1000;

/// Retry delays are capped at this, unless the dependency asks for longer (`Retry-After`).
const RETRY_MAX_DELAY_MS: u64 = 3_000;

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// The settings, read on first use in this instance.
pub(crate) async fn settings() -> &'static Settings {
    if let Some(settings) = SETTINGS.get() {
        return settings;
    }
    let loaded = load().await;
    // Two concurrent first requests may both load; either result is the same.
    SETTINGS.get_or_init(|| loaded)
}

/// Names in the order `load` reads them.
const NAMES: [&str; 20] = [
    "user_service_url",
    "product_service_url",
    "inventory_service_url",
    "payment_service_url",
    "auth_token_url",
    "client_id",
    "client_secret",
    "client_scope",
    "call_timeout_ms",
    "breaker_error_threshold_percentage",
    "breaker_volume_threshold",
    "breaker_rolling_window_ms",
    "breaker_reset_timeout_ms",
    "breaker_half_open_max_probes",
    "breaker_write_behind_ms",
    "retry_max",
    "retry_base_delay_ms",
    "retry_budget_ms",
    "product_cache_ttl_s",
    "user_fallback_max_age_s",
];

async fn load() -> Settings {
    let values = futures::future::join_all(NAMES.map(spin_sdk::variables::get)).await;
    let raw = |name: &str| -> Result<String, String> {
        let index = NAMES.iter().position(|n| *n == name).unwrap_or(0);
        values[index]
            .as_ref()
            .map(|v| v.trim().to_owned())
            .map_err(|error| format!("variable `{name}` is not available: {error:?}"))
    };
    let number = |name: &str, default: u64| -> u64 {
        match raw(name).map(|v| v.parse::<u64>()) {
            Ok(Ok(value)) => value,
            Ok(Err(_)) | Err(_) => {
                log::config_default(name, default);
                default
            }
        }
    };
    let text = |name: &str| raw(name).unwrap_or_default();

    let call_timeout_ms = number("call_timeout_ms", 3_000).max(1);
    let defaults = BreakerConfig::default();
    let breaker = BreakerConfig {
        error_threshold_percentage: number("breaker_error_threshold_percentage", 50) as u32,
        volume_threshold: number("breaker_volume_threshold", defaults.volume_threshold),
        rolling_window_ms: number("breaker_rolling_window_ms", defaults.rolling_window_ms).max(1),
        reset_timeout_ms: number("breaker_reset_timeout_ms", defaults.reset_timeout_ms),
        half_open_max_probes: number("breaker_half_open_max_probes", 1).max(1) as u32,
        write_behind_ms: number("breaker_write_behind_ms", 1_000),
        // A probe is one attempt: its lease outlives the attempt's timeout.
        probe_lease_ms: call_timeout_ms.saturating_mul(2).max(1_000),
        ..defaults
    };
    let retry = RetryPolicy {
        max_retries: number("retry_max", 3) as u32,
        base_delay_ms: number("retry_base_delay_ms", 300),
        max_delay_ms: RETRY_MAX_DELAY_MS,
        budget_ms: number("retry_budget_ms", 5_000),
        jitter: Jitter::Full,
    };
    let url = |service: Service| {
        raw(service.url_variable()).and_then(|url| match url.is_empty() {
            true => Err(format!("variable `{}` is empty", service.url_variable())),
            false => Ok(url.trim_end_matches('/').to_owned()),
        })
    };
    Settings {
        urls: Service::ALL.map(url),
        auth_token_url: text("auth_token_url"),
        client_id: text("client_id"),
        client_secret: text("client_secret"),
        client_scope: text("client_scope"),
        call_timeout_ms,
        breaker,
        retry,
        product_cache: CachePolicy {
            ttl_ms: number("product_cache_ttl_s", 300).saturating_mul(1_000),
            max_stale_age_ms: Some(PRODUCT_MAX_STALE_MS),
        },
        user_fallback: CachePolicy {
            ttl_ms: 0,
            max_stale_age_ms: Some(number("user_fallback_max_age_s", 600).saturating_mul(1_000)),
        },
    }
}
