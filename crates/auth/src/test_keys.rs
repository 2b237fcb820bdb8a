//! Test-only keys and token forgery helpers. The RSA keys under `testdata/` are public test
//! fixtures (see `testdata/README.md`); nothing here is ever trusted outside tests.

use hmac::{Hmac, KeyInit, Mac};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::DevKey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const RSA_2048_TEST_ONLY: &str = include_str!("testdata/rsa-2048-test-only.pem");
const RSA_1024_TEST_ONLY: &str = include_str!("testdata/rsa-1024-test-only.pem");

/// A deterministic EC test key; different seeds give different keys.
pub(crate) fn ec_key(seed: u8) -> DevKey {
    DevKey::from_secret_bytes(&[seed; 32]).expect("valid test scalar")
}

fn rsa_private(pem: &str) -> rsa::PrivateKey {
    rsa::PrivateKey::from_pkcs8_pem(pem).expect("test key parses")
}

fn rsa_jwk_of(pem: &str, kid: &str) -> Value {
    let public = rsa_private(pem).to_public_key();
    json!({
        "kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
        "n": URL_SAFE_NO_PAD.encode(public.n().to_be_bytes_trimmed_vartime()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_be_bytes_trimmed_vartime()),
    })
}

/// The public JWK of the 2048-bit test key.
pub(crate) fn rsa_jwk(kid: &str) -> Value {
    rsa_jwk_of(RSA_2048_TEST_ONLY, kid)
}

/// The public JWK of the too-small 1024-bit test key.
pub(crate) fn rsa_1024_jwk() -> Value {
    rsa_jwk_of(RSA_1024_TEST_ONLY, "weak")
}

/// The 2048-bit test key's public half as SPKI PEM: what an attacker feeds HMAC as the secret.
pub(crate) fn rsa_public_pem() -> String {
    rsa_private(RSA_2048_TEST_ONLY)
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("encodes")
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string().as_bytes()),
        URL_SAFE_NO_PAD.encode(claims.to_string().as_bytes())
    )
}

/// An RS256 token signed by the 2048-bit test key under `header`.
pub(crate) fn rsa_sign(header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    let digest = Sha256::digest(input.as_bytes());
    let signature = rsa_private(RSA_2048_TEST_ONLY)
        .sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest)
        .expect("signs");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(&signature))
}

/// An HMAC-SHA256 token under `header` with `secret` as the key.
pub(crate) fn hmac_sign(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// A token under `header` with the given raw signature part (empty for `alg: none`).
pub(crate) fn with_signature(header: &Value, claims: &Value, signature_b64: &str) -> String {
    format!("{}.{signature_b64}", signing_input(header, claims))
}
