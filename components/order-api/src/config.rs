//! The component's timing settings, read from Spin variables once per instance (a variable
//! cannot change while an instance lives) and falling back to `spin.toml`'s defaults when a
//! value is missing, negative or not a whole number of seconds.

use order_app::Settings;
use std::cell::Cell;

thread_local! {
    static SETTINGS: Cell<Option<Settings>> = const { Cell::new(None) };
}

/// `saga_recovery_after_s`, `charge_resolve_max_age_s` and `payment_reconcile_after_s`.
pub(crate) async fn settings() -> Settings {
    if let Some(settings) = SETTINGS.get() {
        return settings;
    }
    let defaults = Settings::default();
    let settings = Settings {
        saga_recovery_after_s: seconds("saga_recovery_after_s", defaults.saga_recovery_after_s)
            .await,
        charge_resolve_max_age_s: seconds(
            "charge_resolve_max_age_s",
            defaults.charge_resolve_max_age_s,
        )
        .await,
        payment_reconcile_after_s: seconds(
            "payment_reconcile_after_s",
            defaults.payment_reconcile_after_s,
        )
        .await,
    };
    SETTINGS.set(Some(settings));
    settings
}

/// A whole-seconds variable, or `default`.
async fn seconds(name: &str, default: i64) -> i64 {
    spin_sdk::variables::get(name)
        .await
        .ok()
        .and_then(|value| value.trim().parse::<i64>().ok())
        .filter(|seconds| *seconds >= 0)
        .unwrap_or(default)
}
