//! Subscription use cases against a real store (SQLite, and PostgreSQL when
//! `ABO_TEST_POSTGRES_URL` is set): creation with overrides, delayed start,
//! trials, changes of offer with billing-rules' proration, termination,
//! suspension and restart, the state machine's refusals, and reads.

use abo_core::SubscriptionState;
use abo_service::ServiceError;
use abo_service::business::{BusinessSpec, create_business};
use abo_service::catalog::{import_catalog, parse_catalog};
use abo_service::subscriptions::{
    self, CreateFlags, CreateSubscription, FeatureOverride, ListFilter, Overrides, StartOptions,
    SubscriptionView, TerminationOptions, UpgradeOptions,
};
use abo_store::balance_lines::{self, BalanceLine};
use abo_store::customers::{self, NewCustomer, PaymentSettingsPatch};
use abo_store::{PageRequest, Store, both_backends, segments, subscriptions as store_subs};
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;

const CATALOG: &str = r#"
[[segment]]
reference = "main-eur"
currency = "EUR"
time_zone = "Europe/Paris"
default = true

[[feature]]
reference = "seats"
name = "Seats"
type = "Limitation"

[[feature]]
reference = "sms"
name = "Text messages"
type = "Consumption"

[[feature]]
reference = "support"
name = "Support"
type = "OnOff"

[[offer]]
segment = "main-eur"
reference = "free"
name = "Free"
recurrence = "1 Month"
amount_recurrence = "0"

[[offer]]
segment = "main-eur"
reference = "basic"
name = "Basic"
recurrence = "1 Month"
amount_recurrence = "100.00"

  [[offer.feature]]
  feature = "seats"
  included = 2

  [[offer.feature]]
  feature = "support"
  included = false

[[offer]]
segment = "main-eur"
reference = "premium"
name = "Premium"
recurrence = "1 Month"
amount_recurrence = "180.00"

  [[offer.feature]]
  feature = "seats"
  included = 10

[[offer]]
segment = "main-eur"
reference = "trial"
name = "Pro with trial"
recurrence = "1 Month"
amount_recurrence = "19.00"
amount_upfront = "49.00"
trial = { duration = "14 Day", amount = "0" }

[[offer]]
segment = "main-eur"
reference = "committed"
name = "Committed"
recurrence = "1 Month"
amount_recurrence = "30.00"
min_recurrences = 3
amount_termination = "10.00"
"#;

fn paris() -> TimeZone {
    TimeZone::get("Europe/Paris").unwrap()
}

/// The instant of a local date and time in Paris, in microseconds.
fn at(d: Date, hour: i8) -> i64 {
    d.at(hour, 0, 0, 0)
        .to_zoned(paris())
        .unwrap()
        .timestamp()
        .as_microsecond()
}

/// Local midnight of a date in Paris, in microseconds.
fn midnight(d: Date) -> i64 {
    at(d, 0)
}

struct World {
    store: Store,
    business: i64,
}

impl World {
    async fn new(store: Store) -> World {
        let spec = BusinessSpec {
            name: "Acme".into(),
            country: "FR".into(),
            default_language: "en".into(),
            is_test: true,
        };
        let business = create_business(&store, &spec, at(date(2026, 1, 1), 0))
            .await
            .unwrap()
            .business
            .id;
        let file = parse_catalog(CATALOG).unwrap();
        import_catalog(&store, business, &file, at(date(2026, 1, 1), 0))
            .await
            .unwrap();
        World { store, business }
    }

    /// A customer; `payment` is its `TypePayment` (None = no method).
    async fn customer(&self, reference: &str, payment: Option<&str>) -> i64 {
        let mut conn = self.store.acquire().await.unwrap();
        let segment = segments::get_default(&mut conn, self.business)
            .await
            .unwrap();
        let c = customers::create(
            &mut conn,
            &NewCustomer {
                business_id: self.business,
                segment_id: segment.id,
                reference: reference.into(),
                ..Default::default()
            },
            0,
        )
        .await
        .unwrap();
        if let Some(p) = payment {
            customers::update_payment_settings(
                &mut conn,
                self.business,
                c.id,
                &PaymentSettingsPatch {
                    type_payment: Some(p.into()),
                    ..Default::default()
                },
                0,
            )
            .await
            .unwrap();
        }
        c.id
    }

    fn request(&self, customer: &str, offer: &str) -> CreateSubscription {
        CreateSubscription {
            business_id: self.business,
            customer_reference: Some(customer.into()),
            offer_reference: offer.into(),
            ..Default::default()
        }
    }

    async fn create(&self, request: CreateSubscription, now: i64) -> SubscriptionView {
        subscriptions::create(&self.store, &request, now)
            .await
            .unwrap()
    }

    /// Creates and starts now (`TryStart`) a subscription.
    async fn started(&self, customer: &str, offer: &str, now: i64) -> SubscriptionView {
        let mut r = self.request(customer, offer);
        r.flags.try_start = true;
        self.create(r, now).await
    }

    async fn lines(&self, customer_id: i64) -> Vec<BalanceLine> {
        let mut conn = self.store.acquire().await.unwrap();
        balance_lines::list_for_customer(&mut conn, self.business, customer_id, None)
            .await
            .unwrap()
    }
}

fn summary(lines: &[BalanceLine]) -> Vec<(String, i64)> {
    lines
        .iter()
        .map(|l| (l.type_line.clone(), l.amount_subtotal))
        .collect()
}

async fn create_copies_the_offer_with_every_override(store: Store) {
    let w = World::new(store).await;
    let now = at(date(2026, 2, 3), 10);
    let id = w.customer("cust-1", Some("ExternalBank")).await;
    let mut metadata = serde_json::Map::new();
    metadata.insert("Site".into(), "www.example.com".into());
    let request = CreateSubscription {
        overrides: Overrides {
            title: Some("Basic, negotiated".into()),
            description: Some("Custom deal".into()),
            amount_upfront: Some(10000),
            amount_recurrence: Some(19900),
            duration_recurrence: Some(3),
            unit_recurrence: Some("Month".into()),
            count_recurrences: Some(Some(4)),
            count_min_recurrences: Some(Some(2)),
            amount_termination: Some(5000),
            ..Default::default()
        },
        features: vec![
            FeatureOverride {
                reference: "seats".into(),
                quantity_included: Some(3),
                quantity_current: Some(10),
                ..Default::default()
            },
            FeatureOverride {
                reference: "support".into(),
                is_included: Some(true),
                is_enabled: Some(true),
                ..Default::default()
            },
            // Not in the offer: added.
            FeatureOverride {
                reference: "sms".into(),
                quantity_included: Some(100),
                ..Default::default()
            },
        ],
        metadata: Some(metadata),
        flags: CreateFlags {
            try_start: true,
            ..Default::default()
        },
        ..w.request("cust-1", "basic")
    };
    let v = w.create(request, now).await;
    let s = &v.subscription;
    assert_eq!(v.state, SubscriptionState::ActiveRunning);
    assert_eq!(s.title, "Basic, negotiated");
    assert_eq!(s.description.as_deref(), Some("Custom deal"));
    assert_eq!(
        (s.amount_upfront, s.amount_recurrence, s.amount_termination),
        (10000, 19900, 5000)
    );
    assert_eq!(
        (s.duration_recurrence, s.unit_recurrence.as_str()),
        (3, "Month")
    );
    assert_eq!(
        (s.count_recurrences, s.count_min_recurrences),
        (Some(4), Some(2))
    );
    assert_eq!(v.offer_reference.as_deref(), Some("basic"));
    assert_eq!(v.customer_reference, "cust-1");
    assert_eq!(v.buyer_reference, "cust-1");
    assert!(v.is_customer_billable);
    assert!(v.is_engaged, "2 committed periods of 3 months");
    // A quarter from today, at local midnight in Paris.
    assert_eq!(s.date_start_us, Some(now));
    assert_eq!(s.date_period_start_us, Some(midnight(date(2026, 2, 3))));
    assert_eq!(s.date_period_end_us, Some(midnight(date(2026, 5, 3))));
    assert_eq!(s.date_term_us, s.date_period_end_us);
    assert_eq!(s.billing_anchor.as_deref(), Some("2026-02-03"));
    let features: Vec<_> = v
        .features
        .iter()
        .map(|f| {
            (
                f.reference.as_str(),
                f.is_included,
                f.is_enabled,
                f.quantity_included,
                f.quantity_current,
            )
        })
        .collect();
    assert_eq!(
        features,
        [
            ("seats", true, true, Some(3), Some(10)),
            ("support", true, true, None, None),
            ("sms", true, true, Some(100), Some(0)),
        ]
    );
    assert_eq!(v.features[0].title, "Seats");
    assert_eq!(
        v.metadata.unwrap()["Site"],
        serde_json::json!("www.example.com")
    );
    // The up-front fee and the first quarter are due, once.
    let lines = w.lines(id).await;
    assert_eq!(
        summary(&lines),
        [
            ("AutoSubscriptionUpfront".into(), 10000),
            ("AutoSubscriptionRecurrence".into(), 19900)
        ]
    );
    assert_eq!(
        lines[1].date_period_start_us,
        Some(midnight(date(2026, 2, 3)))
    );
    assert_eq!(
        lines[1].date_period_end_us,
        Some(midnight(date(2026, 5, 3)))
    );
    assert_eq!(
        lines[1].natural_key.as_deref(),
        Some(format!("subscription={}:period=0:recurrence", s.id).as_str())
    );
}
both_backends!(create_copies_the_offer_with_every_override => sqlite_create_overrides, postgres_create_overrides);

async fn create_rejects_bad_overrides_with_every_problem(store: Store) {
    let w = World::new(store).await;
    w.customer("cust-1", None).await;
    let request = CreateSubscription {
        overrides: Overrides {
            amount_recurrence: Some(-1),
            unit_recurrence: Some("Fortnight".into()),
            count_recurrences: Some(Some(2)),
            count_min_recurrences: Some(Some(3)),
            ..Default::default()
        },
        features: vec![
            FeatureOverride {
                reference: "nope".into(),
                ..Default::default()
            },
            FeatureOverride {
                reference: "support".into(),
                quantity_current: Some(3),
                ..Default::default()
            },
        ],
        ..w.request("cust-1", "basic")
    };
    let err = subscriptions::create(&w.store, &request, at(date(2026, 2, 3), 10))
        .await
        .unwrap_err();
    let ServiceError::Invalid(problems) = err else {
        panic!("expected Invalid, got {err:?}")
    };
    let all = problems.join("\n");
    for expected in [
        "UnitRecurrence: 'Fortnight'",
        "AmountRecurrence must not be negative",
        "CountMinRecurrences must not exceed CountRecurrences",
        "feature 'nope': no such feature",
        "feature 'support': an OnOff feature has no quantity",
    ] {
        assert!(all.contains(expected), "{expected} missing from:\n{all}");
    }
    // Nothing was written.
    let page = subscriptions::list(
        &w.store,
        w.business,
        &ListFilter::default(),
        PageRequest::new(0, 10),
        0,
    )
    .await
    .unwrap();
    assert_eq!(page.total, 0);

    let unknown = w.request("cust-1", "gold");
    let err = subscriptions::create(&w.store, &unknown, 0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::NotFound(m) if m.contains("offer 'gold'")),
        "{err:?}"
    );
}
both_backends!(create_rejects_bad_overrides_with_every_problem => sqlite_create_invalid, postgres_create_invalid);

async fn try_start_needs_a_payment_method_only_when_something_is_due(store: Store) {
    let w = World::new(store).await;
    let now = at(date(2026, 2, 3), 10);
    let id = w.customer("cust-1", None).await;
    // Without TryStart the merchant's draft waits for POST …/Start.
    let draft = w.create(w.request("cust-1", "free"), now).await;
    assert_eq!(draft.state, SubscriptionState::DraftAgent);
    assert_eq!(draft.subscription.date_period_start_us, None);
    // A free offer starts without a payment method.
    let free = w.started("cust-1", "free", now).await;
    assert_eq!(free.state, SubscriptionState::ActiveRunning);
    // A paid one waits for the customer to register one.
    let paid = w.started("cust-1", "basic", now).await;
    assert_eq!(paid.state, SubscriptionState::DraftCustomer);
    assert!(!paid.is_customer_billable);
    assert!(w.lines(id).await.is_empty());

    // EnsureBillable refuses before writing anything.
    let mut r = w.request("cust-1", "basic");
    r.flags.ensure_billable = true;
    let err = subscriptions::create(&w.store, &r, now).await.unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::Refused {
                code: "Error.Customer.PaymentSettings.Missing",
                ..
            }
        ),
        "{err:?}"
    );
    let page = subscriptions::list(
        &w.store,
        w.business,
        &ListFilter::default(),
        PageRequest::new(0, 10),
        now,
    )
    .await
    .unwrap();
    assert_eq!(page.total, 3);

    // The merchant can start the customer's draft; its lines are then due.
    let started = subscriptions::start(
        &w.store,
        w.business,
        paid.subscription.id,
        StartOptions::default(),
        now,
    )
    .await
    .unwrap();
    assert_eq!(started.state, SubscriptionState::ActiveRunning);
    assert_eq!(
        summary(&w.lines(id).await),
        [("AutoSubscriptionRecurrence".into(), 10000)]
    );
    // Started with EnsureBillable, the other draft is refused.
    let err = subscriptions::start(
        &w.store,
        w.business,
        draft.subscription.id,
        StartOptions {
            ensure_billable: true,
            bill_now: false,
        },
        now,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ServiceError::Refused { .. }), "{err:?}");
}
both_backends!(try_start_needs_a_payment_method_only_when_something_is_due => sqlite_try_start, postgres_try_start);

async fn future_start_is_delayed_and_backdated_start_keeps_its_anchor(store: Store) {
    let w = World::new(store).await;
    let now = at(date(2026, 2, 3), 10);
    let id = w.customer("cust-1", Some("Card")).await;
    let mut r = w.request("cust-1", "basic");
    r.flags.try_start = true;
    r.date_start_us = Some(at(date(2026, 2, 20), 9));
    let v = w.create(r, now).await;
    assert_eq!(v.state, SubscriptionState::DraftDelayedStart);
    assert_eq!(v.subscription.date_start_us, Some(at(date(2026, 2, 20), 9)));
    assert_eq!(
        v.subscription.date_period_start_us,
        Some(midnight(date(2026, 2, 20)))
    );
    assert_eq!(
        v.subscription.date_period_end_us,
        Some(midnight(date(2026, 3, 20)))
    );
    assert!(
        w.lines(id).await.is_empty(),
        "nothing is due before the start"
    );

    // Started early by the merchant: it starts today.
    let started = subscriptions::start(
        &w.store,
        w.business,
        v.subscription.id,
        StartOptions::default(),
        now,
    )
    .await
    .unwrap();
    assert_eq!(started.state, SubscriptionState::ActiveRunning);
    assert_eq!(started.subscription.date_start_us, Some(now));
    assert_eq!(
        started.subscription.billing_anchor.as_deref(),
        Some("2026-02-03")
    );

    // Backdated to Jan 10 with Migration: running in its first period (Jan 10
    // to Feb 10), nothing billed.
    let mut r = w.request("cust-1", "premium");
    r.date_start_us = Some(at(date(2026, 1, 10), 8));
    r.flags.migration = true;
    let migrated = w.create(r, now).await;
    assert_eq!(migrated.state, SubscriptionState::ActiveRunning);
    assert_eq!(migrated.subscription.period_index, 0);
    assert_eq!(
        migrated.subscription.date_period_start_us,
        Some(midnight(date(2026, 1, 10)))
    );
    assert_eq!(
        migrated.subscription.date_period_end_us,
        Some(midnight(date(2026, 2, 10)))
    );
    assert_eq!(
        migrated.subscription.date_start_us,
        Some(at(date(2026, 1, 10), 8))
    );
    assert_eq!(
        summary(&w.lines(id).await),
        [("AutoSubscriptionRecurrence".into(), 10000)],
        "only the early-started Basic is billed"
    );
}
both_backends!(future_start_is_delayed_and_backdated_start_keeps_its_anchor => sqlite_delayed_start, postgres_delayed_start);

async fn trial_comes_first_and_paid_periods_follow_from_its_end(store: Store) {
    let w = World::new(store).await;
    let now = at(date(2026, 1, 31), 15);
    let id = w.customer("cust-1", Some("DirectDebit")).await;
    let v = w.started("cust-1", "trial", now).await;
    let s = &v.subscription;
    assert_eq!(v.state, SubscriptionState::ActiveRunning);
    assert!(s.is_trial);
    assert_eq!(v.count_days_trial, Some(14));
    assert_eq!(s.date_period_start_us, Some(midnight(date(2026, 1, 31))));
    assert_eq!(s.date_period_end_us, Some(midnight(date(2026, 2, 14))));
    assert_eq!(s.billing_anchor.as_deref(), Some("2026-02-14"));
    // The trial is free; the set-up fee is due now.
    assert_eq!(
        summary(&w.lines(id).await),
        [("AutoSubscriptionUpfront".into(), 4900)]
    );

    // Overriding the trial: 1 week at €5.
    let mut r = w.request("cust-1", "trial");
    r.flags.try_start = true;
    r.overrides = Overrides {
        duration_trial: Some(1),
        unit_trial: Some("Week".into()),
        amount_trial: Some(500),
        amount_upfront: Some(0),
        ..Default::default()
    };
    let custom = w.create(r, now).await;
    assert_eq!(
        custom.subscription.date_period_end_us,
        Some(midnight(date(2026, 2, 7)))
    );
    assert_eq!(
        summary(&w.lines(id).await)[1..],
        [("AutoSubscriptionTrial".into(), 500)]
    );
}
both_backends!(trial_comes_first_and_paid_periods_follow_from_its_end => sqlite_trial, postgres_trial);

/// billing-rules worked example: monthly €100 from Jan 10, changed on
/// Mar 25 to a monthly €180 offer.
async fn immediate_upgrade_prorates_as_billing_rules(store: Store) {
    let w = World::new(store).await;
    let id = w.customer("cust-1", Some("Card")).await;
    let now = at(date(2026, 3, 25), 11);
    let mut r = w.request("cust-1", "basic");
    r.date_start_us = Some(at(date(2026, 1, 10), 9));
    r.flags.migration = true;
    let old = w.create(r, now).await;
    assert_eq!(
        old.subscription.date_period_start_us,
        Some(midnight(date(2026, 3, 10)))
    );

    let options = UpgradeOptions {
        offer_reference: "premium".into(),
        immediate: true,
        bill_now: true,
        ignore_engagement: false,
    };
    let new = subscriptions::upgrade(&w.store, w.business, old.subscription.id, &options, now)
        .await
        .unwrap();
    assert_eq!(new.state, SubscriptionState::ActiveRunning);
    assert_eq!(new.offer_reference.as_deref(), Some("premium"));
    assert_eq!(new.subscription.amount_recurrence, 18000);
    // Same anchor: the new subscription renews on Apr 10 at €180.
    assert_eq!(
        new.subscription.billing_anchor.as_deref(),
        Some("2026-01-10")
    );
    assert_eq!(
        new.subscription.date_period_start_us,
        Some(midnight(date(2026, 3, 10)))
    );
    assert_eq!(
        new.subscription.date_term_us,
        Some(midnight(date(2026, 4, 10)))
    );
    // Limitation quantities carry over.
    assert_eq!(new.features[0].reference, "seats");
    assert_eq!(new.features[0].quantity_included, Some(10));

    let old_after = subscriptions::get(&w.store, w.business, old.subscription.id, now)
        .await
        .unwrap();
    assert_eq!(old_after.state, SubscriptionState::EndedUpgrade);
    assert_eq!(old_after.subscription.date_end_us, Some(now));

    let lines = w.lines(id).await;
    assert_eq!(
        summary(&lines),
        [
            ("AutoSubscriptionRecurrenceProrata".into(), -5161),
            ("AutoSubscriptionRecurrenceProrata".into(), 9290)
        ]
    );
    assert_eq!(lines[0].subscription_id, Some(old.subscription.id));
    assert_eq!(lines[1].subscription_id, Some(new.subscription.id));
    assert_eq!(lines.iter().map(|l| l.amount_subtotal).sum::<i64>(), 4129);
    assert_eq!(
        lines[0].date_period_start_us,
        Some(midnight(date(2026, 3, 25)))
    );
    assert_eq!(
        lines[0].date_period_end_us,
        Some(midnight(date(2026, 4, 10)))
    );

    // BillNow asked the billing engine, once.
    let mut conn = w.store.acquire().await.unwrap();
    let key = format!(
        "bill-now:business={}:subscription={}:period=0:bill",
        w.business, new.subscription.id
    );
    let job = abo_store::jobs::find_by_natural_key(&mut conn, &key)
        .await
        .unwrap();
    assert_eq!(job.map(|j| j.kind).as_deref(), Some("BillCustomer"));

    // The ended subscription cannot change again.
    let err = subscriptions::upgrade(&w.store, w.business, old.subscription.id, &options, now)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Conflict(m) if m.contains("in state EndedUpgrade")),
        "{err:?}"
    );
}
both_backends!(immediate_upgrade_prorates_as_billing_rules => sqlite_upgrade_proration, postgres_upgrade_proration);

async fn upgrade_during_trial_deducts_the_trial_used(store: Store) {
    let w = World::new(store).await;
    let id = w.customer("cust-1", Some("Card")).await;
    let start = at(date(2026, 3, 1), 9);
    let old = w.started("cust-1", "trial", start).await;
    // Ten days later, to an offer without trial: the paid period starts now.
    let now = at(date(2026, 3, 11), 9);
    let options = UpgradeOptions {
        offer_reference: "premium".into(),
        immediate: true,
        bill_now: false,
        ignore_engagement: false,
    };
    let new = subscriptions::upgrade(&w.store, w.business, old.subscription.id, &options, now)
        .await
        .unwrap();
    assert!(!new.subscription.is_trial);
    assert_eq!(
        new.subscription.billing_anchor.as_deref(),
        Some("2026-03-11")
    );
    assert_eq!(
        new.subscription.date_term_us,
        Some(midnight(date(2026, 4, 11)))
    );
    assert_eq!(
        summary(&w.lines(id).await),
        [
            ("AutoSubscriptionUpfront".into(), 4900),
            ("AutoSubscriptionRecurrence".into(), 18000)
        ]
    );
}
both_backends!(upgrade_during_trial_deducts_the_trial_used => sqlite_upgrade_trial, postgres_upgrade_trial);

async fn upgrade_at_term_and_commitment(store: Store) {
    let w = World::new(store).await;
    w.customer("cust-1", Some("Card")).await;
    let now = at(date(2026, 2, 3), 10);
    let committed = w.started("cust-1", "committed", now).await;
    assert!(committed.is_engaged);
    let mut options = UpgradeOptions {
        offer_reference: "premium".into(),
        immediate: true,
        bill_now: false,
        ignore_engagement: false,
    };
    let err = subscriptions::upgrade(
        &w.store,
        w.business,
        committed.subscription.id,
        &options,
        now,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::Refused {
                code: "Error.Subscription.Engaged",
                ..
            }
        ),
        "{err:?}"
    );
    // At term too: the first term (Mar 3) is inside the 3-month commitment.
    options.immediate = false;
    let err = subscriptions::upgrade(
        &w.store,
        w.business,
        committed.subscription.id,
        &options,
        now,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ServiceError::Refused { .. }), "{err:?}");

    // IgnoreEngagement, at term: a draft replaces it at its term.
    options.ignore_engagement = true;
    let draft = subscriptions::upgrade(
        &w.store,
        w.business,
        committed.subscription.id,
        &options,
        now,
    )
    .await
    .unwrap();
    assert_eq!(draft.state, SubscriptionState::DraftDelayedUpgrade);
    assert_eq!(
        draft.subscription.date_start_us,
        Some(midnight(date(2026, 3, 3)))
    );
    assert_eq!(
        draft.subscription.date_term_us,
        Some(midnight(date(2026, 4, 3)))
    );
    let old = subscriptions::get(&w.store, w.business, committed.subscription.id, now)
        .await
        .unwrap();
    assert_eq!(old.state, SubscriptionState::ActiveDelayedUpgrade);
    assert_eq!(old.state_after_term, Some(SubscriptionState::EndedUpgrade));
    // A second change must wait for the first to be cancelled.
    let err = subscriptions::upgrade(
        &w.store,
        w.business,
        committed.subscription.id,
        &options,
        now,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ServiceError::Conflict(_)), "{err:?}");

    // Terminating now deletes the draft that would have replaced it.
    let ended = subscriptions::terminate(
        &w.store,
        w.business,
        committed.subscription.id,
        TerminationOptions {
            immediate: true,
            date_termination_us: None,
        },
        now,
    )
    .await
    .unwrap();
    assert_eq!(ended.state, SubscriptionState::EndedTerminated);
    let draft = subscriptions::get(&w.store, w.business, draft.subscription.id, now)
        .await
        .unwrap();
    assert_eq!(draft.state, SubscriptionState::Deleted);
}
both_backends!(upgrade_at_term_and_commitment => sqlite_upgrade_commitment, postgres_upgrade_commitment);

async fn termination_at_term_then_immediate_with_credit_and_fee(store: Store) {
    let w = World::new(store).await;
    let id = w.customer("cust-1", Some("Card")).await;
    let start = at(date(2026, 1, 10), 9);
    let v = w.started("cust-1", "committed", start).await;
    let sub_id = v.subscription.id;

    let now = at(date(2026, 1, 25), 16);
    let at_term = subscriptions::terminate(
        &w.store,
        w.business,
        sub_id,
        TerminationOptions::default(),
        now,
    )
    .await
    .unwrap();
    assert_eq!(at_term.state, SubscriptionState::ActiveDelayedTermination);
    assert_eq!(
        at_term.state_after_term,
        Some(SubscriptionState::EndedTerminated)
    );
    assert_eq!(
        at_term.subscription.date_term_us,
        Some(midnight(date(2026, 2, 10)))
    );
    assert_eq!(at_term.date_next_billing_us, None, "it will not renew");
    // Requesting it twice is a state conflict, with the core's message.
    let err = subscriptions::terminate(
        &w.store,
        w.business,
        sub_id,
        TerminationOptions::default(),
        now,
    )
    .await
    .unwrap_err();
    let ServiceError::Conflict(message) = err else {
        panic!("expected Conflict, got {err:?}")
    };
    assert!(
        message.contains("cannot terminate at the end of the period a subscription in state ActiveDelayedTermination"),
        "{message}"
    );

    // Now: Jan 25 to Feb 10 is 16 of the period's 31 days, credited; the
    // commitment is not over, so the termination fee is due.
    let ended = subscriptions::terminate(
        &w.store,
        w.business,
        sub_id,
        TerminationOptions {
            immediate: true,
            date_termination_us: None,
        },
        now,
    )
    .await
    .unwrap();
    assert_eq!(ended.state, SubscriptionState::EndedTerminated);
    assert_eq!(ended.subscription.date_end_us, Some(now));
    assert!(!ended.is_engaged);
    assert_eq!(
        summary(&w.lines(id).await),
        [
            ("AutoSubscriptionRecurrence".into(), 3000),
            // 3000 × 16 / 31 = 1548.39
            ("AutoSubscriptionRecurrenceProrata".into(), -1548),
            ("AutoSubscriptionTermination".into(), 1000),
        ]
    );
}
both_backends!(termination_at_term_then_immediate_with_credit_and_fee => sqlite_termination, postgres_termination);

async fn termination_on_a_date(store: Store) {
    let w = World::new(store).await;
    w.customer("cust-1", Some("Card")).await;
    let now = at(date(2026, 1, 12), 9);
    let v = w.started("cust-1", "basic", now).await;
    // Beyond the current period: move the term first.
    let err = subscriptions::terminate(
        &w.store,
        w.business,
        v.subscription.id,
        TerminationOptions {
            immediate: false,
            date_termination_us: Some(at(date(2026, 3, 1), 0)),
        },
        now,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ServiceError::Invalid(_)), "{err:?}");
    let on_date = subscriptions::terminate(
        &w.store,
        w.business,
        v.subscription.id,
        TerminationOptions {
            immediate: false,
            date_termination_us: Some(at(date(2026, 2, 1), 0)),
        },
        now,
    )
    .await
    .unwrap();
    assert_eq!(on_date.state, SubscriptionState::ActiveDelayedTermination);
    assert_eq!(
        on_date.subscription.date_term_us,
        Some(at(date(2026, 2, 1), 0))
    );
}
both_backends!(termination_on_a_date => sqlite_termination_date, postgres_termination_date);

async fn suspension_restart_and_term_moves(store: Store) {
    let w = World::new(store).await;
    let id = w.customer("cust-1", Some("Card")).await;
    let start = at(date(2026, 1, 10), 9);
    let v = w.started("cust-1", "basic", start).await;
    let sub_id = v.subscription.id;

    // Illegal: starting a running subscription.
    let err = subscriptions::start(&w.store, w.business, sub_id, StartOptions::default(), start)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Conflict(m) if m.contains("cannot start a subscription in state ActiveRunning")),
        "{err:?}"
    );

    // The term moves to Feb 20: the renewal moves with it.
    let moved = subscriptions::move_term(
        &w.store,
        w.business,
        sub_id,
        at(date(2026, 2, 20), 0),
        start,
    )
    .await
    .unwrap();
    assert_eq!(
        moved.subscription.date_term_us,
        Some(at(date(2026, 2, 20), 0))
    );
    assert_eq!(
        moved.subscription.date_period_end_us,
        Some(at(date(2026, 2, 20), 0))
    );
    assert_eq!(
        moved.subscription.billing_anchor.as_deref(),
        Some("2026-02-20")
    );
    let err = subscriptions::move_term(&w.store, w.business, sub_id, start - 1, start)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Invalid(_)), "{err:?}");

    let suspended = subscriptions::request_suspension(&w.store, w.business, sub_id, start)
        .await
        .unwrap();
    assert_eq!(suspended.state, SubscriptionState::ActiveDelayedSuspension);
    assert_eq!(
        suspended.state_after_term,
        Some(SubscriptionState::SuspendedAgent)
    );

    // The billing engine suspends at the term (simulated here).
    {
        let mut conn = w.store.acquire().await.unwrap();
        store_subs::update_state(&mut conn, w.business, sub_id, "SuspendedAgent", start)
            .await
            .unwrap();
    }
    // Restarted on Apr 2, after the term: renewed into the period that
    // contains today, laid out from the new anchor (Mar 20 to Apr 20).
    let now = at(date(2026, 4, 2), 9);
    let restarted =
        subscriptions::start(&w.store, w.business, sub_id, StartOptions::default(), now)
            .await
            .unwrap();
    assert_eq!(restarted.state, SubscriptionState::ActiveRunning);
    assert_eq!(restarted.subscription.period_index, 1);
    assert_eq!(
        restarted.subscription.date_period_start_us,
        Some(midnight(date(2026, 3, 20)))
    );
    assert_eq!(
        restarted.subscription.date_period_end_us,
        Some(midnight(date(2026, 4, 20)))
    );
    let lines = w.lines(id).await;
    assert_eq!(
        summary(&lines),
        [
            ("AutoSubscriptionRecurrence".into(), 10000),
            ("AutoSubscriptionRecurrence".into(), 10000)
        ]
    );
    assert_ne!(lines[0].natural_key, lines[1].natural_key);

    // Ended subscriptions refuse every change.
    subscriptions::terminate(
        &w.store,
        w.business,
        sub_id,
        TerminationOptions {
            immediate: true,
            date_termination_us: None,
        },
        now,
    )
    .await
    .unwrap();
    for err in [
        subscriptions::move_term(&w.store, w.business, sub_id, now + 1_000_000, now)
            .await
            .unwrap_err(),
        subscriptions::request_suspension(&w.store, w.business, sub_id, now)
            .await
            .unwrap_err(),
        subscriptions::start(&w.store, w.business, sub_id, StartOptions::default(), now)
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(err, ServiceError::Conflict(_)), "{err:?}");
    }
}
both_backends!(suspension_restart_and_term_moves => sqlite_suspension_restart, postgres_suspension_restart);

async fn reads_are_scoped_and_pick_the_relevant_subscription(store: Store) {
    let w = World::new(store.clone()).await;
    let other = World::new(store).await;
    w.customer("cust-1", Some("Card")).await;
    w.customer("payer", Some("Card")).await;
    other.customer("cust-1", Some("Card")).await;
    let now = at(date(2026, 2, 3), 10);

    let ended = w.started("cust-1", "basic", now).await;
    subscriptions::terminate(
        &w.store,
        w.business,
        ended.subscription.id,
        TerminationOptions {
            immediate: true,
            date_termination_us: None,
        },
        now,
    )
    .await
    .unwrap();
    let mut r = w.request("cust-1", "premium");
    r.flags.try_start = true;
    r.buyer_reference = Some("payer".into());
    let active = w.create(r, now).await;
    assert_eq!(active.buyer_reference, "payer");
    let _draft = w.create(w.request("cust-1", "free"), now).await;

    // Another business cannot read it.
    let err = subscriptions::get(&other.store, other.business, active.subscription.id, now)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::NotFound(_)), "{err:?}");

    let found = subscriptions::get_for_customer(&w.store, w.business, None, "cust-1", None, now)
        .await
        .unwrap();
    assert_eq!(
        found.subscription.id, active.subscription.id,
        "active first"
    );
    let on_basic =
        subscriptions::get_for_customer(&w.store, w.business, None, "cust-1", Some("basic"), now)
            .await
            .unwrap();
    assert_eq!(on_basic.subscription.id, ended.subscription.id);
    let err = subscriptions::get_for_customer(&w.store, w.business, None, "payer", None, now)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::NotFound(_)), "{err:?}");

    let all = |filter: ListFilter, page: PageRequest| {
        let store = w.store.clone();
        let b = w.business;
        async move {
            subscriptions::list(&store, b, &filter, page, now)
                .await
                .unwrap()
        }
    };
    let page = all(ListFilter::default(), PageRequest::new(1, 1)).await;
    assert_eq!(page.total, 3);
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].subscription.id, active.subscription.id);
    let by_buyer = all(
        ListFilter {
            buyer_reference: Some("payer".into()),
            ..Default::default()
        },
        PageRequest::new(0, 10),
    )
    .await;
    assert_eq!(by_buyer.total, 1);
    let by_customer = all(
        ListFilter {
            customer_reference: Some("cust-1".into()),
            segment_reference: Some("main-eur".into()),
            ..Default::default()
        },
        PageRequest::new(0, 10),
    )
    .await;
    assert_eq!(by_customer.total, 3);
    let nobody = all(
        ListFilter {
            customer_reference: Some("ghost".into()),
            ..Default::default()
        },
        PageRequest::new(0, 10),
    )
    .await;
    assert_eq!(nobody.total, 0);
}
both_backends!(reads_are_scoped_and_pick_the_relevant_subscription => sqlite_reads, postgres_reads);
