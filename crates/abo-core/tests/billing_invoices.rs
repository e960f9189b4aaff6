//! Balance, discounts, invoices and credit notes through the public API,
//! with the figures of billing-rules.md ("Balance and invoices", "Money").

use abo_core::billing::AppliedDiscount;
use abo_core::catalog::{Discount, DiscountTarget, DiscountValue};
use abo_core::{
    BalanceLine, Billing, CreditRequest, Currency, InvoiceDraft, InvoiceEvent, InvoiceState,
    InvoiceStatus, IssueMode, LineDate, Locale, Period, Reference, StateMove, TaxAmount, TaxBasis,
    TaxDecision, TaxProfile, TypeCredit, TypeLine, apply_discounts, assemble_invoice,
    assemble_invoice_by_rate, credit_note, fraction, full_number, prorate,
};
use jiff::civil::date;
use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy, dec};

fn month() -> LineDate {
    LineDate::Period(Period::new(date(2026, 3, 10), date(2026, 4, 10)).unwrap())
}

fn line(type_line: TypeLine, amount: i64) -> BalanceLine {
    BalanceLine::due(type_line, "line", amount, Currency::EUR, month())
}

fn vat(rate: Decimal) -> TaxDecision {
    TaxDecision {
        rate,
        reverse_charge: false,
        mention: None,
        basis: TaxBasis::BusinessCountry,
    }
}

fn invoice(billing: Billing) -> InvoiceDraft {
    match billing {
        Billing::Invoice(draft) => draft,
        other => panic!("expected an invoice, got {other:?}"),
    }
}

fn discount(target: DiscountTarget, value: DiscountValue, count: Option<u32>) -> Discount {
    Discount {
        reference: Reference::parse("promo").unwrap(),
        name: "Promo".into(),
        target,
        value,
        count_recurrences: count,
    }
}

/// round(base × rate / 100), half away from zero, computed independently
/// with decimals.
fn expected_tax(base: i64, rate: Decimal) -> i64 {
    let tax = (Decimal::from(base) * rate / Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(tax).unwrap()
}

#[test]
fn proabono_example_subtotal_19000_total_22800_at_20_percent() {
    let profile = TaxProfile::with_eu_rates("FR", dec!(20));
    let tax = profile.rate_for(Some("FR"), None, false);
    let lines = [line(TypeLine::AutoSubscriptionRecurrence, 19000)];
    let draft = invoice(assemble_invoice(&lines, &tax).unwrap());
    assert_eq!(
        (draft.subtotal, draft.tax, draft.total),
        (19000, 3800, 22800)
    );
    assert_eq!(
        draft.tax_breakdown,
        [TaxAmount {
            rate: dec!(20),
            base: 19000,
            amount: 3800
        }]
    );
    assert_eq!(draft.lines[0].unit_amount, Some(19000));
    assert_eq!(draft.lines[0].period, month().period());
    assert_eq!(draft.reverse_charge_mention, None);
}

#[test]
fn reverse_charge_invoice_has_no_tax_and_the_mention() {
    let profile = TaxProfile::with_eu_rates("FR", dec!(20));
    let tax = profile.rate_for(Some("BE"), Some("BE0123456789"), true);
    let lines = [
        line(TypeLine::AutoSubscriptionUpfront, 4900),
        line(TypeLine::AutoSubscriptionRecurrence, 19000),
    ];
    let draft = invoice(assemble_invoice(&lines, &tax).unwrap());
    assert_eq!((draft.subtotal, draft.tax, draft.total), (23900, 0, 23900));
    let mention = draft.reverse_charge_mention.expect("the legal mention");
    assert_eq!(
        mention.text(Locale::En),
        "Reverse charge – Article 196 of Council Directive 2006/112/EC"
    );
    assert_eq!(
        mention.text(Locale::Fr),
        "Autoliquidation – article 196 de la directive 2006/112/CE"
    );
    // The same customer without a VAT number pays Belgian VAT (OSS).
    let consumer = profile.rate_for(Some("BE"), None, true);
    let draft = invoice(assemble_invoice(&lines, &consumer).unwrap());
    assert_eq!((draft.tax, draft.total), (5019, 28919));
}

#[test]
fn two_rates_on_one_invoice_are_each_rounded_once() {
    // Two lines at 20 % (each 33.33: a tax of 6.666 per line) and two at
    // 5.5 % (each 10.10: 0.5555 per line). Rounding per line would give
    // 6.67 + 6.67 and 0.56 + 0.56; per rate on the sum it is 13.33 and 1.11.
    let mut ebook = line(TypeLine::Manual, 1010);
    ebook.key_charge = Some("Ebook".into());
    let lines = [
        line(TypeLine::Manual, 3333),
        ebook.clone(),
        line(TypeLine::Manual, 3333),
        ebook,
    ];
    let rate_of = |l: &BalanceLine| match l.key_charge.as_deref() {
        Some("Ebook") => dec!(5.5),
        _ => dec!(20),
    };
    let draft = invoice(assemble_invoice_by_rate(&lines, rate_of, None).unwrap());
    assert_eq!(
        draft.tax_breakdown,
        [
            TaxAmount {
                rate: dec!(5.5),
                base: 2020,
                amount: 111
            },
            TaxAmount {
                rate: dec!(20),
                base: 6666,
                amount: 1333
            },
        ]
    );
    assert_eq!(
        (draft.subtotal, draft.tax, draft.total),
        (8686, 1444, 10130)
    );
    assert_eq!(draft.lines[1].tax_rate, dec!(5.5));
}

#[test]
fn lines_are_rounded_once_each_then_summed_exactly() {
    // billing-rules: monthly €100 changed on Mar 25 to €180: credit -51.61,
    // charge +92.90, each rounded on its own; the invoice adds them exactly.
    let period = Period::new(date(2026, 3, 10), date(2026, 4, 10)).unwrap();
    let f = fraction(date(2026, 3, 25), period).unwrap();
    let lines = [
        line(
            TypeLine::AutoSubscriptionRecurrenceProrata,
            -prorate(10000, f),
        ),
        line(
            TypeLine::AutoSubscriptionRecurrenceProrata,
            prorate(18000, f),
        ),
    ];
    let draft = invoice(assemble_invoice(&lines, &vat(dec!(20))).unwrap());
    let amounts: Vec<i64> = draft.lines.iter().map(|l| l.amount_subtotal).collect();
    assert_eq!(amounts, [-5161, 9290]);
    assert_eq!((draft.subtotal, draft.tax, draft.total), (4129, 826, 4955));
}

#[test]
fn a_credit_balance_is_carried_forward_not_invoiced() {
    let lines = [
        line(TypeLine::AutoSubscriptionRecurrenceProrata, -5161),
        line(TypeLine::Manual, 1000),
    ];
    match assemble_invoice(&lines, &vat(dec!(20))).unwrap() {
        Billing::CreditCarriedForward(draft) => {
            assert_eq!(
                (draft.subtotal, draft.tax, draft.total),
                (-4161, -832, -4993)
            );
        }
        other => panic!("expected a credit, got {other:?}"),
    }
    // Exactly zero is still an invoice (a free period has its document).
    let free = [line(TypeLine::AutoSubscriptionTrial, 0)];
    assert_eq!(
        invoice(assemble_invoice(&free, &vat(dec!(20))).unwrap()).total,
        0
    );
}

#[test]
fn mixed_currencies_are_refused() {
    let mut dollars = line(TypeLine::Manual, 100);
    dollars.currency = Currency::USD;
    let err = assemble_invoice(&[line(TypeLine::Manual, 100), dollars], &vat(dec!(20)));
    assert_eq!(
        err.unwrap_err().to_string(),
        "currency mismatch: EUR and USD"
    );
}

#[test]
fn half_price_up_front_fee() {
    let d = discount(
        DiscountTarget::UpFront,
        DiscountValue::Percent(dec!(50)),
        None,
    );
    let lines = [
        line(TypeLine::AutoSubscriptionUpfront, 4900),
        line(TypeLine::AutoSubscriptionRecurrence, 19000),
    ];
    let applied = [AppliedDiscount {
        discount: &d,
        id_feature: None,
    }];
    let out = apply_discounts(&lines, &applied, 0).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].amount_subtotal, -2450);
    assert_eq!(out[0].type_line, TypeLine::AutoDiscountUpfrontPercent);
    assert_eq!(out[0].state_move, StateMove::Due);
    assert_eq!(out[0].label, "Promo");
}

#[test]
fn ten_euros_off_for_three_periods_stops_at_period_three() {
    let d = discount(
        DiscountTarget::Recurrence,
        DiscountValue::Flat(1000),
        Some(3),
    );
    let applied = [AppliedDiscount {
        discount: &d,
        id_feature: None,
    }];
    let lines = [line(TypeLine::AutoSubscriptionRecurrence, 19000)];
    let per_period: Vec<Vec<i64>> = (0..5)
        .map(|index| {
            apply_discounts(&lines, &applied, index)
                .unwrap()
                .iter()
                .map(|l| l.amount_subtotal)
                .collect()
        })
        .collect();
    assert_eq!(
        per_period,
        [vec![-1000], vec![-1000], vec![-1000], vec![], vec![]]
    );
    let out = apply_discounts(&lines, &applied, 0).unwrap();
    assert_eq!(out[0].type_line, TypeLine::AutoDiscountRecurrenceFlat);
    assert_eq!(out[0].date, month());
}

#[test]
fn a_feature_discount_is_capped_at_its_line() {
    let d = discount(
        DiscountTarget::Feature(Reference::parse("seats").unwrap()),
        DiscountValue::Flat(5000),
        None,
    );
    let mut seats = line(TypeLine::AutoFeatureProratable, 3000);
    seats.id_feature = Some(7);
    let mut storage = line(TypeLine::AutoFeatureNotProratable, 800);
    storage.id_feature = Some(8);
    let lines = [
        line(TypeLine::AutoSubscriptionRecurrence, 19000),
        seats,
        storage,
    ];
    let applied = [AppliedDiscount {
        discount: &d,
        id_feature: Some(7),
    }];
    let out = apply_discounts(&lines, &applied, 0).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].amount_subtotal, -3000);
    assert_eq!(out[0].id_feature, Some(7));
    assert_eq!(out[0].type_line, TypeLine::AutoDiscountFeatureFlat);
    // Billed with its lines, the feature costs nothing and nothing is negative.
    let mut all = lines.to_vec();
    all.extend(out);
    let draft = invoice(assemble_invoice(&all, &vat(dec!(20))).unwrap());
    assert_eq!(draft.subtotal, 19800);
}

#[test]
fn three_partial_refunds_add_up_to_the_invoice_exactly() {
    // 100.00 + 20 % = 120.00, refunded 40.00 three times.
    let lines = [line(TypeLine::AutoSubscriptionRecurrence, 10000)];
    let draft = invoice(assemble_invoice(&lines, &vat(dec!(20))).unwrap());
    assert_eq!(draft.total, 12000);
    let mut previous: Vec<TaxAmount> = Vec::new();
    let mut notes = Vec::new();
    for _ in 0..3 {
        let note = credit_note(
            &draft.tax_breakdown,
            &previous,
            TypeCredit::Refund,
            &CreditRequest::Total(4000),
        )
        .unwrap();
        previous.extend(note.tax_breakdown.iter().copied());
        notes.push(note);
    }
    let split: Vec<(i64, i64, i64)> = notes.iter().map(|n| (n.subtotal, n.tax, n.total)).collect();
    assert_eq!(
        split,
        [(3333, 667, 4000), (3333, 667, 4000), (3334, 666, 4000)]
    );
    let events: Vec<Option<InvoiceEvent>> = notes.iter().map(|n| n.invoice_event()).collect();
    assert_eq!(events, [None, None, Some(InvoiceEvent::Refund)]);
    // Nothing is left: one more cent is refused.
    assert!(
        credit_note(
            &draft.tax_breakdown,
            &previous,
            TypeCredit::Refund,
            &CreditRequest::Total(1)
        )
        .is_err()
    );

    // The same by bases: 33.33 twice (6.67 of tax each), then the rest
    // takes the remaining 6.66, not round(33.34 × 20 %) = 6.67.
    let mut previous: Vec<TaxAmount> = Vec::new();
    let mut taxes = Vec::new();
    for base in [3333, 3333, 3334] {
        let note = credit_note(
            &draft.tax_breakdown,
            &previous,
            TypeCredit::Refund,
            &CreditRequest::Bases(vec![(dec!(20), base)]),
        )
        .unwrap();
        taxes.push(note.tax);
        previous.extend(note.tax_breakdown);
    }
    assert_eq!(taxes, [667, 667, 666]);
}

#[test]
fn cancelling_and_refunding_move_the_invoice() {
    let lines = [line(TypeLine::AutoSubscriptionRecurrence, 19000)];
    let draft = invoice(assemble_invoice(&lines, &vat(dec!(20))).unwrap());
    let void = credit_note(
        &draft.tax_breakdown,
        &[],
        TypeCredit::Voiding,
        &CreditRequest::Full,
    )
    .unwrap();
    assert_eq!(void.total, 22800);
    let due = InvoiceState::Draft
        .apply(InvoiceEvent::Issue(IssueMode::Offline))
        .unwrap();
    assert_eq!(due, InvoiceState::DueOffline);
    assert_eq!(
        due.apply(void.invoice_event().unwrap()),
        Ok(InvoiceState::Void)
    );
    let refund = credit_note(
        &draft.tax_breakdown,
        &[],
        TypeCredit::Refund,
        &CreditRequest::Full,
    )
    .unwrap();
    let paid = due.apply(InvoiceEvent::Pay).unwrap();
    assert_eq!(
        paid.apply(refund.invoice_event().unwrap()),
        Ok(InvoiceState::PaidRefunded)
    );
}

#[test]
fn the_collection_path_of_an_automatic_invoice() {
    use InvoiceEvent::*;
    let mut s = InvoiceState::Draft;
    for (event, expected) in [
        (Issue(IssueMode::Auto), InvoiceState::DueAuto),
        (
            Fail {
                last_attempt: false,
            },
            InvoiceState::DueAuto,
        ),
        (Fail { last_attempt: true }, InvoiceState::ProblemAuto),
        (Retry, InvoiceState::DueAuto),
        (Submit, InvoiceState::DuePending),
        (Pay, InvoiceState::Paid),
        (Dispute, InvoiceState::ProblemDisputed),
        (MarkUncollectible, InvoiceState::Uncollectible),
        (Cancel, InvoiceState::Void),
    ] {
        s = s.apply(event).unwrap();
        assert_eq!(s, expected, "after {event}");
    }
    assert_eq!(s.status(), InvoiceStatus::Void);
    let overdue = InvoiceState::DueOffline.apply(Overdue).unwrap();
    assert_eq!(overdue, InvoiceState::ProblemOverdue);
    assert_eq!(overdue.status(), InvoiceStatus::Problem);
}

#[test]
fn illegal_invoice_transitions_are_refused() {
    use InvoiceEvent::*;
    for (state, event) in [
        (InvoiceState::Draft, Pay),
        (InvoiceState::Draft, Cancel),
        (InvoiceState::Draft, Refund),
        (InvoiceState::DueAuto, Issue(IssueMode::Auto)),
        (InvoiceState::DueOffline, Refund),
        (InvoiceState::Paid, Cancel),
        (InvoiceState::Paid, Pay),
        (InvoiceState::Paid, MarkUncollectible),
        (InvoiceState::PaidRefunded, Refund),
        (InvoiceState::PaidRefunded, Dispute),
        (InvoiceState::Void, Pay),
        (InvoiceState::Void, Cancel),
        (InvoiceState::DueOffline, Fail { last_attempt: true }),
        (InvoiceState::Uncollectible, MarkUncollectible),
    ] {
        let err = state.apply(event).unwrap_err();
        assert_eq!((err.state, err.event), (state, event));
    }
    assert_eq!(
        InvoiceState::Paid.apply(Cancel).unwrap_err().to_string(),
        "cannot cancel an invoice in state Paid"
    );
    // Final states accept nothing.
    for state in [InvoiceState::Void, InvoiceState::PaidRefunded] {
        for event in [
            Issue(IssueMode::Auto),
            Submit,
            Pay,
            Fail { last_attempt: true },
            Retry,
            Overdue,
            Dispute,
            Refund,
            Cancel,
            MarkUncollectible,
        ] {
            assert!(state.apply(event).is_err(), "{state} accepted {event}");
        }
    }
}

#[test]
fn invoice_numbers() {
    assert_eq!(full_number("S-", 7, 1673), "S-7.00001673");
}

fn rates() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        Just(dec!(0)),
        Just(dec!(5.5)),
        Just(dec!(20)),
        Just(dec!(25.5)),
        Just(dec!(2.1)),
        Just(dec!(8.1)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn totals_are_exact_and_tax_is_rounded_once_per_rate(
        lines in prop::collection::vec((-1_000_000_i64..10_000_000, rates()), 1..12)
    ) {
        let balance: Vec<BalanceLine> = lines
            .iter()
            .map(|(amount, rate)| {
                let mut l = line(TypeLine::Manual, *amount);
                l.key_charge = Some(rate.to_string());
                l
            })
            .collect();
        let rate_of = |l: &BalanceLine| l.key_charge.as_deref().unwrap().parse::<Decimal>().unwrap();
        let draft = match assemble_invoice_by_rate(&balance, rate_of, None).unwrap() {
            Billing::Invoice(d) | Billing::CreditCarriedForward(d) => d,
            Billing::NothingDue => unreachable!(),
        };
        prop_assert_eq!(draft.total, draft.subtotal + draft.tax);
        prop_assert_eq!(draft.subtotal, lines.iter().map(|(a, _)| a).sum::<i64>());
        prop_assert_eq!(draft.tax, draft.tax_breakdown.iter().map(|t| t.amount).sum::<i64>());
        for t in &draft.tax_breakdown {
            let base: i64 = lines.iter().filter(|(_, r)| *r == t.rate).map(|(a, _)| a).sum();
            prop_assert_eq!(t.base, base);
            prop_assert_eq!(t.amount, expected_tax(base, t.rate));
        }
        prop_assert_eq!(draft.total < 0, matches!(
            assemble_invoice_by_rate(&balance, rate_of, None).unwrap(),
            Billing::CreditCarriedForward(_)
        ));
    }

    #[test]
    fn partial_credit_notes_never_exceed_and_the_last_absorbs_the_rounding(
        bases in prop::collection::vec((1_i64..5_000_000, rates()), 1..4),
        cuts in prop::collection::vec(1_u32..100, 1..6),
    ) {
        // An invoice with one line per distinct rate.
        let mut balance: Vec<BalanceLine> = Vec::new();
        for (amount, rate) in &bases {
            if balance.iter().all(|l| l.key_charge.as_deref() != Some(&rate.to_string())) {
                let mut l = line(TypeLine::Manual, *amount);
                l.key_charge = Some(rate.to_string());
                balance.push(l);
            }
        }
        let rate_of = |l: &BalanceLine| l.key_charge.as_deref().unwrap().parse::<Decimal>().unwrap();
        let draft = invoice(assemble_invoice_by_rate(&balance, rate_of, None).unwrap());
        // Refund each rate in slices proportional to `cuts`, the last slice
        // taking what remains.
        let mut previous: Vec<TaxAmount> = Vec::new();
        let weight: u32 = cuts.iter().sum();
        for (i, cut) in cuts.iter().enumerate() {
            let last = i + 1 == cuts.len();
            let asked: Vec<(Decimal, i64)> = draft
                .tax_breakdown
                .iter()
                .filter_map(|t| {
                    let done: i64 = previous.iter().filter(|p| p.rate == t.rate).map(|p| p.base).sum();
                    let slice = if last { t.base - done } else { t.base * i64::from(*cut) / i64::from(weight) };
                    (slice > 0).then_some((t.rate, slice))
                })
                .collect();
            if asked.is_empty() {
                continue;
            }
            let note = credit_note(&draft.tax_breakdown, &previous, TypeCredit::Refund, &CreditRequest::Bases(asked))
                .unwrap();
            prop_assert_eq!(note.total, note.subtotal + note.tax);
            previous.extend(note.tax_breakdown.iter().copied());
            for t in &draft.tax_breakdown {
                let base: i64 = previous.iter().filter(|p| p.rate == t.rate).map(|p| p.base).sum();
                let tax: i64 = previous.iter().filter(|p| p.rate == t.rate).map(|p| p.amount).sum();
                prop_assert!(base <= t.base && tax <= t.amount, "over-credited at {}", t.rate);
                prop_assert!(tax >= 0);
            }
            prop_assert_eq!(note.completes_invoice, last);
        }
        // All notes together equal the invoice exactly, per rate.
        for t in &draft.tax_breakdown {
            let base: i64 = previous.iter().filter(|p| p.rate == t.rate).map(|p| p.base).sum();
            let tax: i64 = previous.iter().filter(|p| p.rate == t.rate).map(|p| p.amount).sum();
            prop_assert_eq!((base, tax), (t.base, t.amount));
        }
    }

    #[test]
    fn refunds_tax_included_add_up_to_the_total(
        base in 1_i64..10_000_000,
        rate in rates(),
        parts in prop::collection::vec(1_u32..50, 1..6),
    ) {
        let draft = invoice(assemble_invoice(&[line(TypeLine::Manual, base)], &vat(rate)).unwrap());
        let weight: u32 = parts.iter().sum();
        let mut previous: Vec<TaxAmount> = Vec::new();
        let mut refunded = 0;
        for (i, part) in parts.iter().enumerate() {
            let amount = if i + 1 == parts.len() {
                draft.total - refunded
            } else {
                draft.total * i64::from(*part) / i64::from(weight)
            };
            if amount == 0 {
                continue;
            }
            let note = credit_note(&draft.tax_breakdown, &previous, TypeCredit::Refund, &CreditRequest::Total(amount))
                .unwrap();
            prop_assert_eq!(note.total, amount);
            refunded += amount;
            previous.extend(note.tax_breakdown.iter().copied());
            let tax: i64 = previous.iter().map(|p| p.amount).sum();
            let sub: i64 = previous.iter().map(|p| p.base).sum();
            prop_assert!(tax <= draft.tax && sub <= draft.subtotal && tax >= 0 && sub >= 0);
        }
        let tax: i64 = previous.iter().map(|p| p.amount).sum();
        let sub: i64 = previous.iter().map(|p| p.base).sum();
        prop_assert_eq!((sub, tax), (draft.subtotal, draft.tax));
    }
}
