//! `[sqlite_database.<label>]` tables, read as Spin 4.1 reads them (`crates/sqlite/src/lib.rs`,
//! `RuntimeConfigResolver::get_connection_creator`): `type = "spin"` with an optional `path`, or
//! `type = "libsql"` with `url` and `token`, both required strings, no other field, and a URL
//! that starts with `http://` or `https://` (Spin speaks to libSQL over HTTP(S) only).
//!
//! Errors name the table and the field. They never contain the token, nor the URL (which could
//! carry credentials of its own): only which rule it broke.

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Backend of one SQLite database label.
#[derive(Clone, PartialEq)]
pub enum SqliteDatabaseConfig {
    /// A local SQLite file (Spin's `type = "spin"`).
    File(PathBuf),
    /// A remote libSQL server (`type = "libsql"`).
    Libsql(LibsqlConfig),
}

/// Where a `type = "libsql"` database lives and how to authenticate to it.
#[derive(Clone, PartialEq)]
pub struct LibsqlConfig {
    /// `http://…` or `https://…`: the server's Hrana-over-HTTP endpoint.
    pub url: String,
    /// Bearer token sent with every request (may be empty for a server without auth). Secret:
    /// never printed, not even by `Debug`.
    pub token: String,
}

impl fmt::Debug for LibsqlConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LibsqlConfig")
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl fmt::Debug for SqliteDatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Libsql(libsql) => f.debug_tuple("Libsql").field(libsql).finish(),
        }
    }
}

/// Why a `[sqlite_database.<label>]` table was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SqliteDatabaseConfigError {
    /// `type` is absent or not a string.
    #[error("[sqlite_database.{label}]: field `type` is required (\"spin\" or \"libsql\")")]
    MissingType {
        /// The database label.
        label: String,
    },
    /// `type` names a backend neither Spin nor order-host knows.
    #[error("[sqlite_database.{label}]: unknown database type \"{kind}\" (spin, libsql)")]
    UnknownType {
        /// The database label.
        label: String,
        /// The given type.
        kind: String,
    },
    /// A field the backend requires is absent.
    #[error("[sqlite_database.{label}] type = \"{kind}\": field `{field}` is required")]
    MissingField {
        /// The database label.
        label: String,
        /// The backend type.
        kind: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// A field is not a string.
    #[error("[sqlite_database.{label}]: field `{field}` must be a string")]
    NotAString {
        /// The database label.
        label: String,
        /// The field.
        field: String,
    },
    /// A field the backend does not take (Spin's `deny_unknown_fields`).
    #[error(
        "[sqlite_database.{label}] type = \"{kind}\": unknown field `{field}` (expected {expected})"
    )]
    UnknownField {
        /// The database label.
        label: String,
        /// The backend type.
        kind: &'static str,
        /// The unexpected field.
        field: String,
        /// The fields the backend takes.
        expected: &'static str,
    },
    /// The libSQL URL's scheme is not `http` or `https`.
    #[error(
        "[sqlite_database.{label}] type = \"libsql\": field `url` must start with `https://` or `http://` (Spin talks to libSQL databases over HTTP(S) only)"
    )]
    UnsupportedUrl {
        /// The database label.
        label: String,
    },
}

/// Reads one `[sqlite_database.<label>]` table. Relative `path`s resolve against `base` (the
/// runtime config file's directory); `type = "spin"` without a path is
/// `<state_dir>/sqlite_<label>.db`.
pub(crate) fn parse(
    label: &str,
    table: &toml::Table,
    base: &Path,
    state_dir: &Path,
) -> Result<SqliteDatabaseConfig, SqliteDatabaseConfigError> {
    let label_owned = || label.to_string();
    let string_field = |field: &str| -> Result<Option<String>, SqliteDatabaseConfigError> {
        match table.get(field) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(SqliteDatabaseConfigError::NotAString {
                label: label_owned(),
                field: field.to_string(),
            }),
        }
    };
    let kind = match table.get("type") {
        Some(toml::Value::String(kind)) => kind.as_str(),
        _ => {
            return Err(SqliteDatabaseConfigError::MissingType {
                label: label_owned(),
            });
        }
    };
    match kind {
        "spin" => {
            let path = string_field("path")?.map(|p| {
                let p = Path::new(&p);
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    base.join(p)
                }
            });
            Ok(SqliteDatabaseConfig::File(path.unwrap_or_else(|| {
                state_dir.join(format!("sqlite_{label}.db"))
            })))
        }
        "libsql" => {
            if let Some(field) = table
                .keys()
                .find(|k| !matches!(k.as_str(), "type" | "url" | "token"))
            {
                return Err(SqliteDatabaseConfigError::UnknownField {
                    label: label_owned(),
                    kind: "libsql",
                    field: field.clone(),
                    expected: "`url`, `token`",
                });
            }
            let required = |field: &'static str| {
                string_field(field)?.ok_or(SqliteDatabaseConfigError::MissingField {
                    label: label_owned(),
                    kind: "libsql",
                    field,
                })
            };
            let url = required("url")?;
            let token = required("token")?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(SqliteDatabaseConfigError::UnsupportedUrl {
                    label: label_owned(),
                });
            }
            Ok(SqliteDatabaseConfig::Libsql(LibsqlConfig { url, token }))
        }
        other => Err(SqliteDatabaseConfigError::UnknownType {
            label: label_owned(),
            kind: other.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<SqliteDatabaseConfig, SqliteDatabaseConfigError> {
        let table: toml::Table = toml::from_str(text).expect("valid TOML");
        parse("default", &table, Path::new("/rc"), Path::new("/state"))
    }

    #[test]
    fn libsql_takes_an_http_or_https_url_and_a_token() {
        for url in [
            "http://127.0.0.1:8080",
            "https://orders-db.example.turso.io",
        ] {
            let config = read(&format!(
                "type = \"libsql\"\nurl = \"{url}\"\ntoken = \"s3cret\""
            ));
            assert_eq!(
                config,
                Ok(SqliteDatabaseConfig::Libsql(LibsqlConfig {
                    url: url.to_string(),
                    token: "s3cret".to_string(),
                }))
            );
        }
    }

    #[test]
    fn an_empty_token_is_accepted_as_spin_accepts_it() {
        let config = read("type = \"libsql\"\nurl = \"http://db:8080\"\ntoken = \"\"").unwrap();
        assert!(matches!(config, SqliteDatabaseConfig::Libsql(c) if c.token.is_empty()));
    }

    #[test]
    fn libsql_without_url_or_token_names_the_table_and_the_field() {
        let err = read("type = \"libsql\"\ntoken = \"t\"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "[sqlite_database.default] type = \"libsql\": field `url` is required"
        );
        let err = read("type = \"libsql\"\nurl = \"http://db:8080\"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "[sqlite_database.default] type = \"libsql\": field `token` is required"
        );
    }

    #[test]
    fn libsql_url_must_be_http_or_https_and_the_error_does_not_echo_it() {
        for url in [
            "libsql://db.example.turso.io",
            "ws://db:8080",
            "db:8080",
            "",
        ] {
            let err = read(&format!(
                "type = \"libsql\"\nurl = \"{url}\"\ntoken = \"t\""
            ))
            .unwrap_err();
            assert_eq!(
                err,
                SqliteDatabaseConfigError::UnsupportedUrl {
                    label: "default".into()
                },
                "{url}"
            );
            let text = err.to_string();
            assert!(text.contains("field `url`"), "{text}");
            assert!(url.is_empty() || !text.contains(url), "{text}");
        }
    }

    #[test]
    fn libsql_refuses_unknown_fields_and_non_string_values() {
        let err = read("type = \"libsql\"\nurl = \"http://db\"\ntoken = \"t\"\npath = \"x.db\"")
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `path`"), "{err}");
        let err = read("type = \"libsql\"\nurl = \"http://db\"\ntoken = 42").unwrap_err();
        assert_eq!(
            err.to_string(),
            "[sqlite_database.default]: field `token` must be a string"
        );
    }

    #[test]
    fn the_token_appears_in_no_error_and_not_in_debug_output() {
        let config = read("type = \"libsql\"\nurl = \"http://db\"\ntoken = \"tok-XYZ\"").unwrap();
        assert!(!format!("{config:?}").contains("tok-XYZ"));
        let err = read("type = \"libsql\"\nurl = \"ftp://db\"\ntoken = \"tok-XYZ\"").unwrap_err();
        assert!(!err.to_string().contains("tok-XYZ"));
        let err =
            read("type = \"libsql\"\nurl = \"http://db\"\ntoken = \"tok-XYZ\"\nx = 1").unwrap_err();
        assert!(!err.to_string().contains("tok-XYZ"));
    }

    #[test]
    fn spin_type_keeps_its_path_rules_and_unknown_types_are_named() {
        assert_eq!(
            read("type = \"spin\"\npath = \"data/o.db\""),
            Ok(SqliteDatabaseConfig::File("/rc/data/o.db".into()))
        );
        assert_eq!(
            read("type = \"spin\""),
            Ok(SqliteDatabaseConfig::File(
                "/state/sqlite_default.db".into()
            ))
        );
        let err = read("type = \"postgres\"").unwrap_err();
        assert!(err.to_string().contains("\"postgres\""), "{err}");
        let err = read("url = \"http://db\"").unwrap_err();
        assert!(err.to_string().contains("field `type`"), "{err}");
    }
}
