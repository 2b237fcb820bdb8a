//! After a scenario: compares what clients were told, what SQLite holds, what the Payment
//! simulator charged and what reached the Redis stream, and counts every loss.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::Connection;
use simulators::{PaymentStatus, Simulators};

use crate::traffic::Outcome;

/// Losses found in one scenario; each count must be 0. `details` says what each one was.
#[derive(Debug, Default)]
pub(crate) struct Audit {
    /// Accepted (201/202) but missing or not in the promised state; or stuck mid-saga.
    pub(crate) orders_lost: usize,
    /// A status change without its outbox row, or a delivered row missing from the stream.
    pub(crate) events_lost: usize,
    /// Orders charged more than once, or charged without being in the database.
    pub(crate) double_charges: usize,
    /// Money captured (not refunded) for an order that did not end paid.
    pub(crate) kept_money: usize,
    /// Stock still held for an order that did not end paid (or is not in the database).
    pub(crate) stock_held: usize,
    /// Outbox rows still `pending` after the final dispatch (not lost: they go out later).
    pub(crate) events_pending: usize,
    /// Outbox rows dead-lettered (replayable, not lost).
    pub(crate) events_dead: usize,
    /// One line per loss.
    pub(crate) details: Vec<String>,
}

/// One stored order: status and saga step.
struct StoredOrder {
    status: String,
    saga_step: String,
}

/// Statuses in which the buyer's money is rightly kept.
const PAID: [&str; 4] = ["confirmed", "shipped", "delivered", "payment_pending"];

/// Statuses that announce an event (`domain::OrderStatus::event_type`).
fn event_type(status: &str) -> Option<&'static str> {
    Some(match status {
        "pending" => "order.created.v1",
        "confirmed" => "order.confirmed.v1",
        "payment_failed" => "order.payment_failed.v1",
        "cancelled" => "order.cancelled.v1",
        "shipped" => "order.shipped.v1",
        "delivered" => "order.delivered.v1",
        "refunded" => "order.refunded.v1",
        _ => return None,
    })
}

/// Audits one scenario. `stream_ids` are every event id seen in `orders.events` (across Redis
/// restarts).
pub(crate) fn audit(
    db_path: &Path,
    sims: &Simulators,
    outcomes: &[Outcome],
    stream_ids: &BTreeSet<String>,
) -> rusqlite::Result<Audit> {
    let db = Connection::open(db_path)?;
    db.busy_timeout(std::time::Duration::from_secs(10))?;
    let mut audit = Audit::default();
    let orders = stored_orders(&db)?;
    check_orders(&mut audit, &orders, outcomes);
    check_events(&mut audit, &db, stream_ids)?;
    check_charges(&mut audit, &orders, sims);
    check_stock(&mut audit, &orders, sims);
    Ok(audit)
}

fn stored_orders(db: &Connection) -> rusqlite::Result<BTreeMap<String, StoredOrder>> {
    let mut statement = db.prepare("SELECT id, status, saga_step FROM orders")?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            StoredOrder {
                status: row.get(1)?,
                saga_step: row.get(2)?,
            },
        ))
    })?;
    rows.collect()
}

fn check_orders(audit: &mut Audit, orders: &BTreeMap<String, StoredOrder>, outcomes: &[Outcome]) {
    for (id, answered) in outcomes.iter().flat_map(|o| o.accepted.iter()) {
        let promised: &[&str] = if *answered == 201 {
            &["confirmed"]
        } else {
            &["payment_pending", "confirmed", "payment_failed"]
        };
        match orders.get(id) {
            None => {
                audit.orders_lost += 1;
                audit
                    .details
                    .push(format!("order {id:?} answered {answered} is missing"));
            }
            Some(order) if !promised.contains(&order.status.as_str()) => {
                audit.orders_lost += 1;
                audit.details.push(format!(
                    "order {id} answered {answered} is now {}",
                    order.status
                ));
            }
            Some(_) => {}
        }
    }
    for (id, order) in orders {
        if order.status == "pending" || order.saga_step != "completed" {
            audit.orders_lost += 1;
            audit.details.push(format!(
                "order {id} stuck after recovery: status {}, saga step {}",
                order.status, order.saga_step
            ));
        }
    }
}

fn check_events(
    audit: &mut Audit,
    db: &Connection,
    stream_ids: &BTreeSet<String>,
) -> rusqlite::Result<()> {
    // Every status change that announces an event, counted per (order, event type).
    let mut announced: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut statement = db.prepare("SELECT order_id, status FROM order_status_history")?;
    for row in statement.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (order, status) = row?;
        if let Some(kind) = event_type(&status) {
            *announced.entry((order, kind.to_owned())).or_default() += 1;
        }
    }
    let mut written: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut statement =
        db.prepare("SELECT event_id, aggregate_id, event_type, status FROM outbox")?;
    let rows = statement.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (event_id, order, kind, status) = row?;
        *written.entry((order.clone(), kind.clone())).or_default() += 1;
        match status.as_str() {
            "pending" => audit.events_pending += 1,
            "dead" => audit.events_dead += 1,
            _ if !stream_ids.contains(&event_id) => {
                audit.events_lost += 1;
                audit.details.push(format!(
                    "event {event_id} ({kind} of {order}) marked delivered but not in orders.events"
                ));
            }
            _ => {}
        }
    }
    for ((order, kind), count) in &announced {
        let rows = written
            .get(&(order.clone(), kind.clone()))
            .copied()
            .unwrap_or(0);
        if rows < *count {
            audit.events_lost += count - rows;
            audit.details.push(format!(
                "order {order}: {count} status change(s) announcing {kind}, {rows} outbox row(s)"
            ));
        }
    }
    Ok(())
}

fn check_charges(audit: &mut Audit, orders: &BTreeMap<String, StoredOrder>, sims: &Simulators) {
    let mut per_order: BTreeMap<String, Vec<PaymentStatus>> = BTreeMap::new();
    for charge in sims.payment.charges() {
        if charge.status != PaymentStatus::Declined {
            per_order
                .entry(charge.order_id)
                .or_default()
                .push(charge.status);
        }
    }
    for (order, charges) in &per_order {
        let stored = orders.get(order);
        if charges.len() > 1 || stored.is_none() {
            audit.double_charges += 1;
            audit.details.push(format!(
                "order {order}: {} charge(s) {charges:?}, in database: {}",
                charges.len(),
                stored.map_or("no", |o| o.status.as_str())
            ));
        } else if let Some(stored) = stored
            && charges.contains(&PaymentStatus::Captured)
            && !PAID.contains(&stored.status.as_str())
        {
            audit.kept_money += 1;
            audit.details.push(format!(
                "order {order} is {} but its charge is captured and not refunded",
                stored.status
            ));
        }
    }
}

fn check_stock(audit: &mut Audit, orders: &BTreeMap<String, StoredOrder>, sims: &Simulators) {
    for reservation in sims.inventory.reservations() {
        let status = orders.get(&reservation.order_id).map(|o| o.status.as_str());
        if !status.is_some_and(|s| PAID.contains(&s)) {
            audit.stock_held += 1;
            audit.details.push(format!(
                "order {} is {} but its stock reservation {} is still held",
                reservation.order_id,
                status.unwrap_or("not in the database"),
                reservation.reservation_id
            ));
        }
    }
}
