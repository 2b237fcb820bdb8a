//! `GET /openapi.json` (no auth): the OpenAPI 3.1 description of the whole §4 API, a
//! checked-in document (`openapi.json`) compiled into the component. A unit test of the route
//! table (`routes.rs`) checks that it documents exactly the table's operations and scopes;
//! `tests/auth/openapi.rs` that it is what the component serves.

use crate::problem::Problem;
use crate::reply::Reply;
use spin_sdk::http::StatusCode;

/// The document, as checked in (pretty-printed for review; served compact).
pub(crate) const DOCUMENT: &str = include_str!("openapi.json");

/// The handler.
pub(crate) fn document() -> Reply {
    match serde_json::from_str::<serde_json::Value>(DOCUMENT) {
        Ok(document) => Reply::json(StatusCode::OK, &document),
        // Only a broken build could get here; the test suite parses the document.
        Err(error) => Problem::typed(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            format!("the OpenAPI document does not parse: {error}"),
        )
        .into_reply(),
    }
}
