//! Admin endpoints (scope `orders:admin`): list, cancel with compensation, status changes,
//! saga recovery and payment reconciliation.

use super::body::{CancelBody, StatusChangeBody};
use super::input::{optional_json_body, read_json_body};
use super::params::AdminOrdersQuery;
use super::read::list;
use super::{dispatch_events, open_db, order_reply};
use crate::problem::ApiError;
use crate::query::Query;
use crate::reply::Reply;
use crate::store::Db;
use crate::{config, ports};
use domain::OrderStatus;
use order_app::{StatusChangeOutcome, action_name};
use serde_json::{Value, json};
use spin_sdk::http::{Request, StatusCode};

/// Orders a recover or reconcile call handles at most.
const BATCH: u32 = 50;

/// `GET /api/v1/admin/orders?status=&userId=&from=&to=&limit=&cursor=`.
pub(crate) async fn list_orders(request: &Request) -> Result<Reply, ApiError> {
    let query = AdminOrdersQuery::from_query(&Query::of(request))?;
    list(query.filter, query.page).await
}

/// `POST /api/v1/admin/orders/recover`: `{recovered: [...]}`.
pub(crate) async fn recover() -> Result<Reply, ApiError> {
    batch(
        async |db: &Db| {
            let app = ports::app(db, config::settings().await);
            Ok(app
                .recover(BATCH)
                .await?
                .into_iter()
                .map(|entry| {
                    json!({
                        "orderId": entry.order_id,
                        "action": action_name(entry.action),
                        "status": entry.status,
                        "sagaStep": entry.saga_step.as_str(),
                        "finished": entry.finished,
                    })
                })
                .collect())
        },
        "recovered",
    )
    .await
}

/// `POST /api/v1/admin/orders/reconcile`: `{reconciled: [...]}`.
pub(crate) async fn reconcile() -> Result<Reply, ApiError> {
    batch(
        async |db: &Db| {
            let app = ports::app(db, config::settings().await);
            Ok(app
                .reconcile(BATCH)
                .await?
                .into_iter()
                .map(|entry| {
                    json!({
                        "orderId": entry.order_id,
                        "paymentId": entry.payment_id,
                        "result": entry.result.as_str(),
                    })
                })
                .collect())
        },
        "reconciled",
    )
    .await
}

/// Runs an admin batch (`run`) and answers `{<name>: report, count}`.
async fn batch(
    run: impl AsyncFnOnce(&Db) -> Result<Vec<Value>, order_store::StoreError>,
    name: &str,
) -> Result<Reply, ApiError> {
    let db = open_db().await?;
    let report = run(&db).await?;
    dispatch_events();
    Ok(Reply::json(
        StatusCode::OK,
        &json!({ name: report, "count": report.len() }),
    ))
}

/// `POST /api/v1/admin/orders/{orderId}/cancel` with `{reason?}` or no body: cancel, release
/// stock, refund if paid.
pub(crate) async fn cancel(request: Request, id: &str) -> Result<Reply, ApiError> {
    let reason = match optional_json_body(request).await? {
        Some(value) => CancelBody::from_json(value)?.reason,
        None => None,
    };
    let reason = reason.unwrap_or_else(|| "cancelled by an administrator".into());
    change(id, OrderStatus::Cancelled, Some(reason)).await
}

/// `POST /api/v1/admin/orders/{orderId}/status` with `{status, reason?}`.
pub(crate) async fn set_status(request: Request, id: &str) -> Result<Reply, ApiError> {
    let value = domain::parse_strict(&read_json_body(request).await?)?;
    let body = StatusChangeBody::from_json(value)?;
    change(id, body.status, body.reason).await
}

/// Applies a legal status change through the order application; cancellation and refund run
/// their compensation.
async fn change(id: &str, next: OrderStatus, reason: Option<String>) -> Result<Reply, ApiError> {
    let db = open_db().await?;
    let app = ports::app(&db, config::settings().await);
    let outcome = app.change_status(id, next, reason).await;
    dispatch_events();
    let id = id.to_owned();
    match outcome? {
        StatusChangeOutcome::Changed(stored) => Ok(order_reply(StatusCode::OK, &stored)),
        StatusChangeOutcome::Continuing(stored) => Ok(order_reply(StatusCode::ACCEPTED, &stored)),
        StatusChangeOutcome::NotFound => Err(ApiError::OrderNotFound { id }),
        StatusChangeOutcome::SagaInProgress(step) => Err(ApiError::SagaInProgress { id, step }),
        StatusChangeOutcome::Illegal { from, to } => {
            Err(ApiError::IllegalTransition { id, from, to })
        }
        StatusChangeOutcome::RefundUnavailable => Err(ApiError::RefundUnavailable { id }),
        StatusChangeOutcome::ChangedByOther(current) => Err(ApiError::OrderChanged { id, current }),
    }
}
