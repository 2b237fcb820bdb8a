//! Strict JSON for request bodies: RFC 8259 §4 leaves the meaning of an object with duplicate
//! names undefined, and parsers disagree (`serde_json` keeps the last, many gateways and client
//! libraries the first). A body like `{"userId":"a","userId":"b"}` could therefore be read as
//! one order by a proxy and executed as another here, so request bodies with a duplicate name
//! anywhere are refused instead of guessed at.

use std::cell::RefCell;
use std::fmt::{self, Write as _};

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Number, Value};
use serde_path_to_error::Segment;

/// Why a body is not strict JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrictJsonError {
    /// An object repeats a member name; `key` is the repeated name.
    #[error("the JSON object member `{key}` appears more than once; send each member once")]
    DuplicateKey {
        /// The repeated member name.
        key: String,
    },
    /// Not JSON at all (syntax, nesting deeper than 128 levels, trailing data).
    #[error("not valid JSON: {0}")]
    Syntax(String),
}

/// Parses `body` as JSON, refusing a duplicate member name in any object at any depth.
///
/// # Errors
/// [`StrictJsonError::DuplicateKey`] naming the first repeated name found, or
/// [`StrictJsonError::Syntax`] with `serde_json`'s position-bearing message.
pub fn parse_strict(body: &[u8]) -> Result<Value, StrictJsonError> {
    let duplicate = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = StrictValue(&duplicate)
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match (parsed, duplicate.into_inner()) {
        (_, Some(key)) => Err(StrictJsonError::DuplicateKey { key }),
        (Ok(value), None) => Ok(value),
        (Err(error), None) => Err(StrictJsonError::Syntax(error.to_string())),
    }
}

/// Where and why a JSON value is not the typed struct it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ShapeError {
    /// The path of the member at fault, as clients write it (`reason`, `items[1].quantity`,
    /// `paymentMethod.token`); empty for the value itself. A missing member is reported at
    /// its parent: make members optional and check presence after, to name them.
    pub path: String,
    /// `serde`'s message (for logs and tests; callers answer in their own words).
    pub message: String,
}

/// Deserializes `value` (a body already parsed by [`parse_strict`]) into `T`, with the path
/// of the first member that does not fit (`serde_path_to_error`).
///
/// # Errors
/// [`ShapeError`] naming the member and giving serde's message.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ShapeError> {
    serde_path_to_error::deserialize(value).map_err(|error| ShapeError {
        path: field_path(error.path()),
        message: error.inner().to_string(),
    })
}

/// `items[1].quantity` for the segments `items`, `1`, `quantity`.
fn field_path(path: &serde_path_to_error::Path) -> String {
    let mut text = String::new();
    for segment in path.iter() {
        let name = match segment {
            Segment::Seq { index } => {
                let _ = write!(text, "[{index}]");
                continue;
            }
            Segment::Map { key } => key.as_str(),
            Segment::Enum { variant } => variant.as_str(),
            _ => "?",
        };
        if !text.is_empty() {
            text.push('.');
        }
        text.push_str(name);
    }
    text
}

/// Builds a [`Value`], recording the first duplicate member name in the cell it carries.
#[derive(Clone, Copy)]
struct StrictValue<'a>(&'a RefCell<Option<String>>);

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.contains_key(&key) {
                *self.0.borrow_mut() = Some(key.clone());
                return Err(de::Error::custom(format!("duplicate member `{key}`")));
            }
            let value = map.next_value_seed(self)?;
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_name_at_the_top_level_is_refused_naming_it() {
        let error = parse_strict(br#"{"userId":"usr_alice","userId":"usr_carol"}"#).unwrap_err();
        assert_eq!(
            error,
            StrictJsonError::DuplicateKey {
                key: "userId".into()
            }
        );
    }

    #[test]
    fn a_duplicate_name_deep_inside_arrays_and_objects_is_refused() {
        let body = br#"{"items":[{"productId":"a","quantity":1},{"productId":"b","quantity":1,"quantity":9}]}"#;
        let error = parse_strict(body).unwrap_err();
        assert_eq!(
            error,
            StrictJsonError::DuplicateKey {
                key: "quantity".into()
            }
        );
    }

    #[test]
    fn the_same_name_in_sibling_objects_is_fine_and_values_survive() {
        let body = br#"{"a":{"x":1},"b":{"x":-2.5},"c":[true,null,"s",18446744073709551615]}"#;
        let value = parse_strict(body).unwrap();
        let expected: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(value, expected);
    }

    #[test]
    fn syntax_errors_and_trailing_data_are_syntax_errors() {
        assert!(matches!(
            parse_strict(b"{"),
            Err(StrictJsonError::Syntax(_))
        ));
        assert!(matches!(
            parse_strict(b"{} {}"),
            Err(StrictJsonError::Syntax(_))
        ));
    }

    #[test]
    fn a_shape_error_names_the_member_as_clients_write_it() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Line {
            quantity: u32,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Body {
            items: Vec<Line>,
        }
        let value = parse_strict(br#"{"items":[{"quantity":1},{"quantity":"2"}]}"#).unwrap();
        let error = from_value::<Body>(value).unwrap_err();
        assert_eq!(error.path, "items[1].quantity");
        assert!(error.message.starts_with("invalid type: string"), "{error}");
    }

    #[test]
    fn nesting_beyond_serde_jsons_limit_is_refused_not_overflowed() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(
            parse_strict(deep.as_bytes()),
            Err(StrictJsonError::Syntax(_))
        ));
    }
}
