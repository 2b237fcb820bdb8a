//! A returns service, the smallest app that reuses this repository's `event-emitter`: a buyer
//! asks to return an order (`POST /returns {orderId, reason}`); the request and its
//! `return.requested.v1` CloudEvent are written in one SQLite transaction, the event to the
//! app's own outbox table (`outbox_table`, here `returns_outbox`), and the composed emitter
//! relays it to the app's own stream and channel (`events_stream`, `events_channel`). Nothing
//! of the emitter is copied: `spin.toml` composes the `.wasm` this repository builds.

#![forbid(unsafe_code)]

/// Bindings for the one interface this app imports, satisfied by composition.
mod bindings {
    #![allow(missing_docs, dead_code, clippy::all)]
    wit_bindgen::generate!({
        inline: r#"
            package example:returns;
            world returns-api {
                import shop:events/events@0.1.0;
            }
        "#,
        path: "../../wit",
        world: "example:returns/returns-api",
        generate_all,
    });
}

use bindings::shop::events::events as relay;
use futures::StreamExt;
use guest::{clock, ids};
use serde_json::{Value, json};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{IntoResponse, Method, Request, Response, StatusCode};
use spin_sdk::sqlite::{Connection, Value as Sql};

/// Largest request body accepted, in bytes.
const BODY_LIMIT: usize = 16 * 1024;
/// The CloudEvent type of a return request.
const RETURN_REQUESTED: &str = "return.requested.v1";

/// Entry point: `POST /returns` and `GET /returns/{id}`; everything else is 404/405.
#[spin_sdk::http_service]
async fn handle(request: Request) -> impl IntoResponse {
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = request.method().clone();
    match (segments.as_slice(), method) {
        (["returns"], Method::POST) => request_return(request).await,
        (["returns", id], Method::GET) => read_return(id).await,
        (["returns"] | ["returns", _], _) => {
            problem(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here")
        }
        _ => problem(StatusCode::NOT_FOUND, "no resource at this path"),
    }
}

/// Stores the return request and its event in one transaction, then asks the emitter to relay.
async fn request_return(request: Request) -> Response<String> {
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object {orderId, reason}",
        );
    };
    let (Some(order_id), Some(reason)) = (
        fields
            .get("orderId")
            .and_then(Value::as_str)
            .filter(|id| valid_id(id)),
        fields
            .get("reason")
            .and_then(Value::as_str)
            .filter(|r| !r.trim().is_empty() && r.len() <= 500),
    ) else {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "orderId (1-64 characters of A-Z, a-z, 0-9, -, _) and reason (1-500 characters) are required",
        );
    };
    let id = format!("ret_{}", ids::random_hex(12));
    let now = clock::now_ms();
    let data = json!({ "returnId": id, "orderId": order_id, "reason": reason });
    let event = match ::events::CloudEvent::builder(ids::uuid_v7(), "/returns", RETURN_REQUESTED)
        .time_ms(now)
        .subject(id.clone())
        .json_data(data.clone())
        .build()
    {
        Ok(event) => event,
        Err(_) => {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the event could not be built",
            );
        }
    };
    match store(&id, order_id, reason, &event, now).await {
        Ok(()) => {}
        Err(()) => {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the returns database failed; retry later",
            );
        }
    }
    // Best effort: a relay failure only delays delivery (the row stays pending).
    let _ = relay::dispatch(16).await;
    json_reply(
        StatusCode::CREATED,
        &json!({ "id": id, "orderId": order_id, "reason": reason, "status": "requested" }),
    )
}

/// `GET /returns/{id}`.
async fn read_return(id: &str) -> Response<String> {
    let Ok(db) = open().await else {
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the returns database failed; retry later",
        );
    };
    let rows = query(
        &db,
        "SELECT order_id, reason FROM returns WHERE id = ?",
        vec![Sql::Text(id.to_owned())],
    )
    .await;
    match rows.as_deref() {
        Ok([row, ..]) => json_reply(
            StatusCode::OK,
            &json!({ "id": id, "orderId": row.get::<&str>(0), "reason": row.get::<&str>(1), "status": "requested" }),
        ),
        Ok([]) => problem(StatusCode::NOT_FOUND, "no return has this id"),
        Err(()) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the returns database failed; retry later",
        ),
    }
}

/// The return row and its outbox row, in one `BEGIN IMMEDIATE … COMMIT`.
async fn store(
    id: &str,
    order_id: &str,
    reason: &str,
    event: &::events::CloudEvent,
    now: i64,
) -> Result<(), ()> {
    let db = open().await?;
    let table = outbox_table().await?;
    query(&db, "BEGIN IMMEDIATE", vec![]).await?;
    let written = async {
        query(
            &db,
            "INSERT INTO returns (id, order_id, reason, created_at) VALUES (?, ?, ?, ?)",
            vec![
                Sql::Text(id.to_owned()),
                Sql::Text(order_id.to_owned()),
                Sql::Text(reason.to_owned()),
                Sql::Integer(now),
            ],
        )
        .await?;
        query(
            &db,
            &format!(
                "INSERT INTO {table} (event_id, aggregate_id, event_type, payload, status, attempts,
                    next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)"
            ),
            vec![
                Sql::Text(event.id.clone()),
                Sql::Text(id.to_owned()),
                Sql::Text(event.event_type.clone()),
                Sql::Text(event.to_string()),
                Sql::Integer(now),
                Sql::Integer(now),
            ],
        )
        .await
    }
    .await;
    match written {
        Ok(_) => query(&db, "COMMIT", vec![]).await.map(drop),
        Err(()) => {
            let _ = query(&db, "ROLLBACK", vec![]).await;
            Err(())
        }
    }
}

/// The `default` database with this app's tables (its own and the shared outbox schema).
async fn open() -> Result<Connection, ()> {
    let db = Connection::open_default().await.map_err(drop)?;
    query(
        &db,
        "CREATE TABLE IF NOT EXISTS returns (
            id TEXT PRIMARY KEY, order_id TEXT NOT NULL, reason TEXT NOT NULL, created_at INTEGER NOT NULL)",
        vec![],
    )
    .await?;
    for statement in ::events::outbox_schema(&outbox_table().await?) {
        query(&db, &statement, vec![]).await?;
    }
    Ok(db)
}

/// `outbox_table`, the same variable the composed emitter reads, checked like it.
async fn outbox_table() -> Result<String, ()> {
    let table = spin_sdk::variables::get("outbox_table")
        .await
        .map_err(drop)?;
    ::events::check_table_name(&table).map_err(drop)?;
    Ok(table)
}

async fn query(
    db: &Connection,
    sql: &str,
    params: Vec<Sql>,
) -> Result<Vec<spin_sdk::sqlite::RowResult>, ()> {
    db.execute(sql, params)
        .await
        .map_err(drop)?
        .collect()
        .await
        .map_err(drop)
}

/// Reads at most [`BODY_LIMIT`] bytes of a JSON body.
async fn read_body(request: Request) -> Result<Vec<u8>, Response<String>> {
    let json = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case("application/json")
        });
    if !json {
        return Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send Content-Type: application/json",
        ));
    }
    let mut stream = request.into_body().stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|_| problem(StatusCode::BAD_REQUEST, "the body could not be read"))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the body must be at most 16 KiB",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn json_reply(status: StatusCode, value: &Value) -> Response<String> {
    let body = value.to_string();
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(body)
        .unwrap_or_default()
}

/// An RFC 9457 problem (`about:blank` types: this example keeps its errors simple).
fn problem(status: StatusCode, detail: &str) -> Response<String> {
    let body = json!({ "type": "about:blank", "title": status.canonical_reason(), "status": status.as_u16(), "detail": detail }).to_string();
    Response::builder()
        .status(status)
        .header("content-type", "application/problem+json")
        .header("content-length", body.len())
        .body(body)
        .unwrap_or_default()
}
