//! Property tests of the billing rules.

use abo_core::{
    Currency, FeaturePricing, Locale, Money, OfferChange, Period, PeriodUnit, Recurrence,
    Reference, Tier, TierMode, TierPrice, change_of_offer, fraction, price_quantity, prorate,
    round_half_away_from_zero,
};
use jiff::civil::Date;
use proptest::prelude::*;

/// Any valid date between 1900 and 2200, biased towards month ends, where
/// clamping happens.
fn any_date() -> impl Strategy<Value = Date> {
    (1900i16..2200, 1i8..=12, prop_oneof![1i8..=31, 28i8..=31]).prop_map(|(y, m, d)| {
        let first = Date::new(y, m, 1).unwrap();
        Date::new(y, m, d.min(first.days_in_month())).unwrap()
    })
}

fn any_recurrence() -> impl Strategy<Value = Recurrence> {
    (
        prop::sample::select(PeriodUnit::ALL.to_vec()),
        prop_oneof![Just(1u32), 1u32..=24],
    )
        .prop_map(|(unit, count)| Recurrence::new(unit, count).unwrap())
}

/// A recurrence, an anchor, and a date on or after the anchor.
fn schedule() -> impl Strategy<Value = (Recurrence, Date, Date)> {
    (any_recurrence(), any_date(), 0i64..20_000).prop_map(|(r, anchor, offset)| {
        let date = anchor.checked_add(jiff::Span::new().days(offset)).unwrap();
        (r, anchor, date)
    })
}

/// Valid ascending tiers (last unbounded) with any kind of price.
fn any_tiers() -> impl Strategy<Value = Vec<Tier>> {
    let price = prop_oneof![
        (0i64..10_000).prop_map(TierPrice::PerUnit),
        (1u64..20, 0i64..10_000)
            .prop_map(|(lot_size, amount)| TierPrice::PerLot { lot_size, amount }),
        (0i64..10_000).prop_map(TierPrice::Flat),
    ];
    prop::collection::vec((1u64..50, price), 1..6).prop_map(|steps| {
        let mut up_to = 0;
        let last = steps.len() - 1;
        steps
            .into_iter()
            .enumerate()
            .map(|(i, (width, price))| {
                up_to += width;
                Tier {
                    up_to: (i != last).then_some(up_to),
                    price,
                }
            })
            .collect()
    })
}

fn per_unit_tiers() -> impl Strategy<Value = Vec<Tier>> {
    any_tiers().prop_map(|tiers| {
        tiers
            .into_iter()
            .enumerate()
            .map(|(i, t)| Tier {
                up_to: t.up_to,
                price: TierPrice::PerUnit(100 * (i as i64 + 1)),
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn anchor_day_survives_1200_monthly_periods(anchor in any_date()) {
        let monthly = Recurrence::monthly();
        let anchor_month = i32::from(anchor.year()) * 12 + i32::from(anchor.month());
        for n in 0..1200u32 {
            let start = monthly.nth_period_start(anchor, n).unwrap();
            let month = i32::from(start.year()) * 12 + i32::from(start.month());
            prop_assert_eq!(month - anchor_month, n as i32);
            prop_assert_eq!(start.day(), anchor.day().min(start.days_in_month()));
        }
    }

    #[test]
    fn periods_are_contiguous_and_non_empty(
        recurrence in any_recurrence(),
        anchor in any_date(),
        first in 0u32..200,
    ) {
        for n in first..first + 30 {
            let this = recurrence.nth_period(anchor, n).unwrap();
            let next = recurrence.nth_period(anchor, n + 1).unwrap();
            prop_assert_eq!(this.end, next.start);
            prop_assert!(this.days() > 0);
            prop_assert_eq!(this.start, recurrence.nth_period_start(anchor, n).unwrap());
        }
    }

    #[test]
    fn period_containing_contains_the_date((recurrence, anchor, date) in schedule()) {
        let period = recurrence.period_containing(anchor, date).unwrap();
        prop_assert!(period.contains(date));
        let n = recurrence.period_index(anchor, date).unwrap();
        prop_assert_eq!(period, recurrence.nth_period(anchor, n).unwrap());
    }

    #[test]
    fn a_fraction_is_always_in_0_1((recurrence, anchor, date) in schedule()) {
        let period = recurrence.period_containing(anchor, date).unwrap();
        let f = fraction(date, period).unwrap();
        prop_assert!(0 < f.days() && f.days() <= f.of());
        prop_assert_eq!(f.of(), period.days());
        prop_assert_eq!(f.is_one(), date == period.start);
        prop_assert!(fraction(period.end, period).is_err());
    }

    #[test]
    fn first_day_change_nets_the_price_difference(
        (recurrence, anchor, date) in schedule(),
        old in 0i64..10_000_000,
        new in 0i64..10_000_000,
    ) {
        let start = recurrence.period_containing(anchor, date).unwrap().start;
        let change = OfferChange {
            anchor,
            change_date: start,
            old_amount: old,
            old_recurrence: recurrence,
            new_amount: new,
            new_recurrence: recurrence,
        };
        let p = change_of_offer(&change).unwrap();
        prop_assert_eq!(p.credit.amount, -old);
        prop_assert_eq!(p.charge.amount, new);
        prop_assert_eq!(p.credit.amount + p.charge.amount, new - old);
        prop_assert_eq!(p.net, new - old);
    }

    #[test]
    fn change_lines_add_up_exactly(
        (old_recurrence, anchor, date) in schedule(),
        new_recurrence in any_recurrence(),
        old in -10_000_000i64..10_000_000,
        new in -10_000_000i64..10_000_000,
    ) {
        let change = OfferChange {
            anchor,
            change_date: date,
            old_amount: old,
            old_recurrence,
            new_amount: new,
            new_recurrence,
        };
        let p = change_of_offer(&change).unwrap();
        prop_assert_eq!(p.net, p.credit.amount + p.charge.amount);
        prop_assert!(p.credit.amount.abs() <= old.abs());
        prop_assert!(p.charge.amount.abs() <= new.abs());
        prop_assert!(p.charge.period.contains(date) && p.credit.period.contains(date));
        prop_assert_eq!(p.next_renewal, p.charge.period.end);
    }

    #[test]
    fn prorate_is_monotonic_in_days(
        amount in -1_000_000_000i64..1_000_000_000,
        of in 1i64..=366,
        a in 1i64..=366,
        b in 1i64..=366,
    ) {
        let (d1, d2) = (a.min(b).min(of), a.max(b).min(of));
        let f1 = abo_core::Fraction::new(d1, of).unwrap();
        let f2 = abo_core::Fraction::new(d2, of).unwrap();
        if amount >= 0 {
            prop_assert!(prorate(amount, f1) <= prorate(amount, f2));
        } else {
            prop_assert!(prorate(amount, f1) >= prorate(amount, f2));
        }
        // Rounding half away from zero is symmetric and never exceeds the amount.
        prop_assert_eq!(prorate(-amount, f1), -prorate(amount, f1));
        prop_assert!(prorate(amount, f2).abs() <= amount.abs());
        prop_assert_eq!(prorate(amount, abo_core::Fraction::ONE), amount);
    }

    #[test]
    fn rounding_is_nearest_with_ties_away_from_zero(
        n in -1_000_000_000_000i128..1_000_000_000_000,
        d in prop_oneof![1i128..1000, -1000i128..-1],
    ) {
        let q = i128::from(round_half_away_from_zero(n, d));
        let error = (n - q * d).abs(); // |n/d - q| × |d|
        prop_assert!(2 * error <= d.abs());
        if 2 * error == d.abs() {
            // A tie: q is the one further from zero.
            prop_assert!(q.abs() * d.abs() > n.abs());
        }
    }

    #[test]
    fn graduated_price_is_monotonic_and_never_charges_included_units(
        tiers in any_tiers(),
        included in 0u64..100,
        q1 in 0u64..400,
        q2 in 0u64..400,
    ) {
        let pricing = FeaturePricing::Tiered { mode: TierMode::Graduated, tiers };
        let (lo, hi) = (q1.min(q2), q1.max(q2));
        let p_lo = price_quantity(&pricing, included, lo).unwrap();
        let p_hi = price_quantity(&pricing, included, hi).unwrap();
        prop_assert!(p_lo <= p_hi);
        prop_assert!(p_lo >= 0);
        prop_assert_eq!(price_quantity(&pricing, included, included.min(lo)).unwrap(), 0);
    }

    #[test]
    fn per_unit_graduated_charges_exactly_the_units_beyond_included(
        tiers in per_unit_tiers(),
        included in 0u64..200,
        quantity in 0u64..400,
    ) {
        let pricing = FeaturePricing::Tiered { mode: TierMode::Graduated, tiers };
        let all = price_quantity(&pricing, 0, quantity).unwrap();
        let included_part = price_quantity(&pricing, 0, included.min(quantity)).unwrap();
        prop_assert_eq!(price_quantity(&pricing, included, quantity).unwrap(), all - included_part);
    }

    #[test]
    fn volume_equals_graduated_with_a_single_tier(
        price in prop_oneof![
            (0i64..10_000).prop_map(TierPrice::PerUnit),
            (1u64..20, 0i64..10_000).prop_map(|(lot_size, amount)| TierPrice::PerLot { lot_size, amount }),
            (0i64..10_000).prop_map(TierPrice::Flat),
        ],
        included in 0u64..100,
        quantity in 0u64..1000,
    ) {
        let tiers = vec![Tier { up_to: None, price }];
        let graduated = FeaturePricing::Tiered { mode: TierMode::Graduated, tiers: tiers.clone() };
        let volume = FeaturePricing::Tiered { mode: TierMode::Volume, tiers };
        prop_assert_eq!(
            price_quantity(&graduated, included, quantity),
            price_quantity(&volume, included, quantity)
        );
    }

    #[test]
    fn volume_never_charges_included_units(
        tiers in any_tiers(),
        included in 0u64..100,
        quantity in 0u64..400,
    ) {
        let pricing = FeaturePricing::Tiered { mode: TierMode::Volume, tiers };
        let price = price_quantity(&pricing, included, quantity).unwrap();
        prop_assert!(price >= 0);
        if quantity <= included {
            prop_assert_eq!(price, 0);
        }
    }

    #[test]
    fn money_formatting_round_trips_digits(
        minor in any::<i64>(),
        currency in prop::sample::select(Currency::all().collect::<Vec<_>>()),
        locale in prop::sample::select(vec![Locale::En, Locale::Fr]),
    ) {
        let text = Money::new(minor, currency).format(locale);
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let width = usize::from(currency.exponent()) + 1;
        let expected = format!("{:0width$}", minor.unsigned_abs());
        prop_assert_eq!(&digits, &expected, "{}", text);
        prop_assert_eq!(text.starts_with('-'), minor < 0);
        // Parsing the digits back (with the sign) gives the amount again.
        let magnitude: u64 = digits.parse().unwrap();
        let back = if minor < 0 { -(i128::from(magnitude)) } else { i128::from(magnitude) };
        prop_assert_eq!(back, i128::from(minor));
    }

    #[test]
    fn parsed_references_obey_the_rules(input in "\\PC{0,60}|[ a-z<>;\"=?&\t]{0,8}") {
        match Reference::parse(&input) {
            Ok(r) => {
                let s = r.as_str();
                prop_assert!(!s.is_empty() && s.chars().count() <= 50);
                prop_assert_eq!(s, s.trim());
                prop_assert!(!s.chars().any(|c| Reference::FORBIDDEN.contains(&c) || c.is_control()));
                prop_assert_eq!(Reference::parse(s).unwrap(), r);
            }
            Err(_) => {
                let t = input.trim();
                prop_assert!(
                    t.is_empty()
                        || t.chars().count() > 50
                        || t.chars().any(|c| Reference::FORBIDDEN.contains(&c) || c.is_control())
                );
            }
        }
    }

    #[test]
    fn period_days_match_jiff_calendar(start in any_date(), len in 1i64..2000) {
        let end = start.checked_add(jiff::Span::new().days(len)).unwrap();
        let p = Period::new(start, end).unwrap();
        prop_assert_eq!(p.days(), len);
    }

    /// Refunds by amounts tax included, on an invoice of one to three rates:
    /// each note is exactly the amount asked, no rate is credited beyond
    /// what remains of it, and the note taking what is left completes the
    /// invoice exactly, per rate.
    #[test]
    fn refunds_by_amount_never_exceed_any_rate(
        bases in prop::collection::vec(0i64..1_000_000, 1..=3),
        cuts in prop::collection::vec(1u32..=100, 0..6),
    ) {
        use abo_core::{CreditRequest, TaxAmount, TypeCredit, credit_note};
        use rust_decimal::Decimal;
        // 5.5 %, 20 %, 0 %, in tenths of a percent.
        let invoice: Vec<TaxAmount> = bases
            .iter()
            .zip([55i64, 200, 0])
            .map(|(base, tenths)| TaxAmount {
                rate: Decimal::new(tenths, 1),
                base: *base,
                amount: round_half_away_from_zero(i128::from(*base * tenths), 1000),
            })
            .collect();
        let gross: i64 = invoice.iter().map(|t| t.base + t.amount).sum();
        prop_assume!(gross > 0);
        let mut previous: Vec<TaxAmount> = Vec::new();
        let mut left = gross;
        for cut in cuts.into_iter().chain([100]) {
            let asked = (left * i64::from(cut) / 100).max(1);
            let note = credit_note(&invoice, &previous, TypeCredit::Refund, &CreditRequest::Total(asked))
                .unwrap();
            prop_assert_eq!(note.total, asked);
            previous.extend(note.tax_breakdown.iter().cloned());
            for t in &invoice {
                let credited: Vec<&TaxAmount> = previous.iter().filter(|c| c.rate == t.rate).collect();
                let base: i64 = credited.iter().map(|c| c.base).sum();
                let tax: i64 = credited.iter().map(|c| c.amount).sum();
                prop_assert!((0..=t.base).contains(&base), "base {} of {:?}", base, t);
                prop_assert!((0..=t.amount).contains(&tax), "tax {} of {:?}", tax, t);
                if note.completes_invoice {
                    prop_assert_eq!((base, tax), (t.base, t.amount));
                }
            }
            left -= asked;
            prop_assert_eq!(note.completes_invoice, left == 0);
            if left == 0 {
                break;
            }
        }
        prop_assert_eq!(left, 0);
    }
}
