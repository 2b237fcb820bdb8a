//! `GET /openapi.json`: the served document is the checked-in one
//! (`components/order-api/src/openapi.json`), parses and is OpenAPI 3.1. That it documents
//! exactly the route table's operations, with their scopes, is a unit test of the table
//! itself (`components/order-api/src/routes.rs`, `cargo test -p order-api`), so no list of
//! routes is kept by hand here.

use integration_tests::HostBuilder;
use serde_json::{Value, json};

use super::spin_toml;

#[test]
fn openapi_document_is_the_checked_in_3_1_document() {
    let host = HostBuilder::new(spin_toml()).start();
    let answer = host.get("/openapi.json");
    assert_eq!(answer.status, 200, "{answer:?}");
    let document = answer.json();
    let checked_in: Value =
        serde_json::from_str(include_str!("../../components/order-api/src/openapi.json"))
            .expect("the checked-in document parses");
    assert_eq!(document, checked_in, "served as checked in");
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    let public = &document["paths"]["/openapi.json"]["get"]["security"];
    assert_eq!(public, &json!([]), "the document itself needs no token");
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
