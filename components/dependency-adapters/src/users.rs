//! User service: `GET /users/{userId}` → `{id, email, name, status}`; 404 unknown.
//!
//! Breaker + fallback: every live answer is kept as the user's last known good record
//! (`lkg:user:{id}`); when the call fails or the breaker is open, a record younger than
//! `user_fallback_max_age_s` is served instead (source `fallback`), else the error stands
//! (the API answers 503). A 404 deletes the record: a deleted user must not live on in
//! the fallback.

use resilience::{CacheEntry, CachePolicy, Clock, Idempotency, Source};
use serde::{Deserialize, Serialize};

use crate::bindings::exports::shop::adapters::types::{DependencyError, TraceContext};
use crate::bindings::exports::shop::adapters::users::{User, UserLookup, UserStatus};
use crate::clock::WasiClock;
use crate::context::{Context, TransitionLog, data_source, dependency_error};
use crate::kv::user_key;
use crate::log;
use crate::outbound::{Call, segment};
use crate::service::Service;

/// The contract's user, also the stored last-known-good value.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserWire {
    id: String,
    email: String,
    name: String,
    status: UserStatusWire,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum UserStatusWire {
    Active,
    Suspended,
    Deleted,
}

/// Looks up one user: live, else last known good.
pub(crate) async fn get_user(
    user_id: &str,
    trace: Option<TraceContext>,
) -> Result<UserLookup, DependencyError> {
    let context = Context::open(trace).await;
    let breaker = context.breaker(Service::User);
    let log = TransitionLog(Service::User);
    let key = user_key(user_id);
    let path = format!("/users/{}", segment(user_id));

    let (context, path) = (&context, path.as_str());
    let served = context
        .guard(&breaker, &log)
        .run_with_fallback(
            &Idempotency::Idempotent,
            move |_| async move {
                let call = Call::get(Service::User, path.to_owned(), context.trace());
                let answer = context.exchange(call).await?;
                if answer.status != 200 {
                    return Err(answer.unexpected());
                }
                answer.json::<UserWire>()
            },
            async |_| {
                let entry = match context.kv.get_json::<CacheEntry<UserWire>>(&key).await {
                    Ok(entry) => entry,
                    Err(error) => {
                        log::store_error(Some(Service::User), "fallback read", &error);
                        None
                    }
                };
                let policy = context.settings.user_fallback;
                policy
                    .stale_if_error(entry.as_ref(), WasiClock.now_ms())
                    .cloned()
            },
        )
        .await;

    match served {
        Ok(served) => {
            let now = WasiClock.now_ms();
            let rewrite_after = rewrite_after_ms(&context.settings.user_fallback);
            let json = serde_json::to_string(&served.value).ok();
            if served.source == Source::Live
                && let Some(json) = json
                && !recently_written(&key, &json, now, rewrite_after)
                && !recently_stored(context, &key, &json, now, rewrite_after).await
            {
                let entry = CacheEntry::new(served.value.clone(), now);
                match context.kv.set_json(&key, &entry).await {
                    Ok(()) => remember_written(&key, json, now),
                    Err(error) => {
                        log::store_error(Some(Service::User), "last known good write", &error)
                    }
                }
            }
            Ok(lookup(served.value, served.source))
        }
        Err(error) => {
            let error = dependency_error(error);
            if matches!(error, DependencyError::NotFound) {
                WRITTEN.with_borrow_mut(|written| written.remove(&key));
            }
            if matches!(error, DependencyError::NotFound)
                && let Err(store_error) = context.kv.delete(&key).await
            {
                log::store_error(Some(Service::User), "last known good delete", &store_error);
            }
            Err(error)
        }
    }
}

/// How long an unchanged last-known-good record is not rewritten, in milliseconds: one this
/// instance wrote itself, or one it found in the store. The stored record's time is then up
/// to this much older than the latest live answer, so the fallback expires that much sooner:
/// at most 30 s, and never more than a tenth of `user_fallback_max_age_s`, so a short maximum
/// age keeps its meaning. Saves one key-value write per order for a returning buyer while the
/// instance is reused, and turns a fresh instance's first write into a read when another
/// instance stored the same record lately (on Spin's default store a write is a synced SQLite
/// transaction holding the store's one mutex; a read takes the mutex too, but syncs nothing).
fn rewrite_after_ms(policy: &CachePolicy) -> i64 {
    let tenth = policy.max_stale_age_ms.map_or(u64::MAX, |max| max / 10);
    tenth.min(30_000) as i64
}

thread_local! {
    /// Last-known-good records this instance wrote: key → (JSON of the value, when).
    static WRITTEN: std::cell::RefCell<std::collections::HashMap<String, (String, i64)>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Whether this instance stored exactly `json` (a value's JSON) under `key` less than
/// `rewrite_after` ms ago ([`rewrite_after_ms`]).
fn recently_written(key: &str, json: &str, now_ms: i64, rewrite_after: i64) -> bool {
    WRITTEN.with_borrow(|written| {
        written
            .get(key)
            .is_some_and(|(stored, at)| stored == json && now_ms - at < rewrite_after)
    })
}

/// Whether the store already holds exactly `json` (a value's JSON) under `key`, stored less
/// than `rewrite_after` ms before `now_ms`; if so this instance remembers it (with the stored
/// time) and skips the write. A failed read answers `false`: the write goes ahead.
async fn recently_stored(
    context: &Context,
    key: &str,
    json: &str,
    now_ms: i64,
    rewrite_after: i64,
) -> bool {
    let Ok(Some(entry)) = context.kv.get_json::<CacheEntry<UserWire>>(key).await else {
        return false;
    };
    let same = serde_json::to_string(&entry.value).is_ok_and(|stored| stored == json);
    let fresh = entry.stored_at_ms <= now_ms && now_ms - entry.stored_at_ms < rewrite_after;
    if same && fresh {
        remember_written(key, json.to_owned(), entry.stored_at_ms);
    }
    same && fresh
}

/// Records a successful write of `json` (a value's JSON) under `key` at `now_ms`.
fn remember_written(key: &str, json: String, now_ms: i64) {
    WRITTEN.with_borrow_mut(|written| {
        written.insert(key.to_owned(), (json, now_ms));
    });
}

fn lookup(wire: UserWire, source: Source) -> UserLookup {
    UserLookup {
        user: User {
            id: wire.id,
            email: wire.email,
            name: wire.name,
            status: match wire.status {
                UserStatusWire::Active => UserStatus::Active,
                UserStatusWire::Suspended => UserStatus::Suspended,
                UserStatusWire::Deleted => UserStatus::Deleted,
            },
        },
        source: data_source(source),
    }
}
