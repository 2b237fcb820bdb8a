//! Inbound auth (ARCHITECTURE §5) and the statistics and OpenAPI endpoints, through the real
//! `order-api.wasm` on `order-host up`. Tokens come from `order-host token` (the dev key `up`
//! trusts) or are forged here with the `auth` crate's `DevKey` and by hand. Submodules: the
//! JWKS URL mode, the OpenAPI document, statistics.

use std::time::{SystemTime, UNIX_EPOCH};

use auth::DevKey;
use integration_tests::{Answer, Host, HostBuilder, dev_token, workspace_root};
use serde_json::{Value, json};

#[path = "auth/jwks_url.rs"]
mod jwks_url;
#[path = "auth/openapi.rs"]
mod openapi;
#[path = "auth/statistics.rs"]
mod statistics;

const STATS: &str = "/api/v1/orders/statistics";
const ISSUER: &str = "order-host-dev";
const AUDIENCE: &str = "order-service";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn spin_toml() -> std::path::PathBuf {
    workspace_root().join("spin.toml")
}

/// Valid claims for the statistics scope; tests override fields to break them.
fn claims(scope: &str) -> Value {
    let now = now();
    json!({ "iss": ISSUER, "aud": AUDIENCE, "sub": "analytics", "iat": now, "nbf": now,
            "exp": now + 300, "scope": scope })
}

fn with(mut claims: Value, field: &str, value: Value) -> Value {
    claims[field] = value;
    claims
}

fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn bearer(host: &Host, token: &str) -> Answer {
    host.get_with(STATS, &[("authorization", &format!("Bearer {token}"))])
}

/// A host whose only trusted key is `key` (set as the inline `jwt_jwks`).
fn host_trusting(key: &DevKey) -> Host {
    HostBuilder::new(spin_toml())
        .variable("jwt_jwks", key.public_jwks())
        .start()
}

fn assert_problem(answer: &Answer, status: u16, token: Option<&str>) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/problem+json"),
        "{answer:?}"
    );
    let body = answer.json();
    assert_eq!(body["status"], status);
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string());
    if let Some(token) = token {
        // Not the token, nor any of its parts (the payload or signature alone would leak).
        for part in token.split('.').filter(|part| part.len() > 8) {
            assert!(
                !answer.body.contains(part),
                "body echoes the token: {}",
                answer.body
            );
        }
    }
}

#[test]
fn dev_tokens_are_accepted_for_their_scope_only() {
    let host = HostBuilder::new(spin_toml()).start();

    let none = host.get(STATS);
    assert_problem(&none, 401, None);
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    let basic = host.get_with(STATS, &[("authorization", "Basic dXNlcjpwYXNz")]);
    assert_problem(&basic, 401, None);
    assert_eq!(basic.header("www-authenticate"), Some("Bearer"));

    let stats_token = host.token("orders:stats");
    let ok = bearer(&host, &stats_token);
    assert_eq!(ok.status, 200, "{ok:?}");
    // Verified once, the same token is still held to its scope on every later request (an
    // instance remembers verified tokens; it skips the signature check, never the scope).
    assert_eq!(bearer(&host, &stats_token).status, 200);
    let elsewhere = host.get_with(
        "/api/v1/admin/orders",
        &[("authorization", &format!("Bearer {stats_token}"))],
    );
    assert_problem(&elsewhere, 403, Some(&stats_token));
    let short = dev_token(&host.manifest, "orders:read orders:stats", 60);
    assert_eq!(bearer(&host, &short).status, 200);

    let token = host.token("orders:read orders:write orders:admin");
    let refused = bearer(&host, &token);
    assert_problem(&refused, 403, Some(&token));
    let challenge = refused.header("www-authenticate").expect("challenge");
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"orders:stats\""), "{challenge}");
    assert_eq!(refused.json()["error"], "insufficient_scope");
}

#[test]
fn forged_expired_and_misaddressed_tokens_are_refused_with_401() {
    let key = DevKey::generate().expect("key");
    let stranger = DevKey::generate().expect("key");
    let host = host_trusting(&key);
    let good = claims("orders:stats");
    assert_eq!(bearer(&host, &key.sign(&good)).status, 200, "control");

    let payload = b64(good.to_string().as_bytes());
    let escalated = b64(
        with(good.clone(), "scope", json!("orders:stats orders:admin"))
            .to_string()
            .as_bytes(),
    );
    let valid = key.sign(&good);
    let signature = valid.rsplit('.').next().expect("signature");
    let now = now();
    let cases: Vec<(&str, &str, String)> = vec![
        (
            "alg none",
            "algorithm `none`",
            format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#)),
        ),
        (
            "alg none, signed shape",
            "algorithm `none`",
            format!("{}.{payload}.{signature}", b64(br#"{"alg":"none"}"#)),
        ),
        (
            "HS256",
            "algorithm `HS256`",
            format!(
                "{}.{payload}.{}",
                b64(format!(r#"{{"alg":"HS256","kid":"{}"}}"#, key.kid()).as_bytes()),
                b64(&[7; 32])
            ),
        ),
        (
            "tampered payload",
            "signature is invalid",
            format!(
                "{}.{escalated}.{signature}",
                valid.split('.').next().expect("header")
            ),
        ),
        (
            "expired",
            "expired",
            key.sign(&with(
                with(good.clone(), "iat", json!(now - 900)),
                "exp",
                json!(now - 120),
            )),
        ),
        (
            "not yet valid",
            "not valid yet",
            key.sign(&with(good.clone(), "nbf", json!(now + 600))),
        ),
        (
            "lifetime over 15 minutes",
            "lifetime exceeds",
            key.sign(&with(good.clone(), "exp", json!(now + 901))),
        ),
        (
            "wrong issuer",
            "issuer",
            key.sign(&with(good.clone(), "iss", json!("someone-else"))),
        ),
        (
            "wrong audience",
            "audience",
            key.sign(&with(good.clone(), "aud", json!("another-service"))),
        ),
        ("unknown kid", "key id", stranger.sign(&good)),
        ("garbage", "malformed", "not-a-jwt".to_string()),
    ];
    for (name, reason, token) in cases {
        let answer = bearer(&host, &token);
        assert_eq!(answer.status, 401, "{name}: {answer:?}");
        assert_problem(&answer, 401, Some(&token));
        let detail = answer.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            detail.contains(reason),
            "{name}: refused for another reason: {detail}"
        );
        let challenge = answer.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\""),
            "{name}: {challenge}"
        );
        assert!(
            !challenge.contains(&token),
            "{name}: challenge echoes the token"
        );
    }

    // The dev key `order-host token` signs with is not trusted by this host either.
    let foreign = host.token("orders:stats");
    assert_problem(&bearer(&host, &foreign), 401, Some(&foreign));
}

#[test]
fn ip_allowlist_refuses_outside_addresses_without_a_challenge() {
    let key = DevKey::generate().expect("key");
    let token = key.sign(&claims("orders:stats"));

    let outside = HostBuilder::new(spin_toml())
        .variable("jwt_jwks", key.public_jwks())
        .variable("ip_allowlist", "10.0.0.0/8")
        .start();
    let refused = bearer(&outside, &token);
    assert_problem(&refused, 403, Some(&token));
    assert_eq!(refused.header("www-authenticate"), None);
    drop(outside);

    let inside = HostBuilder::new(spin_toml())
        .variable("jwt_jwks", key.public_jwks())
        .variable("ip_allowlist", "10.0.0.0/8, 127.0.0.0/8")
        .start();
    assert_eq!(bearer(&inside, &token).status, 200);
}

#[test]
fn broken_auth_configuration_is_a_server_error_never_a_401() {
    let key = DevKey::generate().expect("key");
    let token = key.sign(&claims("orders:stats"));
    for (name, value) in [
        ("jwt_jwks", "{\"keys\": 42}"),
        ("ip_allowlist", "10.0.0.1/8"),
    ] {
        let mut builder = HostBuilder::new(spin_toml()).variable(name, value);
        if name != "jwt_jwks" {
            builder = builder.variable("jwt_jwks", key.public_jwks());
        }
        let host = builder.start();
        let answer = bearer(&host, &token);
        assert_problem(&answer, 500, Some(&token));
        assert_eq!(answer.header("www-authenticate"), None, "{name}");
    }
}
