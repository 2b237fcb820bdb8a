//! The per-simulator control block the server consults on every call and tests change at
//! any time: faults, the call log and counters, and the optional bearer-token gate.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::auth::TokenRegistry;
use crate::fault::{Action, FaultPlan};
use crate::http::{RecordedRequest, Reply};

/// How many received requests each simulator keeps; older ones are dropped first, so a
/// long `order-host up` session does not grow without bound. Counters are never capped.
pub const REQUEST_LOG_CAPACITY: usize = 10_000;

/// The route label used for calls no route matches.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Locks a mutex; a panic in another holder (only possible in a failing test) leaves the
/// data usable, so poisoning is ignored.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug, Default)]
struct CallLog {
    total: u64,
    per_route: BTreeMap<&'static str, u64>,
    requests: VecDeque<RecordedRequest>,
}

/// Shared state of one running simulator.
#[derive(Debug)]
pub(crate) struct Control {
    addr: SocketAddr,
    faults: Mutex<FaultPlan>,
    log: Mutex<CallLog>,
    require_auth: AtomicBool,
    /// TCP connections accepted since start.
    connections: AtomicU64,
    /// Whether it serves HTTPS.
    tls: bool,
    /// TLS handshakes it refused since start.
    handshakes_refused: AtomicU64,
    /// Tokens the auth simulator issued; `None` for the auth simulator itself, which is
    /// never gated.
    gate: Option<Arc<TokenRegistry>>,
}

impl Control {
    pub(crate) fn new(
        addr: SocketAddr,
        gate: Option<Arc<TokenRegistry>>,
        require_auth: bool,
        tls: bool,
    ) -> Self {
        Self {
            addr,
            tls,
            handshakes_refused: AtomicU64::new(0),
            faults: Mutex::default(),
            log: Mutex::default(),
            require_auth: AtomicBool::new(require_auth && gate.is_some()),
            connections: AtomicU64::new(0),
            gate,
        }
    }

    /// Counts one accepted TCP connection.
    pub(crate) fn connection_accepted(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// TCP connections accepted since start.
    pub(crate) fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `"https"` or `"http"`.
    pub(crate) fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// Counts one refused TLS handshake.
    pub(crate) fn handshake_refused(&self) {
        self.handshakes_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// TLS handshakes refused since start.
    pub(crate) fn handshakes_refused(&self) -> u64 {
        self.handshakes_refused.load(Ordering::Relaxed)
    }

    /// Counts and logs a call, then decides its fault.
    pub(crate) fn admit(&self, route: Option<&'static str>, request: RecordedRequest) -> Action {
        {
            let mut log = lock(&self.log);
            log.total += 1;
            *log.per_route
                .entry(route.unwrap_or(UNMATCHED_ROUTE))
                .or_default() += 1;
            if log.requests.len() >= REQUEST_LOG_CAPACITY {
                log.requests.pop_front();
            }
            log.requests.push_back(request);
        }
        lock(&self.faults).next_action()
    }

    /// `Some(401)` when the token gate is on and the request carries no valid token.
    pub(crate) fn check_auth(&self, request: &RecordedRequest) -> Option<Reply> {
        let gate = self.gate.as_ref()?;
        if !self.require_auth.load(Ordering::SeqCst) {
            return None;
        }
        if request
            .bearer_token()
            .is_some_and(|token| gate.is_valid(token))
        {
            return None;
        }
        let reply = Reply::problem(
            401,
            "Unauthorized",
            "a valid bearer token from the auth service is required",
        );
        Some(reply.with_header(
            "www-authenticate",
            "Bearer error=\"invalid_token\"".to_owned(),
        ))
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultPlan> {
        lock(&self.faults)
    }

    pub(crate) fn set_require_auth(&self, on: bool) {
        self.require_auth
            .store(on && self.gate.is_some(), Ordering::SeqCst);
    }

    pub(crate) fn calls(&self) -> u64 {
        lock(&self.log).total
    }

    pub(crate) fn calls_to(&self, route: &str) -> u64 {
        lock(&self.log).per_route.get(route).copied().unwrap_or(0)
    }

    pub(crate) fn route_calls(&self) -> BTreeMap<String, u64> {
        let log = lock(&self.log);
        log.per_route
            .iter()
            .map(|(route, n)| ((*route).to_owned(), *n))
            .collect()
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).requests.iter().cloned().collect()
    }

    pub(crate) fn last_request(&self) -> Option<RecordedRequest> {
        lock(&self.log).requests.back().cloned()
    }

    pub(crate) fn clear_log(&self) {
        *lock(&self.log) = CallLog::default();
    }
}
