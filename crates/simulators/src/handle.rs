//! [`Simulator`]: the test-side handle of one running simulator. The methods here are common
//! to all five; each service module adds its own data setters and getters.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::control::Control;
use crate::fault::Fault;
use crate::http::RecordedRequest;

/// A running simulator of one service. Cheap to clone; every clone controls the same
/// simulator. Usable from any thread, at any time, while the [`crate::Simulators`] that
/// started it lives.
pub struct Simulator<S> {
    pub(crate) control: Arc<Control>,
    pub(crate) service: Arc<S>,
}

impl<S> Clone for Simulator<S> {
    fn clone(&self) -> Self {
        Self {
            control: Arc::clone(&self.control),
            service: Arc::clone(&self.service),
        }
    }
}

impl<S> fmt::Debug for Simulator<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.control.addr())
            .finish_non_exhaustive()
    }
}

impl<S> Simulator<S> {
    pub(crate) fn new(control: Arc<Control>, service: Arc<S>) -> Self {
        Self { control, service }
    }

    /// The origin, e.g. `http://127.0.0.1:41234`, or `https://…` when started with
    /// [`ServerTls`](crate::ServerTls) (no trailing slash).
    pub fn url(&self) -> String {
        format!("{}://{}", self.control.scheme(), self.control.addr())
    }

    /// TLS handshakes this simulator refused since start (no client certificate, one from
    /// another CA, a client that does not trust its certificate); always 0 without TLS.
    /// A refused connection never reaches the service, so [`calls`](Self::calls) does not
    /// count it.
    pub fn tls_handshakes_refused(&self) -> u64 {
        self.control.handshakes_refused()
    }

    /// The loopback address the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.control.addr()
    }

    /// Sets the standing fault: every call from now on gets it (after any scripted
    /// [`fail_next`](Self::fail_next) calls). Replaces the previous standing fault.
    pub fn set_fault(&self, fault: Fault) {
        self.control.faults().set(fault);
    }

    /// The next `calls` calls get `fault`, then the simulator recovers (to the standing
    /// fault, if any). Several scripts queue up in order: `fail_next(2, Reset)` then
    /// `fail_next(1, Status(503))` resets two calls, fails one and then answers normally.
    pub fn fail_next(&self, calls: u32, fault: Fault) {
        self.control.faults().push(calls, fault);
    }

    /// Removes the standing fault and any scripted ones. Calls already hanging stay hung.
    pub fn clear_fault(&self) {
        self.control.faults().clear();
    }

    /// Turns the bearer-token gate on or off: when on, calls without an
    /// `Authorization: Bearer <token>` the auth simulator issued (and that has not expired
    /// or been revoked) get 401. No effect on the auth simulator itself.
    pub fn set_require_auth(&self, on: bool) {
        self.control.set_require_auth(on);
    }

    /// Calls received since start or the last [`clear_log`](Self::clear_log), faulted ones included.
    pub fn calls(&self) -> u64 {
        self.control.calls()
    }

    /// TCP connections accepted since start (a client that keeps connections alive makes
    /// fewer than it makes calls).
    pub fn connections(&self) -> u64 {
        self.control.connections()
    }

    /// Calls received on one route, named like `"GET /users/{id}"` (see each service's
    /// `ROUTES`); `"unmatched"` counts calls no route served.
    pub fn calls_to(&self, route: &str) -> u64 {
        self.control.calls_to(route)
    }

    /// Calls per route label.
    pub fn route_calls(&self) -> BTreeMap<String, u64> {
        self.control.route_calls()
    }

    /// The received requests, oldest first (at most [`crate::REQUEST_LOG_CAPACITY`]).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.control.requests()
    }

    /// The most recent request.
    pub fn last_request(&self) -> Option<RecordedRequest> {
        self.control.last_request()
    }

    /// Forgets the counters and the request log.
    pub fn clear_log(&self) {
        self.control.clear_log();
    }

    /// Waits until at least `calls` calls have arrived, polling every few milliseconds;
    /// `false` if `timeout` passed first. For work that reaches the simulator in the background.
    pub fn wait_for_calls(&self, calls: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.calls() >= calls {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
