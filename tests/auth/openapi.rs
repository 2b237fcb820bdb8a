//! `GET /openapi.json`: the served document parses, is OpenAPI 3.1 and lists every §4 route
//! with its scope.

use integration_tests::HostBuilder;
use serde_json::json;

use super::spin_toml;

#[test]
fn openapi_document_is_3_1_and_lists_every_route() {
    let host = HostBuilder::new(spin_toml()).start();
    let answer = host.get("/openapi.json");
    assert_eq!(answer.status, 200, "{answer:?}");
    let document = answer.json();
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    let routes = [
        ("post", "/api/v1/orders", Some("orders:write")),
        ("get", "/api/v1/orders/{orderId}", Some("orders:read")),
        ("get", "/api/v1/users/{userId}/orders", Some("orders:read")),
        ("get", "/api/v1/orders/statistics", Some("orders:stats")),
        ("get", "/api/v1/admin/orders", Some("orders:admin")),
        (
            "post",
            "/api/v1/admin/orders/{orderId}/cancel",
            Some("orders:admin"),
        ),
        (
            "post",
            "/api/v1/admin/orders/{orderId}/status",
            Some("orders:admin"),
        ),
        ("post", "/api/v1/admin/orders/recover", Some("orders:admin")),
        (
            "post",
            "/api/v1/admin/orders/reconcile",
            Some("orders:admin"),
        ),
        ("get", "/api/v1/admin/outbox", Some("orders:admin")),
        (
            "post",
            "/api/v1/admin/outbox/dispatch",
            Some("orders:admin"),
        ),
        (
            "post",
            "/api/v1/admin/outbox/{eventId}/replay",
            Some("orders:admin"),
        ),
        ("get", "/health/live", None),
        ("get", "/health/ready", None),
        ("get", "/metrics", None),
        ("get", "/openapi.json", None),
    ];
    for (method, path, scope) in routes {
        let operation = &document["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} missing");
        let security = &operation["security"];
        match scope {
            Some(scope) => {
                assert_eq!(security[0]["bearerJwt"][0], scope, "{method} {path}");
                assert!(operation["responses"]["401"].is_object(), "{method} {path}");
            }
            None => assert_eq!(security, &json!([]), "{method} {path}"),
        }
    }
    for schema in ["Order", "Money", "Problem"] {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "{schema}"
        );
    }
    assert_eq!(
        document["components"]["securitySchemes"]["bearerJwt"]["bearerFormat"],
        "JWT"
    );
}
