//! `GET /api/v1/orders/{orderId}` and `GET /api/v1/users/{userId}/orders` (scope `orders:read`).

use super::params::{Page, UserOrdersQuery, encode_cursor};
use super::{open_db, order_reply};
use crate::problem::ApiError;
use crate::query::Query;
use crate::reply::Reply;
use crate::store::{Db, ListFilter, StoreError, StoredOrder};
use crate::{config, ports};
use domain::{OrderStatus, SagaStep};
use guest::clock;
use serde_json::json;
use spin_sdk::http::{Request, StatusCode};

/// `GET /api/v1/orders/{orderId}`: the order with lines, totals and status history.
pub(crate) async fn get_order(id: &str) -> Result<Reply, ApiError> {
    let db = open_db().await?;
    match load_settled(&db, id).await? {
        Some(mut stored) => {
            // A `payment_pending` order older than `payment_reconcile_after_s` may have missed
            // its notification (Redis pub/sub is at-most-once): ask Payment before answering.
            let settings = config::settings().await;
            let stale_before = clock::now_ms() - settings.payment_reconcile_after_s * 1000;
            if stored.order.status == OrderStatus::PaymentPending
                && stored.order.updated_at.millis() < stale_before
            {
                ports::app(&db, settings)
                    .reconcile_order(&mut stored)
                    .await?;
            }
            Ok(order_reply(StatusCode::OK, &stored))
        }
        None => Err(ApiError::OrderNotFound { id: id.to_owned() }),
    }
}

/// The order, after resolving its charge if that is stale: a client polling the `Location` of
/// a 202 (a charge whose outcome was unknown) sees it settle without waiting for an operator
/// or the next order. Only that step runs on a read — repeating the charge with the same key,
/// which the buyer asked for — never a release, refund or cancellation. One conditional
/// `UPDATE` when the charge is unresolved, nothing otherwise; if recovery fails, the order as
/// it is then is answered.
async fn load_settled(db: &Db, id: &str) -> Result<Option<StoredOrder>, StoreError> {
    match db.load_order(id).await? {
        Some(stored) if stored.saga_step == SagaStep::ChargeRequested => {
            let app = ports::app(db, config::settings().await);
            if let Ok(Some(_)) = app.recover_order(id).await {
                super::dispatch_events();
            }
            // Read again whoever settled it (this read, or a concurrent pass that held the
            // saga): the answer is the order as it is now.
            match db.load_order(id).await {
                Ok(Some(now)) => Ok(Some(now)),
                _ => Ok(Some(stored)),
            }
        }
        other => Ok(other),
    }
}

/// `GET /api/v1/users/{userId}/orders?status=&limit=&cursor=`: newest first.
pub(crate) async fn user_orders(request: &Request, user_id: &str) -> Result<Reply, ApiError> {
    let query = UserOrdersQuery::from_query(&Query::of(request))?;
    let filter = ListFilter {
        user_id: Some(user_id.to_owned()),
        status: query.status,
        ..ListFilter::default()
    };
    list(filter, query.page).await
}

/// One page of `filter`: `{orders, nextCursor}`.
pub(super) async fn list(filter: ListFilter, page: Page) -> Result<Reply, ApiError> {
    let db: Db = open_db().await?;
    let orders = db
        .list_orders(&filter, page.cursor.as_ref(), page.limit)
        .await?;
    Ok(Reply::json(
        StatusCode::OK,
        &json!({
            "orders": orders.orders.iter().map(|s| &s.order).collect::<Vec<_>>(),
            "nextCursor": orders.next.as_ref().map(encode_cursor),
        }),
    ))
}
