//! `https://` for guests: which TLS configuration a call uses, and the pooled clients that
//! carry them.
//!
//! As on Spin (`spin/crates/factor-outbound-http/src/wasi.rs`), the configuration is chosen by
//! the calling component's id and the request URL's host (no port): the first
//! `[[client_tls]]` table naming both wins; any other pair gets Spin's default (platform and
//! webpki roots, no client certificate). A component composed into another runs inside it and
//! calls with the outer component's id.
//!
//! Each table gets a client (and so a connection pool) of its own, and the default another:
//! a kept-alive connection made under one table's certificate and roots is never reused for a
//! call another table (or none) governs. Spin keys its one pool by origin alone, so there a
//! connection can outlive the configuration that made it; here it cannot.

use std::collections::HashMap;
use std::sync::Arc;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use crate::outbound_http::{POOL_IDLE, POOL_MAX_IDLE_PER_HOST};
use crate::tls::client::{ClientTlsEntry, default_config};

/// A pooled HTTP/1.1-over-TLS client bound to one rustls configuration.
pub(crate) type HttpsClient = Client<HttpsConnector<HttpConnector>, WasiBody>;

/// The HTTPS clients of an application: one per `[[client_tls]]` table and one for Spin's
/// default configuration.
pub struct HttpsClients {
    by_component: HashMap<String, Arc<HashMap<String, HttpsClient>>>,
    default: HttpsClient,
}

impl HttpsClients {
    /// Clients for `entries` (in runtime-config order: the first table naming a
    /// `(component, host)` pair wins, as on Spin).
    ///
    /// # Errors
    /// Only if rustls refuses its default configuration.
    pub fn new(entries: &[ClientTlsEntry]) -> Result<Self, rustls::Error> {
        let default = client(default_config()?);
        let mut by_component: HashMap<String, HashMap<String, HttpsClient>> = HashMap::new();
        for entry in entries {
            let for_entry = client(entry.config());
            for component in &entry.component_ids {
                let hosts = by_component.entry(component.clone()).or_default();
                for host in &entry.hosts {
                    hosts
                        .entry(host.clone())
                        .or_insert_with(|| for_entry.clone());
                }
            }
        }
        Ok(Self {
            by_component: by_component
                .into_iter()
                .map(|(id, hosts)| (id, Arc::new(hosts)))
                .collect(),
            default,
        })
    }

    /// What component `id` uses.
    pub fn for_component(&self, id: &str) -> ComponentHttps {
        ComponentHttps {
            hosts: self.by_component.get(id).cloned(),
            default: self.default.clone(),
        }
    }
}

/// The HTTPS clients one component uses, by host.
#[derive(Clone)]
pub struct ComponentHttps {
    hosts: Option<Arc<HashMap<String, HttpsClient>>>,
    default: HttpsClient,
}

impl ComponentHttps {
    /// The client for a request to `host` (the URL's host, without port; compared exactly,
    /// as Spin compares it).
    pub(crate) fn client(&self, host: &str) -> &HttpsClient {
        self.hosts
            .as_ref()
            .and_then(|hosts| hosts.get(host))
            .unwrap_or(&self.default)
    }
}

fn client(config: Arc<rustls::ClientConfig>) -> HttpsClient {
    let mut tcp = HttpConnector::new();
    tcp.set_nodelay(true);
    // The TLS layer above checks the scheme; the TCP connector sees `https://` URIs.
    tcp.enforce_http(false);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST)
        .build(HttpsConnector::from((tcp, config)))
}

/// The TLS failure somewhere in `error`'s cause chain, if it is one. TLS errors reach here
/// wrapped in `io::Error`s (tokio-rustls, hyper-rustls), whose inner error is not always
/// exposed as a `source`, so those are unwrapped too.
pub(crate) fn rustls_error<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && let Some(tls) = rustls_error(inner)
        {
            return Some(tls);
        }
        current = e.source();
    }
    None
}

/// The `wasi:http` error code of a TLS failure: the peer's certificate refused, an alert the
/// peer sent (e.g. `CertificateRequired` when we presented none), or anything else in the
/// protocol.
pub(crate) fn tls_error_code(error: &rustls::Error) -> HttpError {
    match error {
        rustls::Error::InvalidCertificate(_) => HttpError::TlsCertificateError,
        rustls::Error::AlertReceived(alert) => HttpError::TlsAlertReceived {
            alert_id: Some(u8::from(*alert)),
            alert_message: Some(format!("{alert:?}")),
        },
        _ => HttpError::TlsProtocolError,
    }
}
