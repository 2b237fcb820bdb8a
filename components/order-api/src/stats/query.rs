//! The statistics SQL. Everything is aggregated by SQLite over `orders` and each order's
//! `lines` JSON array (schema: `order-store`'s `migrations.rs`, migration 8); Rust only
//! reshapes the rows. The window bounds are bound
//! parameters; the period expression is one of [`super::params::GroupBy::period_sql`]'s
//! fixed strings (or the constant `'all'` for the totals), never caller text.
//!
//! Revenue, average order value and top products count only orders that took money and kept
//! it: `confirmed`, `shipped`, `delivered`.

use crate::store::{Db, StoreError};
use spin_sdk::sqlite::{RowResult, Value};
use std::collections::BTreeMap;

/// Statuses whose totals count as revenue.
const REVENUE_STATUSES: &str = "('confirmed', 'shipped', 'delivered')";
/// Top products listed per period.
const TOP_PRODUCTS: i64 = 10;

/// The aggregates of one period (or of the whole window).
#[derive(Debug, Default)]
pub(super) struct PeriodStats {
    /// Order count per status.
    pub(super) counts: BTreeMap<String, i64>,
    /// Per currency: revenue, revenue orders, rounded average order value (minor units).
    pub(super) revenue: BTreeMap<String, Revenue>,
    /// Best sellers by quantity, most first (ties by product id).
    pub(super) top_products: Vec<TopProduct>,
}

/// Revenue in one currency.
#[derive(Debug, Default)]
pub(super) struct Revenue {
    /// Sum of order totals, minor units.
    pub(super) total_minor: i64,
    /// Orders summed.
    pub(super) orders: i64,
    /// `total_minor / orders`, rounded half up, minor units.
    pub(super) average_minor: i64,
}

/// One best-selling product.
#[derive(Debug)]
pub(super) struct TopProduct {
    /// The product id.
    pub(super) product_id: String,
    /// Its name as recorded on the order lines.
    pub(super) name: String,
    /// Units sold (all currencies).
    pub(super) quantity: i64,
    /// Line totals per currency, minor units.
    pub(super) revenue: BTreeMap<String, i64>,
}

/// The aggregates per period key over `[from_ms, to_ms)`.
///
/// # Errors
/// The database's [`StoreError`] (busy, or failed); a column of an unexpected type is
/// [`StoreError::Failed`].
pub(super) async fn aggregate(
    db: &Db,
    period_sql: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<BTreeMap<String, PeriodStats>, StoreError> {
    let window = "o.created_at >= ?1 AND o.created_at < ?2";
    let mut periods: BTreeMap<String, PeriodStats> = BTreeMap::new();

    let counts = format!(
        "SELECT {period_sql} AS period, o.status, COUNT(*) FROM orders o
         WHERE {window} GROUP BY period, o.status"
    );
    for row in rows(db, &counts, from_ms, to_ms).await? {
        let (period, status, count) = (text(&row, 0)?, text(&row, 1)?, integer(&row, 2)?);
        let stats = periods.entry(period).or_default();
        stats.counts.insert(status, count);
    }

    let revenue = format!(
        "SELECT {period_sql} AS period, o.currency, SUM(o.total_minor), COUNT(*),
                (2 * SUM(o.total_minor) + COUNT(*)) / (2 * COUNT(*))
         FROM orders o WHERE {window} AND o.status IN {REVENUE_STATUSES}
         GROUP BY period, o.currency"
    );
    for row in rows(db, &revenue, from_ms, to_ms).await? {
        let stats = periods.entry(text(&row, 0)?).or_default();
        stats.revenue.insert(
            text(&row, 1)?,
            Revenue {
                total_minor: integer(&row, 2)?,
                orders: integer(&row, 3)?,
                average_minor: integer(&row, 4)?,
            },
        );
    }

    let top = format!(
        "WITH sold AS (
             SELECT {period_sql} AS period, json_extract(l.value, '$[1]') AS product_id,
                    o.currency, SUM(json_extract(l.value, '$[4]')) AS quantity,
                    SUM(json_extract(l.value, '$[5]')) AS revenue,
                    MAX(json_extract(l.value, '$[2]')) AS name
             FROM orders o, json_each(o.lines) l
             WHERE {window} AND o.status IN {REVENUE_STATUSES}
             GROUP BY period, product_id, o.currency),
         per_product AS (
             SELECT period, product_id, SUM(quantity) AS quantity, MAX(name) AS name
             FROM sold GROUP BY period, product_id),
         ranked AS (
             SELECT period, product_id, quantity, name, ROW_NUMBER() OVER (
                 PARTITION BY period ORDER BY quantity DESC, product_id) AS rank
             FROM per_product)
         SELECT r.period, r.product_id, r.name, r.quantity, s.currency, s.revenue
         FROM ranked r JOIN sold s ON s.period = r.period AND s.product_id = r.product_id
         WHERE r.rank <= {TOP_PRODUCTS}
         ORDER BY r.period, r.rank, s.currency"
    );
    for row in rows(db, &top, from_ms, to_ms).await? {
        let stats = periods.entry(text(&row, 0)?).or_default();
        let product_id = text(&row, 1)?;
        if stats.top_products.last().map(|p| &p.product_id) != Some(&product_id) {
            stats.top_products.push(TopProduct {
                product_id,
                name: text(&row, 2)?,
                quantity: integer(&row, 3)?,
                revenue: BTreeMap::new(),
            });
        }
        if let Some(product) = stats.top_products.last_mut() {
            product.revenue.insert(text(&row, 4)?, integer(&row, 5)?);
        }
    }
    Ok(periods)
}

/// Runs one statement with the window bounds as `?1`, `?2`.
async fn rows(db: &Db, sql: &str, from_ms: i64, to_ms: i64) -> Result<Vec<RowResult>, StoreError> {
    db.query(sql, vec![Value::Integer(from_ms), Value::Integer(to_ms)])
        .await
}

fn text(row: &RowResult, index: usize) -> Result<String, StoreError> {
    row.get::<&str>(index)
        .map(str::to_owned)
        .ok_or_else(|| StoreError::Failed(format!("statistics: column {index} is not text")))
}

fn integer(row: &RowResult, index: usize) -> Result<i64, StoreError> {
    row.get::<i64>(index)
        .ok_or_else(|| StoreError::Failed(format!("statistics: column {index} is not an integer")))
}
