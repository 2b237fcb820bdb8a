//! Matching patterns shared by the pacts: the contract's shapes (ARCHITECTURE §4, §9), with
//! example values a provider is verified with.

use pact_consumer::prelude::*;

/// An RFC 3339 UTC instant as the service writes it (`2026-11-26T09:30:00.000Z`).
pub fn instant() -> JsonPattern {
    term!(
        r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$",
        "2026-11-26T09:30:00.000Z"
    )
    .into()
}

/// `{ "amountMinor": <integer>, "currency": "<ISO 4217>" }`.
pub fn money(amount_minor: i64) -> JsonPattern {
    json_pattern!({
        "amountMinor": like!(amount_minor),
        "currency": term!("^[A-Z]{3}$", "EUR"),
    })
}

/// An order status, one of the contract's states.
pub fn status(example: &str) -> JsonPattern {
    term!(
        "^(pending|payment_pending|confirmed|shipped|delivered|payment_failed|cancelled|refunded)$",
        example
    )
    .into()
}

/// The order as the API answers it, with `status` exactly `status`.
pub fn order(status: &str) -> JsonPattern {
    json_pattern!({
        "id": like!("ord_01JDXK7Q3M"),
        "userId": like!("usr_alice"),
        "status": status,
        "items": each_like!({
            "productId": like!("prd_keyboard"),
            "name": like!("Mechanical keyboard"),
            "unitPrice": money(8999),
            "quantity": like!(1),
            "lineTotal": money(8999),
        }),
        "total": money(8999),
        "createdAt": instant(),
        "updatedAt": instant(),
        "statusHistory": each_like!({
            "status": self::status("pending"),
            "at": instant(),
        }),
    })
}

/// An RFC 9457 problem with this `status`.
pub fn problem(status: u16) -> JsonPattern {
    json_pattern!({
        "type": like!("https://order-service.dev/problems/order-not-found"),
        "title": like!("Not Found"),
        "status": status,
        "detail": like!("what went wrong, for a human"),
    })
}

/// The problem+json content type.
pub fn problem_content_type() -> StringPattern {
    term!(
        "^application/problem\\+json(;.*)?$",
        "application/problem+json"
    )
    .into()
}

/// A JSON content type (with or without a charset).
pub fn json_content_type() -> StringPattern {
    term!("^application/json(;.*)?$", "application/json").into()
}
