//! TLS in `order-host`, configured as Spin 4.1 configures it so that the same files drive both
//! hosts:
//!
//! - **outbound** ([`client`]): the runtime config's `[[client_tls]]` tables choose, per
//!   component and host, which roots a `https://` call trusts and which client certificate it
//!   presents (mutual TLS);
//! - **inbound** ([`server`]): `order-host up --tls-cert FILE --tls-key FILE` serves HTTPS
//!   (Spin's flags), and `--tls-client-ca FILE` (beyond Spin) requires a client certificate
//!   chained to that CA.
//!
//! Everything uses rustls with the `ring` provider (the one wasmtime-wasi-http already links).

pub mod client;
mod pem;
pub mod roots;
pub mod server;

pub use pem::PemFileError;

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// The crypto provider of every TLS configuration here: rustls' `ring` provider, named
/// explicitly so that no process-wide default has to be installed.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
