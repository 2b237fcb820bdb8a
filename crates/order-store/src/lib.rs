//! Order persistence shared by every component that writes orders (order-api and
//! payment-listener), so both write the same rows and the same events:
//!
//! - [`Db`]: the `default` SQLite database, parameterised statements and a
//!   `BEGIN IMMEDIATE` transaction, with [`StoreError`];
//! - [`StoredOrder`] (from `order-app`) and `order-app`'s `OrderRepository` on [`Db`]: load
//!   an order with its lines and status history, store a new order with its idempotency-key
//!   claim, save a change with its history rows, outbox events and the key's answer in one
//!   transaction; recovery's work lists and saga lease;
//! - [`outbox`]: the CloudEvent of an order change and the outbox row that carries it;
//! - [`rows`]: typed column reads (the clock and ids are the `guest` crate's).
//!
//! It owns the schema too: [`migrations::MIGRATIONS`] (every table, in one list) applied
//! once per database by [`schema::ensure`], from whichever component opens it first.
//!
//! Its I/O (spin-sdk's `sqlite`, WASI `random`) only works inside a `wasm32-wasip2` component; the crate also builds natively,
//! so its pure parts (envelope building, id layout) are unit-tested with
//! `cargo test -p order-store` (not a default member: see the workspace `Cargo.toml`).

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

mod db;
pub mod migrations;
mod orders;
pub mod outbox;
mod repository;
pub mod rows;
pub mod schema;

pub use db::{Db, StoreError, classify, store_error};
pub use order_app::StoredOrder;
pub use order_app::ports::KeyUpdate;
pub use orders::{ORDER_COLUMNS, hydrate};
pub use repository::stale_sagas_count_query;
