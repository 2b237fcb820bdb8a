//! The orders repository: an order with its lines and status history, plus the saga
//! bookkeeping stored beside it. Every status change is saved with its history row and its
//! outbox event in one transaction.

use crate::outbox::order_event;
use crate::rows::{int, opt_text, text};
use crate::{Db, StoreError, StoredOrder};
use domain::{Currency, Money, Order, OrderLine, OrderStatus, SagaStep, StatusChange, Timestamp};
use spin_sdk::sqlite::{RowResult, Value};

/// The `orders` columns [`Db::hydrate`] reads, in its order, with the order's lines and status
/// history as two JSON arrays (`[line_no, product_id, name, unit_price_minor, quantity,
/// line_total_minor]` and `[seq, status, at, reason]`), so an order and its rows come from one
/// statement: one snapshot of the database (three separate reads outside a transaction could
/// mix a row from before a concurrent save with history from after it) and one host call.
/// Select them as `SELECT {ORDER_COLUMNS} FROM orders …`.
pub const ORDER_COLUMNS: &str = "id, user_id, status, currency, total_minor, payment_id,
    reservation_id, payment_method_type, payment_token, shipping_address, saga_step,
    traceparent, created_at, updated_at, version,
    (SELECT json_group_array(json_array(line_no, product_id, name, unit_price_minor, quantity,
        line_total_minor)) FROM order_lines WHERE order_lines.order_id = orders.id),
    (SELECT json_group_array(json_array(seq, status, at, reason))
        FROM order_status_history WHERE order_status_history.order_id = orders.id)";

impl Db {
    /// The id of the (first created) order paid by `payment_id`, if any.
    pub async fn order_id_by_payment(
        &self,
        payment_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let rows = self
            .query(
                "SELECT id FROM orders WHERE payment_id = ? ORDER BY created_at LIMIT 1",
                vec![Value::Text(payment_id.to_owned())],
            )
            .await?;
        rows.first().map(|row| text(row, 0)).transpose()
    }

    /// Writes a new order (its row with saga step and `saga_updated_at = now`, its lines, its
    /// history with their events). Runs inside the caller's transaction; call
    /// [`StoredOrder::mark_saved`] once it commits.
    pub async fn write_new_order(&self, stored: &StoredOrder, now: i64) -> Result<(), StoreError> {
        let o = &stored.order;
        self.exec(
            "INSERT INTO orders (id, user_id, status, currency, total_minor, payment_id,
                reservation_id, payment_method_type, payment_token, shipping_address,
                saga_step, saga_updated_at, traceparent, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                Value::Text(o.id.clone()),
                Value::Text(o.user_id.clone()),
                Value::Text(o.status.as_str().to_owned()),
                Value::Text(o.total.currency.to_string()),
                Value::Integer(o.total.amount_minor),
                Value::Text(stored.payment_method_type.clone()),
                stored.payment_token.clone().into(),
                stored.shipping_address.clone().into(),
                Value::Text(stored.saga_step.as_str().to_owned()),
                Value::Integer(now),
                stored.traceparent.clone().into(),
                Value::Integer(o.created_at.millis()),
                Value::Integer(o.updated_at.millis()),
            ],
        )
        .await?;
        // Every line in one statement (one host call, however many lines).
        let mut params = Vec::with_capacity(o.items.len() * 7);
        for (line_no, line) in o.items.iter().enumerate() {
            params.extend([
                Value::Text(o.id.clone()),
                Value::Integer(line_no as i64),
                Value::Text(line.product_id.clone()),
                Value::Text(line.name.clone()),
                Value::Integer(line.unit_price.amount_minor),
                Value::Integer(i64::from(line.quantity)),
                Value::Integer(line.line_total.amount_minor),
            ]);
        }
        let rows = vec!["(?, ?, ?, ?, ?, ?, ?)"; o.items.len()].join(", ");
        self.exec(
            &format!(
                "INSERT INTO order_lines (order_id, line_no, product_id, name,
                    unit_price_minor, quantity, line_total_minor) VALUES {rows}"
            ),
            params,
        )
        .await?;
        self.append_history(stored, stored.traceparent.as_deref(), now)
            .await
    }

    /// Saves only the order's status (and `updated_at`), plus every status change since it
    /// was loaded with its event, carrying `traceparent`. `hand_over` also moves the saga to
    /// that step (`saga_updated_at = now`), e.g. to `compensating` for order-api's recovery
    /// pass. Leaves payment, reservation and token as they are. Runs inside the caller's
    /// transaction; call [`StoredOrder::mark_changed`] once it commits.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the row is no longer at `stored`'s version.
    pub async fn save_status_change(
        &self,
        stored: &StoredOrder,
        hand_over: Option<SagaStep>,
        traceparent: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let o = &stored.order;
        let status = Value::Text(o.status.as_str().to_owned());
        let updated_at = Value::Integer(o.updated_at.millis());
        let id = Value::Text(o.id.clone());
        let version = Value::Integer(stored.version());
        let changed = match hand_over {
            None => {
                self.exec_returning(
                    "UPDATE orders SET status = ?, updated_at = ?, version = version + 1
                     WHERE id = ? AND version = ? RETURNING version",
                    vec![status, updated_at, id, version],
                )
                .await?
            }
            Some(step) => {
                self.exec_returning(
                    "UPDATE orders SET status = ?, updated_at = ?, saga_step = ?,
                        saga_updated_at = ?, version = version + 1
                     WHERE id = ? AND version = ? RETURNING version",
                    vec![
                        status,
                        updated_at,
                        Value::Text(step.as_str().to_owned()),
                        Value::Integer(now),
                        id,
                        version,
                    ],
                )
                .await?
            }
        };
        conditional(changed, &o.id)?;
        self.append_history(stored, traceparent, now).await
    }

    /// Inserts the history entries not stored yet, each with its event (if its status has
    /// one) carrying `traceparent`.
    pub(crate) async fn append_history(
        &self,
        stored: &StoredOrder,
        traceparent: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let id = &stored.order.id;
        let mut params = Vec::new();
        let mut events = Vec::new();
        for (seq, change) in stored.unsaved_history() {
            params.extend([
                Value::Text(id.clone()),
                Value::Integer(i64::try_from(seq).unwrap_or(i64::MAX)),
                Value::Text(change.status.as_str().to_owned()),
                Value::Integer(change.at.millis()),
                change.reason.clone().into(),
            ]);
            if let Some(event_type) = change.status.event_type() {
                let event_id = guest::ids::uuid_v4();
                events.push(order_event(
                    event_id,
                    &stored.order,
                    event_type,
                    traceparent,
                    now,
                )?);
            }
        }
        if params.is_empty() {
            return Ok(());
        }
        // Every new history row in one statement, every event in one more.
        let rows = vec!["(?, ?, ?, ?, ?)"; params.len() / 5].join(", ");
        self.exec(
            &format!(
                "INSERT INTO order_status_history (order_id, seq, status, at, reason) VALUES {rows}"
            ),
            params,
        )
        .await?;
        self.insert_outbox_events(id, &events, now).await
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

/// `Ok` when a conditional `UPDATE … WHERE id = ? AND version = ?` changed the row; a
/// [`StoreError::Conflict`] when another writer moved the version first.
pub(crate) fn conditional(changed: bool, order_id: &str) -> Result<(), StoreError> {
    if !changed {
        return Err(StoreError::Conflict {
            order_id: order_id.to_owned(),
        });
    }
    Ok(())
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
