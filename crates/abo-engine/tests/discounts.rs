//! Discounts attached to a subscription (`SubscriptionRequest.Discounts`)
//! applied at its start and by each renewal, for their number of periods,
//! on SQLite and PostgreSQL.

mod common;

use abo_service::ServiceError;
use abo_service::subscriptions::{self, CreateFlags, CreateSubscription};
use abo_store::{Store, both_backends};
use common::*;
use jiff::civil::date;

const CATALOG: &str = r#"
[[segment]]
reference = "main-eur"
currency = "EUR"
time_zone = "Europe/Paris"
default = true

[[offer]]
segment = "main-eur"
reference = "pro"
name = "Pro"
recurrence = "1 Month"
amount_recurrence = "20.00"
amount_upfront = "10.00"

[[discount]]
segment = "main-eur"
reference = "half-setup"
name = "Half price setup"
target = "UpFront"
percent = "50"

[[discount]]
segment = "main-eur"
reference = "two-months-30"
name = "30% for two months"
target = "Recurrence"
percent = "30"
recurrences = 2

[[discount]]
segment = "main-eur"
reference = "three-euros"
name = "3 euros off"
target = "Recurrence"
amount = "3.00"
"#;

async fn discounts_apply_for_their_periods(store: Store) {
    let t0 = at(date(2026, 3, 10), 10);
    let w = World::with_catalog(store, t0, CATALOG).await;
    let c = w.customer("promo", "ExternalBank").await;
    let request = CreateSubscription {
        business_id: w.business,
        customer_reference: Some("promo".into()),
        offer_reference: "pro".into(),
        flags: CreateFlags {
            try_start: true,
            bill_now: true,
            ..Default::default()
        },
        discounts: vec![
            "half-setup".into(),
            "two-months-30".into(),
            "three-euros".into(),
        ],
        ..Default::default()
    };
    let id = subscriptions::create(&w.store, &request, t0)
        .await
        .unwrap()
        .subscription
        .id;
    // Four periods: March, April, May, June.
    w.advance(at(date(2026, 6, 10), 12)).await;
    assert_eq!(w.sub(id).await.period_index, 3);
    let mut lines: Vec<_> = w.lines(c).await;
    lines.sort_by_key(|l| l.id);
    let per_period = |start: jiff::civil::Date| {
        let mut v: Vec<_> = lines
            .iter()
            .filter(|l| {
                l.date_period_start_us.map(local) == Some(start)
                    || (l.date_period_start_us.is_none() && start == date(2026, 3, 10))
            })
            .map(|l| (l.type_line.clone(), l.amount_subtotal))
            .collect();
        v.sort();
        v
    };
    let line = |t: &str, a: i64| (t.to_string(), a);
    // March: the up-front fee halved, the fee less 30% and less €3.
    assert_eq!(
        per_period(date(2026, 3, 10)),
        [
            line("AutoDiscountRecurrenceFlat", -300),
            line("AutoDiscountRecurrencePercent", -600),
            line("AutoDiscountUpfrontPercent", -500),
            line("AutoSubscriptionRecurrence", 2000),
            line("AutoSubscriptionUpfront", 1000),
        ]
    );
    // April: the second and last period of the 30%.
    assert_eq!(
        per_period(date(2026, 4, 10)),
        [
            line("AutoDiscountRecurrenceFlat", -300),
            line("AutoDiscountRecurrencePercent", -600),
            line("AutoSubscriptionRecurrence", 2000),
        ]
    );
    // May and June: only the €3, which has no end.
    for month in [5, 6] {
        assert_eq!(
            per_period(date(2026, month, 10)),
            [
                line("AutoDiscountRecurrenceFlat", -300),
                line("AutoSubscriptionRecurrence", 2000),
            ],
            "month {month}"
        );
    }
    // Each period's invoice carries its discounts: March 1000 + 2000 - 500
    // - 600 - 300 = 1600 (+ 20% VAT), April 1100, then 1700.
    let totals: Vec<_> = w
        .invoices(c)
        .await
        .iter()
        .map(|i| (i.amount_subtotal, i.amount_total))
        .collect();
    assert_eq!(
        totals,
        [(1600, 1920), (1100, 1320), (1700, 2040), (1700, 2040)]
    );
}
both_backends!(discounts_apply_for_their_periods => sqlite_discounts_apply_for_their_periods, postgres_discounts_apply_for_their_periods);

async fn an_unknown_discount_is_refused(store: Store) {
    let t0 = at(date(2026, 3, 10), 10);
    let w = World::with_catalog(store, t0, CATALOG).await;
    let c = w.customer("promo", "ExternalBank").await;
    let request = CreateSubscription {
        business_id: w.business,
        customer_reference: Some("promo".into()),
        offer_reference: "pro".into(),
        discounts: vec!["nope".into()],
        ..Default::default()
    };
    let err = subscriptions::create(&w.store, &request, t0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Invalid(p) if p[0].contains("'nope'")),
        "{err:?}"
    );
    assert!(w.lines(c).await.is_empty());
}
both_backends!(an_unknown_discount_is_refused => sqlite_an_unknown_discount_is_refused, postgres_an_unknown_discount_is_refused);
