//! Where the trusted keys come from: the inline `jwt_jwks` document, or, when that is empty,
//! the document at `jwt_jwks_url`.
//!
//! Caching:
//! - **Parsed key set, per instance**: the last parsed [`Jwks`] with the document text it came
//!   from. Spin may or may not reuse an instance between requests, so this only saves a
//!   parse; it is keyed by the text, so a changed document is never served from it.
//! - **Fetched document, in the key-value store `default`** (key `auth:jwks:<url>`, value
//!   `{"fetchedAtS", "document"}`), shared by every instance: fresh for
//!   [`FRESH_FOR_S`] (5 minutes). A token with an unknown `kid` forces a refetch, at most
//!   once per [`REFETCH_AFTER_S`] (1 minute), so forged `kid`s cannot turn into a flood of
//!   fetches. When the URL cannot be fetched, a cached document up to [`STALE_FOR_S`] old is
//!   used rather than refusing every caller.
//!
//! The URL must be on an allowed outbound host. spin.toml allows `auth_service_url`, so the
//! JWKS must be served from that origin (e.g. `{auth_service_url}/.well-known/jwks.json`);
//! any other origin is refused here as misconfiguration before a request is attempted.

use crate::access::{misconfigured, unavailable, variable};
use crate::problem::ApiError;
use auth::Jwks;
use futures::future::{Either, select};
use serde::{Deserialize, Serialize};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{StatusCode, Uri};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// A fetched document is used without refetching for this long, seconds.
const FRESH_FOR_S: i64 = 300;
/// An unknown `kid` refetches only if the cached document is older than this, seconds.
const REFETCH_AFTER_S: i64 = 60;
/// When fetching fails, a cached document up to this old still serves, seconds.
const STALE_FOR_S: i64 = 3_600;
/// How long a fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest JWKS document accepted, bytes.
const MAX_DOCUMENT_LEN: usize = 64 * 1024;

thread_local! {
    /// The last parsed key set and the document text it was parsed from.
    static PARSED: RefCell<Option<(String, Rc<Jwks>)>> = const { RefCell::new(None) };
}

/// The configured source of keys.
pub(super) enum KeySource {
    /// `jwt_jwks`: the document itself.
    Inline(String),
    /// `jwt_jwks_url`: fetched and cached in key-value.
    Remote(String),
}

/// A fetched document as cached in key-value.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CachedDocument {
    fetched_at_s: i64,
    document: String,
}

impl KeySource {
    /// Reads `jwt_jwks`, else `jwt_jwks_url`; neither set is a 503 (auth not configured),
    /// a URL off the `auth_service_url` origin a 500.
    pub(super) async fn configured() -> Result<Self, ApiError> {
        let inline = variable("jwt_jwks").await?;
        if !inline.trim().is_empty() {
            return Ok(Self::Inline(inline));
        }
        let url = variable("jwt_jwks_url").await?.trim().to_string();
        if url.is_empty() {
            return Err(unavailable(
                "auth is not configured: set `jwt_jwks` or `jwt_jwks_url`",
            ));
        }
        let allowed = variable("auth_service_url").await?;
        if origin(&url).is_none() || origin(&url) != origin(&allowed) {
            return Err(misconfigured(
                "`jwt_jwks_url` must be served from the origin of `auth_service_url` \
                 (the only allowed outbound host for keys)",
            ));
        }
        Ok(Self::Remote(url))
    }

    /// Whether keys come from a URL (and so can be refetched on an unknown `kid`).
    pub(super) fn is_remote(&self) -> bool {
        matches!(self, Self::Remote(_))
    }

    /// The key set at `now`. `refetch` asks for a newer remote document than the cached one
    /// (honoured at most once per [`REFETCH_AFTER_S`]).
    pub(super) async fn keys(&self, now: i64, refetch: bool) -> Result<Rc<Jwks>, ApiError> {
        match self {
            Self::Inline(document) => parsed(document)
                .map_err(|detail| misconfigured(&format!("`jwt_jwks` is unusable: {detail}"))),
            Self::Remote(url) => remote_keys(url, now, refetch).await,
        }
    }
}

/// Cached document if fresh enough, else fetch (and cache), else a stale cached document.
async fn remote_keys(url: &str, now: i64, refetch: bool) -> Result<Rc<Jwks>, ApiError> {
    let key = format!("auth:jwks:{url}");
    let store = spin_sdk::key_value::Store::open_default().await.ok();
    let cached = match &store {
        Some(store) => store.get(&key).await.ok().flatten(),
        None => None,
    }
    .and_then(|bytes| serde_json::from_slice::<CachedDocument>(&bytes).ok());

    if let Some(cached) = &cached {
        let age = now.saturating_sub(cached.fetched_at_s);
        let reuse = if refetch {
            age < REFETCH_AFTER_S
        } else {
            age < FRESH_FOR_S
        };
        if reuse && let Ok(jwks) = parsed(&cached.document) {
            return Ok(jwks);
        }
    }

    match fetch(url).await.and_then(|document| {
        let jwks = parsed(&document)?;
        Ok((document, jwks))
    }) {
        Ok((document, jwks)) => {
            if let Some(store) = &store {
                let entry = CachedDocument {
                    fetched_at_s: now,
                    document,
                };
                if let Ok(value) = serde_json::to_vec(&entry) {
                    // A failed write only costs a refetch next time.
                    let _ = store.set(&key, value).await;
                }
            }
            Ok(jwks)
        }
        Err(detail) => {
            let stale = cached
                .filter(|cached| now.saturating_sub(cached.fetched_at_s) < STALE_FOR_S)
                .and_then(|cached| parsed(&cached.document).ok());
            stale.ok_or_else(|| unavailable(&format!("auth keys from `jwt_jwks_url`: {detail}")))
        }
    }
}

/// GETs the JWKS document within [`FETCH_TIMEOUT`].
async fn fetch(url: &str) -> Result<String, String> {
    let exchange = async {
        let response = spin_sdk::http::get(url)
            .await
            .map_err(|code| format!("fetch failed: {code:?}"))?;
        let status = response.status();
        if status != StatusCode::OK {
            return Err(format!("answered {}", status.as_u16()));
        }
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|code| format!("reading the body failed: {code:?}"))?;
        if body.len() > MAX_DOCUMENT_LEN {
            return Err("document is too large".to_string());
        }
        String::from_utf8(body.to_vec()).map_err(|_| "document is not UTF-8".to_string())
    };
    let timer = spin_sdk::time::sleep(FETCH_TIMEOUT);
    match select(Box::pin(exchange), Box::pin(timer)).await {
        Either::Left((outcome, _)) => outcome,
        Either::Right(_) => Err("fetch timed out".to_string()),
    }
}

/// The key set of `document`, parsed once per instance while the text stays the same.
fn parsed(document: &str) -> Result<Rc<Jwks>, String> {
    let hit = PARSED.with_borrow(|cache| {
        cache
            .as_ref()
            .filter(|(text, _)| text == document)
            .map(|(_, jwks)| Rc::clone(jwks))
    });
    if let Some(jwks) = hit {
        return Ok(jwks);
    }
    let jwks = Rc::new(Jwks::parse(document).map_err(|error| error.to_string())?);
    PARSED.with_borrow_mut(|cache| *cache = Some((document.to_string(), Rc::clone(&jwks))));
    Ok(jwks)
}

/// `scheme://authority` of an absolute URL, lower-cased; `None` if it is not one.
fn origin(url: &str) -> Option<String> {
    let uri: Uri = url.trim().parse().ok()?;
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?;
    Some(format!("{scheme}://{authority}").to_ascii_lowercase())
}
