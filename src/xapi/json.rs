//! Strict JSON parsing: like `serde_json::from_slice`, but an object with a
//! duplicated key is an error (xAPI forbids duplicate properties, and which
//! of two values "wins" would otherwise be up to the parser).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

pub fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<Strict>(bytes).map(|s| s.0)
}

struct Strict(Value);

/// The key under which serde_json (feature `arbitrary_precision`) passes a
/// number's text through `deserialize_any`.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
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
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            // With `arbitrary_precision`, serde_json hands a number over as
            // a one-entry map holding its text: kept as sent, so that
            // `format=exact` returns it unchanged.
            if map.is_empty() && key == NUMBER_TOKEN {
                let text: String = access.next_value()?;
                let number = text
                    .parse::<serde_json::Number>()
                    .map_err(de::Error::custom)?;
                return Ok(Value::Number(number));
            }
            let Strict(value) = access.next_value()?;
            if map.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate property {key:?}")));
            }
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_serde_json() {
        let text = br#"{"a": [1, -2, 2.5, "x", null, true, {"b": {}}]}"#;
        assert_eq!(
            from_slice(text).unwrap(),
            serde_json::from_slice::<Value>(text).unwrap()
        );
    }

    #[test]
    fn numbers_keep_the_text_they_were_sent_in() {
        let text = br#"{"big":12345678901234567890123,"neg":-0,"frac":0.10,"exp":1.5e300}"#;
        let value = from_slice(text).unwrap();
        // Digits and signs as sent; serde_json spells a positive exponent
        // with its sign.
        assert_eq!(
            serde_json::to_string(&value).unwrap(),
            r#"{"big":12345678901234567890123,"neg":-0,"frac":0.10,"exp":1.5e+300}"#
        );
        assert_eq!(value["frac"].as_f64(), Some(0.1));
    }

    #[test]
    fn duplicate_keys_are_rejected_at_any_depth() {
        assert!(from_slice(br#"{"a": 1, "a": 2}"#).is_err());
        assert!(from_slice(br#"[{"x": {"k": 1, "k": 1}}]"#).is_err());
    }
}
