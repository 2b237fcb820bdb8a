//! `GET /api/v1/orders/statistics?from=&to=&groupBy=day|week|month` (scope `orders:stats`,
//! for Analytics): order counts by status, revenue and average order value per currency,
//! and the ten best-selling products, for the whole window and per period.
//!
//! Shape (camelCase; money is `{amountMinor, currency}`, integer minor units):
//! ```json
//! { "from": "2026-11-01T00:00:00.000Z", "to": null, "groupBy": "week",
//!   "totals": { "orders": 3, "countsByStatus": { "confirmed": 2, "pending": 1, ... },
//!               "revenue": [{ "amountMinor": 5998, "currency": "EUR" }],
//!               "averageOrderValue": [{ "amountMinor": 2999, "currency": "EUR" }],
//!               "topProducts": [{ "productId": "p-1", "name": "Mug", "quantity": 4,
//!                                 "revenue": [{ "amountMinor": 3996, "currency": "EUR" }] }] },
//!   "periods": [{ "period": "2026-11-23", ...same fields as totals }] }
//! ```
//! `period` is the first day (UTC) of the day, ISO week (Monday) or month. Only periods with
//! orders are listed, oldest first. `countsByStatus` always names every order state.

mod params;
mod query;

use crate::problem::ApiError;
use crate::query::Query;
use crate::reply::Reply;
use crate::store::Db;
use domain::OrderStatus;
use params::{StatsQuery, format_instant};
use query::{PeriodStats, aggregate};
use serde_json::{Map, Value, json};
use spin_sdk::http::{Request, StatusCode};

/// The handler (scope `orders:stats`, checked by the router): parameters, then two aggregations (whole window and per period).
pub(crate) async fn statistics(request: &Request) -> Result<Reply, ApiError> {
    let query = StatsQuery::from_query(&Query::of(request)).map_err(|error| {
        ApiError::invalid_parameter(
            error.parameter,
            format!("query parameter `{}` {}", error.parameter, error.reason),
        )
    })?;
    let from_ms = query.from_ms.unwrap_or(i64::MIN);
    let to_ms = query.to_ms.unwrap_or(i64::MAX);

    let db = Db::open().await?;
    let mut totals = aggregate(&db, "'all'", from_ms, to_ms).await?;
    let periods = aggregate(&db, query.group_by.period_sql(), from_ms, to_ms).await?;

    let body = json!({
        "from": query.from_ms.map(format_instant),
        "to": query.to_ms.map(format_instant),
        "groupBy": query.group_by.as_str(),
        "totals": stats_json(totals.remove("all").unwrap_or_default(), None),
        "periods": periods
            .into_iter()
            .map(|(period, stats)| stats_json(stats, Some(period)))
            .collect::<Vec<_>>(),
    });
    Ok(Reply::json(StatusCode::OK, &body).with_header("cache-control", "no-store"))
}

/// One aggregate as JSON, led by `period` when it is one.
fn stats_json(stats: PeriodStats, period: Option<String>) -> Value {
    // Every order state, so a count of zero is explicit.
    let mut counts: Map<String, Value> = OrderStatus::ALL
        .iter()
        .map(|status| (status.as_str().to_owned(), Value::from(0)))
        .collect();
    let mut orders = 0_i64;
    for (status, count) in stats.counts {
        orders = orders.saturating_add(count);
        counts.insert(status, count.into());
    }
    let mut body = Map::new();
    if let Some(period) = period {
        body.insert("period".into(), period.into());
    }
    body.insert("orders".into(), orders.into());
    body.insert("countsByStatus".into(), counts.into());
    body.insert(
        "revenue".into(),
        stats
            .revenue
            .iter()
            .map(|(currency, revenue)| money(revenue.total_minor, currency))
            .collect(),
    );
    body.insert(
        "averageOrderValue".into(),
        stats
            .revenue
            .iter()
            .map(|(currency, revenue)| {
                let mut value = money(revenue.average_minor, currency);
                value["orders"] = revenue.orders.into();
                value
            })
            .collect(),
    );
    body.insert(
        "topProducts".into(),
        stats
            .top_products
            .into_iter()
            .map(|product| {
                json!({
                    "productId": product.product_id,
                    "name": product.name,
                    "quantity": product.quantity,
                    "revenue": product.revenue.iter()
                        .map(|(currency, amount)| money(*amount, currency))
                        .collect::<Vec<_>>(),
                })
            })
            .collect(),
    );
    Value::Object(body)
}

fn money(amount_minor: i64, currency: &str) -> Value {
    json!({ "amountMinor": amount_minor, "currency": currency })
}
