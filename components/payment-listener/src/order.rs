//! The order side of a notification: reading an order written by order-api (schema owned
//! by order-api's migrations) and storing one status change with its outbox event, the
//! same rows order-api writes for a change.

use crate::db::{Db, DbResult, int, opt_text, text};
use domain::{Currency, Money, Order, OrderLine, OrderStatus, StatusChange, Timestamp};
use events::CloudEvent;
use spin_sdk::sqlite::Value;

/// The CloudEvent `source` of every order event (as order-api writes it).
const SOURCE: &str = "/order-service";

/// An order as stored, with what the listener needs besides the domain order.
pub(crate) struct Stored {
    /// The order with its lines and history.
    pub(crate) order: Order,
    /// `traceparent` of the creating request.
    pub(crate) traceparent: Option<String>,
}

/// Whether order-api has created its schema yet.
pub(crate) async fn schema_exists(db: &Db) -> DbResult<bool> {
    let rows = db
        .query(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            vec![Value::Text("orders".into())],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// The id of the order paid by `payment_id`, if any.
pub(crate) async fn id_by_payment(db: &Db, payment_id: &str) -> DbResult<Option<String>> {
    let rows = db
        .query(
            "SELECT id FROM orders WHERE payment_id = ? ORDER BY created_at LIMIT 1",
            vec![Value::Text(payment_id.to_owned())],
        )
        .await?;
    rows.first().map(|row| text(row, 0)).transpose()
}

/// One order with its lines and history; `None` when no order has this id.
pub(crate) async fn load(db: &Db, id: &str) -> DbResult<Option<Stored>> {
    let rows = db
        .query(
            "SELECT id, user_id, status, currency, total_minor, payment_id, created_at,
                    updated_at, traceparent
             FROM orders WHERE id = ?",
            vec![Value::Text(id.to_owned())],
        )
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let currency =
        Currency::parse(&text(row, 3)?).map_err(|error| anyhow::anyhow!("order {id}: {error}"))?;
    let lines = db
        .query(
            "SELECT product_id, name, unit_price_minor, quantity, line_total_minor
             FROM order_lines WHERE order_id = ? ORDER BY line_no",
            vec![Value::Text(id.to_owned())],
        )
        .await?;
    let items = lines
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
        .collect::<DbResult<Vec<_>>>()?;
    let history = db
        .query(
            "SELECT status, at, reason FROM order_status_history
             WHERE order_id = ? ORDER BY seq",
            vec![Value::Text(id.to_owned())],
        )
        .await?;
    let status_history = history
        .iter()
        .map(|change| {
            Ok(StatusChange {
                status: status(&text(change, 0)?)?,
                at: Timestamp(int(change, 1)?),
                reason: opt_text(change, 2),
            })
        })
        .collect::<DbResult<Vec<_>>>()?;
    Ok(Some(Stored {
        order: Order {
            id: text(row, 0)?,
            user_id: text(row, 1)?,
            status: status(&text(row, 2)?)?,
            items,
            total: Money::new(int(row, 4)?, currency),
            payment_id: opt_text(row, 5),
            created_at: Timestamp(int(row, 6)?),
            updated_at: Timestamp(int(row, 7)?),
            status_history,
        },
        traceparent: opt_text(row, 8),
    }))
}

/// Stores the last status change of `stored.order` (already applied in memory): the
/// order's status, its history entry and its outbox event. `compensate` additionally
/// hands the saga to order-api's recovery (`saga_step = 'compensating'`), which releases
/// the stock. Runs inside the caller's transaction.
pub(crate) async fn save_change(
    db: &Db,
    stored: &Stored,
    compensate: bool,
    traceparent: Option<&str>,
    now: i64,
) -> DbResult<()> {
    let order = &stored.order;
    let seq = order.status_history.len().saturating_sub(1);
    let change = order
        .status_history
        .last()
        .ok_or_else(|| anyhow::anyhow!("order {} has no history", order.id))?;
    db.exec(
        "UPDATE orders SET status = ?, updated_at = ? WHERE id = ?",
        vec![
            Value::Text(order.status.as_str().to_owned()),
            Value::Integer(order.updated_at.millis()),
            Value::Text(order.id.clone()),
        ],
    )
    .await?;
    if compensate {
        db.exec(
            "UPDATE orders SET saga_step = 'compensating', saga_updated_at = ? WHERE id = ?",
            vec![Value::Integer(now), Value::Text(order.id.clone())],
        )
        .await?;
    }
    db.exec(
        "INSERT INTO order_status_history (order_id, seq, status, at, reason)
         VALUES (?, ?, ?, ?, ?)",
        vec![
            Value::Text(order.id.clone()),
            Value::Integer(i64::try_from(seq).unwrap_or(i64::MAX)),
            Value::Text(change.status.as_str().to_owned()),
            Value::Integer(change.at.millis()),
            change.reason.clone().into(),
        ],
    )
    .await?;
    if let Some(event_type) = change.status.event_type() {
        append_event(db, order, event_type, traceparent, now).await?;
    }
    Ok(())
}

/// Appends `event_type` about `order` (its full JSON as `data`) as a pending outbox row,
/// in the shape order-api writes.
async fn append_event(
    db: &Db,
    order: &Order,
    event_type: &str,
    traceparent: Option<&str>,
    now: i64,
) -> DbResult<()> {
    let event_id = uuid_v4();
    let event = CloudEvent::builder(event_id.clone(), SOURCE, event_type)
        .time_ms(now)
        .subject(order.id.clone())
        .json_data(serde_json::to_value(order)?)
        .traceparent(traceparent)
        .build()?;
    db.exec(
        "INSERT INTO outbox (event_id, aggregate_id, event_type, payload, status, attempts,
                             next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)",
        vec![
            Value::Text(event_id),
            Value::Text(order.id.clone()),
            Value::Text(event_type.to_owned()),
            Value::Text(event.to_string()),
            Value::Integer(now),
            Value::Integer(now),
        ],
    )
    .await
    .map(drop)
}

/// A stored status name.
fn status(name: &str) -> DbResult<OrderStatus> {
    OrderStatus::parse(name).ok_or_else(|| anyhow::anyhow!("unknown status `{name}`"))
}

/// A random UUID v4, as order-api's event ids.
fn uuid_v4() -> String {
    let mut bytes = spin_sdk::wasip3::random::random::get_random_bytes(16);
    bytes.resize(16, 0);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
