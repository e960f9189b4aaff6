//! The code lists the customer fields are checked against: ISO 639-1 languages,
//! ISO 3166-1 alpha-2 countries, and the ISO 3166-2 subdivisions of the three countries
//! ProAbono asks a `Region` for (US, CA, ES). Kept sorted so lookups are binary searches.

/// ISO 639-1 two-letter language codes (all 183 current codes plus `bh`, still sent by
/// older systems).
pub const LANGUAGES: &[&str] = &[
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh",
    "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da",
    "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr",
    "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz",
    "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj",
    "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln",
    "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb",
    "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi",
    "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk",
    "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti",
    "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo",
    "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// ISO 3166-1 alpha-2 country codes (the 249 officially assigned ones) plus `XK` (Kosovo),
/// which payment providers and tax tools use although it is only user-assigned.
pub const COUNTRIES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
];

/// ISO 3166-2:US: the 50 states, the District of Columbia and the outlying areas.
const US: &[&str] = &[
    "AK", "AL", "AR", "AS", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "GU", "HI", "IA", "ID",
    "IL", "IN", "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MP", "MS", "MT", "NC", "ND",
    "NE", "NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR", "PA", "PR", "RI", "SC", "SD", "TN", "TX",
    "UM", "UT", "VA", "VI", "VT", "WA", "WI", "WV", "WY",
];

/// ISO 3166-2:CA: 10 provinces and 3 territories.
const CA: &[&str] = &[
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
];

/// ISO 3166-2:ES: the 17 autonomous communities, 2 autonomous cities and 50 provinces
/// (both levels are valid ISO 3166-2 codes; tax rules need the province for the Canaries,
/// Ceuta and Melilla).
const ES: &[&str] = &[
    "A", "AB", "AL", "AN", "AR", "AS", "AV", "B", "BA", "BI", "BU", "C", "CA", "CB", "CC", "CE",
    "CL", "CM", "CN", "CO", "CR", "CS", "CT", "CU", "EX", "GA", "GC", "GI", "GR", "GU", "H", "HU",
    "IB", "J", "L", "LE", "LO", "LU", "M", "MA", "MC", "MD", "ML", "MU", "NA", "NC", "O", "OR",
    "P", "PM", "PO", "PV", "RI", "S", "SA", "SE", "SG", "SO", "SS", "T", "TE", "TF", "TO", "V",
    "VA", "VC", "VI", "Z", "ZA",
];

pub fn is_language(code: &str) -> bool {
    LANGUAGES.binary_search(&code).is_ok()
}

pub fn is_country(code: &str) -> bool {
    COUNTRIES.binary_search(&code).is_ok()
}

/// The subdivisions of a country whose `Region` is checked, if it is one of them.
pub fn subdivisions(country: &str) -> Option<&'static [&'static str]> {
    match country {
        "US" => Some(US),
        "CA" => Some(CA),
        "ES" => Some(ES),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_unique(list: &[&str]) -> bool {
        list.windows(2).all(|w| w[0] < w[1])
    }

    #[test]
    fn lists_are_sorted_for_binary_search_and_complete() {
        for list in [LANGUAGES, COUNTRIES, US, CA, ES] {
            assert!(sorted_unique(list));
        }
        assert_eq!(LANGUAGES.len(), 184);
        assert_eq!(COUNTRIES.len(), 250);
        assert_eq!(US.len(), 57);
        assert_eq!(CA.len(), 13);
        assert_eq!(ES.len(), 17 + 2 + 50);
    }

    #[test]
    fn lookups() {
        assert!(is_language("fr") && is_language("en") && !is_language("xx"));
        assert!(is_country("FR") && is_country("US") && !is_country("UK"));
        assert!(subdivisions("US").unwrap().contains(&"NY"));
        assert!(subdivisions("FR").is_none());
    }
}
