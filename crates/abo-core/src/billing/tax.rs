//! Tax by billing country (billing-rules, Balance and invoices): "The rate
//! comes from the segment's tax rules by the customer's billing country
//! (default: the business's country rate); an EU business customer with a
//! VAT number in another EU country is reverse-charged (0 %, with the legal
//! mention on the invoice)."
//!
//! The decision is a pure function of the business's country, its rates and
//! what the customer declared. Checking that a VAT number is valid (VIES) is
//! I/O, so it is the service's job: here a non-blank number is taken as
//! given.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::Locale;

/// The standard VAT rate of each of the 27 EU member states, in percent, as
/// of 1 January 2026 (EE 24 since July 2025, RO 21 since August 2025, SK 23
/// since January 2025, FI 25.5 since September 2024).
///
/// **This table must be kept up to date**: member states change their rates
/// by law, usually on 1 January or 1 July. A merchant can override any rate
/// in its [`TaxProfile`] without waiting for a release.
pub const EU_STANDARD_VAT_RATES: [(&str, Decimal); 27] = [
    ("AT", Decimal::from_parts(20, 0, 0, false, 0)),
    ("BE", Decimal::from_parts(21, 0, 0, false, 0)),
    ("BG", Decimal::from_parts(20, 0, 0, false, 0)),
    ("CY", Decimal::from_parts(19, 0, 0, false, 0)),
    ("CZ", Decimal::from_parts(21, 0, 0, false, 0)),
    ("DE", Decimal::from_parts(19, 0, 0, false, 0)),
    ("DK", Decimal::from_parts(25, 0, 0, false, 0)),
    ("EE", Decimal::from_parts(24, 0, 0, false, 0)),
    ("ES", Decimal::from_parts(21, 0, 0, false, 0)),
    ("FI", Decimal::from_parts(255, 0, 0, false, 1)),
    ("FR", Decimal::from_parts(20, 0, 0, false, 0)),
    ("GR", Decimal::from_parts(24, 0, 0, false, 0)),
    ("HR", Decimal::from_parts(25, 0, 0, false, 0)),
    ("HU", Decimal::from_parts(27, 0, 0, false, 0)),
    ("IE", Decimal::from_parts(23, 0, 0, false, 0)),
    ("IT", Decimal::from_parts(22, 0, 0, false, 0)),
    ("LT", Decimal::from_parts(21, 0, 0, false, 0)),
    ("LU", Decimal::from_parts(17, 0, 0, false, 0)),
    ("LV", Decimal::from_parts(21, 0, 0, false, 0)),
    ("MT", Decimal::from_parts(18, 0, 0, false, 0)),
    ("NL", Decimal::from_parts(21, 0, 0, false, 0)),
    ("PL", Decimal::from_parts(23, 0, 0, false, 0)),
    ("PT", Decimal::from_parts(23, 0, 0, false, 0)),
    ("RO", Decimal::from_parts(21, 0, 0, false, 0)),
    ("SE", Decimal::from_parts(25, 0, 0, false, 0)),
    ("SI", Decimal::from_parts(22, 0, 0, false, 0)),
    ("SK", Decimal::from_parts(23, 0, 0, false, 0)),
];

/// Whether an ISO 3166-1 alpha-2 code is an EU member state.
fn is_eu(country: &str) -> bool {
    EU_STANDARD_VAT_RATES.iter().any(|(c, _)| *c == country)
}

/// Upper-cases a country code and reads Greece's VAT prefix `EL` as its ISO
/// code `GR` (clients copy it from VAT numbers). Blank means unknown.
fn normalize_country(country: &str) -> Option<String> {
    let code = country.trim().to_ascii_uppercase();
    match code.as_str() {
        "" => None,
        "EL" => Some("GR".to_owned()),
        _ => Some(code),
    }
}

/// The rate of one country, in percent (`20` for 20 %).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRule {
    /// ISO 3166-1 alpha-2, upper case (`"FR"`).
    pub country: String,
    /// Percent, e.g. `20` or `25.5`.
    pub rate: Decimal,
}

/// A segment's tax rules: where the business is established, the rates it
/// applies by customer country, and the rate when none applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxProfile {
    /// ISO 3166-1 alpha-2 of the business.
    pub business_country: String,
    /// Rates by customer country; the first rule of a country wins.
    pub rates: Vec<TaxRule>,
    /// The business's rate when `rates` has none for its country (a
    /// business outside the EU usually sets only this).
    pub default_rate: Decimal,
}

/// Why a rate was chosen; it drives the legal mention and what the service
/// reports (OSS declarations list [`TaxBasis::OneStopShop`] sales).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaxBasis {
    /// The business's own rate: same country, unknown country, or a business
    /// outside the EU.
    BusinessCountry,
    /// An EU consumer (or a business without a VAT number) in another EU
    /// country: the customer's country rate, declared through the One-Stop
    /// Shop.
    OneStopShop,
    /// An EU business with a VAT number in another EU country: 0 %, the
    /// customer accounts for the VAT.
    ReverseCharge,
    /// A customer outside the EU of an EU business: 0 %.
    Export,
}

/// A legal mention an invoice must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LegalMention {
    /// Article 196 of the VAT directive: the customer owes the VAT.
    ReverseCharge,
}

impl LegalMention {
    /// The text printed on the invoice, in the customer's language.
    pub const fn text(self, locale: Locale) -> &'static str {
        match (self, locale) {
            (LegalMention::ReverseCharge, Locale::En) => {
                "Reverse charge – Article 196 of Council Directive 2006/112/EC"
            }
            (LegalMention::ReverseCharge, Locale::Fr) => {
                "Autoliquidation – article 196 de la directive 2006/112/CE"
            }
        }
    }
}

/// The tax a customer's invoices carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxDecision {
    /// Percent.
    pub rate: Decimal,
    pub reverse_charge: bool,
    /// Rendered with [`LegalMention::text`] in the invoice's language
    /// (a decision does not know the language).
    pub mention: Option<LegalMention>,
    pub basis: TaxBasis,
}

impl TaxDecision {
    /// No tax at all: what a reverse charge or an export gives.
    fn zero(basis: TaxBasis, mention: Option<LegalMention>) -> TaxDecision {
        TaxDecision {
            rate: Decimal::ZERO,
            reverse_charge: basis == TaxBasis::ReverseCharge,
            mention,
            basis,
        }
    }
}

impl TaxProfile {
    /// A business established in `business_country` with the built-in EU
    /// standard rates; `default_rate` applies when its own country is not in
    /// that table (a business outside the EU).
    pub fn with_eu_rates(business_country: &str, default_rate: Decimal) -> TaxProfile {
        TaxProfile {
            business_country: normalize_country(business_country).unwrap_or_default(),
            rates: EU_STANDARD_VAT_RATES
                .iter()
                .map(|(country, rate)| TaxRule {
                    country: (*country).to_owned(),
                    rate: *rate,
                })
                .collect(),
            default_rate,
        }
    }

    /// The profile's rate for a country, if it has one.
    pub fn country_rate(&self, country: &str) -> Option<Decimal> {
        let country = normalize_country(country)?;
        self.rates
            .iter()
            .find(|rule| normalize_country(&rule.country).as_deref() == Some(country.as_str()))
            .map(|rule| rule.rate)
    }

    /// The business's own rate (billing-rules: the default).
    pub fn business_rate(&self) -> Decimal {
        self.country_rate(&self.business_country)
            .unwrap_or(self.default_rate)
    }

    /// The tax of a customer's invoices, in this order:
    ///
    /// 1. A business outside the EU, or a customer whose country is unknown:
    ///    the business's rate.
    /// 2. A customer outside the EU of an EU business: 0 %, "export". We
    ///    chose not to tax: services supplied to a business outside the EU
    ///    are taxed where that business is (Article 44 of the directive),
    ///    and electronically supplied services to a consumer outside the EU
    ///    where the consumer is (Article 58). Collecting a foreign tax
    ///    (UK VAT, Swiss VAT, US sales tax) depends on the merchant's
    ///    registrations, which we cannot guess; a merchant who must collect
    ///    it bills from a segment whose business country is that one (case 1).
    /// 3. An EU customer declared as a business with a VAT number, in
    ///    another EU country than the business: reverse charge, 0 % and the
    ///    Article 196 mention.
    /// 4. Any other EU customer in another EU country (a consumer, or a
    ///    business without a VAT number, which the law treats as a
    ///    consumer): the customer's country rate (One-Stop Shop), or the
    ///    business's rate if the profile has no rule for that country.
    /// 5. A customer in the business's own country: the business's rate.
    pub fn rate_for(
        &self,
        customer_country: Option<&str>,
        customer_vat_number: Option<&str>,
        is_business_customer: bool,
    ) -> TaxDecision {
        let business_rate = TaxDecision {
            rate: self.business_rate(),
            reverse_charge: false,
            mention: None,
            basis: TaxBasis::BusinessCountry,
        };
        let business_country = normalize_country(&self.business_country);
        let Some(business_country) = business_country.filter(|c| is_eu(c)) else {
            return business_rate;
        };
        let Some(customer_country) = customer_country.and_then(normalize_country) else {
            return business_rate;
        };
        if customer_country == business_country {
            return business_rate;
        }
        if !is_eu(&customer_country) {
            return TaxDecision::zero(TaxBasis::Export, None);
        }
        let has_vat_number = customer_vat_number.is_some_and(|n| !n.trim().is_empty());
        if is_business_customer && has_vat_number {
            return TaxDecision::zero(TaxBasis::ReverseCharge, Some(LegalMention::ReverseCharge));
        }
        match self.country_rate(&customer_country) {
            Some(rate) => TaxDecision {
                rate,
                reverse_charge: false,
                mention: None,
                basis: TaxBasis::OneStopShop,
            },
            None => business_rate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn french_business() -> TaxProfile {
        TaxProfile::with_eu_rates("FR", dec!(20))
    }

    #[test]
    fn the_table_has_the_27_member_states_once() {
        let mut codes: Vec<&str> = EU_STANDARD_VAT_RATES.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 27);
        assert_eq!(french_business().country_rate("fi"), Some(dec!(25.5)));
        assert_eq!(french_business().country_rate("DE"), Some(dec!(19)));
        assert_eq!(french_business().country_rate("EL"), Some(dec!(24)));
        assert_eq!(french_business().country_rate("US"), None);
    }

    #[test]
    fn domestic_and_unknown_customers_pay_the_business_rate() {
        let p = french_business();
        for (country, vat, business) in [
            (Some("FR"), None, false),
            (Some(" fr "), Some("FR40303265045"), true),
            (None, None, false),
            (Some(""), Some("DE123456789"), true),
        ] {
            let d = p.rate_for(country, vat, business);
            assert_eq!(d.rate, dec!(20), "{country:?}");
            assert_eq!(d.basis, TaxBasis::BusinessCountry);
            assert!(!d.reverse_charge);
            assert_eq!(d.mention, None);
        }
    }

    #[test]
    fn eu_business_with_vat_number_is_reverse_charged() {
        let d = french_business().rate_for(Some("DE"), Some("DE123456789"), true);
        assert_eq!(d.rate, Decimal::ZERO);
        assert!(d.reverse_charge);
        assert_eq!(d.basis, TaxBasis::ReverseCharge);
        let mention = d.mention.unwrap();
        assert_eq!(
            mention.text(Locale::En),
            "Reverse charge – Article 196 of Council Directive 2006/112/EC"
        );
        assert_eq!(
            mention.text(Locale::Fr),
            "Autoliquidation – article 196 de la directive 2006/112/CE"
        );
    }

    #[test]
    fn eu_consumers_pay_their_country_rate() {
        let p = french_business();
        let consumer = p.rate_for(Some("DE"), None, false);
        assert_eq!(
            (consumer.rate, consumer.basis),
            (dec!(19), TaxBasis::OneStopShop)
        );
        // A VAT number without the business flag, or the flag without a
        // number, is not enough for a reverse charge.
        assert_eq!(
            p.rate_for(Some("DE"), Some("DE123456789"), false).rate,
            dec!(19)
        );
        assert_eq!(p.rate_for(Some("HU"), Some("  "), true).rate, dec!(27));
        // No rule for that country in the profile: the business's rate.
        let mut trimmed = p.clone();
        trimmed.rates.retain(|r| r.country != "DE");
        let d = trimmed.rate_for(Some("DE"), None, false);
        assert_eq!((d.rate, d.basis), (dec!(20), TaxBasis::BusinessCountry));
    }

    #[test]
    fn customers_outside_the_eu_are_exports() {
        for (country, business) in [("US", false), ("CH", true), ("GB", true)] {
            let d = french_business().rate_for(Some(country), Some("X1"), business);
            assert_eq!(d.rate, Decimal::ZERO);
            assert_eq!(d.basis, TaxBasis::Export);
            assert!(!d.reverse_charge);
            assert_eq!(d.mention, None);
        }
    }

    #[test]
    fn a_business_outside_the_eu_applies_its_default_rate() {
        let swiss = TaxProfile::with_eu_rates("CH", dec!(8.1));
        for country in [Some("CH"), Some("FR"), Some("US"), None] {
            let d = swiss.rate_for(country, Some("FR40303265045"), true);
            assert_eq!((d.rate, d.basis), (dec!(8.1), TaxBasis::BusinessCountry));
        }
    }

    #[test]
    fn a_merchant_rule_overrides_the_table() {
        let mut p = french_business();
        p.rates.insert(
            0,
            TaxRule {
                country: "de".into(),
                rate: dec!(16),
            },
        );
        assert_eq!(p.rate_for(Some("DE"), None, false).rate, dec!(16));
    }
}
