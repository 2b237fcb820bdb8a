//! The pacts of the inbound API's consumers (ARCHITECTURE §4): what Admin, User Service and
//! Analytics rely on. They are checked in under `tests/pacts/` as the consumers would
//! publish them; `provider_verification.rs` verifies the running service against those
//! files, and checks that these definitions and the files agree.
//!
//! Requests carry no `Authorization`: a token is short-lived and environment-specific, so
//! the verifier adds one with the consumer's scopes (as a Pact request filter would).
//! Ids the provider creates come from provider states (`${orderId}`), never from examples.

use pact_consumer::builders::InteractionBuilder;
use pact_consumer::prelude::*;
use pact_models::pact::Pact;

use crate::patterns::{instant, json_content_type, money, order, problem, problem_content_type};

/// The provider name every inbound pact uses.
pub const PROVIDER: &str = "order-service";

/// Consumer name of the Admin console.
pub const ADMIN: &str = "admin";
/// Consumer name of the User Service.
pub const USER_SERVICE: &str = "user-service";
/// Consumer name of Analytics.
pub const ANALYTICS: &str = "analytics";

/// Provider state: one confirmed order exists; gives `orderId` and `userId`.
pub const STATE_CONFIRMED_ORDER: &str = "a confirmed order exists";
/// Provider state: the active user `usr_alice` and an in-stock `prd_keyboard` exist.
pub const STATE_CAN_ORDER: &str = "usr_alice is active and prd_keyboard is in stock";
/// Provider state: no order has id `ord_does_not_exist`.
pub const STATE_NO_ORDER: &str = "no order ord_does_not_exist exists";
/// Provider state: an order event has been delivered to the broker.
pub const STATE_DELIVERED_EVENT: &str = "an order event has been delivered";

/// Every provider state the inbound pacts use.
pub const STATES: [&str; 4] = [
    STATE_CONFIRMED_ORDER,
    STATE_CAN_ORDER,
    STATE_NO_ORDER,
    STATE_DELIVERED_EVENT,
];

/// The Admin console: lists, status changes (legal and illegal), cancellation, outbox.
pub fn admin() -> Box<dyn Pact + Send + Sync> {
    PactBuilder::new_v4(ADMIN, PROVIDER)
        .interaction("a list of confirmed orders", "", |mut i| {
            i.given(STATE_CONFIRMED_ORDER);
            i.request
                .get()
                .path("/api/v1/admin/orders")
                .query_param("status", "confirmed")
                .query_param("limit", "20");
            i.response
                .ok()
                .content_type(json_content_type())
                .json_body(json_pattern!({ "orders": each_like!(order("confirmed")) }));
            i
        })
        .interaction("marking a confirmed order shipped", "", |mut i| {
            status_change(&mut i, "shipped");
            i.response
                .ok()
                .content_type(json_content_type())
                .json_body(order("shipped"));
            i
        })
        .interaction("an illegal status change", "", |mut i| {
            status_change(&mut i, "delivered");
            i.response
                .status(409)
                .content_type(problem_content_type())
                .json_body(problem(409));
            i
        })
        .interaction("cancelling a confirmed order", "", |mut i| {
            i.given(STATE_CONFIRMED_ORDER);
            i.request.post().path_from_provider_state(
                "/api/v1/admin/orders/${orderId}/cancel",
                "/api/v1/admin/orders/ord_01JDXK7Q3M/cancel",
            );
            i.response
                .ok()
                .content_type(json_content_type())
                .json_body(order_with_status(term!(
                    "^(cancelled|refunded)$",
                    "refunded"
                )));
            i
        })
        .interaction("the delivered outbox events", "", |mut i| {
            i.given(STATE_DELIVERED_EVENT);
            i.request
                .get()
                .path("/api/v1/admin/outbox")
                .query_param("status", "delivered");
            i.response
                .ok()
                .content_type(json_content_type())
                .json_body(json_pattern!({
                    "status": "delivered",
                    "events": each_like!({
                        "eventId": like!("0193a5b2-7c1e-7d2f-9a44-1b2c3d4e5f60"),
                        "aggregateId": like!("ord_01JDXK7Q3M"),
                        "eventType": term!("^order\\.[a-z_]+\\.v1$", "order.created.v1"),
                        "status": "delivered",
                        "attempts": like!(1),
                        "createdAt": instant(),
                    }),
                    "stats": {
                        "pending": like!(0),
                        "dead": like!(0),
                        "delivered": like!(1),
                    },
                }));
            i
        })
        .build()
}

/// The User Service: places orders for its users, reads one, reads a user's history.
pub fn user_service() -> Box<dyn Pact + Send + Sync> {
    PactBuilder::new_v4(USER_SERVICE, PROVIDER)
        .interaction("placing an order", "", |mut i| {
            i.given(STATE_CAN_ORDER);
            i.request
                .post()
                .path("/api/v1/orders")
                .header("Idempotency-Key", "user-service-7f3c2a")
                .content_type("application/json")
                .json_body(json_pattern!({
                    "userId": "usr_alice",
                    "items": [{ "productId": "prd_keyboard", "quantity": 1 }],
                    "paymentMethod": { "type": "card", "token": "tok_visa" },
                }));
            i.response
                .created()
                .content_type(json_content_type())
                .header(
                    "Location",
                    term!("^/api/v1/orders/[^/]+$", "/api/v1/orders/ord_01JDXK7Q3M"),
                )
                .json_body(order("confirmed"));
            i
        })
        .interaction("reading an order", "", |mut i| {
            i.given(STATE_CONFIRMED_ORDER);
            i.request.get().path_from_provider_state(
                "/api/v1/orders/${orderId}",
                "/api/v1/orders/ord_01JDXK7Q3M",
            );
            i.response
                .ok()
                .content_type(json_content_type())
                .json_body(order("confirmed"));
            i
        })
        .interaction("reading an order that does not exist", "", |mut i| {
            i.given(STATE_NO_ORDER);
            i.request.get().path("/api/v1/orders/ord_does_not_exist");
            i.response
                .not_found()
                .content_type(problem_content_type())
                .json_body(problem(404));
            i
        })
        .interaction("a user's order history", "", |mut i| {
            i.given(STATE_CONFIRMED_ORDER);
            i.request
                .get()
                .path_from_provider_state(
                    "/api/v1/users/${userId}/orders",
                    "/api/v1/users/usr_alice/orders",
                )
                .query_param("limit", "10");
            i.response
                .ok()
                .content_type(json_content_type())
                .json_body(json_pattern!({ "orders": each_like!(order("confirmed")) }));
            i
        })
        .build()
}

/// Analytics: daily statistics over a window.
pub fn analytics() -> Box<dyn Pact + Send + Sync> {
    let figures = || {
        json_pattern!({
            "orders": like!(1),
            "countsByStatus": like!({ "confirmed": 1, "cancelled": 0 }),
            "revenue": each_like!(money(8999)),
            "averageOrderValue": each_like!(money(8999)),
            "topProducts": each_like!({
                "productId": like!("prd_keyboard"),
                "name": like!("Mechanical keyboard"),
                "quantity": like!(1),
                "revenue": each_like!(money(8999)),
            }),
        })
    };
    PactBuilder::new_v4(ANALYTICS, PROVIDER)
        .interaction("daily statistics", "", |mut i| {
            i.given(STATE_CONFIRMED_ORDER);
            i.request
                .get()
                .path("/api/v1/orders/statistics")
                .query_param("from", "2020-01-01")
                .query_param("to", "2100-01-01")
                .query_param("groupBy", "day");
            i.response
                .ok()
                .content_type(json_content_type())
                .json_body(json_pattern!({
                    "from": instant(),
                    "to": instant(),
                    "groupBy": "day",
                    "totals": figures(),
                    "periods": each_like!(period(figures())),
                }));
            i
        })
        .interaction("statistics with an unknown grouping", "", |mut i| {
            i.request
                .get()
                .path("/api/v1/orders/statistics")
                .query_param("groupBy", "fortnight");
            i.response
                .status(400)
                .content_type(problem_content_type())
                .json_body(problem(400));
            i
        })
        .build()
}

/// The three inbound pacts.
pub fn all() -> Vec<Box<dyn Pact + Send + Sync>> {
    vec![admin(), user_service(), analytics()]
}

/// Given a confirmed order, asks for its status to become `next`.
fn status_change(i: &mut InteractionBuilder, next: &str) {
    i.given(STATE_CONFIRMED_ORDER);
    i.request
        .post()
        .path_from_provider_state(
            "/api/v1/admin/orders/${orderId}/status",
            "/api/v1/admin/orders/ord_01JDXK7Q3M/status",
        )
        .content_type("application/json")
        .json_body(json_pattern!({ "status": next }));
}

/// `figures` with the `period` (first day of the period) added.
fn period(figures: JsonPattern) -> JsonPattern {
    match figures {
        JsonPattern::Object(mut fields) => {
            fields.insert(
                "period".into(),
                term!(r"^\d{4}-\d{2}-\d{2}$", "2026-11-26").into(),
            );
            JsonPattern::Object(fields)
        }
        other => other,
    }
}

/// An order pattern whose `status` is `status` (a matcher, not a literal).
fn order_with_status(status_pattern: impl Into<JsonPattern>) -> JsonPattern {
    match order("confirmed") {
        JsonPattern::Object(mut fields) => {
            fields.insert("status".into(), status_pattern.into());
            JsonPattern::Object(fields)
        }
        other => other,
    }
}
