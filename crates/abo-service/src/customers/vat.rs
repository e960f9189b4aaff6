//! Syntactic check of EU VAT numbers, per country prefix (the formats the European
//! Commission's VIES service documents). It catches typos and pasted garbage at the API edge;
//! it does not tell whether the number is registered: that needs VIES, which ProAbono queries
//! asynchronously and Abo does not do yet.

/// The VAT prefixes of the EU member states (Greece uses `EL`) and of Northern Ireland (`XI`).
pub const PREFIXES: &[&str] = &[
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI",
];

/// The VAT prefix for an ISO 3166-1 country of the EU VAT area (`GR` → `EL`), if any.
pub fn prefix_for_country(country: &str) -> Option<&'static str> {
    let wanted = if country == "GR" { "EL" } else { country };
    PREFIXES.iter().copied().find(|p| *p == wanted)
}

/// Strip the separators people type (spaces, dots, hyphens) and upper-case.
pub fn normalise(value: &str) -> String {
    value
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '\u{a0}'))
        .flat_map(char::to_uppercase)
        .collect()
}

/// Whether `number` (normalised, with its prefix) has the shape of a VAT number of the
/// country its prefix names. `None` when the prefix is not an EU VAT prefix.
pub fn is_well_formed(number: &str) -> Option<bool> {
    if number.len() < 2 || !number.is_char_boundary(2) {
        return None;
    }
    let (prefix, body) = number.split_at(2);
    PREFIXES.binary_search(&prefix).ok()?;
    let b = body.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let upper = |c: u8| c.is_ascii_uppercase();
    let alnum = |c: u8| c.is_ascii_digit() || c.is_ascii_uppercase();
    let n = b.len();
    Some(match prefix {
        "AT" => n == 9 && b[0] == b'U' && digits(&b[1..]),
        "BE" => n == 10 && (b[0] == b'0' || b[0] == b'1') && digits(b),
        "BG" => (n == 9 || n == 10) && digits(b),
        "CY" => n == 9 && digits(&b[..8]) && upper(b[8]),
        "CZ" => (8..=10).contains(&n) && digits(b),
        "DE" | "EE" | "EL" | "PT" => n == 9 && digits(b),
        "DK" | "FI" | "HU" | "LU" | "MT" | "SI" => n == 8 && digits(b),
        // First and last may be letters or digits, but not both digits.
        "ES" => {
            n == 9
                && alnum(b[0])
                && digits(&b[1..8])
                && alnum(b[8])
                && !(b[0].is_ascii_digit() && b[8].is_ascii_digit())
        }
        // Two key characters (digits or letters other than I and O), then the 9-digit SIREN.
        "FR" => {
            n == 11 && b[..2].iter().all(|&c| alnum(c) && c != b'I' && c != b'O') && digits(&b[2..])
        }
        "HR" | "IT" | "LV" => n == 11 && digits(b),
        // 7 digits and one or two letters, or the old form digit, letter/+/*, 5 digits, letter.
        "IE" => {
            let check = |c: u8| (b'A'..=b'W').contains(&c);
            (n == 8 && digits(&b[..7]) && check(b[7]))
                || (n == 9 && digits(&b[..7]) && check(b[7]) && (b'A'..=b'I').contains(&b[8]))
                || (n == 8
                    && b[0].is_ascii_digit()
                    && (upper(b[1]) || b[1] == b'+' || b[1] == b'*')
                    && digits(&b[2..7])
                    && check(b[7]))
        }
        "LT" => (n == 9 || n == 12) && digits(b),
        "NL" => n == 12 && digits(&b[..9]) && b[9] == b'B' && digits(&b[10..]),
        "PL" | "SK" => n == 10 && digits(b),
        "RO" => (2..=10).contains(&n) && digits(b) && b[0] != b'0',
        "SE" => n == 12 && digits(b),
        "XI" => {
            ((n == 9 || n == 12) && digits(b))
                || (n == 5 && (body.starts_with("GD") || body.starts_with("HA")) && digits(&b[2..]))
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_sorted() {
        assert!(PREFIXES.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(prefix_for_country("GR"), Some("EL"));
        assert_eq!(prefix_for_country("FR"), Some("FR"));
        assert_eq!(prefix_for_country("US"), None);
    }

    #[test]
    fn well_formed_numbers() {
        for ok in [
            "ATU12345678",
            "BE0123456789",
            "BG123456789",
            "BG1234567890",
            "CY12345678X",
            "CZ12345678",
            "CZ1234567890",
            "DE123456789",
            "DK12345678",
            "EE123456789",
            "EL123456789",
            "ESA1234567B",
            "ES12345678Z",
            "FI12345678",
            "FR40303265045",
            "FRAB123456789",
            "HR12345678901",
            "HU12345678",
            "IE1234567T",
            "IE1234567WA",
            "IE1A23456T",
            "IT12345678901",
            "LT123456789",
            "LT123456789012",
            "LU12345678",
            "LV12345678901",
            "MT12345678",
            "NL123456789B01",
            "PL1234567890",
            "PT123456789",
            "RO1234",
            "SE123456789001",
            "SI12345678",
            "SK1234567890",
            "XI123456789",
            "XIGD123",
        ] {
            assert_eq!(is_well_formed(ok), Some(true), "{ok}");
        }
        for bad in [
            "AT12345678",
            "BE2123456789",
            "DE12345678",
            "FR1234567890",
            "FRIO123456789",
            "NL123456789C01",
            "RO0123",
            "IE12345678",
            "ES123456789",
            "SE1234567890",
        ] {
            assert_eq!(is_well_formed(bad), Some(false), "{bad}");
        }
        assert_eq!(is_well_formed("US123"), None);
        assert_eq!(is_well_formed("GB123456789"), None);
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalise("fr 40 303.265-045"), "FR40303265045");
    }
}
