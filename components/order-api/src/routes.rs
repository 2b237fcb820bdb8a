//! The route table. Matching is on path segments first and method second, so a known
//! path with the wrong method is a 405 (with `Allow`), an unknown path a 404.
//!
//! A plain `match` rather than axum: axum requires `Send` handler futures, and the
//! futures of WIT async imports (wit-bindgen 0.57) are not `Send`.

use crate::health;
use crate::openapi;
use crate::orders::{admin, create, read};
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
        _ => Problem::not_found(&path).into_reply(),
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
