//! Order persistence shared by every component that writes orders (order-api and
//! payment-listener), so both write the same rows and the same events:
//!
//! - [`Db`]: the `default` SQLite database, parameterised statements and a
//!   `BEGIN IMMEDIATE` transaction, with [`StoreError`];
//! - [`StoredOrder`] and the `orders` repository methods on [`Db`]: load an order with its
//!   lines and status history, store a new order, save a status change with its history
//!   rows and outbox events in one transaction;
//! - [`outbox`]: the CloudEvent of an order change and the outbox row that carries it;
//! - [`rows`]: typed column reads; [`clock`]: wall-clock time and random identifiers.
//!
//! The schema itself (tables, indexes, migrations) stays owned by order-api's migrations;
//! this crate only knows the columns both writers use. Its I/O (spin-sdk's `sqlite`, WASI
//! `random`) only works inside a `wasm32-wasip2` component; the crate also builds natively,
//! so its pure parts (envelope building, id layout) are unit-tested with
//! `cargo test -p order-store` (not a default member: see the workspace `Cargo.toml`).

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

pub mod clock;
mod db;
mod orders;
pub mod outbox;
pub mod rows;

pub use db::{Db, StoreError};
pub use orders::{ORDER_COLUMNS, StoredOrder};
