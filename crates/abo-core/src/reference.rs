//! Merchant references (`ReferenceCustomer`, `ReferenceOffer`,
//! `ReferenceFeature`, ...).
//!
//! ProAbono (spec §1.2): a UTF-8 string chosen by the merchant, at most 50
//! characters, without `< > ; " = ? &`. References travel in URLs and in
//! query strings, hence the excluded characters; control characters are
//! refused too because they would corrupt logs, CSV exports and headers.
//! Generating a reference (ProAbono uses a UUID) needs randomness, so it is
//! the caller's job; the core only validates.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::CoreError;

/// A validated merchant reference: trimmed, 1 to 50 characters, none of
/// `< > ; " = ? &` and no control character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Reference(String);

impl Reference {
    /// Longest reference, in characters (not bytes).
    pub const MAX_CHARS: usize = 50;

    /// Characters ProAbono excludes from references.
    pub const FORBIDDEN: &'static [char] = &['<', '>', ';', '"', '=', '?', '&'];

    /// Validates a reference; surrounding whitespace is trimmed first.
    pub fn parse(input: &str) -> Result<Reference, CoreError> {
        let value = input.trim();
        let invalid = |reason| CoreError::InvalidReference {
            value: input.to_owned(),
            reason,
        };
        if value.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(invalid("must be at most 50 characters"));
        }
        if value.chars().any(|c| Self::FORBIDDEN.contains(&c)) {
            return Err(invalid("must not contain < > ; \" = ? &"));
        }
        if value.chars().any(char::is_control) {
            return Err(invalid("must not contain control characters"));
        }
        Ok(Reference(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Reference {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

impl TryFrom<String> for Reference {
    type Error = CoreError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Reference::parse(&value)
    }
}

impl TryFrom<&str> for Reference {
    type Error = CoreError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Reference::parse(value)
    }
}

impl AsRef<str> for Reference {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Reference {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Reference {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Reference {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Reference::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_references() {
        assert_eq!(Reference::parse("cust-42").unwrap(), "cust-42");
        assert_eq!(Reference::parse("  pro-monthly ").unwrap(), "pro-monthly");
        assert_eq!(Reference::parse("client été").unwrap(), "client été");
        assert!(Reference::parse("a/b:c@d.e+f_g").is_ok());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let fifty_accents = "é".repeat(50);
        assert_eq!(fifty_accents.len(), 100);
        assert!(Reference::parse(&fifty_accents).is_ok());
        assert!(Reference::parse(&"é".repeat(51)).is_err());
        assert!(Reference::parse(&"a".repeat(50)).is_ok());
        assert!(Reference::parse(&"a".repeat(51)).is_err());
    }

    #[test]
    fn rejects_empty_forbidden_and_control() {
        assert!(Reference::parse("").is_err());
        assert!(Reference::parse("   ").is_err());
        for c in ['<', '>', ';', '"', '=', '?', '&'] {
            assert!(Reference::parse(&format!("a{c}b")).is_err(), "{c}");
        }
        assert!(Reference::parse("a\u{0}b").is_err());
        assert!(Reference::parse("a\nb").is_err());
        assert!(Reference::parse("a\u{7f}b").is_err());
        let err = Reference::parse("a?b").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid reference 'a?b': must not contain < > ; \" = ? &"
        );
    }

    #[test]
    fn serde_is_a_validated_string() {
        let r = Reference::parse("seats").unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"seats\"");
        assert_eq!(serde_json::from_str::<Reference>("\"seats\"").unwrap(), r);
        assert!(serde_json::from_str::<Reference>("\"a&b\"").is_err());
    }
}
