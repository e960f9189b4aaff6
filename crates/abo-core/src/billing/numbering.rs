//! Invoice and credit note numbers (spec §1.9, billing-rules): an issued
//! document is numbered `{prefix}{IdSegment}.{8-digit counter}`, e.g.
//! `S-7.00001673`. The counter comes from a gapless sequence per segment
//! (one for invoices, one for credit notes), incremented in the transaction
//! that issues, so a rolled-back issue never burns a number; that part is
//! the store's.

/// The `FullNumber` of a document: the counter is padded to 8 digits and
/// widens past 99,999,999 rather than wrapping or truncating, so numbers
/// stay unique.
pub fn full_number(prefix: &str, id_segment: i64, counter: u64) -> String {
    format!("{prefix}{id_segment}.{counter:08}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proabono_examples() {
        assert_eq!(full_number("S-", 7, 1673), "S-7.00001673");
        assert_eq!(full_number("S-", 3, 4), "S-3.00000004");
        assert_eq!(full_number("F", 42, 42), "F42.00000042");
        assert_eq!(full_number("AV-", 7, 123_456_789), "AV-7.123456789");
    }
}
