//! IBAN validation for SEPA direct debit: the country must be in the SEPA
//! scheme, the length must be that country's, and the ISO 13616 mod-97 check
//! must hold. National BBAN check digits are not verified (the bank does).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::GatewayError;

/// IBAN length per country of the SEPA direct debit scheme (EPC list):
/// the EEA, Switzerland, the UK, Monaco, San Marino, Andorra, Vatican City,
/// Gibraltar, plus Albania, Montenegro, Moldova and North Macedonia (members
/// since 2024-2025). French overseas departments, Åland, the Canaries, etc.
/// use their parent country's IBANs.
pub const SEPA_IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AL", 28),
    ("AT", 20),
    ("BE", 16),
    ("BG", 22),
    ("CH", 21),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("EE", 20),
    ("ES", 24),
    ("FI", 18),
    ("FR", 27),
    ("GB", 22),
    ("GI", 23),
    ("GR", 27),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IS", 26),
    ("IT", 27),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MT", 31),
    ("NL", 18),
    ("NO", 15),
    ("PL", 28),
    ("PT", 25),
    ("RO", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("VA", 22),
];

/// The IBAN length of a SEPA country, `None` outside SEPA.
pub fn sepa_iban_length(country: &str) -> Option<usize> {
    SEPA_IBAN_LENGTHS
        .iter()
        .find(|(code, _)| *code == country)
        .map(|(_, len)| *len)
}

/// The ISO 7064 mod-97-10 remainder of an IBAN (country and check digits
/// moved to the end, letters as 10..35). Valid IBANs give 1. `None` if a
/// character is not an ASCII letter or digit.
pub fn iban_mod97(iban: &str) -> Option<u32> {
    if iban.len() < 4 {
        return None;
    }
    let (head, tail) = iban.split_at(4);
    let mut rest = 0u32;
    for c in tail.chars().chain(head.chars()) {
        let value = c.to_digit(36)?;
        rest = if value < 10 {
            (rest * 10 + value) % 97
        } else {
            (rest * 100 + value) % 97
        };
    }
    Some(rest)
}

/// A validated SEPA IBAN, stored without spaces in upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Iban(String);

impl Iban {
    /// Validates an IBAN typed in any case, with spaces.
    pub fn parse(input: &str) -> Result<Iban, GatewayError> {
        let iban: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if !iban.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(GatewayError::InvalidIban(
                "only letters and digits are allowed",
            ));
        }
        if iban.len() < 5 {
            return Err(GatewayError::InvalidIban("too short"));
        }
        let (country, check) = (&iban[..2], &iban[2..4]);
        if !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(GatewayError::InvalidIban(
                "it must start with a country code",
            ));
        }
        if !check.bytes().all(|b| b.is_ascii_digit()) {
            return Err(GatewayError::InvalidIban(
                "the 3rd and 4th characters must be digits",
            ));
        }
        let expected = sepa_iban_length(country)
            .ok_or_else(|| GatewayError::IbanCountryNotSepa(country.to_owned()))?;
        if iban.len() != expected {
            return Err(GatewayError::IbanLength {
                country: country.to_owned(),
                expected,
                actual: iban.len(),
            });
        }
        // ISO 13616: check digits range from 02 to 98; 00, 01 and 99 can
        // pass mod-97 by accident but are never issued.
        let check: u8 = check.parse().map_err(|_| GatewayError::IbanChecksum)?;
        if !(2..=98).contains(&check) || iban_mod97(&iban) != Some(1) {
            return Err(GatewayError::IbanChecksum);
        }
        Ok(Iban(iban))
    }

    /// The IBAN without spaces (`DE89370400440532013000`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// ISO 3166 country code (`DE`).
    pub fn country(&self) -> &str {
        &self.0[..2]
    }

    /// Shown to the customer: country and check digits, the last four
    /// characters, the rest masked, in groups of four
    /// (`DE89 **** **** **** **30 00`).
    pub fn masked(&self) -> String {
        let len = self.0.len();
        let masked: String = self
            .0
            .char_indices()
            .map(|(i, c)| if i < 4 || i >= len - 4 { c } else { '*' })
            .collect();
        group_by_four(&masked)
    }
}

impl fmt::Display for Iban {
    /// The paper format, in groups of four.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&group_by_four(&self.0))
    }
}

fn group_by_four(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_examples() {
        let iban = Iban::parse("de89 3704 0044 0532 0130 00").unwrap();
        assert_eq!(iban.as_str(), "DE89370400440532013000");
        assert_eq!(iban.country(), "DE");
        assert_eq!(iban.to_string(), "DE89 3704 0044 0532 0130 00");
        assert_eq!(iban.masked(), "DE89 **** **** **** **30 00");
        assert!(Iban::parse("FR76 3000 6000 0112 3456 7890 189").is_ok());
        assert!(Iban::parse("GB29 NWBK 6016 1331 9268 19").is_ok());
        assert!(Iban::parse("NL91 ABNA 0417 1643 00").is_ok());
        assert!(Iban::parse("BE68 5390 0754 7034").is_ok());
        assert!(Iban::parse("NO93 8601 1117 947").is_ok());
        assert!(Iban::parse("MT84 MALT 0110 0001 2345 MTLC AST0 01S").is_ok());
    }

    #[test]
    fn invalid_examples() {
        assert_eq!(
            Iban::parse("DE88 3704 0044 0532 0130 00"),
            Err(GatewayError::IbanChecksum)
        );
        assert_eq!(
            Iban::parse("DE89 3704 0044 0532 0130 01"),
            Err(GatewayError::IbanChecksum)
        );
        assert_eq!(
            Iban::parse("DE89 3704 0044 0532 0130 0"),
            Err(GatewayError::IbanLength {
                country: "DE".into(),
                expected: 22,
                actual: 21
            })
        );
        assert_eq!(
            Iban::parse("US64 SVBK US6S 3300 9673 8637"),
            Err(GatewayError::IbanCountryNotSepa("US".into()))
        );
        assert!(matches!(
            Iban::parse("DE89-3704"),
            Err(GatewayError::InvalidIban(_))
        ));
        assert!(matches!(
            Iban::parse("12893704004405"),
            Err(GatewayError::InvalidIban(_))
        ));
        assert!(matches!(
            Iban::parse("DEAB370400440532013000"),
            Err(GatewayError::InvalidIban(_))
        ));
        assert!(matches!(
            Iban::parse("DÉ89370400440532013000"),
            Err(GatewayError::InvalidIban(_))
        ));
        assert!(matches!(Iban::parse(""), Err(GatewayError::InvalidIban(_))));
    }

    #[test]
    fn check_digits_outside_02_98_are_refused_even_when_mod97_holds() {
        // Pick a BBAN, find check digits 97 valid, then 00 also satisfies
        // mod 97 (97 ≡ 0): ISO forbids it.
        let base = "DE00370400440532013000";
        let good = (2..=98u32)
            .map(|cd| format!("DE{cd:02}{}", &base[4..]))
            .find(|candidate| iban_mod97(candidate) == Some(1))
            .unwrap();
        assert_eq!(good, "DE89370400440532013000");
        // Search a BBAN whose valid check digits are 97, so 00 passes mod 97.
        let bban = (0..100_000u32)
            .map(|n| format!("3704004405320{n:05}"))
            .find(|bban| iban_mod97(&format!("DE97{bban}")) == Some(1))
            .unwrap();
        assert_eq!(iban_mod97(&format!("DE00{bban}")), Some(1));
        assert_eq!(
            Iban::parse(&format!("DE00{bban}")),
            Err(GatewayError::IbanChecksum)
        );
        assert!(Iban::parse(&format!("DE97{bban}")).is_ok());
    }
}
