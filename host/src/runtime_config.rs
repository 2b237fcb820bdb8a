//! Runtime configuration in Spin's format (`spin up --runtime-config-file`): which backend each
//! key-value store and SQLite database label uses (a database may be a file or a libSQL server,
//! `sqlite_database.rs`), and the `[[client_tls]]` tables of outbound TLS
//! ([`crate::tls::client`]). Without a file, Spin's defaults apply:
//! `default` store → SQLite file `<state>/sqlite_key_value.db`, `default` database →
//! `<state>/sqlite_db.db`, where `<state>` is `.spin/` next to the manifest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::tls::client::{self, ClientTlsEntry};

mod sqlite_database;

pub use sqlite_database::{LibsqlConfig, SqliteDatabaseConfig, SqliteDatabaseConfigError};

/// Backend of one key-value store label.
#[derive(Debug, Clone, PartialEq)]
pub enum KvBackendConfig {
    /// A SQLite file (Spin's `type = "spin"`).
    Sqlite(PathBuf),
    /// A Redis server (`type = "redis"`).
    Redis(String),
}

/// Backends for every label the application may use.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Key-value stores by label.
    pub key_value_stores: BTreeMap<String, KvBackendConfig>,
    /// SQLite databases by label.
    pub sqlite_databases: BTreeMap<String, SqliteDatabaseConfig>,
    /// Outbound TLS per component and host, in file order (the first match wins).
    pub client_tls: Vec<ClientTlsEntry>,
}

#[derive(Deserialize)]
struct RawRuntimeConfig {
    #[serde(default)]
    key_value_store: BTreeMap<String, RawStore>,
    #[serde(default)]
    sqlite_database: BTreeMap<String, toml::Table>,
    #[serde(default)]
    client_tls: Vec<toml::Table>,
}

#[derive(Deserialize)]
struct RawStore {
    #[serde(rename = "type")]
    kind: String,
    path: Option<String>,
    url: Option<String>,
}

impl RuntimeConfig {
    /// Spin's defaults under `state_dir`, overlaid with `file` if given. Relative paths in the
    /// file resolve against the file's directory, as Spin does.
    pub fn load(file: Option<&Path>, state_dir: &Path) -> Result<Self> {
        let mut config = Self {
            key_value_stores: BTreeMap::from([(
                "default".to_string(),
                KvBackendConfig::Sqlite(state_dir.join("sqlite_key_value.db")),
            )]),
            sqlite_databases: BTreeMap::from([(
                "default".to_string(),
                SqliteDatabaseConfig::File(state_dir.join("sqlite_db.db")),
            )]),
            client_tls: Vec::new(),
        };
        let Some(file) = file else { return Ok(config) };
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read runtime config {}", file.display()))?;
        let raw: RawRuntimeConfig = toml::from_str(&text)
            .with_context(|| format!("invalid runtime config {}", file.display()))?;
        let base = file.parent().unwrap_or(Path::new("."));
        let resolve = |p: &str| {
            let p = Path::new(p);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        for (label, store) in raw.key_value_store {
            let backend = match (store.kind.as_str(), store.path, store.url) {
                ("spin", path, _) => KvBackendConfig::Sqlite(
                    path.map(|p| resolve(&p))
                        .unwrap_or_else(|| state_dir.join(format!("kv_{label}.db"))),
                ),
                ("redis", _, Some(url)) => KvBackendConfig::Redis(url),
                ("redis", _, None) => {
                    bail!("[key_value_store.{label}] type = \"redis\" needs `url`")
                }
                (other, _, _) => bail!(
                    "[key_value_store.{label}] type = \"{other}\" is not supported by order-host (spin, redis are)"
                ),
            };
            config.key_value_stores.insert(label, backend);
        }
        for (label, table) in raw.sqlite_database {
            let db = sqlite_database::parse(&label, &table, base, state_dir)
                .with_context(|| format!("invalid runtime config {}", file.display()))?;
            config.sqlite_databases.insert(label, db);
        }
        config.client_tls = client::parse_all(raw.client_tls, base)
            .with_context(|| format!("invalid runtime config {}", file.display()))?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runtime config SpinKube mounts (`deploy/spinkube/runtime-config-secret.yaml`, key
    /// `runtime-config.toml`) reads as Spin 4.1 reads it: key-value on Redis, SQLite on libSQL
    /// over HTTPS with a token. (`tests/deploy.rs` checks the rest of the deployment.)
    #[test]
    fn the_spinkube_runtime_config_secret_reads_with_redis_and_libsql() {
        let path = crate::test_support::repository_root()
            .join("deploy/spinkube/runtime-config-secret.yaml");
        let yaml = std::fs::read_to_string(&path).unwrap();
        let secret: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
        let text = secret["stringData"]["runtime-config.toml"]
            .as_str()
            .expect("stringData.runtime-config.toml");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("runtime-config.toml");
        std::fs::write(&file, text).unwrap();
        let config = RuntimeConfig::load(Some(&file), dir.path()).expect("a valid runtime config");
        match &config.key_value_stores["default"] {
            KvBackendConfig::Redis(url) => assert!(url.starts_with("redis://"), "{url}"),
            other => panic!("key-value `default` must be Redis: {other:?}"),
        }
        match &config.sqlite_databases["default"] {
            SqliteDatabaseConfig::Libsql(libsql) => {
                assert!(libsql.url.starts_with("https://"), "{}", libsql.url);
                assert!(!libsql.token.is_empty());
            }
            other => panic!("SQLite `default` must be libSQL: {other:?}"),
        }
    }

    #[test]
    fn defaults_live_under_the_state_dir() {
        let c = RuntimeConfig::load(None, Path::new("/s")).unwrap();
        assert_eq!(
            c.key_value_stores["default"],
            KvBackendConfig::Sqlite("/s/sqlite_key_value.db".into())
        );
        assert_eq!(
            c.sqlite_databases["default"],
            SqliteDatabaseConfig::File("/s/sqlite_db.db".into())
        );
    }

    #[test]
    fn file_selects_redis_and_paths_relative_to_itself() {
        let dir = std::env::temp_dir().join(format!("rc-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("rc.toml");
        std::fs::write(
            &file,
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:6379\"\n\
             [sqlite_database.default]\ntype = \"spin\"\npath = \"data/orders.db\"\n",
        )
        .unwrap();
        let c = RuntimeConfig::load(Some(&file), Path::new("/s")).unwrap();
        assert_eq!(
            c.key_value_stores["default"],
            KvBackendConfig::Redis("redis://127.0.0.1:6379".into())
        );
        assert_eq!(
            c.sqlite_databases["default"],
            SqliteDatabaseConfig::File(dir.join("data/orders.db"))
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn client_tls_files_resolve_next_to_the_file_and_errors_name_file_table_and_field() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tls")).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).unwrap();
        std::fs::write(dir.path().join("tls/ca.pem"), ca.pem()).unwrap();
        let file = dir.path().join("rc.toml");
        std::fs::write(
            &file,
            "[[client_tls]]\ncomponent_ids = [\"order-api\"]\nhosts = [\"payments.internal\"]\n\
             ca_roots_file = \"tls/ca.pem\"\n",
        )
        .unwrap();
        let c = RuntimeConfig::load(Some(&file), Path::new("/s")).unwrap();
        assert_eq!(c.client_tls.len(), 1);
        assert_eq!(c.client_tls[0].roots.extra.len(), 1);

        std::fs::write(
            &file,
            "[[client_tls]]\ncomponent_ids = [\"order-api\"]\nhosts = [\"payments.internal:443\"]\n",
        )
        .unwrap();
        let err = format!(
            "{:#}",
            RuntimeConfig::load(Some(&file), Path::new("/s")).unwrap_err()
        );
        assert!(err.contains("rc.toml"), "{err}");
        assert!(
            err.contains("[[client_tls]] entry 1, field `hosts`"),
            "{err}"
        );
    }

    #[test]
    fn libsql_database_is_read_from_the_file_and_its_errors_name_file_table_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rc.toml");
        std::fs::write(
            &file,
            "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"https://orders-db.example\"\n\
             token = \"tok\"\n",
        )
        .unwrap();
        let c = RuntimeConfig::load(Some(&file), Path::new("/s")).unwrap();
        assert_eq!(
            c.sqlite_databases["default"],
            SqliteDatabaseConfig::Libsql(LibsqlConfig {
                url: "https://orders-db.example".into(),
                token: "tok".into(),
            })
        );

        std::fs::write(
            &file,
            "[sqlite_database.orders]\ntype = \"libsql\"\nurl = \"https://orders-db.example\"\n",
        )
        .unwrap();
        let err = format!(
            "{:#}",
            RuntimeConfig::load(Some(&file), Path::new("/s")).unwrap_err()
        );
        assert!(err.contains("rc.toml"), "{err}");
        assert!(
            err.contains("[sqlite_database.orders] type = \"libsql\": field `token` is required"),
            "{err}"
        );
    }

    #[test]
    fn unsupported_type_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("rc-test2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("rc.toml");
        std::fs::write(
            &file,
            "[key_value_store.default]\ntype = \"azure_cosmos\"\n",
        )
        .unwrap();
        let err = RuntimeConfig::load(Some(&file), Path::new("/s")).unwrap_err();
        assert!(format!("{err:#}").contains("azure_cosmos"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
