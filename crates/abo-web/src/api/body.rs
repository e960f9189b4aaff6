//! JSON bodies as ProAbono clients send them: `Content-Type` sometimes
//! missing or wrong, `null` meaning "unchanged", camelCase now and then.
//! Malformed or hostile JSON (too deep, wrong types) is a 422 that says why.

use super::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Nesting deeper than this is refused before it reaches any handler; no
/// ProAbono payload is more than four levels deep.
pub const MAX_DEPTH: usize = 32;

/// The request body as JSON (`Null` when empty), keys normalised to
/// PascalCase (`referenceCustomer` → `ReferenceCustomer`).
#[derive(Debug, Clone)]
pub struct JsonBody(pub Value);

impl JsonBody {
    /// Deserialises into a request DTO; errors name the field when serde can.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let value = if self.0.is_null() {
            Value::Object(Default::default())
        } else {
            self.0.clone()
        };
        serde_json::from_value(value)
            .map_err(|e| ApiError::invalid("Body", format!("invalid request body: {e}")))
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "Error.Api.Body", e.body_text()))?;
        parse_body(&bytes).map(JsonBody)
    }
}

pub fn parse_body(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    if nesting(bytes) > MAX_DEPTH {
        return Err(ApiError::invalid(
            "Body",
            format!("JSON nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid("Body", format!("malformed JSON: {e}")))?;
    Ok(pascal_keys(value))
}

/// Maximum bracket depth, counted outside strings, without parsing.
fn nesting(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Upper-cases the first letter of object keys, except inside `Metadata`
/// (free keys chosen by the merchant).
fn pascal_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let key = pascal(&k);
                    let v = if key == "Metadata" { v } else { pascal_keys(v) };
                    (key, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(pascal_keys).collect()),
        other => other,
    }
}

fn pascal(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) if first.is_ascii_lowercase() => {
            first.to_ascii_uppercase().to_string() + chars.as_str()
        }
        _ => key.to_string(),
    }
}

/// Serde helpers for fields old clients send loosely.
pub mod lenient {
    use serde::{Deserialize, Deserializer, de::Error};
    use serde_json::Value;

    /// An integer given as a number (`3`, `3.0`) or a numeric string (`"3"`);
    /// `null` or absent is `None`.
    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                        .map(|f| f as i64)
                })
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("{n} is not an integer"))),
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| D::Error::custom(format!("'{s}' is not an integer"))),
            Some(other) => Err(D::Error::custom(format!("{other} is not an integer"))),
        }
    }

    /// A boolean given as `true`, `"true"`, `1`, `"1"`; `null` is `None`.
    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(Some(true)),
            Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(Some(false)),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(Some(true)),
                "false" | "0" | "no" => Ok(Some(false)),
                _ => Err(D::Error::custom(format!("'{s}' is not a boolean"))),
            },
            Some(other) => Err(D::Error::custom(format!("{other} is not a boolean"))),
        }
    }

    /// A date-time in any format clients send, as epoch microseconds.
    pub fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => super::super::dates::parse(&s)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("'{s}' is not a date"))),
            Some(other) => Err(D::Error::custom(format!("{other} is not a date"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_keys_but_not_metadata() {
        let v = parse_body(br#"{"referenceCustomer":"a","Metadata":{"plan":"x"},"features":[{"referenceFeature":"f"}]}"#).unwrap();
        assert_eq!(v["ReferenceCustomer"], "a");
        assert_eq!(v["Metadata"]["plan"], "x");
        assert_eq!(v["Features"][0]["ReferenceFeature"], "f");
    }

    #[test]
    fn refuses_deep_and_malformed_json() {
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(parse_body(deep.as_bytes()).is_err());
        assert!(parse_body(b"{\"a\":").is_err());
        assert!(parse_body(b"  ").unwrap().is_null());
        // Brackets inside strings do not count.
        let quoted = format!("{{\"a\":\"{}\"}}", "[".repeat(100));
        assert!(parse_body(quoted.as_bytes()).is_ok());
    }

    #[derive(serde::Deserialize)]
    struct Lenient {
        #[serde(default, deserialize_with = "lenient::opt_i64")]
        n: Option<i64>,
        #[serde(default, deserialize_with = "lenient::opt_bool")]
        b: Option<bool>,
    }

    #[test]
    fn lenient_numbers_and_flags() {
        let l: Lenient = serde_json::from_str(r#"{"n":"42","b":"True"}"#).unwrap();
        assert_eq!((l.n, l.b), (Some(42), Some(true)));
        let l: Lenient = serde_json::from_str(r#"{"n":-3,"b":null}"#).unwrap();
        assert_eq!((l.n, l.b), (Some(-3), None));
        let l: Lenient = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!((l.n, l.b), (None, None));
        assert!(serde_json::from_str::<Lenient>(r#"{"n":"x"}"#).is_err());
        assert!(serde_json::from_str::<Lenient>(r#"{"n":1.5}"#).is_err());
    }
}
