//! `Idempotency-Key` claims. The claim is an `INSERT … ON CONFLICT DO NOTHING` on the key's
//! PRIMARY KEY, so two concurrent requests can never both win (no check-then-insert).

use super::{Db, StoreError};
use order_store::clock;
use order_store::rows::{int, opt_text, text};
use spin_sdk::sqlite::Value;

/// A response kept for replay.
pub(crate) struct StoredResponse {
    /// HTTP status.
    pub(crate) status: u16,
    /// JSON body.
    pub(crate) body: String,
    /// The order it created, if any (for `Location`).
    pub(crate) order_id: Option<String>,
}

/// The result of claiming a key.
pub(crate) enum Claim {
    /// This request owns the key now.
    Won,
    /// A request with the same body finished: replay its response.
    Replay(StoredResponse),
    /// A request with the same key is still running.
    InFlight,
    /// The key was used with a different body.
    Mismatch,
}

impl Db {
    /// Claims `key` for a request whose canonical body hashes to `hash`. An in-flight claim
    /// older than `stale_after_ms` that never stored an order is taken over (its request died
    /// before any side effect).
    pub(crate) async fn claim_key(
        &self,
        key: &str,
        hash: &str,
        stale_after_ms: i64,
    ) -> Result<Claim, StoreError> {
        let now = clock::now_ms();
        let inserted = self
            .exec_changes(
                "INSERT INTO idempotency_keys (key, request_hash, state, created_at, updated_at)
                 VALUES (?, ?, 'in_flight', ?, ?) ON CONFLICT (key) DO NOTHING",
                vec![
                    Value::Text(key.to_owned()),
                    Value::Text(hash.to_owned()),
                    Value::Integer(now),
                    Value::Integer(now),
                ],
            )
            .await?;
        if inserted == 1 {
            return Ok(Claim::Won);
        }
        let rows = self
            .query(
                "SELECT request_hash, state, order_id, response_status, response_body, updated_at
                 FROM idempotency_keys WHERE key = ?",
                vec![Value::Text(key.to_owned())],
            )
            .await?;
        let Some(row) = rows.first() else {
            // Released between our insert and read: the caller may simply retry.
            return Ok(Claim::InFlight);
        };
        if text(row, 0)? != hash {
            return Ok(Claim::Mismatch);
        }
        let order_id = opt_text(row, 2);
        if text(row, 1)? == "done" {
            return Ok(Claim::Replay(StoredResponse {
                status: u16::try_from(int(row, 3)?).unwrap_or(500),
                body: opt_text(row, 4).unwrap_or_default(),
                order_id,
            }));
        }
        let updated_at = int(row, 5)?;
        if order_id.is_none() && now - updated_at > stale_after_ms {
            let taken = self
                .exec_changes(
                    "UPDATE idempotency_keys SET updated_at = ?
                     WHERE key = ? AND state = 'in_flight' AND order_id IS NULL AND updated_at = ?",
                    vec![
                        Value::Integer(now),
                        Value::Text(key.to_owned()),
                        Value::Integer(updated_at),
                    ],
                )
                .await?;
            if taken == 1 {
                return Ok(Claim::Won);
            }
        }
        Ok(Claim::InFlight)
    }

    /// Stores the final response under `key`.
    pub(crate) async fn finish_key(
        &self,
        key: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE idempotency_keys SET state = 'done', response_status = ?, response_body = ?,
             order_id = COALESCE(?, order_id), updated_at = ? WHERE key = ?",
            vec![
                Value::Integer(i64::from(response.status)),
                Value::Text(response.body.clone()),
                response.order_id.clone().into(),
                Value::Integer(clock::now_ms()),
                Value::Text(key.to_owned()),
            ],
        )
        .await
        .map(drop)
    }

    /// Stores the final response of the request that created `order_id`, if that request
    /// never did (it died mid-saga and recovery finished its work).
    pub(crate) async fn finish_key_of_order(
        &self,
        order_id: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE idempotency_keys SET state = 'done', response_status = ?, response_body = ?,
             updated_at = ? WHERE order_id = ? AND state = 'in_flight'",
            vec![
                Value::Integer(i64::from(response.status)),
                Value::Text(response.body.clone()),
                Value::Integer(clock::now_ms()),
                Value::Text(order_id.to_owned()),
            ],
        )
        .await
        .map(drop)
    }

    /// Gives `key` back (the request failed in a way worth retrying with the same key).
    pub(crate) async fn release_key(&self, key: &str) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM idempotency_keys WHERE key = ?",
            vec![Value::Text(key.to_owned())],
        )
        .await
        .map(drop)
    }
}

impl Db {
    /// Gives back the claim of the request that created `order_id` if it never finished
    /// (its saga ended in a retryable failure during recovery).
    pub(crate) async fn release_key_of_order(&self, order_id: &str) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM idempotency_keys WHERE order_id = ? AND state = 'in_flight'",
            vec![Value::Text(order_id.to_owned())],
        )
        .await
        .map(drop)
    }
}
