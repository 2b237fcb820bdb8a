//! Unit tests of every saga branch, recovery path and admin change, on the in-memory fakes.

mod admin;
mod create;
mod idempotency;
mod recovery;

use crate::testing::{FakeServices, MemoryRepository, TestEnv, render};
use crate::{App, Claim, Placed, Settings};
use domain::{CreateOrderRequest, ValidatedOrder};
use futures::executor::block_on;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Fakes, a repository and a clock, shared by the apps a test builds (one per "instance").
struct World {
    services: FakeServices,
    repo: MemoryRepository,
    env: TestEnv,
    settings: Settings,
}

impl World {
    fn new() -> Self {
        Self {
            services: FakeServices::shop(),
            repo: MemoryRepository::default(),
            env: TestEnv::at(T0),
            settings: Settings::default(),
        }
    }

    fn app(&self) -> App<'_, FakeServices, MemoryRepository, TestEnv> {
        App {
            deps: &self.services,
            repo: &self.repo,
            env: &self.env,
            settings: self.settings,
            render,
        }
    }

    /// Places `body` under `key` for subject `usr_alice`.
    fn place_body(&self, key: &str, body: &str) -> Placed {
        let request = order(body);
        let claim = self.claim(key, &request);
        block_on(self.app().place_order(request, claim, TRACEPARENT)).expect("store works")
    }

    /// Places the usual order (2 × prd_a, 1 × prd_b: 2250 EUR cents) under `key`.
    fn place(&self, key: &str) -> Placed {
        self.place_body(key, USUAL)
    }

    fn claim(&self, key: &str, request: &ValidatedOrder) -> Claim {
        Claim {
            key: format!("usr_alice:{key}"),
            request_hash: request.canonical_json(),
            stale_before_ms: self.app().stale_before(),
        }
    }

    /// Past `saga_recovery_after_s`: every unfinished saga is stale.
    fn wait_for_recovery(&self) {
        self.env
            .clock
            .advance(self.settings.saga_recovery_after_s * 1000 + 1);
    }
}

const USUAL: &str = r#"{"userId":"usr_alice","items":[{"productId":"prd_a","quantity":2},{"productId":"prd_b","quantity":1}],"paymentMethod":{"type":"card","token":"tok_visa"}}"#;

fn order(body: &str) -> ValidatedOrder {
    CreateOrderRequest::parse(body.as_bytes()).expect("valid request")
}

/// The outcome of a saga that ran.
fn ran(placed: Placed) -> crate::Outcome {
    match placed {
        Placed::Ran(outcome) => outcome,
        other => panic!("expected a saga run, got {other:?}"),
    }
}
