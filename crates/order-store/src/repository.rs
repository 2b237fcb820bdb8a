//! The [`OrderRepository`] port of `order-app` on the `default` SQLite database: orders with
//! their history and outbox events, idempotency keys, and the work lists of recovery and
//! reconciliation. Every write of the create-order path is one statement (an order with its
//! key claim, a saved change with its history, events and key answer: the views of migration
//! 6), so the write lock is never held across a guest↔host round trip; other conditional
//! writes learn whether they applied from `RETURNING` (one statement, and correct on libSQL,
//! where `spin:sqlite`'s changed-row count reads 0).

use crate::rows::{int, opt_text, text};
use crate::{Db, StoreError, StoredOrder};
use domain::{OrderStatus, SagaStep};
use order_app::ports::{KeyUpdate, OrderRepository};
use order_app::{Claim, KeyRecord, KeyState, StoredAnswer};
use spin_sdk::sqlite::Value;

/// The saga steps of unfinished sagas as an SQL list. The stale-saga reads filter with
/// `saga_step IN (…)` of exactly this list, which is also the condition of the partial index
/// `orders_open_sagas (saga_step, saga_updated_at)` (migration 8): SQLite uses a partial index
/// only for a query whose `WHERE` contains the index's condition term for term (a
/// `saga_step != 'completed'` would scan every order ever taken).
pub(crate) const UNFINISHED_SAGA_STEPS: &str =
    "'created', 'stock_reserved', 'charge_requested', 'compensating'";

/// The stale-saga read: ids of unfinished sagas last touched before the first parameter
/// (epoch ms), oldest first, at most the second.
pub(crate) fn stale_sagas_query() -> String {
    format!(
        "SELECT id FROM orders WHERE saga_step IN ({UNFINISHED_SAGA_STEPS})
            AND saga_updated_at < ? ORDER BY saga_updated_at LIMIT ?"
    )
}

/// The recovery backlog's count: unfinished sagas last touched before the one parameter
/// (epoch ms). Served by `orders_open_sagas` as [`stale_sagas_query`] is.
pub fn stale_sagas_count_query() -> String {
    format!(
        "SELECT COUNT(*) FROM orders WHERE saga_step IN ({UNFINISHED_SAGA_STEPS})
            AND saga_updated_at < ?"
    )
}

impl OrderRepository for Db {
    async fn find_key(&self, key: &str) -> Result<Option<KeyRecord>, StoreError> {
        let rows = self
            .query(
                "SELECT request_hash, state, order_id, response_status, response_body, updated_at
                 FROM idempotency_keys WHERE key = ?",
                vec![Value::Text(key.to_owned())],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let order_id = opt_text(row, 2);
        let state = if text(row, 1)? == "done" {
            KeyState::Done(StoredAnswer {
                status: u16::try_from(int(row, 3)?).unwrap_or(500),
                body: opt_text(row, 4).unwrap_or_default(),
                order_id: order_id.clone(),
            })
        } else {
            KeyState::InFlight
        };
        Ok(Some(KeyRecord {
            request_hash: text(row, 0)?,
            state,
            order_id,
            updated_at_ms: int(row, 5)?,
        }))
    }

    async fn insert_order(
        &self,
        stored: &mut StoredOrder,
        claim: &Claim,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let inserted = self.insert_order_claiming(stored, claim, now_ms).await?;
        if inserted {
            stored.mark_saved();
        }
        Ok(inserted)
    }

    async fn store_answer(
        &self,
        claim: &Claim,
        answer: &StoredAnswer,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.claim(
            claim,
            "done",
            Some(answer),
            answer.order_id.as_deref(),
            now_ms,
        )
        .await
    }

    async fn save_order(
        &self,
        stored: &mut StoredOrder,
        key: KeyUpdate<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let traceparent = stored.traceparent.clone();
        let saga = Some(stored.saga_step);
        self.save_order_change(stored, saga, key, traceparent.as_deref(), now_ms)
            .await?;
        stored.mark_changed();
        Ok(())
    }

    async fn update_key(
        &self,
        order_id: &str,
        key: KeyUpdate<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.apply_key(order_id, key, now_ms).await
    }

    async fn load_order(&self, id: &str) -> Result<Option<StoredOrder>, StoreError> {
        Db::load_order(self, id).await
    }

    async fn stale_sagas(&self, before_ms: i64, limit: u32) -> Result<Vec<String>, StoreError> {
        let rows = self
            .query(
                &stale_sagas_query(),
                vec![Value::Integer(before_ms), Value::Integer(i64::from(limit))],
            )
            .await?;
        rows.iter().map(|row| text(row, 0)).collect()
    }

    async fn lease_saga(&self, id: &str, before_ms: i64, now_ms: i64) -> Result<bool, StoreError> {
        // Compare-and-set on the last touch: concurrent passes (on any node) never work on
        // the same saga.
        self.exec_returning(
            "UPDATE orders SET saga_updated_at = ?
             WHERE id = ? AND saga_step != ? AND saga_updated_at < ? RETURNING id",
            vec![
                Value::Integer(now_ms),
                Value::Text(id.to_owned()),
                Value::Text(SagaStep::Completed.as_str().to_owned()),
                Value::Integer(before_ms),
            ],
        )
        .await
    }

    async fn pending_payments(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let rows = self
            .query(
                "SELECT id FROM orders WHERE status = ? AND updated_at < ?
                 ORDER BY updated_at LIMIT ?",
                vec![
                    Value::Text(OrderStatus::PaymentPending.as_str().to_owned()),
                    Value::Integer(before_ms),
                    Value::Integer(i64::from(limit)),
                ],
            )
            .await?;
        rows.iter().map(|row| text(row, 0)).collect()
    }
}

impl Db {
    /// Writes `claim`'s key as `state` (with `answer` when done, linked to `order_id`): an
    /// insert, or the takeover of an abandoned claim (in flight, no order, last touched
    /// before `claim.stale_before_ms`). The key's PRIMARY KEY makes it race-free: of two
    /// requests with one key, one writes and the other gets `false`.
    async fn claim(
        &self,
        claim: &Claim,
        state: &str,
        answer: Option<&StoredAnswer>,
        order_id: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.exec_returning(
            "INSERT INTO idempotency_keys
                (key, request_hash, state, order_id, response_status, response_body,
                 created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET request_hash = excluded.request_hash,
                state = excluded.state, order_id = excluded.order_id,
                response_status = excluded.response_status,
                response_body = excluded.response_body, updated_at = excluded.updated_at
             WHERE idempotency_keys.state = 'in_flight' AND idempotency_keys.order_id IS NULL
                AND idempotency_keys.updated_at < ?
             RETURNING key",
            vec![
                Value::Text(claim.key.clone()),
                Value::Text(claim.request_hash.clone()),
                Value::Text(state.to_owned()),
                order_id.map(str::to_owned).into(),
                answer.map(|a| i64::from(a.status)).into(),
                answer.map(|a| a.body.clone()).into(),
                Value::Integer(now_ms),
                Value::Integer(now_ms),
                Value::Integer(claim.stale_before_ms),
            ],
        )
        .await
    }

    /// Applies `key` to the in-flight idempotency key of order `order_id` (served by the
    /// `idempotency_keys_order` index).
    async fn apply_key(
        &self,
        order_id: &str,
        key: KeyUpdate<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        match key {
            KeyUpdate::Keep => Ok(()),
            KeyUpdate::Finish(answer) => {
                self.exec(
                    "UPDATE idempotency_keys SET state = 'done', response_status = ?,
                        response_body = ?, updated_at = ?
                     WHERE order_id = ? AND state = 'in_flight'",
                    vec![
                        Value::Integer(i64::from(answer.status)),
                        Value::Text(answer.body.clone()),
                        Value::Integer(now_ms),
                        Value::Text(order_id.to_owned()),
                    ],
                )
                .await
            }
            KeyUpdate::Release => {
                self.exec(
                    "DELETE FROM idempotency_keys WHERE order_id = ? AND state = 'in_flight'",
                    vec![Value::Text(order_id.to_owned())],
                )
                .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::UNFINISHED_SAGA_STEPS;
    use domain::SagaStep;

    #[test]
    fn unfinished_saga_steps_are_every_step_but_completed() {
        let all = [
            SagaStep::Created,
            SagaStep::StockReserved,
            SagaStep::ChargeRequested,
            SagaStep::Compensating,
            SagaStep::Completed,
        ];
        let expected: Vec<String> = all
            .iter()
            .filter(|step| **step != SagaStep::Completed)
            .map(|step| format!("'{}'", step.as_str()))
            .collect();
        assert_eq!(UNFINISHED_SAGA_STEPS, expected.join(", "));
    }
}
