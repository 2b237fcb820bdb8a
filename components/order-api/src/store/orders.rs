//! Storing a new order: the shared order-store insert, linked to the idempotency claim that
//! created it, in one transaction. Loading and saving orders live in `order-store`.

use super::{Db, StoreError, StoredOrder};
use spin_sdk::sqlite::Value;

impl Db {
    /// Stores a new order (`pending`, saga `created`) with its `order.created.v1` event, and
    /// links it to the idempotency claim `claim_key`, in one transaction.
    pub(crate) async fn insert_order(
        &self,
        stored: &mut StoredOrder,
        claim_key: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.transaction(async |db| {
            db.write_new_order(stored, now).await?;
            db.exec(
                "UPDATE idempotency_keys SET order_id = ?, updated_at = ? WHERE key = ?",
                vec![
                    Value::Text(stored.order.id.clone()),
                    Value::Integer(now),
                    Value::Text(claim_key.to_owned()),
                ],
            )
            .await
            .map(drop)
        })
        .await?;
        stored.mark_saved();
        Ok(())
    }
}
