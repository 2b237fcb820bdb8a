//! Programmable simulators of the Order Service's dependencies — User, Product, Inventory,
//! Payment and Auth — speaking the contracts of ARCHITECTURE §9 on loopback HTTP/1.1.
//!
//! Integration tests drive the real components against them, and `order-host up` starts
//! them when no dependency URL is configured, so the service works out of the box.
//!
//! [`Simulators::spawn`] starts all five on free `127.0.0.1` ports, on a tokio runtime of
//! their own (one thread), so synchronous tests and async hosts can both use them; they stop
//! when the [`Simulators`] value is dropped. Every simulator can be changed at any time from
//! any thread:
//!
//! - **data**: each starts with the demo data of [`demo`] (users incl. a suspended and a
//!   deleted one, products incl. an inactive and an out-of-stock one, stock levels, all EUR);
//!   setters such as [`UserSimulator::upsert`] and [`InventorySimulator::set_stock`] change it;
//! - **faults** ([`Fault`]): a fixed status, a deterministic error rate, added latency, a hang
//!   (the request is read and never answered) and a connection reset (closed without an
//!   answer); [`Simulator::set_fault`] for every call, [`Simulator::fail_next`] for "the next
//!   N calls, then recover";
//! - **observation**: call counters in total and per route ([`Simulator::calls_to`] with
//!   labels such as `"POST /payments"`), the received requests with headers and body
//!   ([`Simulator::requests`]: `Idempotency-Key`, `traceparent`, `Authorization`, …), the
//!   payment ledger ([`PaymentSimulator::charges_for`]) and token counts
//!   ([`AuthSimulator::tokens_issued`]);
//! - **TLS**: with [`SimulatorOptions::tls`] ([`ServerTls`]) all five serve `https://` with
//!   the given certificate and, if a client CA is given, refuse any client without a
//!   certificate chained to it ([`Simulator::tls_handshakes_refused`] counts the refusals);
//! - **auth**: off by default; [`Simulators::set_require_auth`] makes User, Product,
//!   Inventory and Payment answer 401 unless the call carries `Authorization: Bearer` with
//!   a token the Auth simulator issued (and that has not expired).
//!
//! Payment outcomes follow the payment method token (see [`payment`]): `tok_pending` →
//! pending, `tok_decline` / `tok_insufficient_funds` / `tok_expired` → declined with a reason,
//! anything else (`tok_visa`, …) → captured.
//!
//! ```
//! use simulators::{Fault, Simulators};
//!
//! let sims = Simulators::spawn()?;
//! assert!(sims.user.url().starts_with("http://127.0.0.1:"));
//! sims.payment.fail_next(2, Fault::Status(503));
//! assert_eq!(sims.payment.calls(), 0);
//! # Ok::<(), std::io::Error>(())
//! ```

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

pub mod auth;
mod control;
pub mod demo;
mod fault;
mod handle;
mod http;
mod ids;
pub mod inventory;
mod money;
pub mod payment;
pub mod product;
mod server;
mod simulators;
mod tls;
pub mod user;

pub use auth::{AuthSimulator, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_EXPIRES_IN_S};
pub use control::{REQUEST_LOG_CAPACITY, UNMATCHED_ROUTE};
pub use fault::Fault;
pub use handle::Simulator;
pub use http::RecordedRequest;
pub use inventory::InventorySimulator;
pub use money::Money;
pub use payment::{PaymentSimulator, PaymentStatus};
pub use product::{Product, ProductSimulator};
pub use server::RUNTIME_THREAD_NAME;
pub use simulators::{SimulatorOptions, SimulatorPorts, Simulators};
pub use tls::ServerTls;
pub use user::{User, UserSimulator, UserStatus};
