//! `format: date-time` and `format: date` as OpenAPI 3.0 defines them: RFC 3339
//! `date-time` (`2025-03-29T21:35:32.00Z`, `2025-03-29T23:35:32+02:00`) and
//! `full-date` (`2025-03-29`). Strict: a time zone designator is mandatory,
//! the separator is `T` (or `t`), and every field is range-checked against the
//! calendar. `+0200`, a missing offset or a space separator are rejected:
//! they are things a tolerant server may accept on input, never what it emits.

/// `Ok` when `s` is an RFC 3339 `date-time`; otherwise why not.
pub fn check_date_time(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return Err("too short for YYYY-MM-DDTHH:MM:SS followed by Z or ±HH:MM".into());
    }
    check_full_date(&b[..10])?;
    if !matches!(b[10], b'T' | b't') {
        return Err("the date and the time must be separated by 'T'".into());
    }
    let time = &b[11..];
    let (hour, minute, second) = (
        two_digits(time, 0, "hour")?,
        two_digits(time, 3, "minute")?,
        two_digits(time, 6, "second")?,
    );
    if time[2] != b':' || time[5] != b':' {
        return Err("the time must be HH:MM:SS".into());
    }
    if hour > 23 {
        return Err(format!("hour {hour} is out of range"));
    }
    if minute > 59 {
        return Err(format!("minute {minute} is out of range"));
    }
    if second > 60 {
        return Err(format!("second {second} is out of range"));
    }
    let mut rest = &time[8..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err("a '.' must be followed by at least one digit".into());
        }
        rest = &fraction[digits..];
    }
    match rest {
        [b'Z' | b'z'] => Ok(()),
        [b'+' | b'-', offset @ ..] => {
            if offset.len() != 5 || offset[2] != b':' {
                return Err("the offset must be Z or ±HH:MM".into());
            }
            let (oh, om) = (
                two_digits(offset, 0, "offset hour")?,
                two_digits(offset, 3, "offset minute")?,
            );
            if oh > 23 || om > 59 {
                return Err("the offset is out of range".into());
            }
            Ok(())
        }
        [] => Err("a time zone designator (Z or ±HH:MM) is required".into()),
        _ => {
            Err("unexpected characters after the seconds (expected .fraction, Z or ±HH:MM)".into())
        }
    }
}

/// `Ok` when `s` is an RFC 3339 `full-date` (`YYYY-MM-DD`).
pub fn check_date(s: &str) -> Result<(), String> {
    if s.len() != 10 {
        return Err("expected YYYY-MM-DD".into());
    }
    check_full_date(s.as_bytes())
}

fn check_full_date(b: &[u8]) -> Result<(), String> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err("the date must be YYYY-MM-DD".into());
    }
    let year = u32::from(two_digits(b, 0, "year")?) * 100 + u32::from(two_digits(b, 2, "year")?);
    let month = two_digits(b, 5, "month")?;
    let day = two_digits(b, 8, "day")?;
    if !(1..=12).contains(&month) {
        return Err(format!("month {month} is out of range"));
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > days {
        return Err(format!("day {day} does not exist in {year:04}-{month:02}"));
    }
    Ok(())
}

fn two_digits(b: &[u8], at: usize, what: &str) -> Result<u8, String> {
    match b.get(at..at + 2) {
        Some([h, l]) if h.is_ascii_digit() && l.is_ascii_digit() => {
            Ok((h - b'0') * 10 + (l - b'0'))
        }
        _ => Err(format!("the {what} must be two digits")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc3339_date_times() {
        for ok in [
            "2025-03-29T21:35:32.00Z",
            "2025-03-29T21:35:32Z",
            "2025-03-29t21:35:32z",
            "2025-03-29T21:35:32.1234567Z",
            "2025-03-29T23:35:32+02:00",
            "2025-03-29T19:35:32-02:30",
            "2024-02-29T00:00:00Z",
            "2016-12-31T23:59:60Z",
        ] {
            assert_eq!(check_date_time(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "2025-03-29",
            "2025-03-29T21:35:32",
            "2025-03-29 21:35:32Z",
            "2025-03-29T21:35Z",
            "2025-03-29T21:35:32+0200",
            "2025-03-29T21:35:32.Z",
            "2025-03-29T24:00:00Z",
            "2025-02-29T10:00:00Z",
            "2025-13-01T10:00:00Z",
            "2025-04-31T10:00:00Z",
            "2025-03-29T21:35:32+24:00",
            "2025-03-29T21:35:32Z ",
            "25-03-29T21:35:32Z",
        ] {
            assert!(check_date_time(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn full_dates() {
        assert_eq!(check_date("2024-02-29"), Ok(()));
        assert!(check_date("2023-02-29").is_err());
        assert!(check_date("2023-2-28").is_err());
        assert!(check_date("2023-02-28T00:00:00Z").is_err());
    }
}
