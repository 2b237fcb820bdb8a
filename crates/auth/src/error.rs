//! Why a request was refused ([`AuthError`], 401 or 403) and why auth configuration is unusable
//! ([`ConfigError`], an operator's problem). Neither ever carries the token or any part of it:
//! messages are fixed phrases plus values the server chose (the scope a route needs) or that
//! are already public and bounded (a sanitized `alg` name).

/// A request refused by inbound auth. [`AuthError::status`] is 401 for a missing or invalid
/// token and 403 for a valid token that may not do this (scope) or a client address outside
/// the allowlist. `Display` is safe to show the caller as a problem `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization` header, or an empty one.
    #[error("missing bearer token: send `Authorization: Bearer <JWT>`")]
    MissingToken,
    /// An `Authorization` header with another scheme (`Basic`, `Digest`, ...).
    #[error("unsupported authorization scheme: send `Authorization: Bearer <JWT>`")]
    UnsupportedScheme,
    /// Not a well-formed JWS compact token (parts, base64url, JSON, header fields).
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// `alg` other than RS256 or ES256 (`none`, HS*, RS384, ...).
    #[error("token algorithm `{0}` is not accepted (RS256 or ES256 only)")]
    UnsupportedAlgorithm(String),
    /// No key in the JWKS has the token's `kid` (or the token has no `kid` and the JWKS has
    /// several keys).
    #[error("token key id is not in the trusted key set")]
    UnknownKey,
    /// The key the `kid` names is of another type than `alg` needs (algorithm confusion).
    #[error("token algorithm does not match the type of its key")]
    KeyAlgorithmMismatch,
    /// The signature does not verify: forged, tampered header or payload, or wrong key.
    #[error("token signature is invalid")]
    BadSignature,
    /// A required claim is absent or of the wrong type.
    #[error("token claim `{0}` is missing or invalid")]
    InvalidClaim(&'static str),
    /// `exp` has passed (beyond the leeway).
    #[error("token has expired")]
    Expired,
    /// `nbf` is still in the future (beyond the leeway).
    #[error("token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("token was issued in the future")]
    IssuedInFuture,
    /// `exp - iat` exceeds the maximum lifetime (or is negative).
    #[error("token lifetime exceeds the maximum of {max_s} seconds")]
    LifetimeTooLong {
        /// The maximum accepted lifetime, seconds.
        max_s: i64,
    },
    /// `iss` is not the configured issuer.
    #[error("token issuer is not trusted")]
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    #[error("token audience does not include this service")]
    WrongAudience,
    /// The token is valid but lacks the scope the route needs.
    #[error("token lacks the required scope `{0}`")]
    InsufficientScope(String),
    /// The client address is outside the configured IP allowlist.
    #[error("client address is not allowed")]
    AddressNotAllowed,
}

impl AuthError {
    /// The HTTP status: 403 for insufficient scope or a refused address, 401 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Self::InsufficientScope(_) | Self::AddressNotAllowed => 403,
            _ => 401,
        }
    }

    /// The RFC 6750 error code (`invalid_token`, `insufficient_scope`), or `None` where the
    /// RFC says to send none (no credentials) or the refusal is not about the token.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Self::MissingToken | Self::UnsupportedScheme | Self::AddressNotAllowed => None,
            Self::InsufficientScope(_) => Some("insufficient_scope"),
            _ => Some("invalid_token"),
        }
    }

    /// The `WWW-Authenticate` value to send with this refusal (RFC 6750 §3), or `None` for a
    /// refused client address, which no credential can fix.
    ///
    /// ```
    /// use auth::AuthError;
    /// assert_eq!(AuthError::MissingToken.www_authenticate().as_deref(), Some("Bearer"));
    /// assert_eq!(
    ///     AuthError::InsufficientScope("orders:write".into()).www_authenticate().as_deref(),
    ///     Some(r#"Bearer error="insufficient_scope", error_description="token lacks the required scope `orders:write`", scope="orders:write""#),
    /// );
    /// ```
    pub fn www_authenticate(&self) -> Option<String> {
        if *self == Self::AddressNotAllowed {
            return None;
        }
        let Some(code) = self.error_code() else {
            return Some("Bearer".to_string());
        };
        let mut value = format!(
            r#"Bearer error="{code}", error_description="{}""#,
            quoted(&self.to_string())
        );
        if let Self::InsufficientScope(scope) = self {
            value.push_str(&format!(r#", scope="{}""#, quoted(scope)));
        }
        Some(value)
    }
}

/// Keeps a value inside an RFC 9110 quoted-string: RFC 6750 allows only %x20-21 / %x23-5B /
/// %x5D-7E in these attributes, so anything else becomes `?`.
fn quoted(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\x20'..='\x7e' if c != '"' && c != '\\' => c,
            _ => '?',
        })
        .collect()
}

/// Keeps at most a short run of token-name characters of an attacker-chosen `alg`, so the
/// message stays bounded and printable.
pub(crate) fn sanitized_alg(alg: &str) -> String {
    let mut out: String = alg
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'))
        .take(16)
        .collect();
    if out.is_empty() {
        out.push('?');
    }
    out
}

/// Auth configuration that cannot be used: a bad `jwt_jwks` document or `ip_allowlist`.
/// An operator's problem (500/503 at the edge), never the caller's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The JWKS document is unusable; the message says which key and why.
    #[error("invalid JWKS: {0}")]
    Jwks(String),
    /// An IP allowlist entry is not a valid CIDR or address.
    #[error("invalid IP allowlist entry `{entry}`: {reason}")]
    Allowlist {
        /// The offending entry, as configured.
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A signing key could not be created, read or written (the `signing` feature).
    #[error("signing key: {0}")]
    SigningKey(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_token_errors_are_401_with_invalid_token_challenge() {
        let e = AuthError::Expired;
        assert_eq!(e.status(), 401);
        assert_eq!(
            e.www_authenticate().unwrap(),
            r#"Bearer error="invalid_token", error_description="token has expired""#
        );
    }

    #[test]
    fn missing_credentials_get_a_bare_bearer_challenge() {
        for e in [AuthError::MissingToken, AuthError::UnsupportedScheme] {
            assert_eq!(e.status(), 401);
            assert_eq!(e.www_authenticate().unwrap(), "Bearer");
        }
    }

    #[test]
    fn refused_address_is_403_without_challenge() {
        assert_eq!(AuthError::AddressNotAllowed.status(), 403);
        assert_eq!(AuthError::AddressNotAllowed.www_authenticate(), None);
    }

    #[test]
    fn insufficient_scope_is_403_naming_the_scope() {
        let e = AuthError::InsufficientScope("orders:admin".into());
        assert_eq!(e.status(), 403);
        assert!(
            e.www_authenticate()
                .unwrap()
                .ends_with(r#"scope="orders:admin""#)
        );
    }

    #[test]
    fn challenge_values_cannot_break_out_of_quotes() {
        let e = AuthError::UnsupportedAlgorithm("a\"b\\c".into());
        assert!(!e.www_authenticate().unwrap().contains("a\"b"));
        assert_eq!(sanitized_alg("HS256\"; evil=\"x"), "HS256evilx");
        assert_eq!(sanitized_alg(""), "?");
        assert_eq!(sanitized_alg(&"A".repeat(100)).len(), 16);
    }
}
