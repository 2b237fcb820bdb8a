//! What every adapter call shares: settings, the key-value store, the caller's trace
//! context, and per dependency a breaker over the shared store.

use std::rc::Rc;

use resilience::{Breaker, Clock, Guard, GuardError, Observer, Source, Transition, WriteBehind};

use crate::bindings::exports::shop::adapters::types::{DataSource, DependencyError, TraceContext};
use crate::clock::{WasiClock, WasiRandom};
use crate::config::{self, Settings};
use crate::kv::{BreakerKeys, Kv};
use crate::log;
use crate::outbound::{Answer, Call, CallError};
use crate::service::Service;
use crate::token;

thread_local! {
    /// Per dependency (indexed by `Service as usize`), what this instance's breakers keep back
    /// from the shared store: one instance serves many requests when Spin reuses it.
    static WRITE_BEHIND: [Rc<WriteBehind>; 4] = Default::default();
}

/// A breaker whose state lives in key-value.
pub(crate) type SharedBreaker<'a> = Breaker<BreakerKeys<'a>, WasiClock, WasiRandom>;

/// The environment of one adapter call.
pub(crate) struct Context {
    pub(crate) settings: &'static Settings,
    pub(crate) kv: Kv,
    pub(crate) trace: Option<TraceContext>,
}

impl Context {
    /// Settings (cached per instance) and a handle on the `default` store.
    pub(crate) async fn open(trace: Option<TraceContext>) -> Self {
        let (settings, kv) = futures::join!(config::settings(), Kv::open());
        Self {
            settings,
            kv,
            trace,
        }
    }

    /// `service`'s breaker, with this instance's write-behind for it
    /// (`breaker_write_behind_ms`; see `resilience::breaker::write_behind`).
    pub(crate) fn breaker(&self, service: Service) -> SharedBreaker<'_> {
        Breaker::new(
            self.settings.breaker.clone(),
            BreakerKeys::new(&self.kv, service),
            WasiClock,
            WasiRandom,
        )
        .with_write_behind(WRITE_BEHIND.with(|all| all[service as usize].clone()))
    }

    /// A guard over `breaker` with the per-attempt timeout and no retry.
    pub(crate) fn guard<'a>(
        &self,
        breaker: &'a SharedBreaker<'a>,
        log: &'a TransitionLog,
    ) -> Guard<'a, BreakerKeys<'a>, WasiClock, WasiRandom, TransitionLog> {
        Guard::new(breaker, self.settings.call_timeout_ms, log)
    }

    /// Sends one request with the service token and the caller's trace context. A 401
    /// forgets the token, so the next call fetches a fresh one.
    pub(crate) async fn exchange(&self, call: Call<'_>) -> Result<Answer, CallError> {
        let service = call.service();
        let base = service
            .of(&self.settings.urls)
            .as_ref()
            .map_err(|error| CallError::not_sent(DependencyError::Unavailable(error.clone())))?;
        let token = token::bearer(self.settings, &self.kv)
            .await
            .map_err(CallError::not_sent)?;
        let answer = call.bearer(token).send(base).await?;
        if answer.status == 401 {
            token::forget(self.settings, &self.kv).await;
        }
        Ok(answer)
    }

    /// The caller's trace context, for `Call`.
    pub(crate) fn trace(&self) -> Option<&TraceContext> {
        self.trace.as_ref()
    }
}

/// At the end of every adapter call: each dependency whose write-behind now keeps quiet
/// successes and has no flush scheduled gets one, `write_behind_ms` later, as post-return work
/// of this call (`spin_sdk::wasip3::spawn`; the instance stays alive until it ends), so what a
/// reused instance kept reaches the shared window even when none of its later calls writes it
/// (see `resilience::breaker::write_behind`, deferred flush).
impl Drop for Context {
    fn drop(&mut self) {
        for service in Service::ALL {
            let behind = WRITE_BEHIND.with(|all| all[service as usize].clone());
            if !behind.claim_flush() {
                continue;
            }
            let settings = self.settings;
            spin_sdk::wasip3::spawn(async move {
                WasiClock.sleep(settings.breaker.write_behind_ms).await;
                let context = Context::open(None).await;
                if let Err(error) = context.breaker(service).flush().await {
                    log::store_error(Some(service), "write-behind flush", &error);
                }
            });
        }
    }
}

/// Logs (once across instances) the transitions of one dependency's breaker.
pub(crate) struct TransitionLog(pub(crate) Service);

impl Observer for TransitionLog {
    fn transition(&self, transition: &Transition) {
        log::transition(self.0, transition);
    }

    fn store_error(&self, operation: &'static str, error: &dyn std::fmt::Display) {
        log::store_error(Some(self.0), operation, error);
    }
}

/// The WIT error for a guarded call that produced no answer.
pub(crate) fn dependency_error(error: GuardError<CallError>) -> DependencyError {
    match error {
        GuardError::CircuitOpen => DependencyError::CircuitOpen,
        GuardError::Timeout => DependencyError::Timeout,
        GuardError::Call(error) => error.error,
    }
}

/// The WIT `data-source` of a resilience `Source`.
pub(crate) fn data_source(source: Source) -> DataSource {
    match source {
        Source::Live => DataSource::Live,
        Source::Cache => DataSource::Cache,
        Source::Fallback => DataSource::Fallback,
    }
}
