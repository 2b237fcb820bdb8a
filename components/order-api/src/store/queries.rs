//! Order lists: keyset pagination newest first (`created_at DESC, id DESC`, served by the
//! ascending `orders_*_created` indexes scanned backwards, migration 9), and the recovery
//! backlog for `/metrics`.

use super::StoredOrder;
use super::{Db, StoreError};
use domain::OrderStatus;
use spin_sdk::sqlite::Value;

/// Position after the last order of a page: its `(created_at, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// `created_at` of the last order shown.
    pub(crate) created_at: i64,
    /// Its id (tie-breaker).
    pub(crate) id: String,
}

/// Which orders to list.
#[derive(Debug, Default)]
pub(crate) struct ListFilter {
    /// Only this buyer's.
    pub(crate) user_id: Option<String>,
    /// Only in this status.
    pub(crate) status: Option<OrderStatus>,
    /// Created at or after (epoch ms).
    pub(crate) from: Option<i64>,
    /// Created before (epoch ms).
    pub(crate) to: Option<i64>,
}

/// One page of orders and where the next one starts.
pub(crate) struct Page {
    /// The orders, newest first.
    pub(crate) orders: Vec<StoredOrder>,
    /// `Some` when more orders follow.
    pub(crate) next: Option<Cursor>,
}

impl Db {
    /// Up to `limit` orders matching `filter`, after `cursor`, newest first.
    pub(crate) async fn list_orders(
        &self,
        filter: &ListFilter,
        cursor: Option<&Cursor>,
        limit: u32,
    ) -> Result<Page, StoreError> {
        let mut clauses: Vec<&str> = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        if let Some(user_id) = &filter.user_id {
            clauses.push("user_id = ?");
            params.push(Value::Text(user_id.clone()));
        }
        if let Some(status) = filter.status {
            clauses.push("status = ?");
            params.push(Value::Text(status.as_str().to_owned()));
        }
        if let Some(from) = filter.from {
            clauses.push("created_at >= ?");
            params.push(Value::Integer(from));
        }
        if let Some(to) = filter.to {
            clauses.push("created_at < ?");
            params.push(Value::Integer(to));
        }
        if let Some(cursor) = cursor {
            clauses.push("(created_at < ? OR (created_at = ? AND id < ?))");
            params.push(Value::Integer(cursor.created_at));
            params.push(Value::Integer(cursor.created_at));
            params.push(Value::Text(cursor.id.clone()));
        }
        let filter_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        params.push(Value::Integer(i64::from(limit) + 1));
        let sql = format!(
            "SELECT {} FROM orders {filter_sql} ORDER BY created_at DESC, id DESC LIMIT ?",
            order_store::ORDER_COLUMNS
        );
        let rows = self.query(&sql, params).await?;
        let orders = rows
            .iter()
            .take(limit as usize)
            .map(order_store::hydrate)
            .collect::<Result<Vec<_>, _>>()?;
        let next = match (rows.len() > limit as usize, orders.last()) {
            (true, Some(last)) => Some(Cursor {
                created_at: last.order.created_at.millis(),
                id: last.order.id.clone(),
            }),
            _ => None,
        };
        Ok(Page { orders, next })
    }

    /// How many sagas are unfinished and last touched before `before` (the recovery backlog).
    pub(crate) async fn count_stale_sagas(&self, before: i64) -> Result<u64, StoreError> {
        let rows = self
            .query(
                &order_store::stale_sagas_count_query(),
                vec![Value::Integer(before)],
            )
            .await?;
        Ok(rows
            .first()
            .and_then(|row| row.get::<i64>(0))
            .map_or(0, |n| n.max(0) as u64))
    }
}
