//! Admin endpoints (scope `orders:admin`): list, cancel with compensation, status changes,
//! saga recovery and payment reconciliation.

use super::input::{
    instant, invalid_input, optional_json_object, query_param, read_json_body, strict_json,
};
use super::read::{list, status_filter};
use super::{
    dispatch_events, open_db, order_changed, order_not_found, order_reply, storage_problem,
};
use crate::access::{self, Scope};
use crate::bindings::shop::adapters::payments;
use crate::problem::Problem;
use crate::reply::Reply;
use crate::saga::{self, compensate, recovery};
use crate::store::{Db, ListFilter, StoreError, StoredOrder};
use domain::{OrderStatus, SagaStep};
use order_store::clock;
use serde_json::{Value, json};
use spin_sdk::http::{Request, StatusCode};

/// Orders a recover or reconcile call handles at most.
const BATCH: u32 = 50;

/// `GET /api/v1/admin/orders?status=&userId=&from=&to=&limit=&cursor=`.
pub(crate) async fn list_orders(request: Request) -> Reply {
    if let Err(reply) = access::require(&request, Scope::OrdersAdmin).await {
        return reply;
    }
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
pub(crate) async fn recover(request: Request) -> Reply {
    batch(
        request,
        async |db: &Db| recovery::recover(db, BATCH).await,
        "recovered",
    )
    .await
}

/// `POST /api/v1/admin/orders/reconcile`: `{reconciled: [...]}`.
pub(crate) async fn reconcile(request: Request) -> Reply {
    batch(
        request,
        async |db: &Db| recovery::reconcile(db, BATCH).await,
        "reconciled",
    )
    .await
}

/// Runs an admin batch (`run`) and answers `{<name>: report, count}`.
async fn batch(
    request: Request,
    run: impl AsyncFnOnce(&Db) -> Result<Vec<Value>, crate::store::StoreError>,
    name: &str,
) -> Reply {
    if let Err(reply) = access::require(&request, Scope::OrdersAdmin).await {
        return reply;
    }
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
    if let Err(reply) = access::require(&request, Scope::OrdersAdmin).await {
        return reply;
    }
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
    if let Err(reply) = access::require(&request, Scope::OrdersAdmin).await {
        return reply;
    }
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

/// Applies a legal status change; cancellation and refund run their compensation.
async fn change(id: &str, next: OrderStatus, reason: Option<String>) -> Reply {
    let db = match open_db().await {
        Ok(db) => db,
        Err(reply) => return reply,
    };
    let mut stored = match db.load_order(id).await {
        Ok(Some(stored)) => stored,
        Ok(None) => return order_not_found(id),
        Err(error) => return storage_problem(&error),
    };
    if stored.saga_step != SagaStep::Completed {
        return Problem::typed(
            StatusCode::CONFLICT,
            "saga-in-progress",
            "Order saga in progress",
            format!("order `{id}` is still being processed (saga step `{}`); retry later or run POST /api/v1/admin/orders/recover", stored.saga_step.as_str()),
        )
        .with("orderId", id)
        .into_reply();
    }
    let from = stored.order.status;
    if !from.can_become(next) {
        return Problem::typed(
            StatusCode::CONFLICT,
            "illegal-transition",
            "Illegal status transition",
            format!("an order in status `{from}` cannot become `{next}`"),
        )
        .with("orderId", id)
        .with("from", from.as_str())
        .with("to", next.as_str())
        .into_reply();
    }
    if next == OrderStatus::Refunded && !refund(&stored).await {
        return Problem::typed(
            StatusCode::SERVICE_UNAVAILABLE,
            "dependency-unavailable",
            "A service the order depends on is unavailable",
            "the payment service could not refund the order; nothing was changed. Retry later",
        )
        .with("orderId", id)
        .retry_after(saga::RETRY_AFTER_S)
        .into_reply();
    }
    let result = apply(&db, &mut stored, next, reason).await;
    dispatch_events();
    match result {
        Ok(true) => order_reply(StatusCode::OK, &stored),
        Ok(false) => order_reply(StatusCode::ACCEPTED, &stored),
        Err(StoreError::Conflict { .. }) => {
            // Lost the race: answer with the status the winner left, read after the fact.
            let now = db.load_order(id).await.ok().flatten();
            order_changed(id, now.as_ref().map(|s| s.order.status.as_str()))
        }
        Err(error) => storage_problem(&error),
    }
}

/// `true` when the change is complete; `false` when compensation continues in recovery.
async fn apply(
    db: &Db,
    stored: &mut StoredOrder,
    next: OrderStatus,
    reason: Option<String>,
) -> Result<bool, crate::store::StoreError> {
    saga::transition(stored, next, reason);
    match next {
        OrderStatus::Cancelled => {
            // The intent is stored before any side effect: a capture notification arriving
            // during the calls below then finds the order `cancelled` and hands its refund
            // to recovery, and a change that won the race (a capture that confirmed the
            // order first) makes this write fail before any stock is released.
            stored.saga_step = SagaStep::Compensating;
            db.save_order(stored, clock::now_ms()).await?;
            compensate(db, stored).await
        }
        _ => {
            db.save_order(stored, clock::now_ms()).await?;
            Ok(true)
        }
    }
}

/// Refunds the order's payment (same key on every attempt); `true` when refunded or unpaid.
async fn refund(stored: &StoredOrder) -> bool {
    match stored.order.payment_id.as_deref() {
        Some(payment_id) => {
            let key = SagaStep::refund_key(&stored.order.id);
            let trace = saga::trace(stored.traceparent.as_deref());
            payments::refund(payment_id.to_owned(), key, trace)
                .await
                .is_ok()
        }
        None => true,
    }
}
