//! `GET /openapi.json` (no auth): the OpenAPI 3.1 description of the whole §4 API, a
//! checked-in document (`openapi.json`) compiled into the component. A unit test of the route
//! table (`routes.rs`) checks that it documents exactly the table's operations and scopes;
//! `tests/auth/openapi.rs` that it is what the component serves.

use crate::problem::ApiError;
use crate::reply::Reply;
use spin_sdk::http::StatusCode;

/// The document, as checked in (pretty-printed for review; served compact).
pub(crate) const DOCUMENT: &str = include_str!("openapi.json");

/// The handler.
pub(crate) fn document() -> Result<Reply, ApiError> {
    // Only a broken build could fail here; the route table's unit test parses the document.
    let document = serde_json::from_str::<serde_json::Value>(DOCUMENT).map_err(|error| {
        ApiError::Internal {
            detail: "the OpenAPI document could not be served",
            raw: format!("the OpenAPI document does not parse: {error}"),
        }
    })?;
    Ok(Reply::json(StatusCode::OK, &document))
}
