//! The Auth service simulator: OAuth2 client credentials (RFC 6749 §4.4).
//!
//! `POST /oauth/token` with a form body `grant_type=client_credentials&client_id=…&
//! client_secret=…&scope=…` → 200 `{access_token, token_type: "Bearer", expires_in, scope?}`.
//! Wrong client id or secret → 401 `{error: "invalid_client"}`; another grant type → 400
//! `{error: "unsupported_grant_type"}`; missing fields → 400 `{error: "invalid_request"}`.
//! Tokens are opaque strings; the other simulators accept them (when told to require a token)
//! until `expires_in` seconds have passed or they are revoked.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::control::lock;
use crate::handle::Simulator;
use crate::http::{RecordedRequest, Reply};
use crate::ids::{IdSource, random_u64};
use crate::server::Service;

/// The client id the simulators accept unless told otherwise (also `spin.toml`'s default).
pub const DEFAULT_CLIENT_ID: &str = "order-service";
/// The client secret the simulators accept unless told otherwise. Local use only.
pub const DEFAULT_CLIENT_SECRET: &str = "order-service-local-secret";
/// The token lifetime (`expires_in`, seconds) unless told otherwise.
pub const DEFAULT_EXPIRES_IN_S: u64 = 3600;

/// A token the auth simulator issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The access token.
    pub access_token: String,
    /// The scope requested, if any.
    pub scope: Option<String>,
    /// When it was issued.
    pub issued_at: Instant,
    /// How long it is valid.
    pub expires_in: Duration,
}

/// The tokens issued so far, shared with the other simulators' token gates.
#[derive(Debug, Default)]
pub(crate) struct TokenRegistry {
    issued: Mutex<HashMap<String, IssuedToken>>,
}

impl TokenRegistry {
    /// Whether the token was issued here, has not expired and was not revoked.
    pub(crate) fn is_valid(&self, token: &str) -> bool {
        lock(&self.issued)
            .get(token)
            .is_some_and(|t| t.issued_at.elapsed() < t.expires_in)
    }
}

/// The Auth service's data: client credentials, token lifetime and issued tokens.
#[derive(Debug)]
pub struct Auth {
    client_id: String,
    client_secret: Mutex<String>,
    expires_in_s: AtomicU64,
    /// The secret and lifetime given at start, restored by `reset_data`.
    initial: (String, u64),
    tokens: Arc<TokenRegistry>,
    issued_count: AtomicU64,
    ids: IdSource,
}

/// The Auth service simulator.
pub type AuthSimulator = Simulator<Auth>;

impl Auth {
    /// The route labels this simulator counts calls under.
    pub const ROUTES: [&'static str; 1] = ["POST /oauth/token"];

    pub(crate) fn new(client_id: String, client_secret: String, expires_in_s: u64) -> Self {
        Self {
            client_id,
            client_secret: Mutex::new(client_secret.clone()),
            expires_in_s: AtomicU64::new(expires_in_s),
            initial: (client_secret, expires_in_s),
            tokens: Arc::default(),
            issued_count: AtomicU64::new(0),
            ids: IdSource::new("sim"),
        }
    }

    pub(crate) fn registry(&self) -> Arc<TokenRegistry> {
        Arc::clone(&self.tokens)
    }

    fn issue(&self, request: &RecordedRequest) -> Reply {
        let form: HashMap<String, String> =
            form_urlencoded::parse(&request.body).into_owned().collect();
        let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
        let oauth_error = |status, error: &str| Reply::json(status, &json!({ "error": error }));
        match field("grant_type") {
            Some("client_credentials") => {}
            Some(_) => return oauth_error(400, "unsupported_grant_type"),
            None => return oauth_error(400, "invalid_request"),
        }
        let (Some(id), Some(secret)) = (field("client_id"), field("client_secret")) else {
            return oauth_error(400, "invalid_request");
        };
        if id != self.client_id || secret != *lock(&self.client_secret) {
            return oauth_error(401, "invalid_client")
                .with_header("www-authenticate", "Basic".to_owned());
        }
        let expires_in_s = self.expires_in_s.load(Ordering::SeqCst);
        let access_token = format!("{}_{:016x}", self.ids.next(), random_u64());
        let scope = field("scope").map(str::to_owned);
        let token = IssuedToken {
            access_token: access_token.clone(),
            scope: scope.clone(),
            issued_at: Instant::now(),
            expires_in: Duration::from_secs(expires_in_s),
        };
        lock(&self.tokens.issued).insert(access_token.clone(), token);
        self.issued_count.fetch_add(1, Ordering::SeqCst);
        let mut answer = json!({ "access_token": access_token, "token_type": "Bearer", "expires_in": expires_in_s });
        if let Some(scope) = scope {
            answer["scope"] = json!(scope);
        }
        Reply::json(200, &answer).with_header("cache-control", "no-store".to_owned())
    }
}

impl Service for Auth {
    fn route(&self, method: &str, path: &str) -> Option<&'static str> {
        (method == "POST" && path == "/oauth/token").then_some(Self::ROUTES[0])
    }

    fn handle(&self, request: &RecordedRequest) -> Reply {
        match self.route(&request.method, &request.path) {
            Some(_) => self.issue(request),
            None => Reply::no_route(request),
        }
    }
}

impl Simulator<Auth> {
    /// The token endpoint, e.g. `http://127.0.0.1:41234/oauth/token`.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.url())
    }

    /// Token requests received (good and bad; faulted ones included).
    pub fn token_requests(&self) -> u64 {
        self.calls_to(Auth::ROUTES[0])
    }

    /// Tokens issued.
    pub fn tokens_issued(&self) -> u64 {
        self.service.issued_count.load(Ordering::SeqCst)
    }

    /// Every token issued (and not revoked), in no particular order.
    pub fn issued_tokens(&self) -> Vec<IssuedToken> {
        lock(&self.service.tokens.issued)
            .values()
            .cloned()
            .collect()
    }

    /// Sets `expires_in` (seconds) for tokens issued from now on.
    pub fn set_expires_in(&self, seconds: u64) {
        self.service.expires_in_s.store(seconds, Ordering::SeqCst);
    }

    /// Changes the accepted client secret (the client id is fixed at start).
    pub fn set_client_secret(&self, secret: &str) {
        *lock(&self.service.client_secret) = secret.to_owned();
    }

    /// Invalidates every token issued so far: gated simulators answer 401 to them.
    pub fn revoke_all(&self) {
        lock(&self.service.tokens.issued).clear();
    }

    /// Whether a token is currently accepted by the gated simulators.
    pub fn is_valid(&self, token: &str) -> bool {
        self.service.tokens.is_valid(token)
    }

    /// Revokes every token, zeroes the issued count and restores the client secret and
    /// token lifetime given at start.
    pub fn reset_data(&self) {
        self.revoke_all();
        let (secret, expires_in_s) = &self.service.initial;
        self.set_client_secret(secret);
        self.set_expires_in(*expires_in_s);
        self.service.issued_count.store(0, Ordering::SeqCst);
    }
}
