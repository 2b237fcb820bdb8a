//! The unit-level auth attack battery, part two: stale, premature, over-long, misdirected and
//! under-scoped tokens, each signed correctly, so only the claim check can refuse them.

use serde_json::json;

use super::tests::{AUD, ISS, NOW, jwks, validate, with};
use crate::test_keys::ec_key;
use crate::{AuthError, Validator};

#[test]
fn expiry_honours_the_leeway_exactly() {
    let at = |exp: i64| {
        validate(&ec_key(1).sign(&with(json!({"exp": exp, "iat": exp - 300})))).map(|_| ())
    };
    assert_eq!(at(NOW - 31), Err(AuthError::Expired));
    assert_eq!(at(NOW - 30), Err(AuthError::Expired));
    assert_eq!(at(NOW - 29), Ok(()));
    assert_eq!(at(NOW + 1), Ok(()));
}

#[test]
fn not_yet_valid_and_future_issue_are_refused_beyond_the_leeway() {
    let nbf = |nbf: i64| validate(&ec_key(1).sign(&with(json!({"nbf": nbf})))).map(|_| ());
    assert_eq!(nbf(NOW + 31), Err(AuthError::NotYetValid));
    assert_eq!(nbf(NOW + 30), Ok(()));
    let iat = |iat: i64| {
        validate(&ec_key(1).sign(&with(json!({"iat": iat, "exp": iat + 300})))).map(|_| ())
    };
    assert_eq!(iat(NOW + 31), Err(AuthError::IssuedInFuture));
    assert_eq!(iat(NOW + 30), Ok(()));
}

#[test]
fn lifetime_over_fifteen_minutes_is_refused() {
    let life = |secs: i64| {
        validate(&ec_key(1).sign(&with(json!({"iat": NOW, "exp": NOW + secs})))).map(|_| ())
    };
    assert_eq!(life(900), Ok(()));
    assert_eq!(life(901), Err(AuthError::LifetimeTooLong { max_s: 900 }));
    assert_eq!(
        life(365 * 24 * 3600),
        Err(AuthError::LifetimeTooLong { max_s: 900 })
    );
    assert_eq!(life(-1), Err(AuthError::InvalidClaim("exp")));
    let overflow = ec_key(1).sign(&with(json!({"iat": i64::MIN, "exp": i64::MAX})));
    assert!(validate(&overflow).is_err());
}

#[test]
fn missing_time_claims_are_refused() {
    for claim in ["exp", "iat"] {
        let err = validate(&ec_key(1).sign(&with(json!({ claim: null })))).unwrap_err();
        assert_eq!(err, AuthError::InvalidClaim(claim));
    }
}

#[test]
fn wrong_issuer_is_refused() {
    for iss in [
        json!("https://evil.example"),
        json!("https://auth.example/"),
        json!("HTTPS://AUTH.EXAMPLE"),
    ] {
        assert_eq!(
            validate(&ec_key(1).sign(&with(json!({ "iss": iss })))).unwrap_err(),
            AuthError::WrongIssuer
        );
    }
    assert_eq!(
        validate(&ec_key(1).sign(&with(json!({"iss": null})))).unwrap_err(),
        AuthError::InvalidClaim("iss")
    );
}

#[test]
fn audience_must_name_this_service() {
    for aud in [
        json!("payment-service"),
        json!(["a", "b"]),
        json!([]),
        json!("Order-Service"),
    ] {
        assert_eq!(
            validate(&ec_key(1).sign(&with(json!({ "aud": aud })))).unwrap_err(),
            AuthError::WrongAudience
        );
    }
    assert!(validate(&ec_key(1).sign(&with(json!({"aud": ["other", AUD]})))).is_ok());
    assert_eq!(
        validate(&ec_key(1).sign(&with(json!({"aud": null})))).unwrap_err(),
        AuthError::InvalidClaim("aud")
    );
}

#[test]
fn wrong_scope_is_403_after_a_valid_token() {
    let header = format!(
        "Bearer {}",
        ec_key(1).sign(&with(json!({"scope": "orders:read"})))
    );
    let v = Validator::new(ISS, AUD);
    assert!(
        v.authorize(Some(&header), &jwks(), NOW, "orders:read")
            .is_ok()
    );
    let err = v
        .authorize(Some(&header), &jwks(), NOW, "orders:admin")
        .unwrap_err();
    assert_eq!(err, AuthError::InsufficientScope("orders:admin".into()));
    assert_eq!(err.status(), 403);
    assert_eq!(
        v.authorize(None, &jwks(), NOW, "orders:read")
            .unwrap_err()
            .status(),
        401
    );
}

#[test]
fn a_recheck_of_verified_claims_still_enforces_time_and_scope() {
    let header = format!(
        "Bearer {}",
        ec_key(1).sign(&with(
            json!({"scope": "orders:read", "exp": NOW + 60, "iat": NOW - 60})
        ))
    );
    let v = Validator::new(ISS, AUD);
    let claims = v
        .authorize(Some(&header), &jwks(), NOW, "orders:read")
        .expect("valid");
    assert_eq!(v.recheck(&claims, NOW + 10, "orders:read"), Ok(()));
    assert_eq!(
        v.recheck(&claims, NOW + 10, "orders:admin"),
        Err(AuthError::InsufficientScope("orders:admin".into()))
    );
    // Expired by now (past the 30 s leeway): a cached verification does not outlive the token.
    assert_eq!(
        v.recheck(&claims, NOW + 60 + 30, "orders:read"),
        Err(AuthError::Expired)
    );
    // Another validator (issuer or audience changed) refuses the same claims.
    let other = Validator::new("someone-else", AUD);
    assert_eq!(
        other.recheck(&claims, NOW, "orders:read"),
        Err(AuthError::WrongIssuer)
    );
}
