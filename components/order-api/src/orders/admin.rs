//! Admin endpoints (scope `orders:admin`): list, cancel with compensation, status changes,
//! saga recovery and payment reconciliation.

use super::input::{
    instant, invalid_input, optional_json_object, query_param, read_json_body, strict_json,
};
use super::read::{list, status_filter};
use super::{
    dispatch_events, open_db, order_changed, order_not_found, order_reply, storage_problem,
};
use crate::problem::Problem;
use crate::reply::Reply;
use crate::store::{Db, ListFilter};
use crate::{config, ports};
use domain::OrderStatus;
use order_app::{RETRY_AFTER_S, StatusChangeOutcome, action_name};
use serde_json::{Value, json};
use spin_sdk::http::{Request, StatusCode};

/// Orders a recover or reconcile call handles at most.
const BATCH: u32 = 50;

/// `GET /api/v1/admin/orders?status=&userId=&from=&to=&limit=&cursor=`.
pub(crate) async fn list_orders(request: Request) -> Reply {
    let filter = (|| {
        Ok::<_, Problem>(ListFilter {
            user_id: query_param(&request, "userId"),
            status: status_filter(&request)?,
            from: query_param(&request, "from")
                .map(|t| instant("from", &t))
                .transpose()?,
            to: query_param(&request, "to")
                .map(|t| instant("to", &t))
                .transpose()?,
        })
    })();
    match filter {
        Ok(filter) => list(&request, filter).await,
        Err(problem) => problem.into_reply(),
    }
}

/// `POST /api/v1/admin/orders/recover`: `{recovered: [...]}`.
pub(crate) async fn recover() -> Reply {
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
pub(crate) async fn reconcile() -> Reply {
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
) -> Reply {
    let db = match open_db().await {
        Ok(db) => db,
        Err(reply) => return reply,
    };
    let report = match run(&db).await {
        Ok(report) => report,
        Err(error) => return storage_problem(&error),
    };
    dispatch_events();
    Reply::json(
        StatusCode::OK,
        &json!({ name: report, "count": report.len() }),
    )
}

/// `POST /api/v1/admin/orders/{orderId}/cancel`: cancel, release stock, refund if paid.
pub(crate) async fn cancel(request: Request, id: &str) -> Reply {
    let reason = match optional_json_object(request).await {
        Ok(None) => None,
        Ok(Some(body)) => match body.get("reason") {
            None => None,
            Some(Value::String(reason)) => Some(reason.chars().take(500).collect::<String>()),
            Some(_) => {
                return invalid_input("reason", "reason must be text (at most 500 characters)")
                    .into_reply();
            }
        },
        Err(problem) => return problem.into_reply(),
    };
    let reason = reason.unwrap_or_else(|| "cancelled by an administrator".into());
    change(id, OrderStatus::Cancelled, Some(reason)).await
}

/// `POST /api/v1/admin/orders/{orderId}/status` with `{status, reason?}`.
pub(crate) async fn set_status(request: Request, id: &str) -> Reply {
    let value: Value = match read_json_body(request)
        .await
        .and_then(|body| strict_json(&body))
    {
        Ok(value) => value,
        Err(problem) => return problem.into_reply(),
    };
    let Some(status) = value["status"].as_str().and_then(OrderStatus::parse) else {
        let names: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
        return invalid_input(
            "status",
            format!(
                "body must be {{\"status\": one of {}, \"reason\"?: text}}",
                names.join(", ")
            ),
        )
        .into_reply();
    };
    let reason = value["reason"]
        .as_str()
        .map(|r| r.chars().take(500).collect());
    change(id, status, reason).await
}

/// Applies a legal status change through the order application; cancellation and refund run
/// their compensation.
async fn change(id: &str, next: OrderStatus, reason: Option<String>) -> Reply {
    let db = match open_db().await {
        Ok(db) => db,
        Err(reply) => return reply,
    };
    let app = ports::app(&db, config::settings().await);
    let outcome = app.change_status(id, next, reason).await;
    dispatch_events();
    match outcome {
        Ok(StatusChangeOutcome::Changed(stored)) => order_reply(StatusCode::OK, &stored),
        Ok(StatusChangeOutcome::Continuing(stored)) => order_reply(StatusCode::ACCEPTED, &stored),
        Ok(StatusChangeOutcome::NotFound) => order_not_found(id),
        Ok(StatusChangeOutcome::SagaInProgress(step)) => Problem::typed(
            StatusCode::CONFLICT,
            "saga-in-progress",
            "Order saga in progress",
            format!("order `{id}` is still being processed (saga step `{}`); retry later or run POST /api/v1/admin/orders/recover", step.as_str()),
        )
        .with("orderId", id)
        .into_reply(),
        Ok(StatusChangeOutcome::Illegal { from, to }) => Problem::typed(
            StatusCode::CONFLICT,
            "illegal-transition",
            "Illegal status transition",
            format!("an order in status `{from}` cannot become `{to}`"),
        )
        .with("orderId", id)
        .with("from", from.as_str())
        .with("to", to.as_str())
        .into_reply(),
        Ok(StatusChangeOutcome::RefundUnavailable) => Problem::typed(
            StatusCode::SERVICE_UNAVAILABLE,
            "dependency-unavailable",
            "A service the order depends on is unavailable",
            "the payment service could not refund the order; nothing was changed. Retry later",
        )
        .with("orderId", id)
        .retry_after(RETRY_AFTER_S)
        .into_reply(),
        Ok(StatusChangeOutcome::ChangedByOther(current)) => {
            order_changed(id, current.map(|status| status.as_str()))
        }
        Err(error) => storage_problem(&error),
    }
}
