//! The route table: one row per endpoint (method, path pattern, required scope, endpoint), the
//! one place an endpoint is declared: the dispatcher checks the scope (ARCHITECTURE §5) before
//! the handler runs, the patterns are the metrics labels, and a test checks them against
//! `openapi.json`. Paths are matched by `matchit` (a static segment wins over a parameter, so
//! `/api/v1/orders/statistics` is not an order id), then the method:
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

use crate::access::{self, Scope};
use crate::health;
use crate::metrics;
use crate::openapi;
use crate::orders::{admin, create, read};
use crate::outbox_admin;
use crate::problem::ApiError;
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

/// One row of the table. `{name}` segments of `pattern` match any one non-empty segment;
/// `scope` is the token scope the endpoint requires (`None`: public).
struct Route {
    method: Method,
    pattern: &'static str,
    scope: Option<Scope>,
    endpoint: Endpoint,
}

const fn route(
    method: Method,
    pattern: &'static str,
    scope: Option<Scope>,
    endpoint: Endpoint,
) -> Route {
    Route {
        method,
        pattern,
        scope,
        endpoint,
    }
}

const PUBLIC: Option<Scope> = None;
const READ: Option<Scope> = Some(Scope::OrdersRead);
const WRITE: Option<Scope> = Some(Scope::OrdersWrite);
const STATS: Option<Scope> = Some(Scope::OrdersStats);
const ADMIN: Option<Scope> = Some(Scope::OrdersAdmin);

/// Every endpoint of ARCHITECTURE §4.
#[rustfmt::skip]
const ROUTES: &[Route] = &[
    route(Method::GET, "/health/live", PUBLIC, Endpoint::Live),
    route(Method::GET, "/health/ready", PUBLIC, Endpoint::Ready),
    route(Method::GET, "/metrics", PUBLIC, Endpoint::Metrics),
    route(Method::GET, "/openapi.json", PUBLIC, Endpoint::OpenApi),
    route(Method::GET, "/api/v1/orders/statistics", STATS, Endpoint::Statistics),
    route(Method::POST, "/api/v1/orders", WRITE, Endpoint::CreateOrder),
    route(Method::GET, "/api/v1/orders/{orderId}", READ, Endpoint::GetOrder),
    route(Method::GET, "/api/v1/users/{userId}/orders", READ, Endpoint::UserOrders),
    route(Method::GET, "/api/v1/admin/orders", ADMIN, Endpoint::AdminOrders),
    route(Method::POST, "/api/v1/admin/orders/recover", ADMIN, Endpoint::Recover),
    route(Method::POST, "/api/v1/admin/orders/reconcile", ADMIN, Endpoint::Reconcile),
    route(Method::POST, "/api/v1/admin/orders/{orderId}/cancel", ADMIN, Endpoint::Cancel),
    route(Method::POST, "/api/v1/admin/orders/{orderId}/status", ADMIN, Endpoint::SetStatus),
    route(Method::GET, "/api/v1/admin/outbox", ADMIN, Endpoint::Outbox),
    route(Method::POST, "/api/v1/admin/outbox/dispatch", ADMIN, Endpoint::OutboxDispatch),
    route(Method::POST, "/api/v1/admin/outbox/{eventId}/replay", ADMIN, Endpoint::OutboxReplay),
];

// The create handler needs the caller the scope check yields: refuse to compile a table where
// `POST /api/v1/orders` is public (the dispatcher relies on it).
const _: () = {
    let mut i = 0;
    while i < ROUTES.len() {
        if matches!(ROUTES[i].endpoint, Endpoint::CreateOrder) {
            assert!(
                ROUTES[i].scope.is_some(),
                "creating orders requires a scope"
            );
        }
        i += 1;
    }
};

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

thread_local! {
    /// Every distinct pattern of [`ROUTES`] in a `matchit` router (built once per instance).
    static ROUTER: matchit::Router<&'static str> = {
        let mut router = matchit::Router::new();
        for pattern in patterns().filter(|p| *p != UNMATCHED) {
            router
                .insert(pattern, pattern)
                .expect("the route table's patterns do not conflict");
        }
        router
    };
}

/// The pattern `path` matches, with its one parameter (`""` when it has none). Empty segments
/// are ignored, as they always were here (`/api/v1/orders/` is `/api/v1/orders`).
fn matched_pattern(path: &str) -> Option<(&'static str, String)> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let path = format!("/{}", segments.join("/"));
    ROUTER.with(|router| {
        let matched = router.at(&path).ok()?;
        let param = matched
            .params
            .iter()
            .next()
            .map(|(_, value)| value.to_owned())
            .unwrap_or_default();
        Some((*matched.value, param))
    })
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

/// Routes one request to its endpoint; an error becomes its problem+json here, once.
pub(crate) async fn dispatch(request: Request) -> Reply {
    route_request(request)
        .await
        .unwrap_or_else(ApiError::into_reply)
}

/// Finds the request's route, checks its scope and runs its handler.
async fn route_request(request: Request) -> Result<Reply, ApiError> {
    let path = path_info(&request);
    let Some((pattern, param)) = matched_pattern(&path) else {
        return Err(ApiError::NotFound { path });
    };
    let method = request.method().clone();
    if method == Method::OPTIONS {
        return Ok(Reply::empty(StatusCode::NO_CONTENT).with_header("allow", &allow(pattern)));
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
        return Err(ApiError::MethodNotAllowed {
            method: method.as_str().to_owned(),
            path,
            allow: allow(pattern),
        });
    };
    let caller = match route.scope {
        Some(scope) => Some(access::require(&request, scope).await?),
        None => None,
    };
    let param = param.as_str();
    match route.endpoint {
        Endpoint::Live => Ok(health::live()),
        Endpoint::Ready => Ok(health::ready().await),
        Endpoint::Metrics => Ok(metrics::scrape().await),
        Endpoint::OpenApi => openapi::document(),
        Endpoint::Statistics => stats::statistics(&request).await,
        Endpoint::CreateOrder => match caller {
            Some(caller) => create::create(request, caller).await,
            None => unreachable!("checked at compile time: the route requires a scope"),
        },
        Endpoint::GetOrder => read::get_order(param).await,
        Endpoint::UserOrders => read::user_orders(&request, param).await,
        Endpoint::AdminOrders => admin::list_orders(&request).await,
        Endpoint::Recover => admin::recover().await,
        Endpoint::Reconcile => admin::reconcile().await,
        Endpoint::Cancel => admin::cancel(request, param).await,
        Endpoint::SetStatus => admin::set_status(request, param).await,
        Endpoint::Outbox => outbox_admin::list(&request).await,
        Endpoint::OutboxDispatch => outbox_admin::dispatch(&request).await,
        Endpoint::OutboxReplay => outbox_admin::replay(param).await,
    }
}

/// The route pattern `request` matches (its metrics label), or `unmatched`.
pub(crate) fn pattern(request: &Request) -> &'static str {
    matched_pattern(&path_info(request)).map_or(UNMATCHED, |(pattern, _)| pattern)
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

#[cfg(test)]
mod tests {
    use super::ROUTES;
    use serde_json::Value;
    use std::collections::BTreeSet;

    /// `(METHOD, pattern, required scope)` of one operation.
    type Operation = (String, String, Option<String>);

    /// The HTTP methods an OpenAPI path item may describe (its other members, such as
    /// `parameters`, are not operations).
    const OPENAPI_METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    /// Every operation `openapi.json` documents, with the scope its `security` requires
    /// (`None` for `security: []`).
    fn documented() -> BTreeSet<Operation> {
        let document: Value =
            serde_json::from_str(crate::openapi::DOCUMENT).expect("openapi.json parses");
        let paths = document["paths"]
            .as_object()
            .expect("openapi.json has paths");
        let mut operations = BTreeSet::new();
        for (path, item) in paths {
            let item = item.as_object().expect("a path item is an object");
            for (method, operation) in item {
                if !OPENAPI_METHODS.contains(&method.as_str()) {
                    continue;
                }
                let scope = operation["security"][0]["bearerJwt"][0]
                    .as_str()
                    .map(str::to_owned);
                operations.insert((method.to_ascii_uppercase(), path.clone(), scope));
            }
        }
        operations
    }

    /// Every operation the route table serves.
    fn routed() -> BTreeSet<Operation> {
        ROUTES
            .iter()
            .map(|route| {
                (
                    route.method.as_str().to_owned(),
                    route.pattern.to_owned(),
                    route.scope.map(|scope| scope.as_str().to_owned()),
                )
            })
            .collect()
    }

    #[test]
    fn openapi_documents_exactly_the_routes_of_the_table_with_their_scopes() {
        let routed = routed();
        let documented = documented();
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(
            undocumented.is_empty() && unrouted.is_empty(),
            "routes missing from openapi.json (or documented with another scope): \
             {undocumented:?}; documented operations no route serves: {unrouted:?}"
        );
        assert_eq!(routed.len(), ROUTES.len(), "each route is one operation");
    }

    #[test]
    fn every_protected_operation_documents_its_401_and_403() {
        let document: Value =
            serde_json::from_str(crate::openapi::DOCUMENT).expect("openapi.json parses");
        for route in ROUTES.iter().filter(|route| route.scope.is_some()) {
            let method = route.method.as_str().to_ascii_lowercase();
            let responses = &document["paths"][route.pattern][method.as_str()]["responses"];
            for status in ["401", "403"] {
                assert!(
                    responses[status].is_object(),
                    "{} {} documents no {status}",
                    route.method,
                    route.pattern
                );
            }
        }
    }
}
