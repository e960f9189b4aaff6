//! Amounts of money: integer minor units with their currency.
//!
//! billing-rules, Money: "An amount is a signed 64-bit integer in the
//! currency's minor unit, paired with its currency. No floating point
//! anywhere." Rounding to the minor unit is half away from zero, done once
//! per line by [`round_half_away_from_zero`].

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::currency::Currency;
use crate::error::CoreError;

/// The languages Abo renders amounts and pages in (English and French first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    #[default]
    En,
    Fr,
}

impl Locale {
    /// Reads the language of a tag such as `"fr"`, `"fr-FR"`, `"FR_ca"` or
    /// `"en-US"`. Unknown languages give `None`: falling back (customer →
    /// segment → business, spec §2.2) is the caller's decision.
    pub fn parse(tag: &str) -> Option<Locale> {
        let language = tag.trim().split(['-', '_']).next()?;
        if language.eq_ignore_ascii_case("en") {
            Some(Locale::En)
        } else if language.eq_ignore_ascii_case("fr") {
            Some(Locale::Fr)
        } else {
            None
        }
    }

    /// The ISO 639-1 code, as ProAbono's `Language` field carries it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Locale {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Locale {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let tag = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Locale::parse(&tag)
            .ok_or_else(|| serde::de::Error::custom(format!("unsupported language '{tag}'")))
    }
}

/// An amount: `minor` units of `currency` (`Money { minor: 19000, EUR }` is
/// €190.00). Serialises as `{"minor": 19000, "currency": "EUR"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub const fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    pub const fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    pub const fn is_zero(self) -> bool {
        self.minor == 0
    }

    pub const fn is_negative(self) -> bool {
        self.minor < 0
    }

    /// Sum of two amounts of the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, CoreError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(CoreError::Overflow("money addition"))?;
        Ok(Money::new(minor, self.currency))
    }

    /// Difference of two amounts of the same currency.
    pub fn checked_sub(self, other: Money) -> Result<Money, CoreError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(CoreError::Overflow("money subtraction"))?;
        Ok(Money::new(minor, self.currency))
    }

    /// The opposite amount (a charge becomes a credit).
    pub fn checked_neg(self) -> Result<Money, CoreError> {
        let minor = self
            .minor
            .checked_neg()
            .ok_or(CoreError::Overflow("money negation"))?;
        Ok(Money::new(minor, self.currency))
    }

    /// Exact sum of amounts, all in `currency` (an invoice total is always
    /// the exact sum of its lines).
    pub fn checked_sum(
        currency: Currency,
        amounts: impl IntoIterator<Item = Money>,
    ) -> Result<Money, CoreError> {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }

    /// The amount as an exact decimal of major units (19000 EUR → 190.00).
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.minor, u32::from(self.currency.exponent()))
    }

    /// Converts a decimal of major units (for example a back-office input
    /// "19.905") to minor units, rounding half away from zero.
    pub fn from_decimal(value: Decimal, currency: Currency) -> Result<Money, CoreError> {
        round_decimal_half_away_from_zero(value, u32::from(currency.exponent()))
            .map(|minor| Money::new(minor, currency))
            .ok_or(CoreError::Overflow("decimal to money"))
    }

    /// Reads an amount written in major units ("19.00", "19", "-0.5") exactly:
    /// more decimals than the currency has ("19.005" EUR) is an error, never
    /// a silent rounding. For catalogue files and back-office inputs.
    pub fn parse_major(text: &str, currency: Currency) -> Result<Money, CoreError> {
        let invalid = |reason: &str| CoreError::Invalid {
            what: "amount",
            reason: format!("'{text}' {reason}"),
        };
        let value = Decimal::from_str_exact(text.trim())
            .map_err(|_| invalid("is not a decimal number"))?
            .normalize();
        if value.scale() > u32::from(currency.exponent()) {
            return Err(invalid(&format!(
                "has more than {} decimals for {currency}",
                currency.exponent()
            )));
        }
        round_decimal_half_away_from_zero(value, u32::from(currency.exponent()))
            .map(|minor| Money::new(minor, currency))
            .ok_or(CoreError::Overflow("amount"))
    }

    /// Renders the amount for a customer: `en` "€190.00", "$1,234.56",
    /// "-€5.00"; `fr` "190,00 €", "1 234,56 €" (U+202F narrow no-break space
    /// between groups, U+00A0 no-break space before the symbol), as CLDR does.
    pub fn format(self, locale: Locale) -> String {
        let digits = self.unsigned_digits(locale);
        let sign = if self.minor < 0 { "-" } else { "" };
        let symbol = self.currency.symbol(locale);
        match locale {
            Locale::En => {
                // A letter symbol ("CHF") needs a space before the digits; a
                // sign symbol ("€", "CA$") sticks to them.
                let gap = if symbol.chars().last().is_some_and(char::is_alphabetic) {
                    "\u{00A0}"
                } else {
                    ""
                };
                format!("{sign}{symbol}{gap}{digits}")
            }
            Locale::Fr => format!("{sign}{digits}\u{00A0}{symbol}"),
        }
    }

    /// The absolute amount as grouped digits with the locale's separators,
    /// without sign or symbol ("1,234.56" / "1 234,56").
    fn unsigned_digits(self, locale: Locale) -> String {
        let (group, decimal) = match locale {
            Locale::En => (",", "."),
            Locale::Fr => ("\u{202F}", ","),
        };
        let exponent = usize::from(self.currency.exponent());
        let abs = self.minor.unsigned_abs();
        let scale = 10_u64.pow(exponent as u32);
        let integer = (abs / scale).to_string();
        let mut out = String::with_capacity(integer.len() * 2 + exponent + 1);
        for (i, c) in integer.chars().enumerate() {
            if i > 0 && (integer.len() - i).is_multiple_of(3) {
                out.push_str(group);
            }
            out.push(c);
        }
        if exponent > 0 {
            out.push_str(decimal);
            out.push_str(&format!("{:0width$}", abs % scale, width = exponent));
        }
        out
    }

    fn same_currency(self, other: Money) -> Result<(), CoreError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(CoreError::CurrencyMismatch {
                left: self.currency.code().to_owned(),
                right: other.currency.code().to_owned(),
            })
        }
    }
}

/// Neutral rendering for logs and errors: "190.00 EUR".
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal(), self.currency)
    }
}

/// `numerator / denominator` rounded to the nearest integer, halves away from
/// zero (2.5 → 3, -2.5 → -3), in exact integer arithmetic.
///
/// This is the one rounding of billing-rules ("half away from zero, applied
/// once per line"): pass the whole exact product, e.g.
/// `round_half_away_from_zero(10000 * 16, 31)` = 5161.
///
/// # Panics
/// If `denominator` is zero or the result does not fit an `i64`; use
/// [`checked_round_half_away_from_zero`] where either can happen.
pub fn round_half_away_from_zero(numerator: i128, denominator: i128) -> i64 {
    checked_round_half_away_from_zero(numerator, denominator)
        .expect("round_half_away_from_zero: zero denominator or result outside i64")
}

/// [`round_half_away_from_zero`] that returns `None` on a zero denominator or
/// a result outside `i64`.
pub fn checked_round_half_away_from_zero(numerator: i128, denominator: i128) -> Option<i64> {
    if denominator == 0 {
        return None;
    }
    let quotient = numerator.checked_div(denominator)?;
    let remainder = numerator.checked_rem(denominator)?;
    let (r, d) = (remainder.unsigned_abs(), denominator.unsigned_abs());
    // r >= d - r  <=>  |remainder| / |denominator| >= 1/2, without overflow.
    let rounded = if r != 0 && r >= d - r {
        let away = if (numerator < 0) == (denominator < 0) {
            1
        } else {
            -1
        };
        quotient.checked_add(away)?
    } else {
        quotient
    };
    i64::try_from(rounded).ok()
}

/// Rounds a decimal amount of major units to minor units with `exponent`
/// decimals, halves away from zero (`19.905` EUR → 1991). `None` if the
/// result does not fit an `i64`.
pub fn round_decimal_half_away_from_zero(value: Decimal, exponent: u32) -> Option<i64> {
    let scale = Decimal::from(10_i64.checked_pow(exponent)?);
    let minor = value
        .checked_mul(scale)?
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(minor).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::EUR)
    }

    #[test]
    fn english_formatting() {
        assert_eq!(eur(19000).format(Locale::En), "€190.00");
        assert_eq!(
            Money::new(123456, Currency::USD).format(Locale::En),
            "$1,234.56"
        );
        assert_eq!(eur(-500).format(Locale::En), "-€5.00");
        assert_eq!(eur(5).format(Locale::En), "€0.05");
        assert_eq!(eur(0).format(Locale::En), "€0.00");
        assert_eq!(
            Money::new(123456789, Currency::EUR).format(Locale::En),
            "€1,234,567.89"
        );
        assert_eq!(Money::new(1500, Currency::JPY).format(Locale::En), "¥1,500");
        assert_eq!(
            Money::new(12345, Currency::BHD).format(Locale::En),
            "BHD\u{00A0}12.345"
        );
        assert_eq!(
            Money::new(100, Currency::CHF).format(Locale::En),
            "CHF\u{00A0}1.00"
        );
    }

    #[test]
    fn french_formatting() {
        assert_eq!(eur(19000).format(Locale::Fr), "190,00\u{00A0}€");
        assert_eq!(eur(123456).format(Locale::Fr), "1\u{202F}234,56\u{00A0}€");
        assert_eq!(eur(-500).format(Locale::Fr), "-5,00\u{00A0}€");
        assert_eq!(
            Money::new(1000000, Currency::KRW).format(Locale::Fr),
            "1\u{202F}000\u{202F}000\u{00A0}₩"
        );
    }

    #[test]
    fn extreme_amounts_format() {
        let min = eur(i64::MIN).format(Locale::En);
        assert_eq!(min, "-€92,233,720,368,547,758.08");
    }

    #[test]
    fn locale_parsing() {
        assert_eq!(Locale::parse("fr-FR"), Some(Locale::Fr));
        assert_eq!(Locale::parse("FR"), Some(Locale::Fr));
        assert_eq!(Locale::parse("en_GB"), Some(Locale::En));
        assert_eq!(Locale::parse("en"), Some(Locale::En));
        assert_eq!(Locale::parse("de-DE"), None);
        assert_eq!(Locale::parse(""), None);
        assert_eq!(Locale::parse("french"), None);
    }

    #[test]
    fn checked_arithmetic() {
        assert_eq!(eur(100).checked_add(eur(250)), Ok(eur(350)));
        assert_eq!(eur(100).checked_sub(eur(250)), Ok(eur(-150)));
        assert_eq!(eur(100).checked_neg(), Ok(eur(-100)));
        assert!(eur(i64::MAX).checked_add(eur(1)).is_err());
        assert!(eur(i64::MIN).checked_neg().is_err());
        assert_eq!(
            eur(1).checked_add(Money::new(1, Currency::USD)),
            Err(CoreError::CurrencyMismatch {
                left: "EUR".into(),
                right: "USD".into()
            })
        );
        assert_eq!(
            Money::checked_sum(Currency::EUR, [eur(-5161), eur(9290)]),
            Ok(eur(4129))
        );
    }

    #[test]
    fn rounding_half_away_from_zero() {
        assert_eq!(round_half_away_from_zero(5, 2), 3);
        assert_eq!(round_half_away_from_zero(-5, 2), -3);
        assert_eq!(round_half_away_from_zero(5, -2), -3);
        assert_eq!(round_half_away_from_zero(7, 3), 2);
        assert_eq!(round_half_away_from_zero(-7, 3), -2);
        assert_eq!(round_half_away_from_zero(10000 * 16, 31), 5161);
        assert_eq!(round_half_away_from_zero(18000 * 16, 31), 9290);
        assert_eq!(round_half_away_from_zero(36000 * 355, 365), 35014);
        assert_eq!(round_half_away_from_zero(3000 * 21, 31), 2032);
        assert_eq!(checked_round_half_away_from_zero(1, 0), None);
        assert_eq!(checked_round_half_away_from_zero(i128::MAX, 1), None);
        assert_eq!(
            checked_round_half_away_from_zero(i128::MIN, -1),
            None,
            "i128::MIN / -1 overflows"
        );
    }

    #[test]
    fn decimal_rounding() {
        assert_eq!(
            round_decimal_half_away_from_zero(dec!(19.905), 2),
            Some(1991)
        );
        assert_eq!(
            round_decimal_half_away_from_zero(dec!(-19.905), 2),
            Some(-1991)
        );
        assert_eq!(round_decimal_half_away_from_zero(dec!(12.5), 0), Some(13));
        assert_eq!(
            Money::from_decimal(dec!(190), Currency::EUR),
            Ok(eur(19000))
        );
        assert_eq!(eur(19000).to_decimal(), dec!(190.00));
        assert_eq!(eur(19000).to_string(), "190.00 EUR");
    }

    #[test]
    fn parse_major_is_exact() {
        assert_eq!(Money::parse_major("19.00", Currency::EUR), Ok(eur(1900)));
        assert_eq!(Money::parse_major("19", Currency::EUR), Ok(eur(1900)));
        assert_eq!(Money::parse_major(" -0.5 ", Currency::EUR), Ok(eur(-50)));
        assert_eq!(Money::parse_major("19.0500", Currency::EUR), Ok(eur(1905)));
        assert_eq!(
            Money::parse_major("1500", Currency::JPY),
            Ok(Money::new(1500, Currency::JPY))
        );
        assert!(Money::parse_major("19.005", Currency::EUR).is_err());
        assert!(Money::parse_major("1.5", Currency::JPY).is_err());
        assert!(Money::parse_major("abc", Currency::EUR).is_err());
        assert!(Money::parse_major("", Currency::EUR).is_err());
        assert!(Money::parse_major("1e3", Currency::EUR).is_err());
        assert!(Money::parse_major("99999999999999999999", Currency::EUR).is_err());
    }

    #[test]
    fn serde_shape() {
        let json = serde_json::to_string(&eur(19000)).unwrap();
        assert_eq!(json, r#"{"minor":19000,"currency":"EUR"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), eur(19000));
        assert_eq!(serde_json::to_string(&Locale::Fr).unwrap(), "\"fr\"");
        assert_eq!(
            serde_json::from_str::<Locale>("\"fr-FR\"").unwrap(),
            Locale::Fr
        );
    }
}
