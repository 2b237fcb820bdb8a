//! Verifying a JWS compact token (RFC 7515/7519) against a [`Jwks`]: the header is read only
//! to choose the algorithm and key, the signature is checked before any claim is believed,
//! then issuer, audience and time are checked.
//!
//! Order of refusal: shape → `alg` (RS256/ES256 only; `none` and HS* never reach a key) →
//! `kid` → key type must match `alg` (no algorithm confusion) → signature → claims.
//!
//! The signature itself is checked by `jsonwebtoken` ([`jsonwebtoken::crypto::verify`]). The
//! rest stays ours, on purpose, rather than `jsonwebtoken::decode`:
//! - the header policy (RFC 8725 §3.1–3.2, RFC 7515 §4.1.11) must run before a key is chosen
//!   and answer with our errors: an `alg` the library does not know (`none`, `None`) fails its
//!   header parsing as a generic JSON error, it accepts `crit: ["b64"]` with `b64: true`
//!   (we accept no `crit` at all), and it neither checks `typ` nor chooses a key by `kid`;
//! - its claim checks read the wall clock (we take `now` as an argument), hold times as `u64`
//!   and round fractional NumericDates, and compare `exp` with another boundary than ours;
//! - it reports a base64 error the same way for the signature and the payload.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::claims::Claims;
use crate::error::{AuthError, sanitized_alg};
use crate::jwks::{Algorithm, Jwks, KeyMaterial};

/// Longest token accepted, bytes. Bounds the work an unauthenticated caller can cause.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// How this service checks inbound tokens (ARCHITECTURE §5). Build it once from the
/// `jwt_issuer` / `jwt_audience` variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validator {
    /// Required `iss`, exact match.
    pub issuer: String,
    /// The audience `aud` must contain, exact match.
    pub audience: String,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// Longest accepted lifetime `exp - iat` (no leeway applies to it).
    pub max_lifetime: Duration,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<Value>,
}

impl Validator {
    /// Default clock skew: 30 seconds.
    pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
    /// Longest token lifetime the service accepts: 15 minutes.
    pub const MAX_LIFETIME: Duration = Duration::from_secs(15 * 60);

    /// A validator for `issuer` and `audience` with the default leeway and lifetime cap.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: Self::DEFAULT_LEEWAY,
            max_lifetime: Self::MAX_LIFETIME,
        }
    }

    /// Verifies `token` with the keys in `jwks` at `now` (seconds since the Unix epoch,
    /// injected so tests control time) and returns its claims.
    pub fn validate(&self, token: &str, jwks: &Jwks, now: i64) -> Result<Claims, AuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::Malformed("token is too long"));
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed("expected three dot-separated parts"));
        };
        // Strict base64url (RFC 7515 §2): no padding, no whitespace, no non-canonical trailing
        // bits, so a token cannot change without changing its signed bytes.
        let header_json = URL_SAFE_NO_PAD
            .decode(header_b64)
            .map_err(|_| AuthError::Malformed("header is not base64url"))?;
        let header: Header = serde_json::from_slice(&header_json)
            .map_err(|_| AuthError::Malformed("header is not a valid JOSE header"))?;
        let alg = Algorithm::from_name(&header.alg)
            .ok_or_else(|| AuthError::UnsupportedAlgorithm(sanitized_alg(&header.alg)))?;
        if header.crit.is_some() {
            return Err(AuthError::Malformed(
                "critical header extensions are not supported",
            ));
        }
        if header.typ.as_deref().is_some_and(|t| !is_jwt_type(t)) {
            return Err(AuthError::Malformed("header `typ` is not JWT"));
        }

        let key = jwks.select(header.kid.as_deref())?;
        if key.material.algorithm() != alg {
            return Err(AuthError::KeyAlgorithmMismatch);
        }
        // The signing input is the encoded header and payload exactly as received.
        let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
        verify(&key.material, signing_input, signature_b64)?;

        let payload_json = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| AuthError::Malformed("payload is not base64url"))?;
        let payload: Map<String, Value> = serde_json::from_slice(&payload_json)
            .map_err(|_| AuthError::Malformed("payload is not a JSON object"))?;
        let claims = Claims::from_payload(&payload)?;
        self.check(&claims, now)?;
        Ok(claims)
    }

    /// Parses the `Authorization` header, validates its token and requires `scope`: the
    /// whole inbound check for one route.
    pub fn authorize(
        &self,
        authorization: Option<&str>,
        jwks: &Jwks,
        now: i64,
        scope: &str,
    ) -> Result<Claims, AuthError> {
        let token = crate::bearer::bearer_token(authorization)?;
        let claims = self.validate(token, jwks, now)?;
        claims.require_scope(scope)?;
        Ok(claims)
    }

    /// Re-checks the claims of a token whose signature was already verified (issuer,
    /// audience, time window, lifetime) at `now`, then requires `scope`: what a cache of
    /// verified tokens must still do on every use.
    pub fn recheck(&self, claims: &Claims, now: i64, scope: &str) -> Result<(), AuthError> {
        self.check(claims, now)?;
        claims.require_scope(scope)
    }

    fn check(&self, claims: &Claims, now: i64) -> Result<(), AuthError> {
        if claims.iss != self.issuer {
            return Err(AuthError::WrongIssuer);
        }
        if !claims.aud.contains(&self.audience) {
            return Err(AuthError::WrongAudience);
        }
        let leeway = seconds(self.leeway);
        if now >= claims.exp.saturating_add(leeway) {
            return Err(AuthError::Expired);
        }
        if claims
            .nbf
            .is_some_and(|nbf| now.saturating_add(leeway) < nbf)
        {
            return Err(AuthError::NotYetValid);
        }
        if now.saturating_add(leeway) < claims.iat {
            return Err(AuthError::IssuedInFuture);
        }
        let max_s = seconds(self.max_lifetime);
        match claims.exp.checked_sub(claims.iat) {
            Some(lifetime) if lifetime < 0 => Err(AuthError::InvalidClaim("exp")),
            Some(lifetime) if lifetime <= max_s => Ok(()),
            _ => Err(AuthError::LifetimeTooLong { max_s }),
        }
    }
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// `typ` values that mean "a JWT" (RFC 7519 §5.1, RFC 9068 access tokens); case-insensitive.
fn is_jwt_type(typ: &str) -> bool {
    ["JWT", "at+jwt", "application/jwt", "application/at+jwt"]
        .iter()
        .any(|t| t.eq_ignore_ascii_case(typ))
}

/// Checks the signature with jsonwebtoken (RS256: RSASSA-PKCS1-v1_5 with SHA-256; ES256: the
/// fixed 64-byte `r || s`, never DER; RFC 7518 §3.3–3.4). `alg` was already matched to the
/// key's type, so only a base64url error (the signature part, before any key work) or a
/// failed verification can come back; any other library error is refused the same way.
fn verify(key: &KeyMaterial, signing_input: &[u8], signature_b64: &str) -> Result<(), AuthError> {
    match jsonwebtoken::crypto::verify(
        signature_b64,
        signing_input,
        key.decoding_key(),
        key.algorithm().jws(),
    ) {
        Ok(true) => Ok(()),
        Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::Base64(_)) => {
            Err(AuthError::Malformed("signature is not base64url"))
        }
        Ok(false) | Err(_) => Err(AuthError::BadSignature),
    }
}

#[cfg(test)]
mod claim_tests;
#[cfg(test)]
mod tests;
