//! The route table. Matching is on path segments first and method second, so a known
//! path with the wrong method is a 405 (with `Allow`), an unknown path a 404.
//!
//! A plain `match` rather than axum: axum requires `Send` handler futures, and the
//! futures of WIT async imports (wit-bindgen 0.57) are not `Send`.

use crate::health;
use crate::metrics;
use crate::openapi;
use crate::orders::{admin, create, read};
use crate::outbox_admin;
use crate::problem::Problem;
use crate::reply::Reply;
use crate::stats;
use spin_sdk::http::{Method, Request};

/// Routes one request to its handler.
pub(crate) async fn dispatch(request: Request) -> Reply {
    let path = path_info(&request);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = request.method();

    match segments.as_slice() {
        ["health", "live"] => match *method {
            Method::GET => health::live(),
            _ => Problem::method_not_allowed(method.as_str(), &path, "GET").into_reply(),
        },
        ["health", "ready"] => match *method {
            Method::GET => health::ready().await,
            _ => Problem::method_not_allowed(method.as_str(), &path, "GET").into_reply(),
        },
        ["metrics"] => match *method {
            Method::GET => metrics::scrape().await,
            _ => Problem::method_not_allowed(method.as_str(), &path, "GET").into_reply(),
        },
        ["openapi.json"] => match *method {
            Method::GET => openapi::document(),
            _ => Problem::method_not_allowed(method.as_str(), &path, "GET").into_reply(),
        },
        ["api", "v1", "orders", "statistics"] => match *method {
            Method::GET => stats::statistics(&request).await,
            _ => Problem::method_not_allowed(method.as_str(), &path, "GET").into_reply(),
        },
        ["api", "v1", "orders"] => match *method {
            Method::POST => create::create(request).await,
            _ => Problem::method_not_allowed(method.as_str(), &path, "POST").into_reply(),
        },
        ["api", "v1", "orders", id] => match *method {
            Method::GET => read::get_order(request, id).await,
            _ => Problem::method_not_allowed(method.as_str(), &path, "GET").into_reply(),
        },
        ["api", "v1", "users", user_id, "orders"] => match *method {
            Method::GET => read::user_orders(request, user_id).await,
            _ => Problem::method_not_allowed(method.as_str(), &path, "GET").into_reply(),
        },
        ["api", "v1", "admin", "orders"] => match *method {
            Method::GET => admin::list_orders(request).await,
            _ => Problem::method_not_allowed(method.as_str(), &path, "GET").into_reply(),
        },
        ["api", "v1", "admin", "orders", "recover"] => match *method {
            Method::POST => admin::recover(request).await,
            _ => Problem::method_not_allowed(method.as_str(), &path, "POST").into_reply(),
        },
        ["api", "v1", "admin", "orders", "reconcile"] => match *method {
            Method::POST => admin::reconcile(request).await,
            _ => Problem::method_not_allowed(method.as_str(), &path, "POST").into_reply(),
        },
        ["api", "v1", "admin", "orders", id, "cancel"] => match *method {
            Method::POST => admin::cancel(request, id).await,
            _ => Problem::method_not_allowed(method.as_str(), &path, "POST").into_reply(),
        },
        ["api", "v1", "admin", "orders", id, "status"] => match *method {
            Method::POST => admin::set_status(request, id).await,
            _ => Problem::method_not_allowed(method.as_str(), &path, "POST").into_reply(),
        },
        ["api", "v1", "admin", "outbox"] => match *method {
            Method::GET => outbox_admin::list(request).await,
            _ => Problem::method_not_allowed(method.as_str(), &path, "GET").into_reply(),
        },
        ["api", "v1", "admin", "outbox", "dispatch"] => match *method {
            Method::POST => outbox_admin::dispatch(request).await,
            _ => Problem::method_not_allowed(method.as_str(), &path, "POST").into_reply(),
        },
        ["api", "v1", "admin", "outbox", event_id, "replay"] => match *method {
            Method::POST => outbox_admin::replay(request, event_id).await,
            _ => Problem::method_not_allowed(method.as_str(), &path, "POST").into_reply(),
        },
        _ => Problem::not_found(&path).into_reply(),
    }
}

/// Every route pattern, for metrics labels (bounded cardinality: ids never become labels).
pub(crate) const PATTERNS: &[&str] = &[
    "/health/live",
    "/health/ready",
    "/metrics",
    "/openapi.json",
    "/api/v1/orders/statistics",
    "/api/v1/orders",
    "/api/v1/orders/{orderId}",
    "/api/v1/users/{userId}/orders",
    "/api/v1/admin/orders",
    "/api/v1/admin/orders/recover",
    "/api/v1/admin/orders/reconcile",
    "/api/v1/admin/orders/{orderId}/cancel",
    "/api/v1/admin/orders/{orderId}/status",
    "/api/v1/admin/outbox",
    "/api/v1/admin/outbox/dispatch",
    "/api/v1/admin/outbox/{eventId}/replay",
    UNMATCHED,
];

/// The pattern of a path no route matches.
const UNMATCHED: &str = "unmatched";

/// The route pattern `request` matches (one of [`PATTERNS`]), mirroring `dispatch`.
pub(crate) fn pattern(request: &Request) -> &'static str {
    let path = path_info(request);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["health", "live"] => PATTERNS[0],
        ["health", "ready"] => PATTERNS[1],
        ["metrics"] => PATTERNS[2],
        ["openapi.json"] => PATTERNS[3],
        ["api", "v1", "orders", "statistics"] => PATTERNS[4],
        ["api", "v1", "orders"] => PATTERNS[5],
        ["api", "v1", "orders", _] => PATTERNS[6],
        ["api", "v1", "users", _, "orders"] => PATTERNS[7],
        ["api", "v1", "admin", "orders"] => PATTERNS[8],
        ["api", "v1", "admin", "orders", "recover"] => PATTERNS[9],
        ["api", "v1", "admin", "orders", "reconcile"] => PATTERNS[10],
        ["api", "v1", "admin", "orders", _, "cancel"] => PATTERNS[11],
        ["api", "v1", "admin", "orders", _, "status"] => PATTERNS[12],
        ["api", "v1", "admin", "outbox"] => PATTERNS[13],
        ["api", "v1", "admin", "outbox", "dispatch"] => PATTERNS[14],
        ["api", "v1", "admin", "outbox", _, "replay"] => PATTERNS[15],
        _ => UNMATCHED,
    }
}

/// The path below the component's route. Spin passes it in `spin-path-info`; without that
/// header the full request path is used (the component is mounted at `/...`).
fn path_info(request: &Request) -> String {
    request
        .headers()
        .get("spin-path-info")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| request.uri().path().to_owned())
}
