//! HTTPS for the simulators: a server certificate (from a test CA the caller made) and,
//! optionally, a required client certificate chained to a given CA, so tests drive the real
//! mutual-TLS path of `order-host` against them.

use std::fmt;
use std::io;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// The TLS identity of the simulators, as PEM text. Every simulator started with it serves
/// `https://` (its [`url`](crate::Simulator::url) says so).
#[derive(Clone, PartialEq, Eq)]
pub struct ServerTls {
    /// The server certificate chain, leaf first. Its subject alternative names must cover
    /// `127.0.0.1` (the simulators' address) for clients to accept it.
    pub cert_pem: String,
    /// The leaf's private key (PKCS#8, PKCS#1 or SEC1).
    pub key_pem: String,
    /// CA certificates a client certificate must chain to. `Some`: the handshake requires one
    /// and refuses any other; `None`: no client certificate is asked for.
    pub client_ca_pem: Option<String>,
}

impl fmt::Debug for ServerTls {
    /// Never prints the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("requires_client_cert", &self.client_ca_pem.is_some())
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// The acceptor every simulator's connections go through.
    ///
    /// # Errors
    /// `InvalidInput` naming the part (certificate, key, client CA) rustls cannot use.
    pub(crate) fn acceptor(&self) -> io::Result<TlsAcceptor> {
        let invalid = |what: &str, e: &dyn fmt::Display| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("simulator TLS {what}: {e}"),
            )
        };
        let chain = certs(&self.cert_pem).map_err(|e| invalid("certificate", &e))?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| invalid("key", &e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("versions", &e))?;
        let builder = match &self.client_ca_pem {
            Some(pem) => {
                let mut roots = rustls::RootCertStore::empty();
                for ca in certs(pem).map_err(|e| invalid("client CA", &e))? {
                    roots.add(ca).map_err(|e| invalid("client CA", &e))?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| invalid("client CA", &e))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let config = builder
            .with_single_cert(chain, key)
            .map_err(|e| invalid("certificate and key", &e))?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

fn certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, rustls_pki_types::pem::Error> {
    CertificateDer::pem_slice_iter(pem.as_bytes()).collect()
}
