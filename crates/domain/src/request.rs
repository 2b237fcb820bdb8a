//! The create-order request (`POST /api/v1/orders`), validated field by field so every refusal
//! names the field and says how to fix it.

use serde::Serialize;
use serde_json::Value;

use crate::DomainError;

/// Bounds on a create-order request.
pub mod limits {
    /// Lines per order.
    pub const MAX_LINES: usize = 100;
    /// Units of one product per order.
    pub const MAX_QUANTITY: u64 = 10_000;
    /// Characters in a user or product id.
    pub const MAX_ID_LEN: usize = 64;
    /// Characters in a payment token.
    pub const MAX_TOKEN_LEN: usize = 256;
    /// Serialized bytes of the shipping address.
    pub const MAX_ADDRESS_BYTES: usize = 2048;
}

/// One requested line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderItemRequest {
    /// Product id.
    pub product_id: String,
    /// Units, 1..=`MAX_QUANTITY`.
    pub quantity: u32,
}

/// How the buyer pays: `{ "type": "card", "token": "tok_visa" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentMethod {
    /// Payment method type (`card`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Opaque token from the payment provider; never logged.
    pub token: String,
}

/// A create-order request that passed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidatedOrder {
    /// Buyer.
    pub user_id: String,
    /// Lines, in request order, each product once.
    pub items: Vec<OrderItemRequest>,
    /// Payment method.
    pub payment_method: PaymentMethod,
    /// Free-form shipping address, passed through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Value>,
}

/// Parser of the request body.
pub struct CreateOrderRequest;

impl CreateOrderRequest {
    /// Parses and validates a JSON body.
    pub fn parse(body: &[u8]) -> Result<ValidatedOrder, DomainError> {
        let value: Value = crate::json::parse_strict(body).map_err(|e| match &e {
            crate::StrictJsonError::DuplicateKey { key } => {
                DomainError::DuplicateMember { key: key.clone() }
            }
            crate::StrictJsonError::Syntax(_) => DomainError::invalid("body", e.to_string()),
        })?;
        let Value::Object(object) = value else {
            return Err(DomainError::invalid("body", "must be a JSON object"));
        };
        let user_id = id_field(object.get("userId"), "userId")?;
        let items = match object.get("items") {
            Some(Value::Array(items)) if items.is_empty() => {
                return Err(DomainError::invalid(
                    "items",
                    "must contain at least one item",
                ));
            }
            Some(Value::Array(items)) if items.len() > limits::MAX_LINES => {
                return Err(DomainError::invalid(
                    "items",
                    format!("at most {} lines per order", limits::MAX_LINES),
                ));
            }
            Some(Value::Array(items)) => items,
            Some(_) => {
                return Err(DomainError::invalid(
                    "items",
                    "must be an array of {productId, quantity}",
                ));
            }
            None => return Err(DomainError::invalid("items", "is required")),
        };
        let mut lines: Vec<OrderItemRequest> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Value::Object(item) = item else {
                return Err(DomainError::invalid(
                    format!("items[{i}]"),
                    "must be an object {productId, quantity}",
                ));
            };
            let product_id = id_field(item.get("productId"), &format!("items[{i}].productId"))?;
            let quantity = quantity_field(item.get("quantity"), &format!("items[{i}].quantity"))?;
            if lines.iter().any(|l| l.product_id == product_id) {
                return Err(DomainError::invalid(
                    format!("items[{i}].productId"),
                    format!("`{product_id}` appears more than once; send one line per product"),
                ));
            }
            lines.push(OrderItemRequest {
                product_id,
                quantity,
            });
        }
        let payment_method = match object.get("paymentMethod") {
            Some(Value::Object(pm)) => PaymentMethod {
                kind: text_field(pm.get("type"), "paymentMethod.type", 32)?,
                token: text_field(
                    pm.get("token"),
                    "paymentMethod.token",
                    limits::MAX_TOKEN_LEN,
                )?,
            },
            Some(_) => {
                return Err(DomainError::invalid(
                    "paymentMethod",
                    "must be an object {type, token}",
                ));
            }
            None => return Err(DomainError::invalid("paymentMethod", "is required")),
        };
        let shipping_address = match object.get("shippingAddress") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) if v.to_string().len() <= limits::MAX_ADDRESS_BYTES => {
                Some(v.clone())
            }
            Some(Value::Object(_)) => {
                return Err(DomainError::invalid(
                    "shippingAddress",
                    format!("at most {} bytes", limits::MAX_ADDRESS_BYTES),
                ));
            }
            Some(_) => return Err(DomainError::invalid("shippingAddress", "must be an object")),
        };
        Ok(ValidatedOrder {
            user_id,
            items: lines,
            payment_method,
            shipping_address,
        })
    }
}

impl ValidatedOrder {
    /// A canonical JSON rendering (sorted keys, no whitespace): two requests meaning the same
    /// thing render identically, so an idempotency key can be matched to "the same body".
    pub fn canonical_json(&self) -> String {
        // serde_json's map is ordered by key (no `preserve_order`), so this is canonical.
        serde_json::to_value(self)
            .map(|v| v.to_string())
            .unwrap_or_default()
    }
}

fn id_field(value: Option<&Value>, field: &str) -> Result<String, DomainError> {
    let id = match value {
        Some(Value::String(s)) => s,
        Some(_) => return Err(DomainError::invalid(field, "must be a string")),
        None => return Err(DomainError::invalid(field, "is required")),
    };
    let ok_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if id.is_empty() || id.len() > limits::MAX_ID_LEN || !ok_chars {
        return Err(DomainError::invalid(
            field,
            format!(
                "must be 1–{} characters of A–Z, a–z, 0–9, '-', '_', '.', ':'",
                limits::MAX_ID_LEN
            ),
        ));
    }
    Ok(id.clone())
}

fn text_field(value: Option<&Value>, field: &str, max: usize) -> Result<String, DomainError> {
    match value {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= max => Ok(s.clone()),
        Some(Value::String(_)) => Err(DomainError::invalid(
            field,
            format!("must be 1–{max} characters"),
        )),
        Some(_) => Err(DomainError::invalid(field, "must be a string")),
        None => Err(DomainError::invalid(field, "is required")),
    }
}

fn quantity_field(value: Option<&Value>, field: &str) -> Result<u32, DomainError> {
    let reason = format!("must be a whole number from 1 to {}", limits::MAX_QUANTITY);
    match value {
        Some(Value::Number(n)) => match n.as_u64() {
            Some(q) if (1..=limits::MAX_QUANTITY).contains(&q) => Ok(q as u32),
            _ => Err(DomainError::invalid(field, reason)),
        },
        Some(_) => Err(DomainError::invalid(field, reason)),
        None => Err(DomainError::invalid(field, "is required")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<ValidatedOrder, DomainError> {
        CreateOrderRequest::parse(json.as_bytes())
    }

    fn field_of(json: &str) -> String {
        match parse(json) {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    const GOOD: &str = r#"{"userId":"u-1","items":[{"productId":"p-1","quantity":2}],"paymentMethod":{"type":"card","token":"tok_visa"}}"#;

    #[test]
    fn a_well_formed_request_is_accepted() {
        let order = parse(GOOD).unwrap();
        assert_eq!(
            order.items,
            vec![OrderItemRequest {
                product_id: "p-1".into(),
                quantity: 2
            }]
        );
        assert_eq!(order.payment_method.kind, "card");
    }

    #[test]
    fn each_defect_names_its_field() {
        assert_eq!(field_of("{not json"), "body");
        assert_eq!(field_of("[]"), "body");
        assert_eq!(
            field_of(&GOOD.replace(r#""userId":"u-1""#, r#""userId":7"#)),
            "userId"
        );
        assert_eq!(
            field_of(&GOOD.replace(r#"[{"productId":"p-1","quantity":2}]"#, "[]")),
            "items"
        );
        for q in ["0", "-1", "1.5", "\"2\"", "10001", "99999999999999999999"] {
            assert_eq!(
                field_of(&GOOD.replace(r#""quantity":2"#, &format!(r#""quantity":{q}"#))),
                "items[0].quantity",
                "{q}"
            );
        }
        assert_eq!(
            field_of(&GOOD.replace(r#""token":"tok_visa""#, r#""token":"""#)),
            "paymentMethod.token"
        );
        assert_eq!(
            field_of(&GOOD.replace(r#""productId":"p-1""#, r#""productId":"p-1' OR 1=1 --""#)),
            "items[0].productId"
        );
    }

    #[test]
    fn a_product_may_appear_once() {
        let dup = GOOD.replace(
            r#"[{"productId":"p-1","quantity":2}]"#,
            r#"[{"productId":"p-1","quantity":2},{"productId":"p-1","quantity":1}]"#,
        );
        assert_eq!(field_of(&dup), "items[1].productId");
    }

    #[test]
    fn canonical_json_ignores_key_order_and_whitespace() {
        let reordered = r#"{ "paymentMethod": {"token":"tok_visa","type":"card"}, "items":[{"quantity":2,"productId":"p-1"}], "userId":"u-1" }"#;
        assert_eq!(
            parse(GOOD).unwrap().canonical_json(),
            parse(reordered).unwrap().canonical_json()
        );
        let other = GOOD.replace(r#""quantity":2"#, r#""quantity":3"#);
        assert_ne!(
            parse(GOOD).unwrap().canonical_json(),
            parse(&other).unwrap().canonical_json()
        );
    }
}
