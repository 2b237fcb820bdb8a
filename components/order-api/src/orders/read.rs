//! `GET /api/v1/orders/{orderId}` and `GET /api/v1/users/{userId}/orders` (scope `orders:read`).

use super::input::{cursor, encode_cursor, limit, query_param};
use super::{open_db, order_not_found, order_reply, storage_problem};
use crate::problem::Problem;
use crate::reply::Reply;
use crate::store::{Db, ListFilter, StoreError, StoredOrder};
use crate::{config, ports};
use domain::{OrderStatus, SagaStep};
use guest::clock;
use serde_json::json;
use spin_sdk::http::{Request, StatusCode};

/// `GET /api/v1/orders/{orderId}`: the order with lines, totals and status history.
pub(crate) async fn get_order(id: &str) -> Reply {
    let db = match open_db().await {
        Ok(db) => db,
        Err(reply) => return reply,
    };
    match load_settled(&db, id).await {
        Ok(Some(mut stored)) => {
            // A `payment_pending` order older than `payment_reconcile_after_s` may have missed
            // its notification (Redis pub/sub is at-most-once): ask Payment before answering.
            let settings = config::settings().await;
            let stale_before = clock::now_ms() - settings.payment_reconcile_after_s * 1000;
            if stored.order.status == OrderStatus::PaymentPending
                && stored.order.updated_at.millis() < stale_before
                && let Err(error) = ports::app(&db, settings).reconcile_order(&mut stored).await
            {
                return storage_problem(&error);
            }
            order_reply(StatusCode::OK, &stored)
        }
        Ok(None) => order_not_found(id),
        Err(error) => storage_problem(&error),
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
pub(crate) async fn user_orders(request: Request, user_id: &str) -> Reply {
    let filter = match status_filter(&request) {
        Ok(status) => ListFilter {
            user_id: Some(user_id.to_owned()),
            status,
            ..ListFilter::default()
        },
        Err(problem) => return problem.into_reply(),
    };
    list(&request, filter).await
}

/// `?status=`, checked against the state machine's names.
pub(super) fn status_filter(request: &Request) -> Result<Option<OrderStatus>, Problem> {
    match query_param(request, "status") {
        None => Ok(None),
        Some(name) => OrderStatus::parse(&name).map(Some).ok_or_else(|| {
            let names: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
            Problem::invalid_parameter(
                "status",
                format!("status must be one of {}", names.join(", ")),
            )
        }),
    }
}

/// One page of `filter`: `{orders, nextCursor}`.
pub(super) async fn list(request: &Request, filter: ListFilter) -> Reply {
    let (limit, cursor) = match (limit(request), cursor(request)) {
        (Ok(limit), Ok(cursor)) => (limit, cursor),
        (Err(problem), _) | (_, Err(problem)) => return problem.into_reply(),
    };
    let db: Db = match open_db().await {
        Ok(db) => db,
        Err(reply) => return reply,
    };
    match db.list_orders(&filter, cursor.as_ref(), limit).await {
        Ok(page) => Reply::json(
            StatusCode::OK,
            &json!({
                "orders": page.orders.iter().map(|s| &s.order).collect::<Vec<_>>(),
                "nextCursor": page.next.as_ref().map(encode_cursor),
            }),
        ),
        Err(error) => storage_problem(&error),
    }
}
