//! Every worked example of `billing-rules.md`, with its exact figures,
//! through the public API.

use abo_core::{
    Currency, FeaturePricing, Fraction, Locale, Money, OfferChange, Period, Recurrence, Tier,
    TierMode, TierPrice, change_of_offer, fraction, local_date, local_instant, local_midnight,
    price_quantity, prorate,
};
use jiff::civil::date;
use jiff::tz::TimeZone;

#[test]
fn money_json_and_localised_strings() {
    // `AmountRecurrence: 19000` is €190.00.
    let amount = Money::new(19000, Currency::EUR);
    assert_eq!(amount.format(Locale::En), "€190.00");
    assert_eq!(amount.format(Locale::Fr), "190,00\u{a0}€");
}

#[test]
fn monthly_100_to_180_changed_on_march_25() {
    let p = change_of_offer(&OfferChange {
        anchor: date(2026, 1, 10),
        change_date: date(2026, 3, 25),
        old_amount: 10000,
        old_recurrence: Recurrence::monthly(),
        new_amount: 18000,
        new_recurrence: Recurrence::monthly(),
    })
    .unwrap();
    assert_eq!(
        p.credit.period,
        Period::new(date(2026, 3, 10), date(2026, 4, 10)).unwrap()
    );
    assert_eq!(p.credit.period.days(), 31);
    assert_eq!(p.credit.fraction.days(), 16);
    assert_eq!(p.credit.amount, -5161);
    assert_eq!(p.charge.amount, 9290);
    assert_eq!(p.net, 4129);
    assert_eq!(p.next_renewal, date(2026, 4, 10));
}

#[test]
fn ten_to_twenty_dollars_halfway_through_30_days() {
    let period = Period::new(date(2026, 6, 1), date(2026, 7, 1)).unwrap();
    let f = fraction(date(2026, 6, 16), period).unwrap();
    assert_eq!((f.days(), f.of()), (15, 30));
    let credit = -prorate(1000, f);
    let charge = prorate(2000, f);
    assert_eq!((credit, charge, credit + charge), (-500, 1000, 500));
}

#[test]
fn change_on_the_first_day_has_fraction_one_and_never_at_the_end() {
    let period = Period::new(date(2026, 3, 10), date(2026, 4, 10)).unwrap();
    let f = fraction(date(2026, 3, 10), period).unwrap();
    assert!(f.is_one());
    assert_eq!(f, Fraction::new(31, 31).unwrap());
    assert_eq!(prorate(10000, f), 10000);
    assert_eq!(prorate(10000, Fraction::ONE), 10000);
    assert!(fraction(date(2026, 4, 10), period).is_err());
    assert!(fraction(date(2026, 4, 11), period).is_err());
}

#[test]
fn yearly_360_to_monthly_30_on_may_11() {
    let p = change_of_offer(&OfferChange {
        anchor: date(2026, 5, 1),
        change_date: date(2026, 5, 11),
        old_amount: 36000,
        old_recurrence: Recurrence::yearly(),
        new_amount: 3000,
        new_recurrence: Recurrence::monthly(),
    })
    .unwrap();
    assert_eq!(p.credit.period.days(), 365);
    assert_eq!(p.credit.fraction.days(), 355);
    assert_eq!(p.credit.amount, -35014);
    assert_eq!(
        p.charge.period,
        Period::new(date(2026, 5, 1), date(2026, 6, 1)).unwrap()
    );
    assert_eq!((p.charge.fraction.days(), p.charge.fraction.of()), (21, 31));
    assert_eq!(p.charge.amount, 2032);
    assert_eq!(p.next_renewal, date(2026, 6, 1));
}

#[test]
fn tiers_121_graduated_80_volume() {
    let tiers = vec![
        Tier {
            up_to: Some(5),
            price: TierPrice::PerUnit(1500),
        },
        Tier {
            up_to: Some(10),
            price: TierPrice::PerUnit(1200),
        },
        Tier {
            up_to: None,
            price: TierPrice::PerUnit(800),
        },
    ];
    let graduated = FeaturePricing::Tiered {
        mode: TierMode::Graduated,
        tiers: tiers.clone(),
    };
    let volume = FeaturePricing::Tiered {
        mode: TierMode::Volume,
        tiers,
    };
    assert_eq!(price_quantity(&graduated, 2, 12).unwrap(), 12100);
    assert_eq!(price_quantity(&volume, 2, 12).unwrap(), 8000);
}

#[test]
fn anchor_31_gives_jan_31_feb_28_mar_31_apr_30() {
    let m = Recurrence::monthly();
    let anchor = date(2026, 1, 31);
    let starts: Vec<_> = (0..4)
        .map(|n| m.nth_period_start(anchor, n).unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            date(2026, 1, 31),
            date(2026, 2, 28),
            date(2026, 3, 31),
            date(2026, 4, 30)
        ]
    );
    assert_eq!(
        m.nth_period_start(date(2028, 1, 31), 1).unwrap(),
        date(2028, 2, 29)
    );
}

#[test]
fn a_march_period_in_paris_has_31_days() {
    let paris = TimeZone::get("Europe/Paris").unwrap();
    let march = Recurrence::monthly()
        .period_containing(date(2026, 1, 1), date(2026, 3, 29))
        .unwrap();
    assert_eq!(march.days(), 31);
    // The renewal stays on April 1st locally despite the DST change.
    let end = local_midnight(march.end, &paris).unwrap();
    assert_eq!(local_date(end, &paris), date(2026, 4, 1));
    assert_eq!(end.to_string(), "2026-03-31T22:00:00Z");
}

#[test]
fn paris_0230_on_2026_03_29_resolves_to_0330_plus_2() {
    let paris = TimeZone::get("Europe/Paris").unwrap();
    let ts = local_instant(date(2026, 3, 29).at(2, 30, 0, 0), &paris).unwrap();
    assert_eq!(
        ts.to_zoned(paris).to_string(),
        "2026-03-29T03:30:00+02:00[Europe/Paris]"
    );
}
