//! Field checks shared by the customer use cases. Each returns the normalised value or a
//! message that starts with the API field name, so the API can answer one `{Code, Message}`
//! per faulty field (a 422 array) and the merchant sees every problem at once.

use abo_core::Reference;
use serde_json::{Map, Value};

use super::iso;

/// Most metadata pairs a customer may carry (spec §1.3: "max 5 pairs").
pub const METADATA_MAX_PAIRS: usize = 5;
/// Longest metadata value, in characters (spec §1.3: "450 chars per value").
pub const METADATA_MAX_VALUE_CHARS: usize = 450;
/// Longest metadata key. ProAbono publishes no limit; keys are identifiers chosen by the
/// merchant, so they get the same bound as references.
pub const METADATA_MAX_KEY_CHARS: usize = 50;
/// Longest free-text field (names, address lines, notes): generous for any real value while
/// keeping rows, invoices and PDFs bounded.
pub const TEXT_MAX_CHARS: usize = 255;
/// RFC 5321 limit on a forward path.
pub const EMAIL_MAX_CHARS: usize = 254;

/// Collects one message per faulty field.
#[derive(Debug, Default)]
pub struct Problems(Vec<String>);

impl Problems {
    pub fn push(&mut self, message: impl Into<String>) {
        self.0.push(message.into());
    }

    /// Keep the value if the check passed, record the message otherwise.
    pub fn take<T>(&mut self, checked: Result<T, String>) -> Option<T> {
        match checked {
            Ok(v) => Some(v),
            Err(m) => {
                self.0.push(m);
                None
            }
        }
    }

    /// The `Invalid` error for what was collected (call only when something was).
    pub fn into_error(self) -> crate::ServiceError {
        crate::ServiceError::Invalid(self.0)
    }

    pub fn into_result(self) -> crate::Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::ServiceError::Invalid(self.0))
        }
    }
}

/// Optional text from the API: absent, `null`, empty or blank all mean "not given".
///
/// Blank means "unchanged" rather than "clear" because N8N's ProAbono node sends every field
/// it displays, with `""` for the ones the user left empty; treating them as values would
/// wipe the customer's data on each call.
pub fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// A merchant reference (spec §1.2).
pub fn reference(field: &str, value: &str) -> Result<String, String> {
    Reference::parse(value)
        .map(Reference::into_string)
        .map_err(|e| format!("{field}: {}", reason_of(&e.to_string())))
}

/// The core error reads "invalid reference 'x': reason"; the API message names the field
/// instead and keeps the reason, without echoing a possibly huge value.
fn reason_of(message: &str) -> &str {
    message.rsplit_once("': ").map_or(message, |(_, r)| r)
}

/// Free text: trimmed, at most `max` characters, no control characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(format!("{field}: must be at most {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field}: must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// A deliverable-looking address: `local@domain.tld`, no spaces, labels of letters, digits
/// and hyphens. Deliberately not the full RFC 5322 grammar (quoted local parts, IP literals),
/// which invoices are never sent to in practice and which mail providers refuse anyway.
pub fn email(value: &str) -> Result<String, String> {
    let value = value.trim();
    let bad = || {
        Err(format!(
            "Email: '{}' is not a valid e-mail address",
            clip(value)
        ))
    };
    if value.chars().count() > EMAIL_MAX_CHARS {
        return Err(format!(
            "Email: must be at most {EMAIL_MAX_CHARS} characters"
        ));
    }
    let Some((local, domain)) = value.split_once('@') else {
        return bad();
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| {
            tld.chars().count() >= 2 && !tld.chars().all(|c| c.is_ascii_digit())
        });
    if local_ok && domain_ok {
        Ok(value.to_owned())
    } else {
        bad()
    }
}

/// ISO 639-1 code (`en`) or locale (`fr-FR`, `fr_FR`), normalised to `ll` / `ll-CC`.
pub fn language(value: &str) -> Result<String, String> {
    let raw = value.trim();
    let bad = || {
        Err(format!(
            "Language: '{}' is not an ISO 639-1 code (e.g. en) or a locale (e.g. fr-FR)",
            clip(raw)
        ))
    };
    let (lang, region) = match raw.split_once(['-', '_']) {
        Some((l, r)) => (l, Some(r)),
        None => (raw, None),
    };
    let lang = lang.to_ascii_lowercase();
    if lang.len() != 2 || !iso::is_language(&lang) {
        return bad();
    }
    match region {
        None => Ok(lang),
        Some(r) => {
            let r = r.to_ascii_uppercase();
            if r.len() == 2 && iso::is_country(&r) {
                Ok(format!("{lang}-{r}"))
            } else {
                bad()
            }
        }
    }
}

/// `Metadata`: an object of at most 5 pairs whose values are strings of at most 450
/// characters. Numbers and booleans are accepted and kept as their text (ProAbono's own
/// example sends `"Incomes": 150000`, while its schema types values as strings); a `null`
/// value drops the key. Returns the JSON object text to store.
pub fn metadata(value: &Value) -> Result<String, Vec<String>> {
    let Value::Object(map) = value else {
        return Err(vec![
            "Metadata: must be an object of key/value pairs".to_owned(),
        ]);
    };
    let mut problems = Vec::new();
    let mut out = Map::new();
    for (key, v) in map {
        let text = match v {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(_) | Value::Object(_) => {
                problems.push(format!("Metadata.{}: value must be a string", clip(key)));
                continue;
            }
        };
        let key_chars = key.trim().chars().count();
        if key_chars == 0 || key_chars > METADATA_MAX_KEY_CHARS {
            problems.push(format!(
                "Metadata: keys must have 1 to {METADATA_MAX_KEY_CHARS} characters, not '{}'",
                clip(key)
            ));
            continue;
        }
        if text.chars().count() > METADATA_MAX_VALUE_CHARS {
            problems.push(format!(
                "Metadata.{}: value must be at most {METADATA_MAX_VALUE_CHARS} characters",
                clip(key)
            ));
            continue;
        }
        out.insert(key.trim().to_owned(), Value::String(text));
    }
    if out.len() > METADATA_MAX_PAIRS {
        problems.push(format!(
            "Metadata: at most {METADATA_MAX_PAIRS} pairs, not {}",
            out.len()
        ));
    }
    if problems.is_empty() {
        Ok(Value::Object(out).to_string())
    } else {
        Err(problems)
    }
}

/// The stored metadata as a map of strings (empty when none or unreadable).
pub fn metadata_map(stored: Option<&str>) -> Map<String, Value> {
    match stored.map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(map))) => map,
        _ => Map::new(),
    }
}

/// Shorten a user value echoed in a message so a 10 kB input does not become a 10 kB error.
pub fn clip(value: &str) -> String {
    const MAX: usize = 60;
    if value.chars().count() <= MAX {
        value.to_owned()
    } else {
        let mut s: String = value.chars().take(MAX).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_name_the_field() {
        assert_eq!(reference("ReferenceCustomer", " c-1 ").unwrap(), "c-1");
        let err = reference("ReferenceCustomer", "a<b").unwrap_err();
        assert_eq!(err, "ReferenceCustomer: must not contain < > ; \" = ? &");
        let err = reference("ReferenceAffiliation", &"x".repeat(51)).unwrap_err();
        assert_eq!(err, "ReferenceAffiliation: must be at most 50 characters");
    }

    #[test]
    fn emails() {
        for ok in [
            "john@doe.com",
            "a.b+tag@sub.example.fr",
            "élodie@exemple.fr",
        ] {
            assert!(email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "john",
            "john@",
            "@doe.com",
            "john@doe",
            "john@@doe.com",
            "jo hn@doe.com",
            "john@doe..com",
            "john@-doe.com",
            ".john@doe.com",
            "john@doe.123",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn languages_are_normalised() {
        assert_eq!(language("EN").unwrap(), "en");
        assert_eq!(language("fr_fr").unwrap(), "fr-FR");
        assert_eq!(language("en-US").unwrap(), "en-US");
        for bad in ["english", "xx", "fr-XX", "fr-FRA", "f", ""] {
            assert!(language(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metadata_limits() {
        let ok =
            metadata(&json!({"Gender": "Male", "Incomes": 150000, "Kids": 3, "x": null})).unwrap();
        let map = metadata_map(Some(&ok));
        assert_eq!(map["Incomes"], json!("150000"));
        assert!(!map.contains_key("x"));

        let six = json!({"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6"});
        assert_eq!(
            metadata(&six).unwrap_err(),
            ["Metadata: at most 5 pairs, not 6"]
        );
        let long = json!({"a": "x".repeat(451)});
        assert_eq!(
            metadata(&long).unwrap_err(),
            ["Metadata.a: value must be at most 450 characters"]
        );
        assert!(metadata(&json!({"a": "x".repeat(450)})).is_ok());
        assert!(metadata(&json!({"a": {"b": 1}})).is_err());
        assert!(metadata(&json!(["a"])).is_err());
    }

    #[test]
    fn blank_is_not_given() {
        assert_eq!(given(Some("  ")), None);
        assert_eq!(given(Some(" a ")), Some("a"));
        assert_eq!(given(None), None);
    }
}
