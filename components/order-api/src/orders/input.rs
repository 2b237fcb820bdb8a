//! Request input: bounded bodies, headers, query parameters, cursors and instants.

use crate::problem::Problem;
use crate::store::Cursor;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::StreamExt;
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{Request, StatusCode};

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
pub(crate) async fn read_body(request: Request) -> Result<Vec<u8>, Problem> {
    let too_large = || {
        Problem::typed(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!("the body must be at most {BODY_LIMIT} bytes"),
        )
    };
    let declared = header(&request, "content-length").and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT) {
        return Err(too_large());
    }
    let mut stream = request.into_body().stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| {
            invalid_input("body", format!("the body could not be read: {error:?}"))
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
pub(crate) async fn read_json_body(request: Request) -> Result<Vec<u8>, Problem> {
    check_json_media_type(header(&request, "content-type"))?;
    read_body(request).await
}

/// An optional JSON object body (`POST …/cancel {reason?}`): an empty body is `None`; any
/// other body must be a JSON media type and a strict JSON object, else 415 / 400.
pub(crate) async fn optional_json_object(
    request: Request,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, Problem> {
    let content_type = header(&request, "content-type").map(str::to_owned);
    let body = read_body(request).await?;
    if body.is_empty() {
        return Ok(None);
    }
    check_json_media_type(content_type.as_deref())?;
    match strict_json(&body)? {
        serde_json::Value::Object(members) => Ok(Some(members)),
        _ => Err(malformed_body("body", "the body must be a JSON object")),
    }
}

/// 415 unless `content_type` is a JSON media type (see [`read_json_body`]).
fn check_json_media_type(content_type: Option<&str>) -> Result<(), Problem> {
    if !content_type.is_some_and(is_json_media_type) {
        let detail = match content_type {
            Some(given) => format!(
                "the body must be JSON: send `Content-Type: application/json` (got `{given}`)"
            ),
            None => "the body must be JSON: send `Content-Type: application/json`".to_owned(),
        };
        return Err(Problem::typed(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            detail,
        )
        .with("accept", vec!["application/json", "application/*+json"])
        .with_accept_post("application/json"));
    }
    Ok(())
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

/// A request body parsed as strict JSON (no duplicate member names, see
/// [`domain::parse_strict`]); 400 `malformed-body` naming the repeated member, or the syntax
/// error.
pub(crate) fn strict_json(body: &[u8]) -> Result<serde_json::Value, Problem> {
    domain::parse_strict(body).map_err(|error| match &error {
        domain::StrictJsonError::DuplicateKey { key } => malformed_body(key, &error.to_string()),
        domain::StrictJsonError::Syntax(_) => malformed_body("body", &error.to_string()),
    })
}

/// 400 `malformed-body`: the body is not the JSON it must be; `field` names the member at
/// fault (or `body`).
pub(crate) fn malformed_body(field: &str, detail: &str) -> Problem {
    Problem::typed(
        StatusCode::BAD_REQUEST,
        "malformed-body",
        "Malformed request body",
        detail,
    )
    .with("field", field)
}

/// 400 naming the input that is wrong.
pub(crate) fn invalid_input(field: &str, detail: impl Into<String>) -> Problem {
    Problem::typed(
        StatusCode::BAD_REQUEST,
        "invalid-request",
        "Invalid request",
        detail,
    )
    .with("field", field)
}

/// The value of query parameter `name` (percent-decoding `%XX` and `+`).
pub(crate) fn query_param(request: &Request, name: &str) -> Option<String> {
    let query = request.uri().query()?;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| percent_decode(value))
    })
}

/// Decodes `%XX` escapes and `+` (space); a malformed escape stays as written.
fn percent_decode(text: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&high), Some(&low)) => {
                hex(high).zip(hex(low)).map(|(h, l)| (h * 16 + l) as u8)
            }
            _ => None,
        };
        match (decoded, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `limit`: 1..=100, default 20.
pub(crate) fn limit(request: &Request) -> Result<u32, Problem> {
    match query_param(request, "limit") {
        None => Ok(20),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                Problem::invalid_parameter("limit", "limit must be a whole number from 1 to 100")
            }),
    }
}

/// The opaque cursor: base64url (no padding) of `"{created_at}:{id}"`.
pub(crate) fn encode_cursor(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", cursor.created_at, cursor.id))
}

/// Parses `?cursor=`, as returned in `nextCursor`.
pub(crate) fn cursor(request: &Request) -> Result<Option<Cursor>, Problem> {
    let Some(text) = query_param(request, "cursor") else {
        return Ok(None);
    };
    let bad = || {
        Problem::invalid_parameter(
            "cursor",
            "cursor must be a nextCursor value from a previous page",
        )
    };
    let decoded = URL_SAFE_NO_PAD.decode(text.as_bytes()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (created_at, id) = decoded.split_once(':').ok_or_else(bad)?;
    Ok(Some(Cursor {
        created_at: created_at.parse().map_err(|_| bad())?,
        id: id.to_owned(),
    }))
}

/// An instant given as epoch milliseconds or RFC 3339 (`2026-11-25T10:00:00Z`, offsets allowed).
pub(crate) fn instant(name: &str, text: &str) -> Result<i64, Problem> {
    if let Ok(millis) = text.parse::<i64>() {
        return Ok(millis);
    }
    domain::Timestamp::parse_rfc3339(text)
        .map(domain::Timestamp::millis)
        .ok_or_else(|| {
            Problem::invalid_parameter(
                name,
                format!("{name} must be RFC 3339 (2026-11-25T10:00:00Z) or epoch milliseconds"),
            )
        })
}
