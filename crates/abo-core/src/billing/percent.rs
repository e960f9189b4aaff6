//! Percentages of integer amounts, exactly.
//!
//! A rate is a decimal (`20`, `5.5`, `25.5`), an amount never is: a rate
//! `m × 10^-s` turns `amount × rate / 100` into the integer division
//! `amount × m / (100 × 10^s)`, rounded once, half away from zero
//! (billing-rules, Money). No floating point, no intermediate rounding.

use rust_decimal::Decimal;

use crate::error::CoreError;
use crate::money::checked_round_half_away_from_zero;

/// The rate as an exact fraction of 100: `(m, 100 × 10^s)`.
fn parts(rate: Decimal, what: &'static str) -> Result<(i128, i128), CoreError> {
    let scale = 10_i128
        .checked_pow(rate.scale())
        .ok_or(CoreError::Overflow(what))?;
    Ok((rate.mantissa(), 100 * scale))
}

/// `amount × rate / 100`, rounded once (tax on a base, 20 % of 19000 = 3800).
pub(crate) fn percent_of(amount: i64, rate: Decimal) -> Result<i64, CoreError> {
    let (m, hundred) = parts(rate, "percentage")?;
    let numerator = i128::from(amount)
        .checked_mul(m)
        .ok_or(CoreError::Overflow("percentage"))?;
    checked_round_half_away_from_zero(numerator, hundred).ok_or(CoreError::Overflow("percentage"))
}

/// The base of an amount that includes tax at `rate`:
/// `gross × 100 / (100 + rate)`, rounded once (a refund of 40.00 at 20 %
/// has a base of 33.33).
pub(crate) fn base_of_gross(gross: i64, rate: Decimal) -> Result<i64, CoreError> {
    let (m, hundred) = parts(rate, "base of a gross amount")?;
    let numerator = i128::from(gross)
        .checked_mul(hundred)
        .ok_or(CoreError::Overflow("base of a gross amount"))?;
    let denominator = hundred
        .checked_add(m)
        .ok_or(CoreError::Overflow("base of a gross amount"))?;
    checked_round_half_away_from_zero(numerator, denominator)
        .ok_or(CoreError::Overflow("base of a gross amount"))
}

/// A tax rate must be a percentage in `[0, 100]`.
pub(crate) fn check_rate(rate: Decimal) -> Result<(), CoreError> {
    if rate >= Decimal::ZERO && rate <= Decimal::ONE_HUNDRED {
        Ok(())
    } else {
        Err(CoreError::Invalid {
            what: "tax rate",
            reason: format!("{rate} % is not in [0, 100]"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn percentages() {
        assert_eq!(percent_of(19000, dec!(20)), Ok(3800));
        assert_eq!(percent_of(3333, dec!(20)), Ok(667)); // 666.6
        assert_eq!(percent_of(-3333, dec!(20)), Ok(-667));
        assert_eq!(percent_of(1000, dec!(5.5)), Ok(55));
        assert_eq!(percent_of(999, dec!(25.5)), Ok(255)); // 254.745
        assert_eq!(percent_of(1, dec!(50)), Ok(1)); // 0.5 away from zero
        assert_eq!(percent_of(12345, dec!(0)), Ok(0));
        assert!(percent_of(i64::MAX, dec!(200)).is_err());
    }

    #[test]
    fn bases_of_gross_amounts() {
        assert_eq!(base_of_gross(12000, dec!(20)), Ok(10000));
        assert_eq!(base_of_gross(4000, dec!(20)), Ok(3333));
        assert_eq!(base_of_gross(1055, dec!(5.5)), Ok(1000));
        assert_eq!(base_of_gross(500, dec!(0)), Ok(500));
    }

    #[test]
    fn rate_bounds() {
        assert!(check_rate(dec!(0)).is_ok());
        assert!(check_rate(dec!(100)).is_ok());
        assert!(check_rate(dec!(-1)).is_err());
        assert!(check_rate(dec!(100.5)).is_err());
    }
}
