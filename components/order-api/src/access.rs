//! Inbound auth at the HTTP edge (ARCHITECTURE §5): the IP allowlist, then the bearer token
//! against the configured issuer, audience and keys, then the route's scope.
//!
//! Every refusal is an [`ApiError`] (its problem+json is `crate::problem`'s): 403 without a
//! challenge for a refused address, 401/403 with `WWW-Authenticate` for token problems, and
//! 500/503 for configuration the operator must fix (never a 401: a caller cannot repair a
//! broken JWKS). No detail ever echoes the token: [`auth::AuthError`] messages are fixed
//! phrases.

mod keys;
mod verified;

use crate::problem::ApiError;
use auth::{AuthError, IpAllowlist, Validator};
use spin_sdk::http::Request;
use std::sync::{Mutex, PoisonError};

/// What a route requires of the caller's token (§4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// The names mirror the scope strings (`orders:read`, ...), hence the shared prefix.
#[allow(clippy::enum_variant_names)]
pub(crate) enum Scope {
    /// `orders:read`: one order, a user's order history.
    OrdersRead,
    /// `orders:write`: create orders.
    OrdersWrite,
    /// `orders:stats`: order statistics.
    OrdersStats,
    /// `orders:admin`: the admin and outbox endpoints.
    OrdersAdmin,
}

impl Scope {
    /// The scope string as it appears in tokens.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::OrdersRead => "orders:read",
            Self::OrdersWrite => "orders:write",
            Self::OrdersStats => "orders:stats",
            Self::OrdersAdmin => "orders:admin",
        }
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
#[allow(dead_code)] // Read by handlers that record who acted.
pub(crate) struct Caller {
    /// The token's `sub` (the calling service), or `unknown` when the issuer sets none.
    pub(crate) subject: String,
    /// Every scope the token grants.
    pub(crate) scopes: Vec<String>,
}

/// Checks the request for `scope`: `Ok(caller)`, or the refusal ([`ApiError::Auth`]: 401/403,
/// with `WWW-Authenticate` where a credential could help), or a 500/503 when auth is
/// misconfigured or its keys cannot be had.
pub(crate) async fn require(request: &Request, scope: Scope) -> Result<Caller, ApiError> {
    let allowlist_text = variable("ip_allowlist").await?;
    let allowlist = IpAllowlist::parse(&allowlist_text)
        .map_err(|error| misconfigured(&format!("`ip_allowlist`: {error}")))?;
    if !allowlist.allows(header(request, "spin-client-addr").unwrap_or_default()) {
        return Err(AuthError::AddressNotAllowed.into());
    }

    let validator = Validator::new(
        variable("jwt_issuer").await?,
        variable("jwt_audience").await?,
    );
    let authorization = header(request, "authorization");
    let now = now_s();
    let source = keys::KeySource::configured().await?;
    let jwks = source.keys(now, false).await?;
    let outcome = match verified::recheck(authorization, &jwks, &validator, now, scope) {
        Some(outcome) => outcome,
        None => match validator.authorize(authorization, &jwks, now, scope.as_str()) {
            // A key rotated at the issuer: refetch a URL-sourced key set (rate limited) once.
            Err(AuthError::UnknownKey) if source.is_remote() => {
                let jwks = source.keys(now, true).await?;
                validator
                    .authorize(authorization, &jwks, now, scope.as_str())
                    .inspect(|claims| verified::remember(authorization, &jwks, claims))
            }
            outcome => outcome.inspect(|claims| verified::remember(authorization, &jwks, claims)),
        },
    };
    let claims = outcome?;
    let subject = claims.sub.unwrap_or_else(|| "unknown".to_string());
    if let Some(traceparent) = header(request, "traceparent") {
        remember_verified(traceparent, &subject);
    }
    Ok(Caller {
        subject,
        scopes: claims.scopes.into_iter().collect(),
    })
}

/// The subjects of the requests in flight in this instance whose token was verified, by the
/// `traceparent` the service stamped on each (unique per request), so the request log line
/// names the caller only when this request's own token was verified. The entry is taken when
/// the request ends; no token is kept.
static VERIFIED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// The longest subject a log line carries.
const SUBJECT_MAX_CHARS: usize = 128;

fn remember_verified(traceparent: &str, subject: &str) {
    let subject: String = subject.chars().take(SUBJECT_MAX_CHARS).collect();
    let mut verified = VERIFIED.lock().unwrap_or_else(PoisonError::into_inner);
    verified.retain(|(seen, _)| seen != traceparent);
    verified.push((traceparent.to_owned(), subject));
}

/// Takes the verified subject of the request stamped `traceparent`, if its token was verified.
pub(crate) fn take_verified_subject(traceparent: &str) -> Option<String> {
    let mut verified = VERIFIED.lock().unwrap_or_else(PoisonError::into_inner);
    let index = verified.iter().position(|(seen, _)| seen == traceparent)?;
    Some(verified.swap_remove(index).1)
}

/// 500: auth configuration the operator must fix (bad JWKS, allowlist, JWKS URL).
pub(crate) fn misconfigured(detail: &str) -> ApiError {
    ApiError::AuthMisconfigured(detail.to_owned())
}

/// 503: auth cannot check tokens right now (not configured, keys unreachable).
pub(crate) fn unavailable(detail: &str) -> ApiError {
    ApiError::AuthUnavailable(detail.to_owned())
}

/// One of this component's variables; a variable the host cannot give is a 500.
async fn variable(name: &'static str) -> Result<String, ApiError> {
    crate::config::variable(name)
        .await
        .map_err(|error| misconfigured(&format!("variable `{name}` is unavailable: {error}")))
}

/// A request header as text; absent or non-UTF-8 is `None`.
fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

/// Wall-clock seconds since the Unix epoch (token times are compared across hosts).
fn now_s() -> i64 {
    guest::clock::now_ms().div_euclid(1000)
}
