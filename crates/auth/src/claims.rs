//! The claims of a verified token, and the scope check each route makes with them.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::error::AuthError;

/// What a verified token says. Only [`crate::Validator::validate`] produces one, after the
/// signature, issuer, audience and time checks passed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claims {
    /// `sub`: the calling service or principal, when the issuer sets one.
    pub sub: Option<String>,
    /// `iss`: the issuer (equal to the configured one).
    pub iss: String,
    /// `aud`: every audience the token names (one of them is this service).
    pub aud: Vec<String>,
    /// `exp`: expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// `iat`: issue time, seconds since the Unix epoch.
    pub iat: i64,
    /// `nbf`: not-before, seconds since the Unix epoch, when present.
    pub nbf: Option<i64>,
    /// `jti`: the token id, when present.
    pub jti: Option<String>,
    /// Granted scopes: the union of `scope` (space separated) and `scp` (string or array).
    pub scopes: BTreeSet<String>,
}

impl Claims {
    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }

    /// `Ok` if the token grants `scope`, else the 403 [`AuthError::InsufficientScope`].
    pub fn require_scope(&self, scope: &str) -> Result<(), AuthError> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(AuthError::InsufficientScope(scope.to_string()))
        }
    }

    /// Reads the registered claims from a verified payload object; no policy checks here.
    pub(crate) fn from_payload(payload: &Map<String, Value>) -> Result<Self, AuthError> {
        let iss = optional_string(payload, "iss")?.ok_or(AuthError::InvalidClaim("iss"))?;
        let aud = match payload.get("aud") {
            Some(Value::String(one)) => vec![one.clone()],
            Some(Value::Array(many)) => strings(many).ok_or(AuthError::InvalidClaim("aud"))?,
            _ => return Err(AuthError::InvalidClaim("aud")),
        };
        let mut scopes = BTreeSet::new();
        if let Some(scope) = optional_string(payload, "scope")? {
            scopes.extend(
                scope
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        }
        match payload.get("scp") {
            None => {}
            Some(Value::String(scp)) => {
                scopes.extend(scp.split(' ').filter(|s| !s.is_empty()).map(str::to_string))
            }
            Some(Value::Array(scp)) => {
                scopes.extend(strings(scp).ok_or(AuthError::InvalidClaim("scp"))?)
            }
            Some(_) => return Err(AuthError::InvalidClaim("scp")),
        }
        Ok(Self {
            sub: optional_string(payload, "sub")?,
            iss,
            aud,
            exp: numeric_date(payload, "exp")?.ok_or(AuthError::InvalidClaim("exp"))?,
            iat: numeric_date(payload, "iat")?.ok_or(AuthError::InvalidClaim("iat"))?,
            nbf: numeric_date(payload, "nbf")?,
            jti: optional_string(payload, "jti")?,
            scopes,
        })
    }
}

fn optional_string(
    payload: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, AuthError> {
    match payload.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(AuthError::InvalidClaim(name)),
    }
}

fn strings(values: &[Value]) -> Option<Vec<String>> {
    values
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// A NumericDate (RFC 7519 §2): integer or fractional seconds; fractions are floored.
fn numeric_date(
    payload: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, AuthError> {
    let Some(value) = payload.get(name) else {
        return Ok(None);
    };
    let seconds = match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 1e15)
                .map(|f| f.floor() as i64)
        }),
        _ => None,
    };
    seconds.map(Some).ok_or(AuthError::InvalidClaim(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(payload: Value) -> Result<Claims, AuthError> {
        Claims::from_payload(payload.as_object().unwrap())
    }

    fn base() -> Value {
        json!({"iss": "i", "aud": "a", "exp": 100, "iat": 50})
    }

    #[test]
    fn scopes_come_from_scope_and_scp_in_either_shape() {
        let mut p = base();
        p["scope"] = "orders:read  orders:write".into();
        p["scp"] = json!(["orders:stats"]);
        let c = claims(p).unwrap();
        assert_eq!(
            c.scopes.iter().map(String::as_str).collect::<Vec<_>>(),
            ["orders:read", "orders:stats", "orders:write"]
        );
        let mut p = base();
        p["scp"] = "orders:admin".into();
        assert!(claims(p).unwrap().has_scope("orders:admin"));
    }

    #[test]
    fn require_scope_is_exact_and_403() {
        let mut p = base();
        p["scope"] = "orders:read".into();
        let c = claims(p).unwrap();
        assert!(c.require_scope("orders:read").is_ok());
        for missing in ["orders:write", "orders", "orders:rea", "ORDERS:READ"] {
            let e = c.require_scope(missing).unwrap_err();
            assert_eq!(e, AuthError::InsufficientScope(missing.into()));
            assert_eq!(e.status(), 403);
        }
    }

    #[test]
    fn audience_may_be_string_or_array() {
        let mut p = base();
        p["aud"] = json!(["x", "a"]);
        assert_eq!(claims(p).unwrap().aud, ["x", "a"]);
        let mut p = base();
        p["aud"] = json!(["x", 1]);
        assert_eq!(claims(p).unwrap_err(), AuthError::InvalidClaim("aud"));
    }

    #[test]
    fn required_and_typed_claims_are_checked() {
        for (name, value) in [
            ("exp", Value::Null),
            ("iat", Value::Null),
            ("iss", Value::Null),
            ("aud", Value::Null),
        ] {
            let mut p = base();
            p.as_object_mut().unwrap().remove(name);
            assert_eq!(
                claims(p).unwrap_err(),
                AuthError::InvalidClaim(name),
                "missing {name}"
            );
            let mut p = base();
            p[name] = value;
            assert!(claims(p).is_err(), "null {name}");
        }
        let mut p = base();
        p["exp"] = "100".into();
        assert_eq!(claims(p).unwrap_err(), AuthError::InvalidClaim("exp"));
        let mut p = base();
        p["scope"] = json!(["a"]);
        assert_eq!(claims(p).unwrap_err(), AuthError::InvalidClaim("scope"));
        let mut p = base();
        p["exp"] = json!(100.9);
        assert_eq!(claims(p).unwrap().exp, 100);
        let mut p = base();
        p["exp"] = json!(1e300);
        assert_eq!(claims(p).unwrap_err(), AuthError::InvalidClaim("exp"));
    }
}
