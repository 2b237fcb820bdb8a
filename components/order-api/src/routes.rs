//! The route table. Matching is on path segments first and method second, so a known
//! path with the wrong method is a 405 (with `Allow`), an unknown path a 404.
//!
//! A plain `match` rather than axum: axum requires `Send` handler futures, and the
//! futures of WIT async imports (wit-bindgen 0.57) are not `Send`.

use crate::health;
use crate::problem::Problem;
use crate::reply::Reply;
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
