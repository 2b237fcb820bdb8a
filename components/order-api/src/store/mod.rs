//! SQLite persistence of orders in this component: order lists and statistics (the schema is
//! `order-store`'s). The order repository of the order application
//! (orders with history and outbox events, idempotency keys, recovery work lists) is the
//! shared `order-store` crate, which payment-listener uses too. Every statement is
//! parameterised; every order change writes its outbox row in the same transaction.

mod queries;

pub(crate) use order_store::{StoreError, StoredOrder};
pub(crate) use queries::{Cursor, ListFilter};

use std::ops::Deref;

/// The `default` database, migrated: the shared order store (`crates/order-store`) plus
/// this component's own queries (lists, statistics).
pub(crate) struct Db(order_store::Db);

impl Deref for Db {
    type Target = order_store::Db;

    /// The shared statements and the orders repository.
    fn deref(&self) -> &order_store::Db {
        &self.0
    }
}

/// Applies missing migrations before another component reads tables this one owns (the
/// event emitter runs no DDL: the outbox is in order-store's migration list). Opens the
/// database only in an instance that has not migrated yet.
pub(crate) async fn ensure_schema() -> Result<(), StoreError> {
    if !order_store::schema::applied_here() {
        Db::open().await?;
    }
    Ok(())
}

impl Db {
    /// Opens the `default` database and applies missing migrations (once per instance).
    pub(crate) async fn open() -> Result<Self, StoreError> {
        let db = Self(order_store::Db::open_default().await?);
        order_store::schema::ensure(&db).await?;
        Ok(db)
    }
}
