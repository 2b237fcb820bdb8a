//! SQLite persistence of orders: the migration runner (this component owns the schema),
//! idempotency claims, order lists and the new-order insert. Loading and saving orders with
//! their history and outbox events is the shared `order-store` crate, which payment-listener
//! uses too. Every statement is parameterised; every order change writes its outbox row in
//! the same transaction.

mod idempotency;
mod migrate;
mod migrations;
mod orders;
mod queries;

pub(crate) use idempotency::{Claim, StoredResponse};
pub(crate) use order_store::{StoreError, StoredOrder};
pub(crate) use queries::{Cursor, ListFilter};

use std::ops::Deref;

/// The `default` database, migrated: the shared order store (`crates/order-store`) plus
/// this component's own tables (idempotency keys, lists, statistics) and the migrations.
pub(crate) struct Db(order_store::Db);

impl Deref for Db {
    type Target = order_store::Db;

    /// The shared statements and the orders repository.
    fn deref(&self) -> &order_store::Db {
        &self.0
    }
}

impl Db {
    /// Opens the `default` database and applies missing migrations (once per instance).
    pub(crate) async fn open() -> Result<Self, StoreError> {
        let db = Self(order_store::Db::open_default().await?);
        migrate::ensure(&db).await?;
        Ok(db)
    }

    /// Runs `work` inside the shared `BEGIN IMMEDIATE … COMMIT` transaction, handing it this
    /// component's view of the database; rolls back if it fails.
    pub(crate) async fn transaction<T>(
        &self,
        work: impl AsyncFnOnce(&Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.0.transaction(async |_| work(self).await).await
    }
}
