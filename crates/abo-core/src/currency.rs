//! ISO 4217 currencies with their minor-unit exponent.
//!
//! Amounts are integers of minor units (billing-rules, Money), so the only
//! thing the core must know about a currency is how many decimals its minor
//! unit has, plus the symbol used when rendering `PricingLocalized` strings.
//! The table is built in (no I/O); a segment's currency must be in it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::CoreError;
use crate::money::Locale;

/// A currency: its ISO 4217 code and minor-unit exponent (EUR 2, JPY 0, BHD 3).
///
/// Only values from the built-in table exist, so a `Currency` is always
/// valid; it is `Copy` and serialises as its code (`"EUR"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

/// One row of the built-in table: code, exponent, English symbol, French
/// symbol. Symbols follow CLDR; where CLDR uses the bare code, so do we.
struct Row(&'static str, u8, &'static str, &'static str);

const TABLE: &[Row] = &[
    Row("EUR", 2, "€", "€"),
    Row("USD", 2, "$", "$US"),
    Row("GBP", 2, "£", "£GB"),
    Row("CHF", 2, "CHF", "CHF"),
    Row("JPY", 0, "¥", "JPY"),
    Row("CAD", 2, "CA$", "$CA"),
    Row("AUD", 2, "A$", "$AU"),
    Row("NZD", 2, "NZ$", "$NZ"),
    Row("SEK", 2, "SEK", "SEK"),
    Row("NOK", 2, "NOK", "NOK"),
    Row("DKK", 2, "DKK", "DKK"),
    Row("ISK", 0, "ISK", "ISK"),
    Row("PLN", 2, "PLN", "PLN"),
    Row("CZK", 2, "CZK", "CZK"),
    Row("HUF", 2, "HUF", "HUF"),
    Row("RON", 2, "RON", "RON"),
    Row("BGN", 2, "BGN", "BGN"),
    Row("TRY", 2, "TRY", "TRY"),
    Row("BRL", 2, "R$", "R$"),
    Row("MXN", 2, "MX$", "$MX"),
    Row("CLP", 0, "CLP", "CLP"),
    Row("INR", 2, "₹", "₹"),
    Row("CNY", 2, "CN¥", "CNY"),
    Row("HKD", 2, "HK$", "HK$"),
    Row("SGD", 2, "SGD", "SGD"),
    Row("KRW", 0, "₩", "₩"),
    Row("VND", 0, "₫", "₫"),
    Row("ILS", 2, "₪", "₪"),
    Row("AED", 2, "AED", "AED"),
    Row("ZAR", 2, "ZAR", "ZAR"),
    Row("MAD", 2, "MAD", "MAD"),
    Row("XOF", 0, "F\u{202F}CFA", "F\u{202F}CFA"),
    Row("XPF", 0, "CFPF", "FCFP"),
    Row("BHD", 3, "BHD", "BHD"),
    Row("KWD", 3, "KWD", "KWD"),
    Row("JOD", 3, "JOD", "JOD"),
    Row("OMR", 3, "OMR", "OMR"),
    Row("TND", 3, "TND", "TND"),
];

impl Currency {
    pub const EUR: Currency = Currency::builtin("EUR", 2);
    pub const USD: Currency = Currency::builtin("USD", 2);
    pub const GBP: Currency = Currency::builtin("GBP", 2);
    pub const CHF: Currency = Currency::builtin("CHF", 2);
    pub const JPY: Currency = Currency::builtin("JPY", 0);
    pub const KRW: Currency = Currency::builtin("KRW", 0);
    pub const BHD: Currency = Currency::builtin("BHD", 3);

    const fn builtin(code: &'static str, exponent: u8) -> Currency {
        Currency { code, exponent }
    }

    /// Looks a currency up by its ISO 4217 code, ignoring ASCII case.
    pub fn from_code(code: &str) -> Result<Currency, CoreError> {
        let wanted = code.trim();
        TABLE
            .iter()
            .find(|row| row.0.eq_ignore_ascii_case(wanted))
            .map(|row| Currency::builtin(row.0, row.1))
            .ok_or_else(|| CoreError::UnknownCurrency(code.to_owned()))
    }

    /// Every currency of the built-in table.
    pub fn all() -> impl Iterator<Item = Currency> {
        TABLE.iter().map(|row| Currency::builtin(row.0, row.1))
    }

    /// The upper-case ISO 4217 code, e.g. `"EUR"`.
    pub const fn code(self) -> &'static str {
        self.code
    }

    /// Number of decimals of the minor unit (EUR 2, JPY 0, BHD 3).
    pub const fn exponent(self) -> u8 {
        self.exponent
    }

    /// How many minor units make one major unit (10^exponent).
    pub const fn minor_per_major(self) -> i64 {
        10_i64.pow(self.exponent as u32)
    }

    /// The symbol used when rendering an amount in `locale`.
    pub fn symbol(self, locale: Locale) -> &'static str {
        let row = TABLE
            .iter()
            .find(|row| row.0 == self.code)
            .expect("a Currency is only built from the table");
        match locale {
            Locale::En => row.2,
            Locale::Fr => row.3,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl FromStr for Currency {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive() {
        assert_eq!(Currency::from_code("eur").unwrap(), Currency::EUR);
        assert_eq!(Currency::from_code(" Usd ").unwrap(), Currency::USD);
    }

    #[test]
    fn unknown_code_is_an_error() {
        assert_eq!(
            Currency::from_code("XXX"),
            Err(CoreError::UnknownCurrency("XXX".into()))
        );
        assert!(Currency::from_code("").is_err());
    }

    #[test]
    fn exponents_follow_iso_4217() {
        let exp = |c: &str| Currency::from_code(c).unwrap().exponent();
        for c in [
            "EUR", "USD", "GBP", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF",
            "BRL", "MXN", "INR", "CNY",
        ] {
            assert_eq!(exp(c), 2, "{c}");
        }
        assert_eq!(exp("JPY"), 0);
        assert_eq!(exp("KRW"), 0);
        for c in ["BHD", "KWD", "TND"] {
            assert_eq!(exp(c), 3, "{c}");
        }
    }

    #[test]
    fn constants_match_the_table() {
        for c in [
            Currency::EUR,
            Currency::USD,
            Currency::GBP,
            Currency::CHF,
            Currency::JPY,
            Currency::KRW,
            Currency::BHD,
        ] {
            assert_eq!(Currency::from_code(c.code()).unwrap(), c);
        }
    }

    #[test]
    fn table_codes_are_unique() {
        let mut codes: Vec<_> = Currency::all().map(Currency::code).collect();
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n);
    }

    #[test]
    fn serde_uses_the_code() {
        let json = serde_json::to_string(&Currency::EUR).unwrap();
        assert_eq!(json, "\"EUR\"");
        let back: Currency = serde_json::from_str("\"jpy\"").unwrap();
        assert_eq!(back, Currency::JPY);
        assert!(serde_json::from_str::<Currency>("\"ZZZ\"").is_err());
    }
}
