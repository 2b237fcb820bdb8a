//! The trusted key set: a JWKS document (RFC 7517) parsed once into verification keys.
//!
//! Only keys this service can use are kept: RSA (modulus 2048–8192 bits) for RS256 and EC
//! P-256 for ES256, with `use` absent or `sig`, `key_ops` absent or containing `verify`, and
//! `alg` absent or the one algorithm that fits the key type. Other keys (encryption keys,
//! other curves, `oct` secrets, keys restricted to RS384 ...) are skipped. A document holding
//! private key material, duplicate `kid`s, a malformed RSA/P-256 key, or no usable key at all
//! is refused: those are operator mistakes that must surface, not be guessed around.
//!
//! Which keys are usable is our policy (RFC 7517 §4, RFC 8725 §3.1), so the document is read
//! here; each kept key becomes a [`jsonwebtoken::DecodingKey`], which the library verifies
//! signatures with. The library builds keys lazily, at verification, so each key is checked
//! here first with the same `rsa`/`p256` crates its backend uses: a bad key is a configuration
//! error at parse time, not a stream of 401s later.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{AuthError, ConfigError};

/// A JWS algorithm this service accepts. Anything else is refused before any key is touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, RSA key.
    Rs256,
    /// ECDSA with P-256 and SHA-256, EC key.
    Es256,
}

impl Algorithm {
    /// Parses a JWS `alg` value; exact, case-sensitive match (RFC 7515 §4.1.1).
    pub fn from_name(alg: &str) -> Option<Self> {
        match alg {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    /// The JWS `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    /// The same algorithm as jsonwebtoken names it.
    pub(crate) fn jws(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Rs256 => jsonwebtoken::Algorithm::RS256,
            Self::Es256 => jsonwebtoken::Algorithm::ES256,
        }
    }
}

/// A set of trusted public keys, parsed from a JWKS document. Parse once and keep it for the
/// life of the instance (or until the cached document changes): parsing validates every key.
#[derive(Debug, Clone)]
pub struct Jwks {
    keys: Vec<TrustedKey>,
}

/// One usable public key.
#[derive(Debug, Clone)]
pub(crate) struct TrustedKey {
    pub(crate) kid: Option<String>,
    pub(crate) material: KeyMaterial,
}

/// The verification key proper, with the one algorithm it may verify (fixed by its key type,
/// so an RSA key never verifies ES256 and the reverse).
#[derive(Debug, Clone)]
pub(crate) struct KeyMaterial {
    algorithm: Algorithm,
    key: DecodingKey,
}

impl KeyMaterial {
    pub(crate) fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key in jsonwebtoken's form, for [`jsonwebtoken::crypto::verify`].
    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.key
    }
}

/// Members that only a private or symmetric key has: a JWKS holding any of them leaks a
/// secret into configuration.
const SECRET_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Smallest and largest accepted RSA modulus, bits.
const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<Value>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    public_key_use: Option<String>,
    key_ops: Option<Vec<String>>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

impl Jwks {
    /// Parses a JWKS document (`{"keys": [...]}`), keeping the usable keys.
    ///
    /// ```
    /// let jwks = auth::Jwks::parse(r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1",
    ///   "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
    ///   "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}"#).unwrap();
    /// assert_eq!(jwks.len(), 1);
    /// assert!(auth::Jwks::parse(r#"{"keys":[]}"#).is_err());
    /// ```
    pub fn parse(document: &str) -> Result<Self, ConfigError> {
        let raw: RawJwks = serde_json::from_str(document)
            .map_err(|e| ConfigError::Jwks(format!("not a JWKS document ({e})")))?;
        let mut keys: Vec<TrustedKey> = Vec::new();
        for (index, value) in raw.keys.iter().enumerate() {
            let name = |v: &Value| match v.get("kid").and_then(Value::as_str) {
                Some(kid) => format!("key `{kid}`"),
                None => format!("key #{index}"),
            };
            if let Some(member) = SECRET_MEMBERS.iter().find(|m| value.get(**m).is_some()) {
                return Err(ConfigError::Jwks(format!(
                    "{} carries private key material (`{member}`): publish public keys only",
                    name(value)
                )));
            }
            let jwk: RawJwk = serde_json::from_value(value.clone())
                .map_err(|e| ConfigError::Jwks(format!("{} is malformed ({e})", name(value))))?;
            let Some(key) = usable_key(jwk)
                .map_err(|why| ConfigError::Jwks(format!("{}: {why}", name(value))))?
            else {
                continue;
            };
            if key.kid.is_some() && keys.iter().any(|k| k.kid == key.kid) {
                return Err(ConfigError::Jwks(format!("{} appears twice", name(value))));
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(ConfigError::Jwks(
                "no usable signing key (RS256 with an RSA key of 2048+ bits, or ES256 with P-256)"
                    .into(),
            ));
        }
        Ok(Self { keys })
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no usable keys (never true for a parsed set).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key a token names: by `kid`, or the only key when the token has none. A token
    /// without `kid` is refused when several keys could match, so a key is never guessed.
    pub(crate) fn select(&self, kid: Option<&str>) -> Result<&TrustedKey, AuthError> {
        match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
        .ok_or(AuthError::UnknownKey)
    }
}

/// Converts one JWK; `Ok(None)` for a key this service does not use.
fn usable_key(jwk: RawJwk) -> Result<Option<TrustedKey>, String> {
    if jwk.public_key_use.as_deref().is_some_and(|u| u != "sig") {
        return Ok(None);
    }
    if jwk
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|o| o == "verify"))
    {
        return Ok(None);
    }
    let fits = |alg: Algorithm| jwk.alg.as_deref().is_none_or(|a| a == alg.name());
    let material = match jwk.kty.as_str() {
        "RSA" if fits(Algorithm::Rs256) => KeyMaterial {
            algorithm: Algorithm::Rs256,
            key: rsa_key(&jwk)?,
        },
        "EC" if jwk.crv.as_deref() == Some("P-256") && fits(Algorithm::Es256) => KeyMaterial {
            algorithm: Algorithm::Es256,
            key: ec_key(&jwk)?,
        },
        _ => return Ok(None),
    };
    Ok(Some(TrustedKey {
        kid: jwk.kid,
        material,
    }))
}

/// A JWK member as bytes: strict base64url without padding (RFC 7515 §2, RFC 7518 §6).
fn member(value: &Option<String>, name: &str) -> Result<Vec<u8>, String> {
    let text = value
        .as_deref()
        .ok_or_else(|| format!("missing `{name}`"))?;
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| format!("`{name}` is not base64url"))
}

/// An RS256 key from `n` and `e` (RFC 7518 §6.3.1): unsigned big-endian without leading zero
/// bytes; the modulus must be 2048–8192 bits and the exponent one RSA accepts.
fn rsa_key(jwk: &RawJwk) -> Result<DecodingKey, String> {
    let n = member(&jwk.n, "n")?;
    let e = member(&jwk.e, "e")?;
    if n.first() == Some(&0) || e.first() == Some(&0) {
        return Err("`n`/`e` have leading zero bytes".into());
    }
    rsa::PublicKey::new_with_size_limits(
        rsa::BoxedUint::from_be_slice_vartime(&n),
        rsa::BoxedUint::from_be_slice_vartime(&e),
        RSA_BITS,
    )
    .map_err(|e| match e {
        rsa::Error::ModulusTooSmall => "RSA modulus is under 2048 bits".to_string(),
        rsa::Error::ModulusTooLarge => "RSA modulus is over 8192 bits".to_string(),
        other => format!("not a valid RSA public key ({other})"),
    })?;
    Ok(DecodingKey::from_rsa_raw_components(&n, &e))
}

/// An ES256 key from `x` and `y` (RFC 7518 §6.2.1): 32 bytes each, a point on P-256.
fn ec_key(jwk: &RawJwk) -> Result<DecodingKey, String> {
    let x = member(&jwk.x, "x")?;
    let y = member(&jwk.y, "y")?;
    if x.len() != 32 || y.len() != 32 {
        return Err("P-256 `x` and `y` must be 32 bytes each".into());
    }
    let mut sec1 = Vec::with_capacity(65);
    sec1.push(0x04);
    sec1.extend_from_slice(&x);
    sec1.extend_from_slice(&y);
    p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
        .map_err(|_| "point is not on the P-256 curve".to_string())?;
    // The library decodes the same strict base64url members again; they were checked above.
    DecodingKey::from_ec_components(
        jwk.x.as_deref().unwrap_or_default(),
        jwk.y.as_deref().unwrap_or_default(),
    )
    .map_err(|e| format!("not a valid P-256 public key ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys;

    fn ec_jwk(kid: &str) -> Value {
        serde_json::from_str::<Value>(&test_keys::ec_key(1).public_jwks()).unwrap()["keys"][0]
            .clone()
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("kid".into(), kid.into());
                Value::Object(o)
            })
            .unwrap()
    }

    fn parse(keys: Vec<Value>) -> Result<Jwks, ConfigError> {
        Jwks::parse(&serde_json::json!({ "keys": keys }).to_string())
    }

    #[test]
    fn parses_rsa_and_ec_keys() {
        let jwks = parse(vec![test_keys::rsa_jwk("r1"), ec_jwk("e1")]).unwrap();
        assert_eq!(jwks.len(), 2);
        assert_eq!(
            jwks.select(Some("r1")).unwrap().material.algorithm(),
            Algorithm::Rs256
        );
        assert_eq!(
            jwks.select(Some("e1")).unwrap().material.algorithm(),
            Algorithm::Es256
        );
    }

    #[test]
    fn missing_kid_selects_only_a_lone_key() {
        assert!(parse(vec![ec_jwk("e1")]).unwrap().select(None).is_ok());
        let two = parse(vec![test_keys::rsa_jwk("r1"), ec_jwk("e1")]).unwrap();
        assert_eq!(two.select(None).unwrap_err(), AuthError::UnknownKey);
        assert_eq!(two.select(Some("nope")).unwrap_err(), AuthError::UnknownKey);
    }

    #[test]
    fn skips_keys_not_meant_for_signatures_we_verify() {
        let mut enc = ec_jwk("enc");
        enc["use"] = "enc".into();
        let mut rs384 = test_keys::rsa_jwk("rs384");
        rs384["alg"] = "RS384".into();
        let mut wrap = ec_jwk("wrap");
        wrap["key_ops"] = serde_json::json!(["wrapKey"]);
        let okp = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "AA"});
        let jwks = parse(vec![enc, rs384, wrap, okp, ec_jwk("ok")]).unwrap();
        assert_eq!(jwks.len(), 1);
        assert!(jwks.select(Some("ok")).is_ok());
    }

    #[test]
    fn refuses_private_material_duplicates_weak_and_empty_sets() {
        let mut private = ec_jwk("p");
        private["d"] = "AAAA".into();
        assert!(
            parse(vec![private])
                .unwrap_err()
                .to_string()
                .contains("private key material")
        );
        let secret = serde_json::json!({"kty": "oct", "k": "c2VjcmV0"});
        assert!(parse(vec![secret]).is_err());
        assert!(
            parse(vec![ec_jwk("a"), ec_jwk("a")])
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        let weak = parse(vec![test_keys::rsa_1024_jwk()]).unwrap_err();
        assert!(weak.to_string().contains("under 2048"), "{weak}");
        assert!(parse(vec![]).is_err());
        assert!(Jwks::parse("not json").is_err());
        assert!(Jwks::parse(r#"{"kty":"EC"}"#).is_err());
    }

    #[test]
    fn refuses_off_curve_and_malformed_ec_points() {
        let mut off = ec_jwk("off");
        off["y"] = URL_SAFE_NO_PAD.encode([7u8; 32]).into();
        assert!(
            parse(vec![off])
                .unwrap_err()
                .to_string()
                .contains("not on the P-256 curve")
        );
        let mut short = ec_jwk("short");
        short["x"] = "AAAA".into();
        assert!(parse(vec![short]).is_err());
        let mut padded = ec_jwk("padded");
        padded["x"] = format!("{}=", padded["x"].as_str().unwrap()).into();
        assert!(parse(vec![padded]).is_err());
    }
}
