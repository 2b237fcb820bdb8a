//! The orders repository: an order with its lines and status history (JSON arrays in its
//! row since migration 8), plus the saga bookkeeping stored beside it. A new order is written
//! with its key claim, and every change with its new history entries, outbox events and key
//! answer, in one statement each (the views of migration 6, their triggers of migration 8).

use crate::outbox::order_event;
use crate::rows::{int, opt_text, text};
use crate::{Db, StoreError, StoredOrder};
use domain::{Currency, Money, Order, OrderLine, OrderStatus, SagaStep, StatusChange, Timestamp};
use order_app::Claim;
use order_app::ports::KeyUpdate;
use serde_json::json;
use spin_sdk::sqlite::{RowResult, Value};

/// The `RAISE(ABORT, …)` message of the `order_inserts` trigger when another request holds
/// the idempotency key (migration 6).
const KEY_TAKEN: &str = "order-store: idempotency key taken";

/// The `RAISE(ABORT, …)` message of the `order_saves` trigger when the row moved past the
/// version the writer read (migration 6).
const ORDER_CHANGED: &str = "order-store: order changed";

/// The `orders` columns [`Db::hydrate`] reads, in its order; the order's lines and status
/// history are the row's own JSON arrays (migration 8: `lines` `[line_no, product_id, name,
/// unit_price_minor, quantity, line_total_minor]`, `history` `[seq, status, at, reason]`), so
/// an order and its rows come from one row of one statement: one snapshot and one host call.
/// Select them as `SELECT {ORDER_COLUMNS} FROM orders …`.
pub const ORDER_COLUMNS: &str = "id, user_id, status, currency, total_minor, payment_id,
    reservation_id, payment_method_type, payment_token, shipping_address, saga_step,
    traceparent, created_at, updated_at, version, lines, history";

/// [`Db::order_id_by_payment`]'s query (one parameter: the payment id); it plans on the
/// partial index `orders_payment` (migration 10).
pub(crate) const ORDER_ID_BY_PAYMENT: &str =
    "SELECT id FROM orders WHERE payment_id = ? ORDER BY created_at LIMIT 1";

impl Db {
    /// The id of the (first created) order paid by `payment_id`, if any: one indexed read
    /// (migration 10).
    pub async fn order_id_by_payment(
        &self,
        payment_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let rows = self
            .query(
                ORDER_ID_BY_PAYMENT,
                vec![Value::Text(payment_id.to_owned())],
            )
            .await?;
        rows.first().map(|row| text(row, 0)).transpose()
    }

    /// Writes a new order with `claim` on its idempotency key, in one statement (the
    /// `order_inserts` view, migration 6): the key (inserted, or an abandoned claim taken over),
    /// the order row with saga step and `saga_updated_at = now`, its lines, its history and their
    /// events. `Ok(false)`, with nothing written, when another request holds the key. Call
    /// [`StoredOrder::mark_saved`] once it returns `true`.
    pub async fn insert_order_claiming(
        &self,
        stored: &StoredOrder,
        claim: &Claim,
        now: i64,
    ) -> Result<bool, StoreError> {
        let o = &stored.order;
        let lines: Vec<serde_json::Value> = o
            .items
            .iter()
            .enumerate()
            .map(|(line_no, line)| {
                json!([
                    line_no,
                    line.product_id,
                    line.name,
                    line.unit_price.amount_minor,
                    line.quantity,
                    line.line_total.amount_minor
                ])
            })
            .collect();
        let (history, events) = unsaved_rows(stored, stored.traceparent.as_deref(), now)?;
        let written = self
            .insert_combined(
                "INSERT INTO order_inserts (key, request_hash, stale_before, id, user_id, status,
                    currency, total_minor, payment_method_type, payment_token, shipping_address,
                    saga_step, traceparent, created_at, updated_at, now, lines, history, events)",
                vec![
                    Value::Text(claim.key.clone()),
                    Value::Text(claim.request_hash.clone()),
                    Value::Integer(claim.stale_before_ms),
                    Value::Text(o.id.clone()),
                    Value::Text(o.user_id.clone()),
                    Value::Text(o.status.as_str().to_owned()),
                    Value::Text(o.total.currency.to_string()),
                    Value::Integer(o.total.amount_minor),
                    Value::Text(stored.payment_method_type.clone()),
                    stored.payment_token.clone().into(),
                    stored.shipping_address.clone().into(),
                    Value::Text(stored.saga_step.as_str().to_owned()),
                    stored.traceparent.clone().into(),
                    Value::Integer(o.created_at.millis()),
                    Value::Integer(o.updated_at.millis()),
                    Value::Integer(now),
                    Value::Text(serde_json::to_string(&lines).unwrap_or_default()),
                    Value::Text(history),
                    Value::Text(events),
                ],
            )
            .await;
        match written {
            Ok(()) => Ok(true),
            Err(error) if error.to_string().contains(KEY_TAKEN) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Saves `stored` if its row is still at the version it was read at, in one statement
    /// (the `order_saves` view, migration 6): status, payment, reservation and token, the
    /// history entries not stored yet with their events (carrying `traceparent`), and `key`.
    /// `saga` moves the saga to that step (`saga_updated_at = now`); `None` leaves the saga as
    /// it is. Call [`StoredOrder::mark_changed`] once it returns.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] (nothing written) when the row is no longer at `stored`'s
    /// version.
    pub async fn save_order_change(
        &self,
        stored: &StoredOrder,
        saga: Option<SagaStep>,
        key: KeyUpdate<'_>,
        traceparent: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let o = &stored.order;
        let (history, events) = unsaved_rows(stored, traceparent, now)?;
        let (key_update, answer_status, answer_body) = match key {
            KeyUpdate::Keep => ("keep", Value::Null, Value::Null),
            KeyUpdate::Finish(answer) => (
                "finish",
                Value::Integer(i64::from(answer.status)),
                Value::Text(answer.body.clone()),
            ),
            KeyUpdate::Release => ("release", Value::Null, Value::Null),
        };
        let saved = self
            .insert_combined(
                "INSERT INTO order_saves (id, version, status, payment_id, reservation_id,
                    payment_token, saga_step, updated_at, now, history, events, key_update,
                    answer_status, answer_body)",
                vec![
                    Value::Text(o.id.clone()),
                    Value::Integer(stored.version()),
                    Value::Text(o.status.as_str().to_owned()),
                    o.payment_id.clone().into(),
                    stored.reservation_id.clone().into(),
                    stored.payment_token.clone().into(),
                    saga.map(|step| step.as_str().to_owned()).into(),
                    Value::Integer(o.updated_at.millis()),
                    Value::Integer(now),
                    Value::Text(history),
                    Value::Text(events),
                    Value::Text(key_update.to_owned()),
                    answer_status,
                    answer_body,
                ],
            )
            .await;
        match saved {
            Err(error) if error.to_string().contains(ORDER_CHANGED) => Err(StoreError::Conflict {
                order_id: o.id.clone(),
            }),
            other => other,
        }
    }

    /// One order with its lines and history (one statement); `None` when no order has this id.
    pub async fn load_order(&self, id: &str) -> Result<Option<StoredOrder>, StoreError> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?");
        let rows = self.query(&sql, vec![Value::Text(id.to_owned())]).await?;
        rows.first().map(hydrate).transpose()
    }
}

/// Builds a [`StoredOrder`] from an `orders` row selected as [`ORDER_COLUMNS`].
pub fn hydrate(row: &RowResult) -> Result<StoredOrder, StoreError> {
    let id = text(row, 0)?;
    let corrupt = |what: String| StoreError::Failed(format!("order {id}: {what}"));
    let currency = Currency::parse(&text(row, 3)?).map_err(|error| corrupt(error.to_string()))?;
    let items = lines(&text(row, 15)?, &currency).map_err(corrupt)?;
    let status_history = history(&text(row, 16)?).map_err(corrupt)?;
    let saga = text(row, 10)?;
    let saga_step = SagaStep::parse(&saga).ok_or_else(|| corrupt(format!("saga step `{saga}`")))?;
    let version = int(row, 14)?;
    let order = Order {
        user_id: text(row, 1)?,
        status: parse_status(&text(row, 2)?)?,
        items,
        total: Money::new(int(row, 4)?, currency),
        payment_id: opt_text(row, 5),
        created_at: Timestamp(int(row, 12)?),
        updated_at: Timestamp(int(row, 13)?),
        status_history,
        id: id.clone(),
    };
    let mut stored = StoredOrder::new(
        order,
        text(row, 7)?,
        String::new(),
        opt_text(row, 9),
        opt_text(row, 11),
    );
    stored.saga_step = saga_step;
    stored.payment_token = opt_text(row, 8);
    stored.reservation_id = opt_text(row, 6);
    Ok(stored.loaded_at(version))
}

/// The lines of [`ORDER_COLUMNS`]' JSON array, in line order, priced in `currency`.
fn lines(json: &str, currency: &Currency) -> Result<Vec<OrderLine>, String> {
    type Line = (i64, String, String, i64, u32, i64);
    let mut lines: Vec<Line> =
        serde_json::from_str(json).map_err(|error| format!("lines: {error}"))?;
    lines.sort_by_key(|line| line.0);
    Ok(lines
        .into_iter()
        .map(
            |(_, product_id, name, unit_minor, quantity, total_minor)| OrderLine {
                product_id,
                name,
                unit_price: Money::new(unit_minor, currency.clone()),
                quantity,
                line_total: Money::new(total_minor, currency.clone()),
            },
        )
        .collect())
}

/// The status history of [`ORDER_COLUMNS`]' JSON array, oldest first.
fn history(json: &str) -> Result<Vec<StatusChange>, String> {
    type Change = (i64, String, i64, Option<String>);
    let mut changes: Vec<Change> =
        serde_json::from_str(json).map_err(|error| format!("history: {error}"))?;
    changes.sort_by_key(|change| change.0);
    changes
        .into_iter()
        .map(|(_, status, at, reason)| {
            Ok(StatusChange {
                status: OrderStatus::parse(&status)
                    .ok_or_else(|| format!("unknown status `{status}`"))?,
                at: Timestamp(at),
                reason,
            })
        })
        .collect()
}

/// The history entries of `stored` not stored yet and their outbox events (each status
/// that has an event type gets one, a fresh id, carrying `traceparent`), as the JSON arrays
/// the `order_inserts` and `order_saves` views take (see migration 6).
fn unsaved_rows(
    stored: &StoredOrder,
    traceparent: Option<&str>,
    now: i64,
) -> Result<(String, String), StoreError> {
    let mut history = Vec::new();
    let mut events = Vec::new();
    for (seq, change) in stored.unsaved_history() {
        history.push(json!([
            seq,
            change.status.as_str(),
            change.at.millis(),
            change.reason
        ]));
        if let Some(event_type) = change.status.event_type() {
            let event = order_event(
                guest::ids::uuid_v7(),
                &stored.order,
                event_type,
                traceparent,
                now,
            )?;
            events.push(json!([event.id, event.event_type, event.to_string()]));
        }
    }
    // `to_string` of a `Value` formats it token by token through `Display`; `serde_json::
    // to_string` writes the text in one buffer (issue 10: building the events was ~4 % of
    // create-order's CPU). Serialising a `Value` cannot fail: all its keys are strings.
    Ok((
        serde_json::to_string(&history).unwrap_or_default(),
        serde_json::to_string(&events).unwrap_or_default(),
    ))
}

/// A stored status name.
fn parse_status(name: &str) -> Result<OrderStatus, StoreError> {
    OrderStatus::parse(name).ok_or_else(|| StoreError::Failed(format!("unknown status `{name}`")))
}

#[cfg(test)]
mod tests {
    use super::{history, lines};
    use domain::{Currency, OrderStatus};

    #[test]
    fn lines_and_history_come_back_in_their_stored_order_whatever_the_aggregation_order() {
        let eur = Currency::parse("EUR").unwrap();
        let parsed = lines(
            r#"[[1,"prd_b","B",250,1,250],[0,"prd_a","A",1000,2,2000]]"#,
            &eur,
        )
        .unwrap();
        let ids: Vec<&str> = parsed.iter().map(|l| l.product_id.as_str()).collect();
        assert_eq!(ids, ["prd_a", "prd_b"]);
        assert_eq!(parsed[0].line_total.amount_minor, 2000);

        let changes = history(r#"[[1,"confirmed",20,null],[0,"pending",10,null]]"#).unwrap();
        let statuses: Vec<OrderStatus> = changes.iter().map(|c| c.status).collect();
        assert_eq!(statuses, [OrderStatus::Pending, OrderStatus::Confirmed]);
        assert!(history(r#"[[0,"teleported",1,null]]"#).is_err());
    }
}
