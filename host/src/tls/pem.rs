//! Reading PEM files: certificate chains and private keys, as Spin reads them
//! (`rustls_pki_types::pem::PemObject`: every `CERTIFICATE` section of a file; the first
//! private key of a file, PKCS#8, PKCS#1 or SEC1).

use std::path::{Path, PathBuf};

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A PEM file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PemFileError {
    /// Missing, unreadable or malformed.
    #[error("cannot load {path}: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: pem::Error,
    },
    /// Readable, but without a single certificate.
    #[error("no certificate in {path}")]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
}

/// Every certificate in `path`, in file order (leaf first for a chain). A file without one is
/// an error: it cannot be what the operator meant.
pub(crate) fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PemFileError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|source| PemFileError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
    if certs.is_empty() {
        return Err(PemFileError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// The first private key in `path`.
pub(crate) fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, PemFileError> {
    PrivateKeyDer::from_pem_file(path).map_err(|source| PemFileError::Unreadable {
        path: path.to_path_buf(),
        source,
    })
}
