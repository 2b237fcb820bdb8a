//! An ES256 (P-256) signing key for local development and tests (`signing` feature): the key
//! `order-host token` signs with and `order-host up` trusts. Signing is deterministic
//! (RFC 6979), so only key generation needs randomness; the component never links this.

use std::fmt;

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::ConfigError;

/// A P-256 private key with its key id (the RFC 7638 JWK thumbprint of its public half).
#[derive(Clone)]
pub struct DevKey {
    signing: SigningKey,
    kid: String,
}

impl fmt::Debug for DevKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl DevKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> Result<Self, ConfigError> {
        loop {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret)
                .map_err(|e| ConfigError::SigningKey(format!("no randomness: {e}")))?;
            // Out of range for P-256 (zero or ≥ n) with probability ~2^-32: draw again.
            if let Ok(key) = Self::from_secret_bytes(&secret) {
                return Ok(key);
            }
        }
    }

    /// The key whose secret scalar is `secret` (big-endian); injected randomness for tests.
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Result<Self, ConfigError> {
        let signing = SigningKey::from_slice(secret)
            .map_err(|_| ConfigError::SigningKey("secret is not a valid P-256 scalar".into()))?;
        Ok(Self::from_signing_key(signing))
    }

    /// Reads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) P-256 key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, ConfigError> {
        let signing = SigningKey::from_pkcs8_pem(pem).map_err(|e| {
            ConfigError::SigningKey(format!("not a PKCS#8 PEM P-256 private key ({e})"))
        })?;
        Ok(Self::from_signing_key(signing))
    }

    /// The key as PKCS#8 PEM, LF line endings. It is the secret: store it owner-only.
    pub fn to_pkcs8_pem(&self) -> Result<String, ConfigError> {
        let pem = self
            .signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| ConfigError::SigningKey(format!("cannot encode key ({e})")))?;
        Ok(pem.as_str().to_string())
    }

    /// The key id every token carries and the JWKS lists.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as one JWK (`kty`, `crv`, `x`, `y`, `kid`, `alg`, `use`).
    pub fn public_jwk(&self) -> Value {
        let (x, y) = coordinates(&self.signing);
        json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": self.kid, "alg": "ES256", "use": "sig"})
    }

    /// The public JWKS document (`{"keys": [jwk]}`), for `jwt_jwks`.
    pub fn public_jwks(&self) -> String {
        json!({ "keys": [self.public_jwk()] }).to_string()
    }

    /// Signs `claims` as an ES256 JWT with header `{"alg":"ES256","typ":"JWT","kid":...}`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(
            &json!({"alg": "ES256", "typ": "JWT", "kid": self.kid}),
            claims,
        )
    }

    /// Signs `claims` under an arbitrary `header`, unchecked: tests use it to craft tokens
    /// whose header lies (wrong `alg`, foreign `kid`).
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string().as_bytes()),
            URL_SAFE_NO_PAD.encode(claims.to_string().as_bytes())
        );
        self.sign_input(signing_input)
    }

    /// Appends the ES256 signature of `signing_input` (`header.payload`, already encoded).
    pub(crate) fn sign_input(&self, signing_input: String) -> String {
        let signature: Signature = self.signing.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }

    fn from_signing_key(signing: SigningKey) -> Self {
        let (x, y) = coordinates(&signing);
        // RFC 7638: members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        Self { signing, kid }
    }
}

/// The public point's base64url `x` and `y`.
fn coordinates(signing: &SigningKey) -> (String, String) {
    let point = signing.verifying_key().to_sec1_point(false);
    let coordinate = |c: Option<&[u8]>| URL_SAFE_NO_PAD.encode(c.unwrap_or_default());
    (
        coordinate(point.x().map(|x| x.as_slice())),
        coordinate(point.y().map(|y| y.as_slice())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Jwks, Validator};

    #[test]
    fn pem_round_trip_keeps_the_key_and_kid() {
        let key = DevKey::generate().unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let again = DevKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(again.kid(), key.kid());
        assert_eq!(again.public_jwks(), key.public_jwks());
        assert!(
            DevKey::from_pkcs8_pem(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            )
            .is_err()
        );
    }

    #[test]
    fn generated_keys_differ_and_debug_hides_the_secret() {
        let (a, b) = (DevKey::generate().unwrap(), DevKey::generate().unwrap());
        assert_ne!(a.kid(), b.kid());
        assert_eq!(
            format!("{a:?}"),
            format!("DevKey {{ kid: {:?}, .. }}", a.kid())
        );
    }

    #[test]
    fn invalid_scalars_are_refused() {
        assert!(DevKey::from_secret_bytes(&[0; 32]).is_err());
        assert!(DevKey::from_secret_bytes(&[0xff; 32]).is_err());
    }

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        // RFC 7638 §3.1 shape, recomputed independently from the published JWK.
        let key = DevKey::from_secret_bytes(&[1; 32]).unwrap();
        let jwk = key.public_jwk();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        assert_eq!(
            key.kid(),
            URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
        );
        assert_eq!(key.kid().len(), 43);
    }

    #[test]
    fn its_jwks_verifies_what_it_signs() {
        let key = DevKey::generate().unwrap();
        let jwks = Jwks::parse(&key.public_jwks()).unwrap();
        let token = key.sign(
            &json!({"iss": "i", "aud": "a", "iat": 1000, "exp": 1900, "scope": "orders:read"}),
        );
        let claims = Validator::new("i", "a")
            .validate(&token, &jwks, 1000)
            .unwrap();
        assert!(claims.has_scope("orders:read"));
    }
}
