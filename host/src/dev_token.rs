//! The local development signing key (ARCHITECTURE §10): `order-host token` mints JWTs with
//! it, `order-host token --jwks` prints its public JWKS, and `order-host up` trusts it when no
//! other key source is configured.
//!
//! The key is an ES256 (P-256) PKCS#8 PEM at `.spin/dev-jwt-key.pem` next to the manifest,
//! created on first use with mode 0600 and never used outside local runs (`.spin/` is
//! git-ignored). Issuer and audience are the app's `jwt_issuer` / `jwt_audience` values, so
//! `SPIN_VARIABLE_JWT_ISSUER` and friends apply exactly as the running service sees them.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use auth::DevKey;

use crate::manifest::Manifest;
use crate::variables::Variables;

/// File name of the key inside `.spin/`.
pub const KEY_FILE: &str = "dev-jwt-key.pem";
/// Longest `--ttl`: the service refuses tokens that live longer than 15 minutes.
pub const MAX_TTL_S: u64 = 900;

/// `order-host token` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// Space-separated scopes, e.g. "orders:read orders:write".
    #[arg(long, required_unless_present = "jwks", conflicts_with = "jwks")]
    pub scope: Option<String>,
    /// The token's subject (the calling service).
    #[arg(long, default_value = "admin-service", conflicts_with = "jwks")]
    pub sub: String,
    /// Lifetime in seconds (at most 900).
    #[arg(long, default_value_t = MAX_TTL_S, conflicts_with = "jwks")]
    pub ttl: u64,
    /// Print the public JWKS document instead of a token.
    #[arg(long)]
    pub jwks: bool,
    /// The application manifest; the key lives in `.spin/` next to it.
    #[arg(long, default_value = "spin.toml")]
    pub manifest: PathBuf,
}

/// Runs `order-host token`: prints a token or the JWKS on stdout.
pub fn run(args: &TokenArgs) -> Result<()> {
    let manifest = Manifest::load(&args.manifest)?;
    let key = load_or_create_key(&key_path(&manifest))?;
    if args.jwks {
        println!("{}", key.public_jwks());
        return Ok(());
    }
    let vars = Variables::from_process_env(&manifest)?;
    let request = TokenRequest {
        issuer: vars
            .get("jwt_issuer")
            .unwrap_or("order-host-dev")
            .to_string(),
        audience: vars
            .get("jwt_audience")
            .unwrap_or("order-service")
            .to_string(),
        sub: args.sub.clone(),
        scope: args.scope.clone().unwrap_or_default(),
        ttl_s: args.ttl,
    };
    println!("{}", mint(&key, &request, unix_now())?);
    Ok(())
}

/// Where the development key of the app at `manifest` lives.
pub fn key_path(manifest: &Manifest) -> PathBuf {
    manifest.root.join(".spin").join(KEY_FILE)
}

/// Reads the key at `path`, or creates it (owner-only) if there is none. Creation is atomic
/// and never replaces a key: concurrent first uses all end up with the same key.
pub fn load_or_create_key(path: &Path) -> Result<DevKey> {
    if let Some(key) = read_key(path)? {
        return Ok(key);
    }
    let dir = path.parent().context("key path has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let key = DevKey::generate()?;
    // Write a private temporary file, then link it into place: the link fails if another
    // process got there first, and nobody ever reads a half-written key.
    static ATTEMPT: AtomicU64 = AtomicU64::new(0);
    let attempt = ATTEMPT.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!(".{KEY_FILE}.{}-{attempt}.tmp", std::process::id()));
    write_private(&temp, key.to_pkcs8_pem()?.as_bytes())?;
    let linked = std::fs::hard_link(&temp, path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_key(path)?.context("development key vanished while being created")
        }
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

fn read_key(path: &Path) -> Result<Option<DevKey>> {
    let pem = match std::fs::read_to_string(path) {
        Ok(pem) => pem,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    warn_if_shared(path);
    let key = DevKey::from_pkcs8_pem(&pem)
        .with_context(|| format!("{} (delete it to make a new key)", path.display()))?;
    Ok(Some(key))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0) {
        eprintln!(
            "warning: {} is readable by other users; run `chmod 600` on it",
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

/// What to put in a development token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// `iss`: the app's `jwt_issuer`.
    pub issuer: String,
    /// `aud`: the app's `jwt_audience`.
    pub audience: String,
    /// `sub`: the calling service.
    pub sub: String,
    /// `scope`: space-separated scopes.
    pub scope: String,
    /// Lifetime, seconds (1..=900).
    pub ttl_s: u64,
}

/// Signs a token for `request`, issued at `now` (seconds since the Unix epoch).
pub fn mint(key: &DevKey, request: &TokenRequest, now: i64) -> Result<String> {
    if request.ttl_s == 0 || request.ttl_s > MAX_TTL_S {
        bail!(
            "--ttl {} is out of range: the service refuses tokens that live longer than {MAX_TTL_S} seconds (15 minutes); use 1..={MAX_TTL_S}",
            request.ttl_s
        );
    }
    // RFC 6749 scope-token characters; anything else could not be sent back in a challenge.
    let scope_token_ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    };
    if let Some(bad) = request
        .scope
        .split(' ')
        .find(|s| !request.scope.is_empty() && !scope_token_ok(s))
    {
        bail!(
            "invalid scope `{bad}`: scopes are separated by single spaces and use printable ASCII except `\"` and `\\`"
        );
    }
    let ttl = i64::try_from(request.ttl_s).unwrap_or(i64::MAX);
    Ok(key.sign(&serde_json::json!({
        "iss": request.issuer,
        "aud": request.audience,
        "sub": request.sub,
        "scope": request.scope,
        "iat": now,
        "nbf": now,
        "exp": now.saturating_add(ttl),
    })))
}

/// For `order-host up`: when neither `jwt_jwks` nor `jwt_jwks_url` has a value (in
/// `overrides`, `SPIN_VARIABLE_*` or the manifest), returns `overrides` plus `jwt_jwks` = the
/// development key's JWKS, creating the key if needed; otherwise `overrides` unchanged.
pub fn with_dev_jwks(
    manifest_path: &Path,
    overrides: HashMap<String, String>,
) -> Result<HashMap<String, String>> {
    let manifest = Manifest::load(manifest_path)?;
    with_dev_jwks_from(&manifest, overrides, |key| std::env::var(key).ok())
}

fn with_dev_jwks_from(
    manifest: &Manifest,
    mut overrides: HashMap<String, String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<HashMap<String, String>> {
    let vars = Variables::resolve(manifest, |key| {
        let name = key
            .strip_prefix("SPIN_VARIABLE_")
            .map(str::to_ascii_lowercase);
        name.and_then(|n| overrides.get(&n).cloned())
            .or_else(|| env(key))
    })?;
    let configured = |name| vars.get(name).is_some_and(|v| !v.trim().is_empty());
    if configured("jwt_jwks") || configured("jwt_jwks_url") {
        return Ok(overrides);
    }
    let path = key_path(manifest);
    let key = load_or_create_key(&path)?;
    eprintln!(
        "Trusting the local development JWT key {} (kid {}); mint tokens with `order-host token --scope ...`",
        path.display(),
        key.kid()
    );
    overrides.insert("jwt_jwks".into(), key.public_jwks());
    Ok(overrides)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth::{Jwks, Validator};

    /// A fresh directory holding a manifest whose JWT variables are `vars` (TOML lines).
    fn app_dir(name: &str, vars: &str) -> (PathBuf, Manifest) {
        let dir = std::env::temp_dir().join(format!(
            "order-host-dev-token-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let text = format!(
            "spin_manifest_version = 2\n[application]\nname = \"t\"\n[variables]\n{vars}\n"
        );
        let manifest = Manifest::parse(&text, dir.clone()).unwrap();
        (dir, manifest)
    }

    fn request(ttl_s: u64) -> TokenRequest {
        TokenRequest {
            issuer: "order-host-dev".into(),
            audience: "order-service".into(),
            sub: "admin-service".into(),
            scope: "orders:read orders:write".into(),
            ttl_s,
        }
    }

    #[test]
    fn key_is_created_once_owner_only_and_then_reused() {
        let (dir, manifest) = app_dir("reuse", "");
        let path = key_path(&manifest);
        assert_eq!(path, dir.join(".spin").join(KEY_FILE));
        let first = load_or_create_key(&path).unwrap();
        let pem = std::fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let again = load_or_create_key(&path).unwrap();
        assert_eq!(again.kid(), first.kid());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            pem,
            "never rewritten"
        );
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left behind");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn concurrent_first_uses_agree_on_one_key() {
        let (dir, manifest) = app_dir("race", "");
        let path = key_path(&manifest);
        let kids: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| load_or_create_key(&path).unwrap().kid().to_string()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(kids.windows(2).all(|w| w[0] == w[1]), "{kids:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn corrupt_key_file_is_an_error_saying_what_to_do() {
        let (dir, manifest) = app_dir("corrupt", "");
        let path = key_path(&manifest);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "not a key").unwrap();
        let err = format!("{:#}", load_or_create_key(&path).unwrap_err());
        assert!(err.contains("delete it"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_printed_jwks_verifies_a_minted_token() {
        let (dir, manifest) = app_dir("verify", "");
        let key = load_or_create_key(&key_path(&manifest)).unwrap();
        let now = 1_700_000_000;
        let token = mint(&key, &request(900), now).unwrap();
        let jwks = Jwks::parse(&key.public_jwks()).unwrap();
        let claims = Validator::new("order-host-dev", "order-service")
            .validate(&token, &jwks, now + 60)
            .unwrap();
        assert_eq!(claims.sub.as_deref(), Some("admin-service"));
        assert!(claims.has_scope("orders:read") && claims.has_scope("orders:write"));
        assert_eq!(claims.exp - claims.iat, 900);
        let other = Validator::new("someone-else", "order-service").validate(&token, &jwks, now);
        assert!(other.is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn ttl_over_fifteen_minutes_or_zero_is_refused() {
        let key = DevKey::from_secret_bytes(&[9; 32]).unwrap();
        for ttl in [0, 901, 3600] {
            let err = mint(&key, &request(ttl), 0).unwrap_err().to_string();
            assert!(err.contains("900 seconds"), "{err}");
        }
        assert!(mint(&key, &request(1), 0).is_ok());
        let unscoped = TokenRequest {
            scope: String::new(),
            ..request(60)
        };
        assert!(
            mint(&key, &unscoped, 0).is_ok(),
            "a token without scopes is allowed (useful for 403 checks)"
        );
    }

    #[test]
    fn scopes_that_could_not_be_echoed_are_refused() {
        let key = DevKey::from_secret_bytes(&[9; 32]).unwrap();
        for scope in ["orders:read\"x", "a\\b", "a  b", "caf\u{e9}"] {
            let err = mint(
                &key,
                &TokenRequest {
                    scope: scope.into(),
                    ..request(60)
                },
                0,
            );
            assert!(err.is_err(), "{scope:?}");
        }
    }

    #[test]
    fn up_trusts_the_dev_key_only_when_no_key_source_is_configured() {
        let (dir, manifest) = app_dir(
            "up",
            "jwt_jwks = { default = \"\" }\njwt_jwks_url = { default = \"\" }",
        );
        let no_env = |_: &str| None;
        let trusted = with_dev_jwks_from(&manifest, HashMap::new(), no_env).unwrap();
        let key = load_or_create_key(&key_path(&manifest)).unwrap();
        assert_eq!(trusted.get("jwt_jwks"), Some(&key.public_jwks()));

        let url_env = |k: &str| {
            (k == "SPIN_VARIABLE_JWT_JWKS_URL").then(|| "http://127.0.0.1:1/jwks".to_string())
        };
        assert!(
            with_dev_jwks_from(&manifest, HashMap::new(), url_env)
                .unwrap()
                .is_empty()
        );
        let jwks_env =
            |k: &str| (k == "SPIN_VARIABLE_JWT_JWKS").then(|| "{\"keys\":[]}".to_string());
        assert!(
            with_dev_jwks_from(&manifest, HashMap::new(), jwks_env)
                .unwrap()
                .is_empty()
        );
        let preset = HashMap::from([("jwt_jwks_url".to_string(), "http://sim/jwks".to_string())]);
        assert_eq!(
            with_dev_jwks_from(&manifest, preset.clone(), no_env).unwrap(),
            preset
        );
        std::fs::remove_dir_all(dir).unwrap();

        let (dir, manifest) = app_dir("up-default", "jwt_jwks = { default = \"{}\" }");
        assert!(
            with_dev_jwks_from(&manifest, HashMap::new(), no_env)
                .unwrap()
                .is_empty(),
            "manifest default wins"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
