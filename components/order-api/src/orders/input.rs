//! Request input: bounded bodies, JSON media types and strict JSON (typed bodies are in
//! `body.rs`; query parameters in `params.rs`).

use crate::problem::ApiError;
use futures::StreamExt;
use spin_sdk::http::Request;
use spin_sdk::http::body::IncomingBodyExt;

/// Largest request body accepted, in bytes.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// A request header as text.
pub(crate) fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

/// Reads the body, refusing more than [`BODY_LIMIT`] bytes with 413.
pub(crate) async fn read_body(request: Request) -> Result<Vec<u8>, ApiError> {
    let too_large = || ApiError::BodyTooLarge { limit: BODY_LIMIT };
    let declared = header(&request, "content-length").and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT) {
        return Err(too_large());
    }
    let mut stream = request.into_body().stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| {
            ApiError::invalid_request("body", format!("the body could not be read: {error:?}"))
        })?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads a JSON request body: the media type must be `application/json` or
/// `application/*+json` (RFC 6839 structured suffix; parameters and case ignored, RFC 9110
/// §8.3.1), else 415 with `Accept-Post` naming what is accepted; a missing `Content-Type` is 415
/// too, since a body of unknown type is not read as JSON. Then [`read_body`]'s size limit.
pub(crate) async fn read_json_body(request: Request) -> Result<Vec<u8>, ApiError> {
    check_json_media_type(header(&request, "content-type"))?;
    read_body(request).await
}

/// An optional JSON body (`POST …/cancel {reason?}`): an empty body is `None`; any other body
/// must be a JSON media type (else 415) and strict JSON (else 400), returned as parsed.
pub(crate) async fn optional_json_body(
    request: Request,
) -> Result<Option<serde_json::Value>, ApiError> {
    let content_type = header(&request, "content-type").map(str::to_owned);
    let body = read_body(request).await?;
    if body.is_empty() {
        return Ok(None);
    }
    check_json_media_type(content_type.as_deref())?;
    Ok(Some(domain::parse_strict(&body)?))
}

/// 415 unless `content_type` is a JSON media type (see [`read_json_body`]).
fn check_json_media_type(content_type: Option<&str>) -> Result<(), ApiError> {
    if content_type.is_some_and(is_json_media_type) {
        return Ok(());
    }
    Err(ApiError::UnsupportedMediaType {
        given: content_type.map(str::to_owned),
    })
}

/// `application/json` or `application/<anything>+json`, with any parameters, in any case.
fn is_json_media_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let Some(subtype) = essence.strip_prefix("application/") else {
        return false;
    };
    subtype == "json"
        || subtype
            .strip_suffix("+json")
            .is_some_and(|prefix| !prefix.is_empty() && !prefix.contains('/'))
}
