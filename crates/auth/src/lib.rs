//! Inbound service-to-service auth for the Order Service (ARCHITECTURE §5), as pure Rust with
//! no Spin types, so it is unit-tested natively and runs inside the `order-api` component
//! (`wasm32-wasip2`).
//!
//! - [`Jwks`]: the trusted keys (RS256 RSA, ES256 P-256), parsed once from `jwt_jwks`.
//! - [`Validator`]: checks a JWT's signature, `iss`, `aud`, `exp`/`nbf`/`iat` with leeway
//!   and a 15-minute lifetime cap, and returns its [`Claims`]; `none`, HS* and any
//!   algorithm/key-type mismatch are refused before a key is used.
//! - [`bearer_token`]: the token from `Authorization: Bearer ...`.
//! - [`IpAllowlist`]: the optional `ip_allowlist` checked against `spin-client-addr`.
//! - [`AuthError`]: 401 vs 403 and the `WWW-Authenticate` value; [`ConfigError`]: unusable
//!   configuration.
//! - `DevKey` (feature `signing`): the local development ES256 key that signs test tokens.
//!
//! Time is passed in (`now`, seconds since the Unix epoch), so nothing here reads a clock.
//!
//! ```
//! # #[cfg(feature = "signing")] {
//! use auth::{DevKey, Jwks, Validator};
//! let key = DevKey::from_secret_bytes(&[7; 32]).unwrap();
//! let jwks = Jwks::parse(&key.public_jwks()).unwrap();
//! let token = key.sign(&serde_json::json!({
//!     "iss": "order-host-dev", "aud": "order-service", "sub": "admin-service",
//!     "iat": 1_700_000_000, "exp": 1_700_000_900, "scope": "orders:read",
//! }));
//! let header = format!("Bearer {token}");
//! let validator = Validator::new("order-host-dev", "order-service");
//! let claims = validator.authorize(Some(&header), &jwks, 1_700_000_100, "orders:read").unwrap();
//! assert_eq!(claims.sub.as_deref(), Some("admin-service"));
//! let refused = validator.authorize(Some(&header), &jwks, 1_700_000_100, "orders:admin").unwrap_err();
//! assert_eq!(refused.status(), 403);
//! # }
//! ```

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

mod allowlist;
mod bearer;
mod claims;
#[cfg(any(test, feature = "signing"))]
mod dev_key;
mod error;
mod jwks;
mod jwt;
#[cfg(test)]
mod test_keys;

pub use allowlist::IpAllowlist;
pub use bearer::bearer_token;
pub use claims::Claims;
#[cfg(any(test, feature = "signing"))]
pub use dev_key::DevKey;
pub use error::{AuthError, ConfigError};
pub use jwks::{Algorithm, Jwks};
pub use jwt::Validator;
