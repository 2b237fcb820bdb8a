//! The outbound service token: OAuth2 client credentials (RFC 6749 §4.4) from
//! `auth_token_url` with `client_id` / `client_secret`, sent as `Authorization: Bearer` on
//! every call.
//!
//! Cached in key-value (`oauth:token:{client_id}`) so every instance shares one token, and
//! in this instance's memory (a saving when the host reuses the instance, never relied
//! on). It is refreshed shortly before it expires: a tenth of its lifetime early, at most
//! 30 s early. A 401 from a dependency forgets it, so the next call fetches a new one.
//! Concurrent refreshes by several instances each fetch a token; all are valid.

use std::sync::Mutex;

use resilience::{Clock, timeout};
use serde::{Deserialize, Serialize};
use spin_sdk::http::FullBody;
use spin_sdk::http::body::IncomingBodyExt;

use crate::bindings::exports::shop::adapters::types::DependencyError;
use crate::clock::WasiClock;
use crate::config::Settings;
use crate::kv::{Kv, token_key};
use crate::log;
use crate::outbound::{excerpt, segment};

/// The token as cached.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CachedToken {
    access_token: String,
    expires_at_ms: i64,
    /// From here on the token is replaced before use.
    refresh_at_ms: i64,
}

/// The token endpoint's answer.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

/// How early before expiry a token is replaced, at most.
const MAX_REFRESH_MARGIN_MS: i64 = 30_000;
/// Assumed lifetime when the endpoint does not say.
const DEFAULT_LIFETIME_S: u64 = 60;

static MEMORY: Mutex<Option<CachedToken>> = Mutex::new(None);

fn remembered(now_ms: i64) -> Option<String> {
    let memory = MEMORY.lock().ok()?;
    memory
        .as_ref()
        .filter(|token| now_ms < token.refresh_at_ms)
        .map(|token| token.access_token.clone())
}

fn remember(token: Option<CachedToken>) {
    if let Ok(mut memory) = MEMORY.lock() {
        *memory = token;
    }
}

/// The bearer token for outbound calls; `None` when `auth_token_url` is empty (tokens
/// disabled). Costs nothing when this instance holds a fresh token, one key-value read
/// when another instance fetched it, and a token request plus a write otherwise.
pub(crate) async fn bearer(
    settings: &Settings,
    kv: &Kv,
) -> Result<Option<String>, DependencyError> {
    if settings.auth_token_url.is_empty() {
        return Ok(None);
    }
    let now = WasiClock.now_ms();
    if let Some(token) = remembered(now) {
        return Ok(Some(token));
    }
    let key = token_key(&settings.client_id);
    match kv.get_json::<CachedToken>(&key).await {
        Ok(Some(token)) if now < token.refresh_at_ms => {
            let access_token = token.access_token.clone();
            remember(Some(token));
            return Ok(Some(access_token));
        }
        Ok(_) => {}
        Err(error) => log::store_error(None, "token read", &error),
    }
    let token = fetch(settings).await?;
    if let Err(error) = kv.set_json(&key, &token).await {
        log::store_error(None, "token write", &error);
    }
    let access_token = token.access_token.clone();
    remember(Some(token));
    Ok(Some(access_token))
}

/// Drops the cached token (a dependency answered 401 to it).
pub(crate) async fn forget(settings: &Settings, kv: &Kv) {
    remember(None);
    if let Err(error) = kv.delete(&token_key(&settings.client_id)).await {
        log::store_error(None, "token delete", &error);
    }
}

/// Asks the token endpoint, within the per-call timeout.
async fn fetch(settings: &Settings) -> Result<CachedToken, DependencyError> {
    let mut form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        segment(&settings.client_id),
        segment(&settings.client_secret)
    );
    if !settings.client_scope.is_empty() {
        form.push_str("&scope=");
        form.push_str(&segment(&settings.client_scope));
    }
    let request = http::Request::builder()
        .method(http::Method::POST)
        .uri(&settings.auth_token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", form.len())
        .header("accept", "application/json")
        .body(FullBody::new(bytes::Bytes::from(form)))
        .map_err(|error| {
            DependencyError::Unavailable(format!("auth: invalid token request: {error}"))
        })?;
    let exchange = async {
        let response = spin_sdk::http::send(request).await.map_err(|code| {
            DependencyError::Unavailable(format!("auth service unreachable: {code:?}"))
        })?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|code| DependencyError::Unavailable(format!("auth service: {code:?}")))?;
        Ok::<_, DependencyError>((status, body))
    };
    let started = WasiClock.now_ms();
    let (status, body) = timeout(&WasiClock, settings.call_timeout_ms, exchange)
        .await
        .map_err(|_| DependencyError::Timeout)??;
    // A refused token request (wrong credentials) is as fatal to the call as an auth
    // outage: the dependency cannot be asked, so the caller sees it as unavailable.
    if status != 200 {
        return Err(DependencyError::Unavailable(format!(
            "auth service answered {status}: {}",
            excerpt(&body)
        )));
    }
    let answer: TokenResponse = serde_json::from_slice(&body).map_err(|error| {
        DependencyError::Unavailable(format!("auth service: unreadable token: {error}"))
    })?;
    let lifetime_ms = (answer.expires_in.unwrap_or(DEFAULT_LIFETIME_S) * 1_000) as i64;
    let expires_at_ms = started + lifetime_ms;
    Ok(CachedToken {
        access_token: answer.access_token,
        expires_at_ms,
        refresh_at_ms: expires_at_ms - (lifetime_ms / 10).min(MAX_REFRESH_MARGIN_MS),
    })
}
