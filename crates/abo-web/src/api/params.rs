//! Request parameters as ProAbono clients send them (spec §2.5 "Tolerance"):
//! query names in any case (`ReferenceCustomer`, `referenceCustomer`,
//! `referencecustomer`), values sometimes not percent-encoded, and
//! identifiers or flags sometimes in the JSON body instead of the query.

use super::dates;
use super::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;

/// Query parameters, looked up case-insensitively, optionally completed by
/// the top-level scalar fields of the JSON body.
#[derive(Debug, Default, Clone)]
pub struct Params {
    /// Lower-cased name → value. The first occurrence wins.
    values: HashMap<String, String>,
}

impl Params {
    pub fn from_query(query: &str) -> Params {
        let mut values = HashMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            values
                .entry(decode(name).to_ascii_lowercase())
                .or_insert_with(|| decode(value));
        }
        Params { values }
    }

    /// Adds the body's top-level strings, numbers and booleans for names the
    /// query does not give (N8N puts `ReferenceCustomer`, `Immediate`, ...
    /// in the body).
    pub fn with_body(mut self, body: &Value) -> Params {
        if let Value::Object(map) = body {
            for (name, value) in map {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => continue,
                };
                self.values.entry(name.to_ascii_lowercase()).or_insert(text);
            }
        }
        self
    }

    /// The raw value, if given and not empty.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.values
            .get(&name.to_ascii_lowercase())
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn required_str(&self, name: &str) -> Result<&str, ApiError> {
        self.str(name)
            .ok_or_else(|| ApiError::invalid(name, format!("{name} is required")))
    }

    /// `true/false`, `1/0`, `yes/no`, any case.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(Some(true)),
                "false" | "0" | "no" | "off" => Ok(Some(false)),
                _ => Err(ApiError::invalid(
                    name,
                    format!("{name} must be true or false, not '{v}'"),
                )),
            },
        }
    }

    pub fn i64(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::invalid(name, format!("{name} must be an integer, not '{v}'"))
            }),
        }
    }

    /// A date-time in any of the formats clients use, as epoch microseconds.
    pub fn date(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(v) => dates::parse(v)
                .map(Some)
                .ok_or_else(|| ApiError::invalid(name, format!("{name} is not a date: '{v}'"))),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Params::from_query(parts.uri.query().unwrap_or("")))
    }
}

/// Percent-decoding that never fails: `+` is a space, a malformed escape is
/// kept as typed, and invalid UTF-8 is replaced (PHP clients send values
/// without encoding them).
fn decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_values_tolerant() {
        let p =
            Params::from_query("referenceCustomer=cust%2042&TRYSTART=True&x=a+b&bad=%zz&raw=a b");
        assert_eq!(p.str("ReferenceCustomer"), Some("cust 42"));
        assert_eq!(p.bool("TryStart").unwrap(), Some(true));
        assert_eq!(p.str("x"), Some("a b"));
        assert_eq!(p.str("bad"), Some("%zz"));
        assert_eq!(p.str("raw"), Some("a b"));
        assert_eq!(p.str("missing"), None);
        assert!(p.bool("x").is_err());
    }

    #[test]
    fn body_fills_what_the_query_lacks() {
        let body = serde_json::json!({"ReferenceCustomer": "from-body", "Immediate": true, "Page": 2, "Nested": {"a": 1}});
        let p = Params::from_query("ReferenceCustomer=from-query").with_body(&body);
        assert_eq!(p.str("referencecustomer"), Some("from-query"));
        assert_eq!(p.bool("immediate").unwrap(), Some(true));
        assert_eq!(p.i64("page").unwrap(), Some(2));
        assert_eq!(p.str("nested"), None);
    }

    #[test]
    fn decode_handles_truncated_escapes() {
        assert_eq!(decode("%"), "%");
        assert_eq!(decode("%4"), "%4");
        assert_eq!(decode("%41"), "A");
        assert_eq!(decode("a%2"), "a%2");
    }
}
