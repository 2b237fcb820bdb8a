//! The create-order request (`POST /api/v1/orders`), validated field by field so every refusal
//! names the field and says how to fix it.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
    /// Parses and validates a JSON body: strict JSON ([`crate::parse_strict`]), then the typed
    /// [`Body`] (`serde_path_to_error` names a member of the wrong type), then the rules below
    /// in a fixed order (ids, counts, ranges, lengths). Each refusal names its field as clients
    /// write it (`items[1].quantity`).
    ///
    /// # Errors
    /// [`DomainError::DuplicateMember`] for a repeated member; [`DomainError::Invalid`] with
    /// field `body` for a body that is not a JSON object, else naming the field at fault.
    pub fn parse(body: &[u8]) -> Result<ValidatedOrder, DomainError> {
        let value: Value = crate::json::parse_strict(body).map_err(|e| match &e {
            crate::StrictJsonError::DuplicateKey { key } => {
                DomainError::DuplicateMember { key: key.clone() }
            }
            crate::StrictJsonError::Syntax(_) => DomainError::invalid("body", e.to_string()),
        })?;
        // A derived struct would also accept an array of its fields in order.
        if !value.is_object() {
            return Err(DomainError::invalid("body", "must be a JSON object"));
        }
        let body: Body = crate::json::from_value(value)
            .map_err(|error| DomainError::invalid(&error.path, type_rule(&error.path)))?;
        body.validate()
    }
}

/// The create-order body as sent: every member optional (so a missing one is named by
/// [`Body::validate`]), `null` counting as present (and refused by its type, as `"userId":
/// null` is not a string), unknown members ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    #[serde(default, deserialize_with = "present")]
    user_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    items: Option<Vec<Object<ItemBody>>>,
    #[serde(default, deserialize_with = "present")]
    payment_method: Option<Object<PaymentMethodBody>>,
    #[serde(default)]
    shipping_address: Option<Map<String, Value>>,
}

/// One `items[i]` as sent.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemBody {
    #[serde(default, deserialize_with = "present")]
    product_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    quantity: Option<u64>,
}

/// `paymentMethod` as sent.
#[derive(Deserialize)]
struct PaymentMethodBody {
    #[serde(default, rename = "type", deserialize_with = "present")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "present")]
    token: Option<String>,
}

/// What a member of the wrong JSON type is told, by its path (indices dropped).
fn type_rule(path: &str) -> String {
    let mut generic = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => in_index = true,
            ']' => {
                in_index = false;
                generic.push_str("[]");
            }
            _ if in_index => {}
            _ => generic.push(c),
        }
    }
    match generic.as_str() {
        "items" => "must be an array of {productId, quantity}".into(),
        "items[]" => "must be an object {productId, quantity}".into(),
        "items[].quantity" => quantity_reason(),
        "paymentMethod" => "must be an object {type, token}".into(),
        "shippingAddress" => "must be an object".into(),
        // userId, items[].productId, paymentMethod.type, paymentMethod.token
        _ => "must be a string".into(),
    }
}

impl Body {
    /// The rules, in the order a caller fixes them: buyer, lines (each product once), payment,
    /// address.
    fn validate(self) -> Result<ValidatedOrder, DomainError> {
        let user_id = id_field(required(self.user_id, "userId")?, "userId")?;
        let items = required(self.items, "items")?;
        if items.is_empty() {
            return Err(DomainError::invalid(
                "items",
                "must contain at least one item",
            ));
        }
        if items.len() > limits::MAX_LINES {
            return Err(DomainError::invalid(
                "items",
                format!("at most {} lines per order", limits::MAX_LINES),
            ));
        }
        let mut lines: Vec<OrderItemRequest> = Vec::with_capacity(items.len());
        for (i, Object(item)) in items.into_iter().enumerate() {
            let field = format!("items[{i}].productId");
            let product_id = id_field(required(item.product_id, &field)?, &field)?;
            let quantity = quantity_field(item.quantity, &format!("items[{i}].quantity"))?;
            if lines.iter().any(|l| l.product_id == product_id) {
                return Err(DomainError::invalid(
                    field,
                    format!("`{product_id}` appears more than once; send one line per product"),
                ));
            }
            lines.push(OrderItemRequest {
                product_id,
                quantity,
            });
        }
        let Object(payment) = required(self.payment_method, "paymentMethod")?;
        let payment_method = PaymentMethod {
            kind: text_field(payment.kind, "paymentMethod.type", 32)?,
            token: text_field(payment.token, "paymentMethod.token", limits::MAX_TOKEN_LEN)?,
        };
        let shipping_address = match self.shipping_address.map(Value::Object) {
            Some(address) if address.to_string().len() > limits::MAX_ADDRESS_BYTES => {
                return Err(DomainError::invalid(
                    "shippingAddress",
                    format!("at most {} bytes", limits::MAX_ADDRESS_BYTES),
                ));
            }
            address => address,
        };
        Ok(ValidatedOrder {
            user_id,
            items: lines,
            payment_method,
            shipping_address,
        })
    }
}

/// A member that must be there.
fn required<T>(value: Option<T>, field: &str) -> Result<T, DomainError> {
    value.ok_or_else(|| DomainError::invalid(field, "is required"))
}

/// For `#[serde(default, deserialize_with = "present")]`: a member that is there, `null`
/// included, is `Some` of its type (so `null` is refused by the type, not taken as absent).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// A JSON object deserialized as `T`, and nothing else: derived structs also accept an array
/// of their fields, which a body must not be read as.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OnlyObjects<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for OnlyObjects<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(OnlyObjects(PhantomData))
            .map(Object)
    }
}

impl ValidatedOrder {
    /// A canonical JSON rendering (sorted keys, no whitespace): two requests meaning the same
    /// thing render identically, so an idempotency key can be matched to "the same body".
    pub fn canonical_json(&self) -> String {
        // serde_json's map is ordered by key (no `preserve_order`), so this is canonical; the
        // text is written in one buffer (the same bytes as the `Value`'s `Display`, which
        // formats token by token).
        serde_json::to_value(self)
            .and_then(|v| serde_json::to_string(&v))
            .unwrap_or_default()
    }
}

/// An id: 1–`MAX_ID_LEN` characters of `A–Z a–z 0–9 - _ . :` (safe in paths, logs and keys).
fn id_field(id: String, field: &str) -> Result<String, DomainError> {
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
    Ok(id)
}

/// Text of 1–`max` bytes, not blank.
fn text_field(value: Option<String>, field: &str, max: usize) -> Result<String, DomainError> {
    match required(value, field)? {
        text if !text.trim().is_empty() && text.len() <= max => Ok(text),
        _ => Err(DomainError::invalid(
            field,
            format!("must be 1–{max} characters"),
        )),
    }
}

/// Units of one product: 1..=`MAX_QUANTITY`.
fn quantity_field(value: Option<u64>, field: &str) -> Result<u32, DomainError> {
    match required(value, field)? {
        q if (1..=limits::MAX_QUANTITY).contains(&q) => Ok(q as u32),
        _ => Err(DomainError::invalid(field, quantity_reason())),
    }
}

/// Why a quantity is refused.
fn quantity_reason() -> String {
    format!("must be a whole number from 1 to {}", limits::MAX_QUANTITY)
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

    fn refusal_of(json: &str) -> (String, String) {
        match parse(json) {
            Err(DomainError::Invalid { field, reason }) => (field, reason),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn wrong_types_missing_members_and_nulls_are_told_apart() {
        let cases = [
            (
                GOOD.replace(r#""userId":"u-1""#, r#""userId":7"#),
                "userId",
                "must be a string",
            ),
            (
                GOOD.replace(r#""userId":"u-1""#, r#""userId":null"#),
                "userId",
                "must be a string",
            ),
            (
                GOOD.replace(r#""userId":"u-1","#, ""),
                "userId",
                "is required",
            ),
            (
                GOOD.replace(r#"[{"productId":"p-1","quantity":2}]"#, r#""x""#),
                "items",
                "must be an array of {productId, quantity}",
            ),
            (
                GOOD.replace(
                    r#"[{"productId":"p-1","quantity":2}]"#,
                    r#"[{"productId":"p-1","quantity":2},["p-2",1]]"#,
                ),
                "items[1]",
                "must be an object {productId, quantity}",
            ),
            (
                GOOD.replace(r#""quantity":2"#, r#""quantity":"2""#),
                "items[0].quantity",
                "must be a whole number from 1 to 10000",
            ),
            (
                GOOD.replace(r#","quantity":2"#, ""),
                "items[0].quantity",
                "is required",
            ),
            (
                GOOD.replace(r#"{"type":"card","token":"tok_visa"}"#, "[]"),
                "paymentMethod",
                "must be an object {type, token}",
            ),
            (
                GOOD.replace(r#""type":"card","#, ""),
                "paymentMethod.type",
                "is required",
            ),
            (
                GOOD.replace(r#""token":"tok_visa""#, r#""token":"   ""#),
                "paymentMethod.token",
                "must be 1–256 characters",
            ),
            (
                GOOD.replace("}}", r#"},"shippingAddress":"Main St. 1"}"#),
                "shippingAddress",
                "must be an object",
            ),
            ("[]".to_owned(), "body", "must be a JSON object"),
        ];
        for (body, field, reason) in cases {
            assert_eq!(
                refusal_of(&body),
                (field.to_owned(), reason.to_owned()),
                "{body}"
            );
        }
    }

    #[test]
    fn the_shipping_address_is_optional_nullable_and_passed_through() {
        let with_null = GOOD.replace("}}", r#"},"shippingAddress":null}"#);
        assert_eq!(parse(&with_null).unwrap().shipping_address, None);
        let with_address = GOOD.replace("}}", r#"},"shippingAddress":{"city":"Oslo"}}"#);
        assert_eq!(
            parse(&with_address).unwrap().shipping_address,
            Some(serde_json::json!({"city": "Oslo"}))
        );
        let huge = GOOD.replace(
            "}}",
            &format!(r#"}},"shippingAddress":{{"a":"{}"}}}}"#, "x".repeat(3000)),
        );
        assert_eq!(refusal_of(&huge).0, "shippingAddress");
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
