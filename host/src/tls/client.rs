//! The runtime config's `[[client_tls]]` tables, read and validated as Spin 4.1 reads them
//! (`spin/crates/factor-outbound-networking/src/runtime_config/spin.rs` and `tls.rs`):
//!
//! ```toml
//! [[client_tls]]
//! component_ids = ["order-api"]          # kebab-case ids, not empty
//! hosts = ["payments.internal"]          # host names or IPs, no port, not empty
//! ca_use_platform_roots = false          # default: true unless ca_roots_file is given
//! ca_use_webpki_roots = false            # default: false
//! ca_roots_file = "certs/internal-ca.pem"
//! client_cert_file = "certs/order-service.pem"       # both or neither
//! client_private_key_file = "certs/order-service.key"
//! ```
//!
//! Paths are relative to the runtime config file. Unknown fields, empty lists, a certificate
//! without its key (or the reverse), a table that would trust no root at all, and files rustls
//! cannot use are refused at start-up, naming the table and the field.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ClientConfig;
use rustls_pki_types::CertificateDer;
use serde::Deserialize;

use super::pem::{PemFileError, load_certs, load_key};
use super::roots::Roots;

/// One validated `[[client_tls]]` table, its files read and its rustls configuration built.
#[derive(Debug, Clone)]
pub struct ClientTlsEntry {
    /// Components it applies to. A component composed into another (Spin `dependencies`)
    /// runs inside it, so its calls use the entry of the component it is composed into.
    pub component_ids: Vec<String>,
    /// Hosts it applies to: compared with the request URL's host, exactly (no port).
    pub hosts: Vec<String>,
    /// The trust anchors.
    pub roots: Roots,
    /// The client certificate chain presented for mutual TLS (leaf first), if any. The key
    /// stays inside [`Self::config`] only.
    pub client_cert_chain: Option<Vec<CertificateDer<'static>>>,
    config: Arc<ClientConfig>,
}

impl ClientTlsEntry {
    /// The rustls configuration of the table.
    pub fn config(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }
}

/// A `[[client_tls]]` table that cannot be used. `entry` counts from 1 in file order.
#[derive(Debug, thiserror::Error)]
pub enum ClientTlsError {
    /// Not a table of the expected shape: an unknown or missing field, a wrong type.
    #[error("[[client_tls]] entry {entry}: {message}")]
    Shape {
        /// Which table (1-based).
        entry: usize,
        /// The TOML error, naming the field.
        message: String,
    },
    /// A field whose value cannot be used.
    #[error("[[client_tls]] entry {entry}, field `{field}`: {problem}")]
    Field {
        /// Which table (1-based).
        entry: usize,
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        problem: FieldProblem,
    },
}

/// What is wrong with one field of a `[[client_tls]]` table.
#[derive(Debug, thiserror::Error)]
pub enum FieldProblem {
    /// `component_ids` or `hosts` is `[]` (Spin: "list may not be empty").
    #[error("the list may not be empty")]
    EmptyList,
    /// Not a Spin component id (kebab-case words starting with a letter).
    #[error("invalid component id {id:?}: {reason}")]
    InvalidComponentId {
        /// The value.
        id: String,
        /// Why.
        reason: String,
    },
    /// Not a URI authority, or one with a port (Spin: "ports not currently supported").
    #[error("invalid TLS host {host:?}: {reason}")]
    InvalidHost {
        /// The value.
        host: String,
        /// Why.
        reason: String,
    },
    /// A client certificate without its key, or a key without its certificate.
    #[error("given without `{0}`")]
    Unpaired(&'static str),
    /// `ca_use_platform_roots = false` with neither webpki roots nor a CA file: nothing would
    /// be trusted (Spin refuses the same table).
    #[error(
        "no root would be trusted: set `ca_use_platform_roots`, `ca_use_webpki_roots` or `ca_roots_file`"
    )]
    NoRoots,
    /// A file that cannot be read or holds nothing usable.
    #[error(transparent)]
    File(#[from] PemFileError),
    /// rustls refused the material (e.g. a key that does not match the certificate).
    #[error("rejected by rustls: {0}")]
    Rustls(#[from] rustls::Error),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClientTls {
    component_ids: Vec<String>,
    hosts: Vec<String>,
    ca_use_platform_roots: Option<bool>,
    ca_use_webpki_roots: Option<bool>,
    ca_roots_file: Option<PathBuf>,
    client_cert_file: Option<PathBuf>,
    client_private_key_file: Option<PathBuf>,
}

/// Reads every `[[client_tls]]` table, in file order. Relative paths resolve against `base`
/// (the runtime config file's directory).
///
/// # Errors
/// The first table that cannot be used, see [`ClientTlsError`].
pub fn parse_all(
    tables: Vec<toml::Table>,
    base: &Path,
) -> Result<Vec<ClientTlsEntry>, ClientTlsError> {
    tables
        .into_iter()
        .enumerate()
        .map(|(index, table)| parse(index + 1, table, base))
        .collect()
}

fn parse(entry: usize, table: toml::Table, base: &Path) -> Result<ClientTlsEntry, ClientTlsError> {
    let raw: RawClientTls =
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ClientTlsError::Shape {
                entry,
                message: e.message().to_string(),
            })?;
    let field = |field: &'static str| {
        move |problem: FieldProblem| ClientTlsError::Field {
            entry,
            field,
            problem,
        }
    };

    if raw.component_ids.is_empty() {
        return Err(field("component_ids")(FieldProblem::EmptyList));
    }
    for id in &raw.component_ids {
        crate::dependency_name::check_kebab(id).map_err(|reason| {
            field("component_ids")(FieldProblem::InvalidComponentId {
                id: id.clone(),
                reason,
            })
        })?;
    }
    if raw.hosts.is_empty() {
        return Err(field("hosts")(FieldProblem::EmptyList));
    }
    for host in &raw.hosts {
        check_host(host).map_err(|reason| {
            field("hosts")(FieldProblem::InvalidHost {
                host: host.clone(),
                reason,
            })
        })?;
    }

    // Spin's defaults: platform roots unless a CA file is given; webpki roots only on request.
    let (platform, webpki) = match (raw.ca_use_platform_roots, raw.ca_use_webpki_roots) {
        (Some(platform), Some(webpki)) => (platform, webpki),
        (Some(platform), None) => (platform, false),
        (None, Some(webpki)) => (false, webpki),
        (None, None) => (raw.ca_roots_file.is_none(), false),
    };
    let resolve = |path: &Path| base.join(path);
    let extra = match &raw.ca_roots_file {
        Some(path) => load_certs(&resolve(path)).map_err(|e| field("ca_roots_file")(e.into()))?,
        None => Vec::new(),
    };
    let roots = Roots {
        platform,
        webpki,
        extra,
    };

    let client_cert = match (&raw.client_cert_file, &raw.client_private_key_file) {
        (Some(cert), Some(key)) => Some((
            load_certs(&resolve(cert)).map_err(|e| field("client_cert_file")(e.into()))?,
            load_key(&resolve(key)).map_err(|e| field("client_private_key_file")(e.into()))?,
        )),
        (None, None) => None,
        (Some(_), None) => {
            return Err(field("client_cert_file")(FieldProblem::Unpaired(
                "client_private_key_file",
            )));
        }
        (None, Some(_)) => {
            return Err(field("client_private_key_file")(FieldProblem::Unpaired(
                "client_cert_file",
            )));
        }
    };

    if roots.is_empty() {
        return Err(field("ca_use_platform_roots")(FieldProblem::NoRoots));
    }
    let store = roots
        .store()
        .map_err(|e| field("ca_roots_file")(e.into()))?;
    let builder = ClientConfig::builder_with_provider(super::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| field("hosts")(e.into()))?
        .with_root_certificates(store);
    let client_cert_chain = client_cert.as_ref().map(|(chain, _)| chain.clone());
    let config = match client_cert {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| field("client_private_key_file")(e.into()))?,
        None => builder.with_no_client_auth(),
    };
    Ok(ClientTlsEntry {
        component_ids: raw.component_ids,
        hosts: raw.hosts,
        roots,
        client_cert_chain,
        config: Arc::new(config),
    })
}

/// Spin's `validate_host`: a URI authority without a port.
fn check_host(host: &str) -> Result<(), String> {
    let authority: http::uri::Authority = host.parse().map_err(|e| format!("{e}"))?;
    if authority.port().is_some() {
        return Err("ports not currently supported".into());
    }
    Ok(())
}

/// The rustls configuration for `(component, host)` pairs no table names: Spin's default,
/// platform and webpki roots, no client certificate.
///
/// # Errors
/// Only if rustls refuses its own defaults (no supported protocol version).
pub fn default_config() -> Result<Arc<ClientConfig>, rustls::Error> {
    let store = Roots::spin_default().store()?;
    let config = ClientConfig::builder_with_provider(super::provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
