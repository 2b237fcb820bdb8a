//! The admin request bodies as typed structs: read from strict JSON with
//! [`domain::from_value`] (`serde_path_to_error`), each refusal naming its member.

use crate::problem::ApiError;
use domain::OrderStatus;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Characters of a `reason` kept (the rest is dropped, not refused).
const REASON_MAX_CHARS: usize = 500;

/// `POST /api/v1/admin/orders/{orderId}/status`: `{status, reason?}`.
#[derive(Debug, Deserialize)]
pub(super) struct StatusChangeBody {
    /// The status asked for, by its wire name.
    pub(super) status: OrderStatus,
    /// Why, for the history; a non-text `reason` is ignored, as it always was here.
    #[serde(default, deserialize_with = "text_or_none")]
    pub(super) reason: Option<String>,
}

impl StatusChangeBody {
    /// Reads `value`; anything but an object with a known `status` is 400 `invalid-request`
    /// naming `status` and listing the names.
    pub(super) fn from_json(value: Value) -> Result<Self, ApiError> {
        let refused = || {
            let names: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::invalid_request(
                "status",
                format!(
                    "body must be {{\"status\": one of {}, \"reason\"?: text}}",
                    names.join(", ")
                ),
            )
        };
        if !value.is_object() {
            return Err(refused());
        }
        let mut body: Self = domain::from_value(value).map_err(|_| refused())?;
        body.reason = body.reason.map(truncate_reason);
        Ok(body)
    }
}

/// `POST /api/v1/admin/orders/{orderId}/cancel`: `{reason?}` (or no body at all).
#[derive(Debug, Deserialize)]
pub(super) struct CancelBody {
    /// Why, for the history; must be text when given.
    #[serde(default, deserialize_with = "present")]
    pub(super) reason: Option<String>,
}

impl CancelBody {
    /// Reads `value`: not an object is 400 `malformed-body`; a `reason` that is not text is
    /// 400 `invalid-request` naming it.
    pub(super) fn from_json(value: Value) -> Result<Self, ApiError> {
        if !value.is_object() {
            return Err(ApiError::malformed_body(
                "body",
                "the body must be a JSON object",
            ));
        }
        let body: Self = domain::from_value(value).map_err(|error| {
            ApiError::invalid_request(&error.path, "reason must be text (at most 500 characters)")
        })?;
        Ok(Self {
            reason: body.reason.map(truncate_reason),
        })
    }
}

/// The first [`REASON_MAX_CHARS`] characters.
fn truncate_reason(reason: String) -> String {
    reason.chars().take(REASON_MAX_CHARS).collect()
}

/// A member that is there, `null` included, is `Some` of its type (so `null` is refused).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    String::deserialize(deserializer).map(Some)
}

/// Text, or `None` for any other JSON value.
fn text_or_none<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) => Some(text),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(error: ApiError) -> String {
        match error {
            ApiError::InvalidRequest { field, .. } | ApiError::MalformedBody { field, .. } => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn a_status_change_needs_a_known_status_and_keeps_500_characters_of_reason() {
        let body =
            StatusChangeBody::from_json(json!({"status": "shipped", "reason": "x".repeat(600)}))
                .unwrap();
        assert_eq!(body.status, OrderStatus::Shipped);
        assert_eq!(body.reason.map(|r| r.chars().count()), Some(500));
        let ignored = StatusChangeBody::from_json(json!({"status": "shipped", "reason": 5}));
        assert_eq!(ignored.unwrap().reason, None);
        for bad in [
            json!({}),
            json!({"status": "lost"}),
            json!({"status": 1}),
            json!(["shipped"]),
        ] {
            let error = StatusChangeBody::from_json(bad.clone()).unwrap_err();
            assert_eq!(field_of(error), "status", "{bad}");
        }
    }

    #[test]
    fn a_cancellation_reason_must_be_text_in_an_object() {
        assert_eq!(
            CancelBody::from_json(json!({"reason": "late"}))
                .unwrap()
                .reason
                .as_deref(),
            Some("late")
        );
        assert_eq!(CancelBody::from_json(json!({})).unwrap().reason, None);
        assert_eq!(
            field_of(CancelBody::from_json(json!({"reason": 5})).unwrap_err()),
            "reason"
        );
        assert_eq!(
            field_of(CancelBody::from_json(json!({"reason": null})).unwrap_err()),
            "reason"
        );
        assert_eq!(
            field_of(CancelBody::from_json(json!("late")).unwrap_err()),
            "body"
        );
    }
}
