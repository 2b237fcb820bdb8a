//! Which certificate authorities an outbound connection trusts: the platform's store, the
//! Mozilla set shipped in `webpki-roots`, and explicit CA files, in the combinations Spin's
//! `[[client_tls]]` allows (`spin/crates/factor-outbound-networking/src/tls.rs`).

use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;

/// The trust anchors of one outbound TLS configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roots {
    /// The operating system's store (`ca_use_platform_roots`).
    pub platform: bool,
    /// The `webpki-roots` Mozilla set (`ca_use_webpki_roots`).
    pub webpki: bool,
    /// Extra CA certificates (`ca_roots_file`), trusted in addition to the sets above.
    pub extra: Vec<CertificateDer<'static>>,
}

impl Roots {
    /// What an unconfigured `(component, host)` pair trusts on Spin: platform and webpki roots.
    pub fn spin_default() -> Self {
        Self {
            platform: true,
            webpki: true,
            extra: Vec::new(),
        }
    }

    /// Whether no anchor at all is configured (Spin refuses such an entry).
    pub fn is_empty(&self) -> bool {
        !self.platform && !self.webpki && self.extra.is_empty()
    }

    /// The root store.
    ///
    /// # Errors
    /// An explicit CA certificate rustls cannot use as a trust anchor.
    pub fn store(&self) -> Result<RootCertStore, rustls::Error> {
        let mut store = RootCertStore::empty();
        if self.webpki {
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        if self.platform {
            // Unparsable entries of the system store are skipped, as rustls-platform-verifier
            // (Spin's choice) skips them.
            store.add_parsable_certificates(platform_roots().iter().cloned());
        }
        for cert in &self.extra {
            store.add(cert.clone())?;
        }
        Ok(store)
    }
}

/// The platform's CA certificates, read once per process (`rustls-native-certs`: on Linux the
/// distribution bundle, honouring `SSL_CERT_FILE` / `SSL_CERT_DIR`). Errors reading it leave
/// it empty or partial and are logged once.
fn platform_roots() -> Arc<Vec<CertificateDer<'static>>> {
    static ROOTS: OnceLock<Arc<Vec<CertificateDer<'static>>>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            if let Some(error) = found.errors.first() {
                crate::log::warn(
                    "tls",
                    &format!("platform CA store read with errors (first: {error})"),
                );
            }
            Arc::new(found.certs)
        })
        .clone()
}
