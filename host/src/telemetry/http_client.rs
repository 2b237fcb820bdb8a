//! The HTTP client OTLP/HTTP exports go through: hyper with the host's rustls (ring) and Spin's
//! default roots (platform + webpki, [`crate::tls::client::default_config`]), so an `https://`
//! collector works without a second TLS stack, and every export is cut at the configured
//! timeout (a collector that accepts and never answers holds one background export, no request).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};

/// Largest collector answer read (an `ExportTraceServiceResponse` is a few bytes; the limit
/// keeps a misbehaving endpoint from filling memory).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// A pooled hyper client for `http://` and `https://` collectors.
#[derive(Debug, Clone)]
pub(crate) struct OtlpHttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl OtlpHttpClient {
    /// A client whose every request (connect, send, read the answer) ends within `timeout`.
    pub(crate) fn new(timeout: Duration) -> anyhow::Result<Self> {
        let tls = crate::tls::client::default_config()?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout));
        // `From<(connector, config)>` does not force TLS: `http://` collectors stay plain.
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(HttpsConnector::from((http, tls))),
            timeout,
        })
    }
}

#[async_trait::async_trait]
impl HttpClient for OtlpHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = request.map(Full::new);
        let exchange = async {
            let response = self.client.request(request).await?;
            let (parts, body) = response.into_parts();
            let body = http_body_util::Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await?
                .to_bytes();
            Ok::<_, HttpError>(Response::from_parts(parts, body))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis()).into()),
        }
    }
}
