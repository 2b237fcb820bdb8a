//! The orders repository: an order with its lines and status history, plus the saga
//! bookkeeping stored beside it. Every status change is saved with its history row and its
//! outbox event in one transaction.

use crate::outbox::order_event;
use crate::rows::{int, opt_text, text};
use crate::{Db, StoreError, clock};
use domain::{Currency, Money, Order, OrderLine, OrderStatus, SagaStep, StatusChange, Timestamp};
use spin_sdk::sqlite::{RowResult, Value};

/// An order as stored: the domain order and its saga bookkeeping.
#[derive(Debug, Clone)]
pub struct StoredOrder {
    /// The order itself.
    pub order: Order,
    /// The last saga step recorded.
    pub saga_step: SagaStep,
    /// Payment method type (`card`, …).
    pub payment_method_type: String,
    /// Payment token, kept only while the saga may have to (re)send the charge.
    pub payment_token: Option<String>,
    /// Inventory's reservation id.
    pub reservation_id: Option<String>,
    /// Shipping address JSON, passed through.
    pub shipping_address: Option<String>,
    /// `traceparent` of the creating request, for events and recovery calls.
    pub traceparent: Option<String>,
    /// History entries already stored; later ones are new (and get their events).
    saved_history: usize,
    /// The row's `version` when it was read (0 for a new order); every save is conditional
    /// on it and moves it on by one.
    version: i64,
}

impl StoredOrder {
    /// A new order, not stored yet.
    pub fn new(
        order: Order,
        payment_method_type: String,
        payment_token: String,
        shipping_address: Option<String>,
        traceparent: Option<String>,
    ) -> Self {
        Self {
            order,
            saga_step: SagaStep::Created,
            payment_method_type,
            payment_token: Some(payment_token),
            reservation_id: None,
            shipping_address,
            traceparent,
            saved_history: 0,
            version: 0,
        }
    }

    /// The `version` this copy was read at (or last saved as).
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Records that every history entry is stored now. Call it only once the transaction
    /// that wrote them committed, so a rolled-back save writes them again next time.
    pub fn mark_saved(&mut self) {
        self.saved_history = self.order.status_history.len();
    }

    /// Records that a save of this copy ([`Db::save_status_change`]) committed: the row is at
    /// the next version now. Call it only after the commit.
    pub fn mark_changed(&mut self) {
        self.mark_saved();
        self.version += 1;
    }
}

/// The `orders` columns [`Db::hydrate`] reads, in its order; select them as
/// `SELECT {ORDER_COLUMNS} FROM orders …`.
pub const ORDER_COLUMNS: &str = "id, user_id, status, currency, total_minor, payment_id,
    reservation_id, payment_method_type, payment_token, shipping_address, saga_step,
    traceparent, created_at, updated_at, version";

impl Db {
    /// Whether order-api has created the orders schema yet (another component may run first).
    pub async fn orders_schema_exists(&self) -> Result<bool, StoreError> {
        let rows = self
            .query(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                vec![Value::Text("orders".into())],
            )
            .await?;
        Ok(!rows.is_empty())
    }

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
        for (line_no, line) in o.items.iter().enumerate() {
            self.exec(
                "INSERT INTO order_lines (order_id, line_no, product_id, name,
                    unit_price_minor, quantity, line_total_minor)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                vec![
                    Value::Text(o.id.clone()),
                    Value::Integer(line_no as i64),
                    Value::Text(line.product_id.clone()),
                    Value::Text(line.name.clone()),
                    Value::Integer(line.unit_price.amount_minor),
                    Value::Integer(i64::from(line.quantity)),
                    Value::Integer(line.line_total.amount_minor),
                ],
            )
            .await?;
        }
        self.append_history(stored, stored.traceparent.as_deref(), now)
            .await
    }

    /// Saves the order's current status, payment, reservation and saga step, plus every
    /// status change since the last save with its event, in one transaction of its own.
    pub async fn save_order(&self, stored: &mut StoredOrder, now: i64) -> Result<(), StoreError> {
        self.transaction(async |db| {
            let o = &stored.order;
            let changed = db
                .exec_changes(
                    "UPDATE orders SET status = ?, payment_id = ?, reservation_id = ?,
                        payment_token = ?, saga_step = ?, saga_updated_at = ?, updated_at = ?,
                        version = version + 1
                     WHERE id = ? AND version = ?",
                    vec![
                        Value::Text(o.status.as_str().to_owned()),
                        o.payment_id.clone().into(),
                        stored.reservation_id.clone().into(),
                        stored.payment_token.clone().into(),
                        Value::Text(stored.saga_step.as_str().to_owned()),
                        Value::Integer(now),
                        Value::Integer(o.updated_at.millis()),
                        Value::Text(o.id.clone()),
                        Value::Integer(stored.version),
                    ],
                )
                .await?;
            conditional(changed, &o.id)?;
            db.append_history(stored, stored.traceparent.as_deref(), now)
                .await
        })
        .await?;
        stored.mark_changed();
        Ok(())
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
        let version = Value::Integer(stored.version);
        let changed = match hand_over {
            None => {
                self.exec_changes(
                    "UPDATE orders SET status = ?, updated_at = ?, version = version + 1
                     WHERE id = ? AND version = ?",
                    vec![status, updated_at, id, version],
                )
                .await?
            }
            Some(step) => {
                self.exec_changes(
                    "UPDATE orders SET status = ?, updated_at = ?, saga_step = ?,
                        saga_updated_at = ?, version = version + 1
                     WHERE id = ? AND version = ?",
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
    async fn append_history(
        &self,
        stored: &StoredOrder,
        traceparent: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let history = &stored.order.status_history;
        for (seq, change) in history.iter().enumerate().skip(stored.saved_history) {
            self.exec(
                "INSERT INTO order_status_history (order_id, seq, status, at, reason)
                 VALUES (?, ?, ?, ?, ?)",
                vec![
                    Value::Text(stored.order.id.clone()),
                    Value::Integer(i64::try_from(seq).unwrap_or(i64::MAX)),
                    Value::Text(change.status.as_str().to_owned()),
                    Value::Integer(change.at.millis()),
                    change.reason.clone().into(),
                ],
            )
            .await?;
            if let Some(event_type) = change.status.event_type() {
                let event_id = clock::uuid_v4();
                let event = order_event(event_id, &stored.order, event_type, traceparent, now)?;
                self.insert_outbox_event(&stored.order.id, &event, now)
                    .await?;
            }
        }
        Ok(())
    }

    /// One order with its lines and history; `None` when no order has this id.
    pub async fn load_order(&self, id: &str) -> Result<Option<StoredOrder>, StoreError> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?");
        let rows = self.query(&sql, vec![Value::Text(id.to_owned())]).await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        self.hydrate(row).await.map(Some)
    }

    /// Builds a [`StoredOrder`] from an `orders` row selected as [`ORDER_COLUMNS`], reading
    /// its lines and history.
    pub async fn hydrate(&self, row: &RowResult) -> Result<StoredOrder, StoreError> {
        let id = text(row, 0)?;
        let currency = Currency::parse(&text(row, 3)?)
            .map_err(|error| StoreError::Failed(format!("order {id}: {error}")))?;
        let items = self.load_lines(&id, &currency).await?;
        let status_history = self.load_history(&id).await?;
        let saga = text(row, 10)?;
        let saga_step = SagaStep::parse(&saga)
            .ok_or_else(|| StoreError::Failed(format!("saga step `{saga}`")))?;
        let saved_history = status_history.len();
        Ok(StoredOrder {
            order: Order {
                id,
                user_id: text(row, 1)?,
                status: parse_status(&text(row, 2)?)?,
                items,
                total: Money::new(int(row, 4)?, currency),
                payment_id: opt_text(row, 5),
                created_at: Timestamp(int(row, 12)?),
                updated_at: Timestamp(int(row, 13)?),
                status_history,
            },
            saga_step,
            reservation_id: opt_text(row, 6),
            payment_method_type: text(row, 7)?,
            payment_token: opt_text(row, 8),
            shipping_address: opt_text(row, 9),
            traceparent: opt_text(row, 11),
            saved_history,
            version: int(row, 14)?,
        })
    }

    /// The lines of order `id`, in line order, priced in `currency`.
    async fn load_lines(
        &self,
        id: &str,
        currency: &Currency,
    ) -> Result<Vec<OrderLine>, StoreError> {
        let lines = self
            .query(
                "SELECT product_id, name, unit_price_minor, quantity, line_total_minor
                 FROM order_lines WHERE order_id = ? ORDER BY line_no",
                vec![Value::Text(id.to_owned())],
            )
            .await?;
        lines
            .iter()
            .map(|line| {
                Ok(OrderLine {
                    product_id: text(line, 0)?,
                    name: text(line, 1)?,
                    unit_price: Money::new(int(line, 2)?, currency.clone()),
                    quantity: u32::try_from(int(line, 3)?).unwrap_or_default(),
                    line_total: Money::new(int(line, 4)?, currency.clone()),
                })
            })
            .collect()
    }

    /// The status history of order `id`, oldest first.
    async fn load_history(&self, id: &str) -> Result<Vec<StatusChange>, StoreError> {
        let history = self
            .query(
                "SELECT status, at, reason FROM order_status_history
                 WHERE order_id = ? ORDER BY seq",
                vec![Value::Text(id.to_owned())],
            )
            .await?;
        history
            .iter()
            .map(|change| {
                Ok(StatusChange {
                    status: parse_status(&text(change, 0)?)?,
                    at: Timestamp(int(change, 1)?),
                    reason: opt_text(change, 2),
                })
            })
            .collect()
    }
}

/// `Ok` when a conditional `UPDATE … WHERE id = ? AND version = ?` changed the row; a
/// [`StoreError::Conflict`] when another writer moved the version first.
fn conditional(changed: u64, order_id: &str) -> Result<(), StoreError> {
    if changed == 0 {
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
