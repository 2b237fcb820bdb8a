//! Inbound TLS: `order-host up --tls-cert FILE --tls-key FILE` serves HTTPS as `spin up` does
//! (`spin/crates/trigger-http/src/tls.rs`: a PEM certificate chain and a PEM private key,
//! PKCS#8 in Spin's words, PKCS#1 and SEC1 read too), and `--tls-client-ca FILE`, which Spin
//! does not have, makes the handshake require a client certificate chained to a CA in that
//! file. A refused handshake is logged with its reason and the connection closed: no request
//! on it reaches a component.
//!
//! On Spin and SpinKube, mutual TLS for inbound calls is the job of the ingress or service
//! mesh in front of the app; `--tls-client-ca` gives the local host the same gate.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use super::pem::{PemFileError, load_certs, load_key};
use super::roots::Roots;

pub use tokio_rustls::TlsAcceptor;

/// How long a client has to finish the TLS handshake before its connection is dropped, so a
/// client that connects and stays silent does not hold a task forever.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The inbound TLS files, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundTls {
    /// `--tls-cert` / `SPIN_TLS_CERT`: the server certificate chain, PEM, leaf first.
    pub cert: PathBuf,
    /// `--tls-key` / `SPIN_TLS_KEY`: its private key, PEM.
    pub key: PathBuf,
    /// `--tls-client-ca`: CA certificates (PEM) a client certificate must chain to; `None`
    /// asks for no client certificate (Spin's behaviour).
    pub client_ca: Option<PathBuf>,
}

/// Inbound TLS files that cannot be used; each names its flag.
#[derive(Debug, thiserror::Error)]
pub enum InboundTlsError {
    /// The certificate file.
    #[error("--tls-cert: {0}")]
    Cert(PemFileError),
    /// The key file.
    #[error("--tls-key: {0}")]
    Key(PemFileError),
    /// The client CA file.
    #[error("--tls-client-ca: {0}")]
    ClientCa(PemFileError),
    /// rustls cannot build a client verifier from the CA file (e.g. not a CA certificate).
    #[error("--tls-client-ca: rejected by rustls: {0}")]
    ClientCaRejected(rustls::server::VerifierBuilderError),
    /// rustls refused the certificate and key (e.g. a key that does not match).
    #[error("--tls-cert / --tls-key: rejected by rustls: {0}")]
    CertRejected(rustls::Error),
}

impl InboundTls {
    /// Reads the files and builds the acceptor.
    ///
    /// # Errors
    /// See [`InboundTlsError`].
    pub fn acceptor(&self) -> Result<TlsAcceptor, InboundTlsError> {
        let certs = load_certs(&self.cert).map_err(InboundTlsError::Cert)?;
        let key = load_key(&self.key).map_err(InboundTlsError::Key)?;
        let builder = ServerConfig::builder_with_provider(super::provider())
            .with_safe_default_protocol_versions()
            .map_err(InboundTlsError::CertRejected)?;
        let builder = match &self.client_ca {
            Some(path) => {
                let roots = Roots {
                    extra: load_certs(path).map_err(InboundTlsError::ClientCa)?,
                    ..Roots::default()
                };
                let store = roots.store().map_err(InboundTlsError::CertRejected)?;
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(store), super::provider())
                        .build()
                        .map_err(InboundTlsError::ClientCaRejected)?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let config = builder
            .with_single_cert(certs, key)
            .map_err(InboundTlsError::CertRejected)?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// Runs the server side of the handshake on an accepted connection. A refused or timed-out
/// handshake is logged (client address and rustls' reason, e.g. "peer sent no certificates"
/// or "invalid peer certificate: UnknownIssuer") and yields `None`.
pub(crate) async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    client: SocketAddr,
) -> Option<TlsStream<TcpStream>> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(error)) => {
            let reason = crate::outbound_https::rustls_error(&error)
                .map(ToString::to_string)
                .unwrap_or_else(|| error.to_string());
            crate::log::warn(
                "http",
                &format!("TLS handshake with {client} refused: {reason}"),
            );
            None
        }
        Err(_) => {
            crate::log::warn(
                "http",
                &format!(
                    "TLS handshake with {client} not finished within {} s: connection closed",
                    HANDSHAKE_TIMEOUT.as_secs()
                ),
            );
            None
        }
    }
}
