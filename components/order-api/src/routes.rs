//! The route table: one row per endpoint (method, path pattern, endpoint). Matching is on path
//! segments first, in table order (so `/api/v1/orders/statistics` wins over
//! `/api/v1/orders/{orderId}`), and method second:
//!
//! - a known path with another method is a 405 whose `Allow` lists the path's methods;
//! - `HEAD` runs the `GET` endpoint and the host sends its headers without the body (RFC 9110
//!   §9.3.2: same status and headers, `Content-Length` included);
//! - `OPTIONS` on a known path is 204 with `Allow` (RFC 9110 §9.3.7);
//! - an unknown path is a 404.
//!
//! The pattern a request matched is also its metrics label (bounded cardinality: ids never
//! become labels). A plain `match` over [`Endpoint`] rather than axum: axum requires `Send`
//! handler futures, and the futures of WIT async imports (wit-bindgen 0.57) are not `Send`.

use crate::health;
use crate::metrics;
use crate::openapi;
use crate::orders::{admin, create, read};
use crate::outbox_admin;
use crate::problem::Problem;
use crate::reply::Reply;
use crate::stats;
use spin_sdk::http::{Method, Request, StatusCode};

/// What a route does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Live,
    Ready,
    Metrics,
    OpenApi,
    Statistics,
    CreateOrder,
    GetOrder,
    UserOrders,
    AdminOrders,
    Recover,
    Reconcile,
    Cancel,
    SetStatus,
    Outbox,
    OutboxDispatch,
    OutboxReplay,
}

/// One row of the table. `{name}` segments of `pattern` match any one non-empty segment.
struct Route {
    method: Method,
    pattern: &'static str,
    endpoint: Endpoint,
}

const fn route(method: Method, pattern: &'static str, endpoint: Endpoint) -> Route {
    Route {
        method,
        pattern,
        endpoint,
    }
}

/// Every endpoint of ARCHITECTURE §4, in matching order.
const ROUTES: &[Route] = &[
    route(Method::GET, "/health/live", Endpoint::Live),
    route(Method::GET, "/health/ready", Endpoint::Ready),
    route(Method::GET, "/metrics", Endpoint::Metrics),
    route(Method::GET, "/openapi.json", Endpoint::OpenApi),
    route(
        Method::GET,
        "/api/v1/orders/statistics",
        Endpoint::Statistics,
    ),
    route(Method::POST, "/api/v1/orders", Endpoint::CreateOrder),
    route(Method::GET, "/api/v1/orders/{orderId}", Endpoint::GetOrder),
    route(
        Method::GET,
        "/api/v1/users/{userId}/orders",
        Endpoint::UserOrders,
    ),
    route(Method::GET, "/api/v1/admin/orders", Endpoint::AdminOrders),
    route(
        Method::POST,
        "/api/v1/admin/orders/recover",
        Endpoint::Recover,
    ),
    route(
        Method::POST,
        "/api/v1/admin/orders/reconcile",
        Endpoint::Reconcile,
    ),
    route(
        Method::POST,
        "/api/v1/admin/orders/{orderId}/cancel",
        Endpoint::Cancel,
    ),
    route(
        Method::POST,
        "/api/v1/admin/orders/{orderId}/status",
        Endpoint::SetStatus,
    ),
    route(Method::GET, "/api/v1/admin/outbox", Endpoint::Outbox),
    route(
        Method::POST,
        "/api/v1/admin/outbox/dispatch",
        Endpoint::OutboxDispatch,
    ),
    route(
        Method::POST,
        "/api/v1/admin/outbox/{eventId}/replay",
        Endpoint::OutboxReplay,
    ),
];

/// The metrics label of a path no route matches.
const UNMATCHED: &str = "unmatched";

/// Every metrics label: each pattern once, then [`UNMATCHED`].
pub(crate) fn patterns() -> impl Iterator<Item = &'static str> {
    let mut seen: Vec<&'static str> = Vec::new();
    ROUTES
        .iter()
        .map(|r| r.pattern)
        .filter(move |p| {
            let new = !seen.contains(p);
            seen.push(p);
            new
        })
        .chain(std::iter::once(UNMATCHED))
}

/// The parameters of `pattern` if it matches `segments` (in pattern order), else `None`.
fn match_pattern<'a>(pattern: &str, segments: &[&'a str]) -> Option<Vec<&'a str>> {
    let parts: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (part, segment) in parts.iter().zip(segments) {
        if part.starts_with('{') {
            params.push(*segment);
        } else if part != segment {
            return None;
        }
    }
    Some(params)
}

/// The first pattern (in table order) that matches the path, with its parameters.
fn matched_pattern<'a>(segments: &[&'a str]) -> Option<(&'static str, Vec<&'a str>)> {
    ROUTES
        .iter()
        .find_map(|r| match_pattern(r.pattern, segments).map(|params| (r.pattern, params)))
}

/// The `Allow` value of a pattern: its methods, `HEAD` with `GET`, and `OPTIONS`.
fn allow(pattern: &str) -> String {
    let mut methods: Vec<&str> = Vec::new();
    for r in ROUTES.iter().filter(|r| r.pattern == pattern) {
        methods.push(r.method.as_str());
        if r.method == Method::GET {
            methods.push("HEAD");
        }
    }
    methods.push("OPTIONS");
    methods.join(", ")
}

/// Routes one request to its endpoint.
pub(crate) async fn dispatch(request: Request) -> Reply {
    let path = path_info(&request);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some((pattern, params)) = matched_pattern(&segments) else {
        return Problem::not_found(&path).into_reply();
    };
    let method = request.method().clone();
    if method == Method::OPTIONS {
        return Reply::empty(StatusCode::NO_CONTENT).with_header("allow", &allow(pattern));
    }
    // HEAD is GET without the body; the host drops the body and keeps the headers.
    let wanted = if method == Method::HEAD {
        Method::GET
    } else {
        method.clone()
    };
    let Some(route) = ROUTES
        .iter()
        .find(|r| r.pattern == pattern && r.method == wanted)
    else {
        return Problem::method_not_allowed(method.as_str(), &path, &allow(pattern)).into_reply();
    };
    let param = params.first().copied().unwrap_or_default();
    match route.endpoint {
        Endpoint::Live => health::live(),
        Endpoint::Ready => health::ready().await,
        Endpoint::Metrics => metrics::scrape().await,
        Endpoint::OpenApi => openapi::document(),
        Endpoint::Statistics => stats::statistics(&request).await,
        Endpoint::CreateOrder => create::create(request).await,
        Endpoint::GetOrder => read::get_order(request, param).await,
        Endpoint::UserOrders => read::user_orders(request, param).await,
        Endpoint::AdminOrders => admin::list_orders(request).await,
        Endpoint::Recover => admin::recover(request).await,
        Endpoint::Reconcile => admin::reconcile(request).await,
        Endpoint::Cancel => admin::cancel(request, param).await,
        Endpoint::SetStatus => admin::set_status(request, param).await,
        Endpoint::Outbox => outbox_admin::list(request).await,
        Endpoint::OutboxDispatch => outbox_admin::dispatch(request).await,
        Endpoint::OutboxReplay => outbox_admin::replay(request, param).await,
    }
}

/// The route pattern `request` matches (its metrics label), or `unmatched`.
pub(crate) fn pattern(request: &Request) -> &'static str {
    let path = path_info(request);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    matched_pattern(&segments).map_or(UNMATCHED, |(pattern, _)| pattern)
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
