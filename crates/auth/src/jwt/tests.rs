//! The unit-level auth attack battery (issue 4, point 8), part one: forged, tampered,
//! algorithm-confused and malformed tokens are refused with the right error, and no error
//! repeats the token. Part two (time, issuer, audience, scope) is in `claim_tests.rs`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::test_keys::{self, ec_key, hmac_sign, rsa_sign, with_signature};
use crate::{AuthError, Claims, Jwks, Validator};

pub(super) const NOW: i64 = 1_700_000_000;
pub(super) const ISS: &str = "https://auth.example";
pub(super) const AUD: &str = "order-service";

pub(super) fn jwks() -> Jwks {
    let ec = ec_key(1).public_jwk();
    Jwks::parse(&json!({ "keys": [ec, test_keys::rsa_jwk("rsa-1")] }).to_string()).unwrap()
}

pub(super) fn claims() -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": "admin-service", "iat": NOW - 10, "exp": NOW + 290,
           "scope": "orders:read orders:write"})
}

pub(super) fn with(changes: Value) -> Value {
    let mut c = claims();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

pub(super) fn es_header() -> Value {
    json!({"alg": "ES256", "typ": "JWT", "kid": ec_key(1).kid()})
}

pub(super) fn rs_header() -> Value {
    json!({"alg": "RS256", "typ": "JWT", "kid": "rsa-1"})
}

pub(super) fn validate(token: &str) -> Result<Claims, AuthError> {
    let result = Validator::new(ISS, AUD).validate(token, &jwks(), NOW);
    if let Err(e) = &result {
        assert_no_echo(e, token);
    }
    result
}

/// No part of the token (beyond a short `alg` name) appears in what the caller is told.
pub(super) fn assert_no_echo(error: &AuthError, token: &str) {
    let told = format!("{error} {}", error.www_authenticate().unwrap_or_default());
    for part in token.split('.').filter(|p| p.len() >= 8) {
        assert!(!told.contains(part), "error `{told}` echoes the token");
    }
}

#[test]
fn es256_token_from_a_trusted_key_is_accepted() {
    let c = validate(&ec_key(1).sign(&claims())).unwrap();
    assert_eq!(c.sub.as_deref(), Some("admin-service"));
    assert!(c.has_scope("orders:write"));
    assert_eq!((c.iat, c.exp), (NOW - 10, NOW + 290));
}

#[test]
fn rs256_token_from_a_trusted_key_is_accepted() {
    let c = validate(&rsa_sign(&rs_header(), &claims())).unwrap();
    assert_eq!(c.iss, ISS);
    assert_eq!(c.aud, [AUD]);
}

#[test]
fn alg_none_is_refused_in_every_spelling() {
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "kid": ec_key(1).kid()});
        let err = validate(&with_signature(&header, &claims(), "")).unwrap_err();
        assert!(
            matches!(err, AuthError::UnsupportedAlgorithm(_)),
            "{alg}: {err:?}"
        );
        // A valid-looking signature part does not help either.
        let forged = ec_key(1).sign_with_header(&header, &claims());
        assert!(matches!(
            validate(&forged).unwrap_err(),
            AuthError::UnsupportedAlgorithm(_)
        ));
    }
}

#[test]
fn hmac_tokens_are_refused() {
    for alg in ["HS256", "HS384", "HS512"] {
        let header = json!({"alg": alg, "typ": "JWT"});
        let err = validate(&hmac_sign(b"guessable-secret", &header, &claims())).unwrap_err();
        assert_eq!(err, AuthError::UnsupportedAlgorithm(alg.into()));
        assert_eq!(err.status(), 401);
    }
}

#[test]
fn hs256_keyed_with_the_rsa_public_key_is_refused() {
    // The classic confusion attack: HMAC with the verifier's public key bytes as the secret.
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"});
    let jwk = test_keys::rsa_jwk("rsa-1").to_string();
    for secret in [test_keys::rsa_public_pem(), jwk] {
        let err = validate(&hmac_sign(secret.as_bytes(), &header, &claims())).unwrap_err();
        assert_eq!(err, AuthError::UnsupportedAlgorithm("HS256".into()));
    }
}

#[test]
fn algorithm_and_key_type_must_match() {
    // ES256 header naming the RSA key, and RS256 header naming the EC key.
    let es_on_rsa = ec_key(1).sign_with_header(&json!({"alg": "ES256", "kid": "rsa-1"}), &claims());
    assert_eq!(
        validate(&es_on_rsa).unwrap_err(),
        AuthError::KeyAlgorithmMismatch
    );
    let rs_on_ec = rsa_sign(&json!({"alg": "RS256", "kid": ec_key(1).kid()}), &claims());
    assert_eq!(
        validate(&rs_on_ec).unwrap_err(),
        AuthError::KeyAlgorithmMismatch
    );
}

#[test]
fn other_asymmetric_algorithms_are_refused() {
    for alg in [
        "RS384", "RS512", "PS256", "ES384", "ES512", "EdDSA", "es256", "RS256 ", "",
    ] {
        let token =
            ec_key(1).sign_with_header(&json!({"alg": alg, "kid": ec_key(1).kid()}), &claims());
        assert!(
            matches!(
                validate(&token).unwrap_err(),
                AuthError::UnsupportedAlgorithm(_)
            ),
            "{alg:?}"
        );
    }
}

/// Replaces part `index` (0 header, 1 payload, 2 signature) of `token`.
pub(super) fn replace_part(token: &str, index: usize, part: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = part;
    parts.join(".")
}

#[test]
fn tampered_payload_fails_the_signature() {
    let escalated = with(json!({"scope": "orders:read orders:write orders:admin"}));
    let evil_payload = with_signature(&json!({}), &escalated, "")
        .split('.')
        .nth(1)
        .unwrap()
        .to_string();
    for token in [ec_key(1).sign(&claims()), rsa_sign(&rs_header(), &claims())] {
        let tampered = replace_part(&token, 1, &evil_payload);
        assert_eq!(validate(&tampered).unwrap_err(), AuthError::BadSignature);
    }
}

#[test]
fn tampered_header_fails_the_signature_or_the_key_check() {
    let token = ec_key(1).sign(&claims());
    let encode = |h: &Value| {
        with_signature(h, &json!({}), "")
            .split('.')
            .next()
            .unwrap()
            .to_string()
    };
    // alg switched to RS256 on an EC key id: refused before the signature is even checked.
    let switched = replace_part(
        &token,
        0,
        &encode(&json!({"alg": "RS256", "typ": "JWT", "kid": ec_key(1).kid()})),
    );
    assert_eq!(
        validate(&switched).unwrap_err(),
        AuthError::KeyAlgorithmMismatch
    );
    // Any other header change is covered by the signature.
    let mut extra = es_header();
    extra["cty"] = "JWT".into();
    assert_eq!(
        validate(&replace_part(&token, 0, &encode(&extra))).unwrap_err(),
        AuthError::BadSignature
    );
    // Re-pointed at the RSA key with RS256 and the EC signature: fails RSA verification.
    let repointed = replace_part(&token, 0, &encode(&rs_header()));
    assert_eq!(validate(&repointed).unwrap_err(), AuthError::BadSignature);
}

#[test]
fn forged_or_mangled_signatures_are_refused() {
    let token = ec_key(1).sign(&claims());
    let signature = token.rsplit('.').next().unwrap();
    let mut flipped = URL_SAFE_NO_PAD.decode(signature).unwrap();
    flipped[10] ^= 1;
    let truncated = &signature[..40];
    for bad in [
        URL_SAFE_NO_PAD.encode(&flipped),
        truncated.to_string(),
        String::new(),
        "AAAA".into(),
    ] {
        assert_eq!(
            validate(&replace_part(&token, 2, &bad)).unwrap_err(),
            AuthError::BadSignature,
            "{bad}"
        );
    }
    // Signed by an untrusted key that claims the trusted kid.
    let impostor = ec_key(2).sign_with_header(&es_header(), &claims());
    assert_eq!(validate(&impostor).unwrap_err(), AuthError::BadSignature);
    let rsa = rsa_sign(&rs_header(), &claims());
    let mut rsa_sig = URL_SAFE_NO_PAD
        .decode(rsa.rsplit('.').next().unwrap())
        .unwrap();
    rsa_sig[0] ^= 0x80;
    let mangled = replace_part(&rsa, 2, &URL_SAFE_NO_PAD.encode(&rsa_sig));
    assert_eq!(validate(&mangled).unwrap_err(), AuthError::BadSignature);
}

#[test]
fn embedded_jwk_header_is_never_trusted() {
    let attacker = ec_key(3);
    let header = json!({"alg": "ES256", "jwk": attacker.public_jwk(), "kid": attacker.kid()});
    assert_eq!(
        validate(&attacker.sign_with_header(&header, &claims())).unwrap_err(),
        AuthError::UnknownKey
    );
}

#[test]
fn unknown_or_ambiguous_key_ids_are_refused() {
    let foreign = ec_key(1).sign_with_header(&json!({"alg": "ES256", "kid": "nobody"}), &claims());
    assert_eq!(validate(&foreign).unwrap_err(), AuthError::UnknownKey);
    let no_kid = ec_key(1).sign_with_header(&json!({"alg": "ES256"}), &claims());
    assert_eq!(
        validate(&no_kid).unwrap_err(),
        AuthError::UnknownKey,
        "two keys: no guessing"
    );
    let lone = Jwks::parse(&ec_key(1).public_jwks()).unwrap();
    assert!(
        Validator::new(ISS, AUD)
            .validate(&no_kid, &lone, NOW)
            .is_ok(),
        "one key: it is the key"
    );
}

#[test]
fn malformed_tokens_are_refused_without_panicking() {
    let good = ec_key(1).sign(&claims());
    // Properly signed, so only the payload's shape is wrong.
    let signed_garbage = |payload: &[u8]| {
        let header = with_signature(&es_header(), &json!({}), "")
            .split('.')
            .next()
            .unwrap()
            .to_string();
        ec_key(1).sign_input(format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload)))
    };
    let cases = [
        String::new(),
        "abc".into(),
        "a.b".into(),
        format!("{good}.extra"),
        "a.b.c.d.e".into(),
        replace_part(&good, 0, "!!!"),
        replace_part(&good, 0, &URL_SAFE_NO_PAD.encode(b"not json")),
        replace_part(&good, 0, &URL_SAFE_NO_PAD.encode(b"[\"ES256\"]")),
        replace_part(
            &good,
            0,
            &URL_SAFE_NO_PAD.encode(br#"{"alg":"none","alg":"ES256"}"#),
        ),
        replace_part(&good, 1, "!!!"),
        format!("{good}=="),
        "x".repeat(20_000),
        signed_garbage(b"not json"),
        signed_garbage(b"[1,2]"),
    ];
    for token in cases {
        let err = validate(&token).unwrap_err();
        assert_eq!(err.status(), 401, "{token:.40}: {err:?}");
    }
}

#[test]
fn critical_extensions_and_foreign_types_are_refused() {
    let crit = ec_key(1).sign_with_header(
        &json!({"alg": "ES256", "kid": ec_key(1).kid(), "crit": ["exp"], "exp": 1}),
        &claims(),
    );
    assert!(matches!(
        validate(&crit).unwrap_err(),
        AuthError::Malformed(_)
    ));
    let typ = ec_key(1).sign_with_header(
        &json!({"alg": "ES256", "kid": ec_key(1).kid(), "typ": "secevent+jwt"}),
        &claims(),
    );
    assert!(matches!(
        validate(&typ).unwrap_err(),
        AuthError::Malformed(_)
    ));
    let at = ec_key(1).sign_with_header(
        &json!({"alg": "ES256", "kid": ec_key(1).kid(), "typ": "at+jwt"}),
        &claims(),
    );
    assert!(validate(&at).is_ok());
}

#[test]
fn base64url_is_strict_for_every_part() {
    // RFC 7515 §2, through the engine that decodes every part and JWK member: no padding, no
    // standard alphabet, no non-canonical trailing bits, no whitespace.
    assert_eq!(URL_SAFE_NO_PAD.decode("YQ").unwrap(), b"a");
    for bad in ["YQ==", "+/8", "YR", "Y Q"] {
        assert!(URL_SAFE_NO_PAD.decode(bad).is_err(), "{bad}");
    }
}
