//! The component's configuration: every Spin variable it reads goes through [`variable`],
//! which asks the host once per instance (a variable's value is fixed while an instance
//! lives: Spin resolves it from `spin.toml`, `SPIN_VARIABLE_*` or a provider), and the timing
//! [`settings`] fall back to `spin.toml`'s defaults when a value is missing, negative or not
//! a whole number of seconds.

use order_app::Settings;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

thread_local! {
    static SETTINGS: Cell<Option<Settings>> = const { Cell::new(None) };
    /// Variables this instance read, by name.
    static VARIABLES: RefCell<HashMap<&'static str, String>> = RefCell::new(HashMap::new());
}

/// The value of variable `name`, read from the host at most once per instance (a failed read
/// is not remembered). The error is the host's, for the caller to report.
pub(crate) async fn variable(name: &'static str) -> Result<String, String> {
    if let Some(value) = VARIABLES.with_borrow(|known| known.get(name).cloned()) {
        return Ok(value);
    }
    let value = spin_sdk::variables::get(name)
        .await
        .map_err(|error| format!("{error:?}"))?;
    VARIABLES.with_borrow_mut(|known| known.insert(name, value.clone()));
    Ok(value)
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
async fn seconds(name: &'static str, default: i64) -> i64 {
    variable(name)
        .await
        .ok()
        .and_then(|value| value.trim().parse::<i64>().ok())
        .filter(|seconds| *seconds >= 0)
        .unwrap_or(default)
}
