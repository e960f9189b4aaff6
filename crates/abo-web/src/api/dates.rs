//! Dates on the wire. Out: ISO 8601 UTC with two fraction digits, as
//! ProAbono writes them ("2025-03-29T21:35:32.00Z"). In: whatever real
//! clients send (spec §2.5): `Z`, `+00:00`, `+0000` (PHP), 7-digit fractions
//! (.NET), `yyyy-MM-dd HH:mm:ssZ` (.NET query strings), a bare date (midnight
//! UTC), or a `+` turned into a space by form decoding.

use jiff::Timestamp;

/// Formats epoch microseconds as the contract's date-time.
pub fn format_us(us: i64) -> String {
    match Timestamp::from_microsecond(us) {
        Ok(ts) => {
            let centis = ts.subsec_nanosecond() / 10_000_000;
            format!("{}.{centis:02}Z", ts.strftime("%Y-%m-%dT%H:%M:%S"))
        }
        // Out of jiff's range cannot come from our own clock; keep the output valid.
        Err(_) => "1970-01-01T00:00:00.00Z".into(),
    }
}

/// Parses a date-time sent by a client into epoch microseconds.
pub fn parse(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() || t.len() > 40 {
        return None;
    }
    // "2025-01-01 10:00:00Z" → "2025-01-01T10:00:00Z".
    let mut s = t.to_string();
    if s.len() > 10 && s.as_bytes()[10] == b' ' {
        s.replace_range(10..11, "T");
    }
    // A '+' decoded as a space before the offset: "...:00 01:00" → "...:00+01:00".
    if let Some(pos) = s.rfind(' ') {
        s.replace_range(pos..pos + 1, "+");
    }
    // "+0000" → "+00:00" (PHP's DATE_ISO8601).
    let bytes = s.as_bytes();
    if s.len() >= 8 {
        let tail = &s[s.len() - 5..];
        if (tail.starts_with('+') || tail.starts_with('-'))
            && tail[1..].bytes().all(|b| b.is_ascii_digit())
            && bytes[s.len() - 8] != b'-'
        {
            s.insert(s.len() - 2, ':');
        }
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Some(ts.as_microsecond());
    }
    // No offset at all: ProAbono dates are UTC.
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_microsecond());
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_microsecond());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_743_284_132_000_000; // 2025-03-29T21:35:32Z

    #[test]
    fn formats_like_proabono() {
        assert_eq!(format_us(T), "2025-03-29T21:35:32.00Z");
        assert_eq!(format_us(T + 123_456), "2025-03-29T21:35:32.12Z");
    }

    #[test]
    fn accepts_what_clients_send() {
        for text in [
            "2025-03-29T21:35:32Z",
            "2025-03-29T21:35:32.00Z",
            "2025-03-29T21:35:32.0000000Z",
            "2025-03-29T21:35:32+00:00",
            "2025-03-29T21:35:32+0000",
            "2025-03-29T22:35:32+01:00",
            "2025-03-29T22:35:32+0100",
            "2025-03-29T22:35:32 01:00",
            "2025-03-29 21:35:32Z",
            "2025-03-29T21:35:32",
        ] {
            assert_eq!(parse(text), Some(T), "{text}");
        }
        assert_eq!(
            parse("2025-03-29"),
            Some(T - (21 * 3600 + 35 * 60 + 32) * 1_000_000)
        );
    }

    #[test]
    fn refuses_garbage() {
        for text in [
            "",
            "yesterday",
            "2025-13-01T00:00:00Z",
            "2025-03-29T25:00:00Z",
            "1",
            "+0000",
            "+00:00",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
