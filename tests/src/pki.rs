//! A test PKI made at test time with rcgen (nothing secret is checked in): certificate
//! authorities, the server and client certificates they issue, and the harness's HTTPS client.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A certificate authority (ECDSA P-256, self-signed).
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its private key, as PEM.
#[derive(Clone)]
pub struct Identity {
    /// The certificate (the leaf only: the CA is the trust anchor).
    pub cert_pem: String,
    /// Its private key, PKCS#8.
    pub key_pem: String,
}

impl TestCa {
    /// A new CA named `name` (its common name).
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// Writes the CA certificate as `<dir>/<name>` and returns the path.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, self.cert_pem()).expect("write CA certificate");
        path
    }

    /// A server certificate for `names` (host names or IP addresses, e.g. `127.0.0.1`).
    pub fn server(&self, names: &[&str]) -> Identity {
        self.issue(names, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate for `name` (common name and DNS name).
    pub fn client(&self, name: &str) -> Identity {
        self.issue(&[name], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Identity {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].as_str());
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &*self.issuer).expect("leaf");
        Identity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

impl Identity {
    /// Writes `<dir>/<stem>.pem` and `<dir>/<stem>.key`; returns (certificate, key) paths.
    pub fn write(&self, dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{stem}.pem"));
        let key = dir.join(format!("{stem}.key"));
        std::fs::write(&cert, &self.cert_pem).expect("write certificate");
        std::fs::write(&key, &self.key_pem).expect("write key");
        (cert, key)
    }

    /// The simulators' TLS settings: serve with this (server) identity and, with `client_ca`,
    /// require a client certificate chained to it.
    pub fn simulator_tls(&self, client_ca: Option<&TestCa>) -> simulators::ServerTls {
        simulators::ServerTls {
            cert_pem: self.cert_pem.clone(),
            key_pem: self.key_pem.clone(),
            client_ca_pem: client_ca.map(TestCa::cert_pem),
        }
    }
}

/// How the harness's HTTP client does TLS: the CA it trusts and the certificate it presents.
#[derive(Clone)]
pub struct ClientTls {
    /// The only CA the client trusts.
    pub trust_pem: String,
    /// The client certificate, if any.
    pub identity: Option<Identity>,
}

impl ClientTls {
    /// Trusts `ca`, presents `identity`.
    pub fn new(ca: &TestCa, identity: Option<&Identity>) -> Self {
        Self {
            trust_pem: ca.cert_pem(),
            identity: identity.cloned(),
        }
    }
}

/// The harness's HTTP client: statuses are answers (not errors), 30 s overall limit, and with
/// `tls` the given trust and client certificate.
pub(crate) fn agent(tls: Option<&ClientTls>) -> ureq::Agent {
    use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)));
    if let Some(tls) = tls {
        let root = Certificate::from_pem(tls.trust_pem.as_bytes()).expect("CA PEM");
        let client = tls.identity.as_ref().map(|id| {
            let cert = Certificate::from_pem(id.cert_pem.as_bytes()).expect("client PEM");
            let key = PrivateKey::from_pem(id.key_pem.as_bytes()).expect("client key PEM");
            ClientCert::new_with_certs(&[cert], key)
        });
        config = config.tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::Specific(Arc::new(vec![root])))
                .client_cert(client)
                .build(),
        );
    }
    config.build().into()
}
