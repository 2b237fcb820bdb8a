//! Reading `Authorization: Bearer <token>` (RFC 6750 §2.1). Tokens are taken only from this
//! header, never from a query string or a body, so they do not end up in access logs.

use crate::error::AuthError;

/// The token of an `Authorization` header value. The scheme is case-insensitive; any other
/// scheme is [`AuthError::UnsupportedScheme`]; a missing or empty value is
/// [`AuthError::MissingToken`]; a token with characters outside RFC 6750's `b64token`
/// (`A-Z a-z 0-9 - . _ ~ + /` then `=` padding) is malformed.
///
/// ```
/// assert_eq!(auth::bearer_token(Some("bearer abc.def.ghi")), Ok("abc.def.ghi"));
/// assert!(auth::bearer_token(Some("Basic dXNlcjpwYXNz")).is_err());
/// ```
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, AuthError> {
    let value = authorization.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Err(AuthError::MissingToken);
    }
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::UnsupportedScheme);
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() {
        return Err(AuthError::MissingToken);
    }
    if !is_b64token(token) {
        return Err(AuthError::Malformed(
            "bearer token has characters outside b64token",
        ));
    }
    Ok(token)
}

fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_is_case_insensitive() {
        for header in [
            "Bearer t.o.k",
            "bearer t.o.k",
            "BEARER t.o.k",
            "  Bearer   t.o.k  ",
        ] {
            assert_eq!(bearer_token(Some(header)), Ok("t.o.k"), "{header}");
        }
    }

    #[test]
    fn missing_or_empty_is_missing_token() {
        for header in [
            None,
            Some(""),
            Some("   "),
            Some("Bearer"),
            Some("Bearer   "),
        ] {
            assert_eq!(
                bearer_token(header),
                Err(AuthError::MissingToken),
                "{header:?}"
            );
        }
    }

    #[test]
    fn other_schemes_are_refused() {
        for header in [
            "Basic dXNlcjpwYXNz",
            "Token abc",
            "Bearerabc",
            "Digest a=b",
            "JWT a.b.c",
        ] {
            assert_eq!(
                bearer_token(Some(header)),
                Err(AuthError::UnsupportedScheme),
                "{header}"
            );
        }
    }

    #[test]
    fn tokens_outside_b64token_are_malformed_and_not_echoed() {
        for header in [
            "Bearer a b",
            "Bearer a,b",
            "Bearer \"abc\"",
            "Bearer ==",
            "Bearer a\tb",
        ] {
            let err = bearer_token(Some(header)).unwrap_err();
            assert!(matches!(err, AuthError::Malformed(_)), "{header}: {err:?}");
            assert!(!err.to_string().contains("a b"));
        }
        assert_eq!(bearer_token(Some("Bearer abc==")), Ok("abc=="));
    }
}
