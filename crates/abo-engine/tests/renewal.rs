//! Subscriptions living in time, on SQLite and PostgreSQL: renewals from the
//! anchor through a leap year, trials, consumption in arrears, what waits for
//! the term, automatic suspension, and exactly-once under reruns and races.

use abo_core::SubscriptionState;
use abo_engine::Engine;
use abo_service::business::{BusinessSpec, create_business};
use abo_service::catalog::{import_catalog, parse_catalog};
use abo_service::subscriptions::{
    self, CreateSubscription, StartOptions, SubscriptionView, TerminationOptions,
};
use abo_service::usages::{UsageChange, UsageWrite, record_usage};
use abo_store::balance_lines::{self, BalanceLine};
use abo_store::customers::{self, NewCustomer, PaymentSettingsPatch};
use abo_store::subscriptions::{self as store_subs, Subscription};
use abo_store::{Store, both_backends, businesses, jobs, segments};
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;

const CATALOG: &str = r#"
[[segment]]
reference = "main-eur"
currency = "EUR"
time_zone = "Europe/Paris"
default = true

[[feature]]
reference = "sms"
name = "Text messages"
type = "Consumption"

[[feature]]
reference = "seats"
name = "Seats"
type = "Limitation"

[[offer]]
segment = "main-eur"
reference = "monthly"
name = "Monthly"
recurrence = "1 Month"
amount_recurrence = "10.00"

[[offer]]
segment = "main-eur"
reference = "metered"
name = "Metered"
recurrence = "1 Month"
amount_recurrence = "20.00"

  [[offer.feature]]
  feature = "sms"
  included = 100
  pricing = { unit = "0.10" }

  [[offer.feature]]
  feature = "seats"
  included = 2
  pricing = { unit = "5.00" }
  updatable_after_subscription = true

[[offer]]
segment = "main-eur"
reference = "trial"
name = "Pro with trial"
recurrence = "1 Month"
amount_recurrence = "19.00"
trial = { duration = "14 Day", amount = "0" }

[[offer]]
segment = "main-eur"
reference = "twice"
name = "Two months"
recurrence = "1 Month"
amount_recurrence = "30.00"
recurrences = 2
"#;

fn paris() -> TimeZone {
    TimeZone::get("Europe/Paris").unwrap()
}

fn at(d: Date, hour: i8) -> i64 {
    d.at(hour, 0, 0, 0)
        .to_zoned(paris())
        .unwrap()
        .timestamp()
        .as_microsecond()
}

fn local(us: i64) -> Date {
    jiff::Timestamp::from_microsecond(us)
        .unwrap()
        .to_zoned(paris())
        .date()
}

struct World {
    store: Store,
    business: i64,
    engine: Engine,
}

impl World {
    async fn new(store: Store, now: i64) -> World {
        let spec = BusinessSpec {
            name: "Acme".into(),
            country: "FR".into(),
            default_language: "en".into(),
            is_test: true,
        };
        let business = create_business(&store, &spec, now)
            .await
            .unwrap()
            .business
            .id;
        let file = parse_catalog(CATALOG).unwrap();
        import_catalog(&store, business, &file, now).await.unwrap();
        let mut conn = store.acquire().await.unwrap();
        businesses::set_test_clock(&mut conn, business, Some(now))
            .await
            .unwrap();
        drop(conn);
        World {
            engine: Engine::new(store.clone()),
            store,
            business,
        }
    }

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

    /// A subscription created as a draft and started by the merchant at `now`.
    async fn started(&self, customer: &str, offer: &str, now: i64) -> SubscriptionView {
        let request = CreateSubscription {
            business_id: self.business,
            customer_reference: Some(customer.into()),
            offer_reference: offer.into(),
            ..Default::default()
        };
        let draft = subscriptions::create(&self.store, &request, now)
            .await
            .unwrap();
        subscriptions::start(
            &self.store,
            self.business,
            draft.subscription.id,
            StartOptions::default(),
            now,
        )
        .await
        .unwrap()
    }

    async fn advance(&self, to: i64) -> abo_engine::AdvanceReport {
        self.engine
            .advance_clock(self.business, to, 0, "test-worker")
            .await
            .unwrap()
    }

    async fn sub(&self, id: i64) -> Subscription {
        let mut conn = self.store.acquire().await.unwrap();
        store_subs::get(&mut conn, self.business, id).await.unwrap()
    }

    async fn lines(&self, customer: i64) -> Vec<BalanceLine> {
        let mut conn = self.store.acquire().await.unwrap();
        balance_lines::list_for_customer(&mut conn, self.business, customer, None)
            .await
            .unwrap()
    }

    async fn job(&self, key: &str) -> Option<jobs::Job> {
        let mut conn = self.store.acquire().await.unwrap();
        jobs::find_by_natural_key(&mut conn, key).await.unwrap()
    }
}

/// (type, amount, period start, period end) of each line, oldest first.
fn summary(lines: &[BalanceLine]) -> Vec<(String, i64, Option<Date>, Option<Date>)> {
    let mut lines: Vec<_> = lines.iter().collect();
    lines.sort_by_key(|l| l.id);
    lines
        .iter()
        .map(|l| {
            (
                l.type_line.clone(),
                l.amount_subtotal,
                l.date_period_start_us.map(local),
                l.date_period_end_us.map(local),
            )
        })
        .collect()
}

fn period(s: &Subscription) -> (Date, Date) {
    (
        local(s.date_period_start_us.unwrap()),
        local(s.date_period_end_us.unwrap()),
    )
}

async fn anchor_31_through_a_leap_year(store: Store) {
    let start = at(date(2028, 1, 31), 10);
    let w = World::new(store, start).await;
    let c = w.customer("cust-1", Some("ExternalBank")).await;
    let v = w.started("cust-1", "monthly", start).await;
    let id = v.subscription.id;
    let expected = [
        (date(2028, 1, 31), date(2028, 2, 29)),
        (date(2028, 2, 29), date(2028, 3, 31)),
        (date(2028, 3, 31), date(2028, 4, 30)),
        (date(2028, 4, 30), date(2028, 5, 31)),
        (date(2028, 5, 31), date(2028, 6, 30)),
        (date(2028, 6, 30), date(2028, 7, 31)),
    ];
    assert_eq!(period(&w.sub(id).await), expected[0]);
    // Step one renewal at a time: each lands on its own date.
    for (n, p) in expected.iter().enumerate().skip(1) {
        let report = w.advance(at(p.0, 12)).await;
        assert_eq!(report.run.renewals, 1, "period {n}");
        let s = w.sub(id).await;
        assert_eq!(s.period_index, n as i64);
        assert_eq!(period(&s), *p, "period {n}");
        assert_eq!(s.state, "ActiveRunning");
    }
    let lines = summary(&w.lines(c).await);
    let want: Vec<_> = expected
        .iter()
        .map(|(a, b)| {
            (
                "AutoSubscriptionRecurrence".to_string(),
                1000,
                Some(*a),
                Some(*b),
            )
        })
        .collect();
    assert_eq!(lines, want);
    // Each line has its natural key and is billed at its term, on an issued
    // invoice (by the renewal's batch: no `BillCustomer` job is needed).
    for (n, _) in expected.iter().enumerate().skip(1) {
        let mut conn = w.store.acquire().await.unwrap();
        let key = format!("subscription={id}:period={n}:recurrence");
        let line = balance_lines::find_by_natural_key(&mut conn, w.business, &key)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{key}"));
        assert_eq!(line.state_move, "Billed", "{key}");
        let invoice = abo_store::invoices::get(&mut conn, w.business, line.invoice_id.unwrap())
            .await
            .unwrap();
        assert!(invoice.full_number.is_some(), "{key}");
        drop(conn);
        let hook = format!("webhook:SubscriptionRenewed:{id}:{}", n - 1);
        assert!(w.job(&hook).await.is_some(), "{hook}");
    }
}
both_backends!(anchor_31_through_a_leap_year => sqlite_anchor_31_through_a_leap_year, postgres_anchor_31_through_a_leap_year);

async fn one_jump_renews_every_period_in_order(store: Store) {
    let start = at(date(2028, 1, 31), 10);
    let w = World::new(store, start).await;
    let c = w.customer("cust-1", Some("ExternalBank")).await;
    let id = w.started("cust-1", "monthly", start).await.subscription.id;
    let report = w.advance(at(date(2028, 5, 1), 0)).await;
    assert_eq!(report.run.renewals, 3);
    let s = w.sub(id).await;
    assert_eq!(period(&s), (date(2028, 4, 30), date(2028, 5, 31)));
    let starts: Vec<_> = summary(&w.lines(c).await)
        .into_iter()
        .map(|l| l.2.unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            date(2028, 1, 31),
            date(2028, 2, 29),
            date(2028, 3, 31),
            date(2028, 4, 30)
        ]
    );
    let mut conn = w.store.acquire().await.unwrap();
    let b = businesses::get(&mut conn, w.business).await.unwrap();
    assert_eq!(b.test_clock_us, Some(at(date(2028, 5, 1), 0)));
}
both_backends!(one_jump_renews_every_period_in_order => sqlite_one_jump_renews_every_period_in_order, postgres_one_jump_renews_every_period_in_order);

async fn trial_then_first_paid_period(store: Store) {
    let start = at(date(2026, 1, 31), 10);
    let w = World::new(store, start).await;
    let c = w.customer("cust-1", Some("ExternalBank")).await;
    let v = w.started("cust-1", "trial", start).await;
    let id = v.subscription.id;
    let s = w.sub(id).await;
    assert!(s.is_trial);
    assert_eq!(period(&s), (date(2026, 1, 31), date(2026, 2, 14)));
    w.advance(at(date(2026, 2, 14), 9)).await;
    let s = w.sub(id).await;
    assert!(!s.is_trial);
    assert_eq!(s.state, "ActiveRunning");
    assert_eq!(s.period_index, 1);
    assert_eq!(period(&s), (date(2026, 2, 14), date(2026, 3, 14)));
    assert_eq!(
        summary(&w.lines(c).await),
        [(
            "AutoSubscriptionRecurrence".to_string(),
            1900,
            Some(date(2026, 2, 14)),
            Some(date(2026, 3, 14))
        )]
    );
}
both_backends!(trial_then_first_paid_period => sqlite_trial_then_first_paid_period, postgres_trial_then_first_paid_period);

async fn consumption_is_billed_in_arrears_and_reset(store: Store) {
    let start = at(date(2026, 3, 10), 10);
    let w = World::new(store, start).await;
    let c = w.customer("cust-1", Some("ExternalBank")).await;
    let id = w.started("cust-1", "metered", start).await.subscription.id;
    for (feature, change) in [
        ("sms", UsageChange::Increment(150)),
        ("seats", UsageChange::Quantity(5)),
    ] {
        let write = UsageWrite {
            feature_reference: feature.into(),
            customer_reference: Some("cust-1".into()),
            subscription_id: Some(id),
            change,
            date_stamp_us: None,
            idempotency_key: None,
        };
        record_usage(&w.store, w.business, &write, at(date(2026, 3, 20), 10))
            .await
            .unwrap();
    }
    let before = w.lines(c).await.len();
    w.advance(at(date(2026, 4, 10), 12)).await;
    let lines = w.lines(c).await;
    let new: Vec<_> = summary(&lines).into_iter().skip(before).collect();
    assert_eq!(
        new,
        [
            // 150 - 100 included = 50 × €0.10, for the period that ended.
            (
                "AutoFeatureNotProratable".to_string(),
                500,
                Some(date(2026, 3, 10)),
                Some(date(2026, 4, 10))
            ),
            (
                "AutoSubscriptionRecurrence".to_string(),
                2000,
                Some(date(2026, 4, 10)),
                Some(date(2026, 5, 10))
            ),
            // 5 seats - 2 included = 3 × €5.00, in advance.
            (
                "AutoFeatureNotProratable".to_string(),
                1500,
                Some(date(2026, 4, 10)),
                Some(date(2026, 5, 10))
            ),
        ]
    );
    let consumption = lines.iter().find(|l| l.amount_subtotal == 500).unwrap();
    assert_eq!(consumption.quantity_reported, Some(150));
    assert_eq!(consumption.quantity_billed, Some(50));
    let s = w.sub(id).await;
    let sms = s
        .features
        .iter()
        .find(|f| f.feature_reference == "sms")
        .unwrap();
    assert_eq!(sms.quantity_current, Some(0));
    let seats = s
        .features
        .iter()
        .find(|f| f.feature_reference == "seats")
        .unwrap();
    assert_eq!(
        seats.quantity_current,
        Some(5),
        "a Limitation is never reset"
    );
}
both_backends!(consumption_is_billed_in_arrears_and_reset => sqlite_consumption_is_billed_in_arrears_and_reset, postgres_consumption_is_billed_in_arrears_and_reset);

async fn termination_happens_at_the_term(store: Store) {
    let start = at(date(2026, 3, 10), 10);
    let w = World::new(store, start).await;
    let c = w.customer("cust-1", Some("ExternalBank")).await;
    let id = w.started("cust-1", "monthly", start).await.subscription.id;
    subscriptions::terminate(
        &w.store,
        w.business,
        id,
        TerminationOptions::default(),
        at(date(2026, 3, 15), 10),
    )
    .await
    .unwrap();
    w.advance(at(date(2026, 4, 9), 23)).await;
    assert_eq!(w.sub(id).await.state, "ActiveDelayedTermination");
    w.advance(at(date(2026, 6, 1), 0)).await;
    let s = w.sub(id).await;
    assert_eq!(s.state, "EndedTerminated");
    assert_eq!(s.date_end_us, Some(at(date(2026, 4, 10), 0)));
    assert_eq!(
        w.lines(c).await.len(),
        1,
        "only the first period was charged"
    );
    let hook = w
        .job(&format!("webhook:SubscriptionTerminated:{id}:0"))
        .await
        .expect("the webhook is in the outbox");
    // Written at the term, in the renewal's transaction.
    assert_eq!(hook.created_at_us, at(date(2026, 4, 10), 0));
    assert!(
        hook.payload
            .contains("\"TypeTrigger\":\"SubscriptionTerminated\"")
    );
}
both_backends!(termination_happens_at_the_term => sqlite_termination_happens_at_the_term, postgres_termination_happens_at_the_term);

async fn count_recurrences_reached_ends_complete(store: Store) {
    let start = at(date(2026, 1, 5), 10);
    let w = World::new(store, start).await;
    let c = w.customer("cust-1", Some("ExternalBank")).await;
    let id = w.started("cust-1", "twice", start).await.subscription.id;
    w.advance(at(date(2026, 6, 1), 0)).await;
    let s = w.sub(id).await;
    assert_eq!(s.state, SubscriptionState::EndedComplete.as_str());
    assert_eq!(s.date_end_us, Some(at(date(2026, 3, 5), 0)));
    let amounts: Vec<_> = summary(&w.lines(c).await)
        .into_iter()
        .map(|l| l.1)
        .collect();
    assert_eq!(amounts, [3000, 3000]);
    assert!(
        w.job(&format!("webhook:SubscriptionHistory:{id}:1"))
            .await
            .is_some()
    );
}
both_backends!(count_recurrences_reached_ends_complete => sqlite_count_recurrences_reached_ends_complete, postgres_count_recurrences_reached_ends_complete);

async fn no_payment_method_suspends_at_renewal(store: Store) {
    let start = at(date(2026, 1, 5), 10);
    let w = World::new(store, start).await;
    let c = w.customer("cust-1", None).await;
    let id = w.started("cust-1", "monthly", start).await.subscription.id;
    w.advance(at(date(2026, 3, 1), 0)).await;
    let s = w.sub(id).await;
    assert_eq!(s.state, "SuspendedNoPaymentInfo");
    assert_eq!(s.period_index, 0);
    assert_eq!(w.lines(c).await.len(), 1, "no renewal was charged");
    assert!(
        w.job(&format!(
            "webhook:SubscriptionSuspendedPaymentInfoMissing:{id}:0"
        ))
        .await
        .is_some()
    );
}
both_backends!(no_payment_method_suspends_at_renewal => sqlite_no_payment_method_suspends_at_renewal, postgres_no_payment_method_suspends_at_renewal);

async fn the_same_renewal_twice_changes_nothing(store: Store) {
    let start = at(date(2026, 1, 5), 10);
    let w = World::new(store, start).await;
    let c = w.customer("cust-1", Some("ExternalBank")).await;
    let id = w.started("cust-1", "metered", start).await.subscription.id;
    let now = at(date(2026, 2, 5), 1);
    let first = abo_service::renewal::renew(&w.store, w.business, id, 0, "ActiveRunning", now)
        .await
        .unwrap();
    assert_eq!(first.unwrap().period_index, 1);
    let after_first = (w.sub(id).await, w.lines(c).await);
    let again = abo_service::renewal::renew(&w.store, w.business, id, 0, "ActiveRunning", now)
        .await
        .unwrap();
    assert_eq!(again, None);
    // And the engine, which would enqueue the same renewal, finds nothing new.
    w.engine
        .run_business(w.business, now, "other-worker")
        .await
        .unwrap();
    let after_again = (w.sub(id).await, w.lines(c).await);
    let keys = |lines: &[BalanceLine]| {
        lines
            .iter()
            .map(|l| (l.id, l.natural_key.clone(), l.amount_subtotal))
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&after_first.1), keys(&after_again.1));
    assert_eq!(after_first.1.len(), 2);
    assert_eq!(after_first.0.period_index, after_again.0.period_index);
    assert_eq!(
        after_first.0.date_period_end_us,
        after_again.0.date_period_end_us
    );
}
both_backends!(the_same_renewal_twice_changes_nothing => sqlite_the_same_renewal_twice_changes_nothing, postgres_the_same_renewal_twice_changes_nothing);

async fn racing_runners_write_one_set_of_lines(store: Store) {
    let start = at(date(2026, 1, 5), 10);
    let w = World::new(store, start).await;
    let mut customers = Vec::new();
    for i in 0..8 {
        let reference = format!("cust-{i}");
        customers.push(w.customer(&reference, Some("ExternalBank")).await);
        w.started(&reference, "monthly", start).await;
    }
    let now = at(date(2026, 4, 6), 0);
    let mut conn = w.store.acquire().await.unwrap();
    businesses::set_test_clock(&mut conn, w.business, Some(now))
        .await
        .unwrap();
    drop(conn);
    let mut runners = Vec::new();
    for r in 0..4 {
        let engine = w.engine.clone();
        let business = w.business;
        runners.push(tokio::spawn(async move {
            engine
                .run_business(business, now, &format!("node-{r}"))
                .await
                .unwrap()
        }));
    }
    let mut renewals = 0;
    for r in runners {
        renewals += r.await.unwrap().renewals;
    }
    // 8 subscriptions × 3 terms (Feb 5, Mar 5, Apr 5), each renewed once.
    assert_eq!(renewals, 24);
    for c in customers {
        let lines = w.lines(c).await;
        assert_eq!(lines.len(), 4, "customer {c}");
        let mut keys: Vec<_> = lines.iter().map(|l| l.natural_key.clone()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 4);
    }
}
both_backends!(racing_runners_write_one_set_of_lines => sqlite_racing_runners_write_one_set_of_lines, postgres_racing_runners_write_one_set_of_lines);

async fn suspension_requested_happens_at_the_term(store: Store) {
    let start = at(date(2026, 3, 10), 10);
    let w = World::new(store, start).await;
    let c = w.customer("cust-1", Some("ExternalBank")).await;
    let id = w.started("cust-1", "monthly", start).await.subscription.id;
    subscriptions::request_suspension(&w.store, w.business, id, at(date(2026, 3, 12), 10))
        .await
        .unwrap();
    w.advance(at(date(2026, 5, 1), 0)).await;
    let s = w.sub(id).await;
    assert_eq!(s.state, "SuspendedAgent");
    assert_eq!(s.period_index, 0);
    assert_eq!(w.lines(c).await.len(), 1);
    assert!(
        w.job(&format!("webhook:SubscriptionSuspendedAgent:{id}:0"))
            .await
            .is_some()
    );
}
both_backends!(suspension_requested_happens_at_the_term => sqlite_suspension_requested_happens_at_the_term, postgres_suspension_requested_happens_at_the_term);

async fn a_change_of_offer_at_term_starts_the_new_subscription(store: Store) {
    let start = at(date(2026, 3, 10), 10);
    let w = World::new(store, start).await;
    let c = w.customer("cust-1", Some("ExternalBank")).await;
    let old = w.started("cust-1", "monthly", start).await.subscription.id;
    let options = subscriptions::UpgradeOptions {
        offer_reference: "twice".into(),
        immediate: false,
        bill_now: false,
        ignore_engagement: false,
    };
    let new = subscriptions::upgrade(
        &w.store,
        w.business,
        old,
        &options,
        at(date(2026, 3, 20), 10),
    )
    .await
    .unwrap()
    .subscription
    .id;
    assert_eq!(w.sub(new).await.state, "DraftDelayedUpgrade");
    w.advance(at(date(2026, 4, 10), 12)).await;
    let o = w.sub(old).await;
    assert_eq!(o.state, "EndedUpgrade");
    assert_eq!(o.date_end_us, Some(at(date(2026, 4, 10), 0)));
    let n = w.sub(new).await;
    assert_eq!(n.state, "ActiveRunning");
    assert_eq!(period(&n), (date(2026, 4, 10), date(2026, 5, 10)));
    assert_eq!(
        summary(&w.lines(c).await),
        [
            (
                "AutoSubscriptionRecurrence".to_string(),
                1000,
                Some(date(2026, 3, 10)),
                Some(date(2026, 4, 10))
            ),
            (
                "AutoSubscriptionRecurrence".to_string(),
                3000,
                Some(date(2026, 4, 10)),
                Some(date(2026, 5, 10))
            ),
        ]
    );
    // The new one then renews, and completes after its two periods.
    w.advance(at(date(2026, 7, 1), 0)).await;
    assert_eq!(w.sub(new).await.state, "EndedComplete");
    assert_eq!(w.lines(c).await.len(), 3);
}
both_backends!(a_change_of_offer_at_term_starts_the_new_subscription => sqlite_a_change_of_offer_at_term_starts_the_new_subscription, postgres_a_change_of_offer_at_term_starts_the_new_subscription);

/// The background loop of `abo serve`: a business without a test clock
/// renews on the node's clock; the loop stops when asked.
async fn the_background_loop_renews_on_the_node_clock(store: Store) {
    let start = at(date(2026, 3, 10), 10);
    let w = World::new(store, start).await;
    w.customer("cust-1", Some("ExternalBank")).await;
    let id = w.started("cust-1", "monthly", start).await.subscription.id;
    let mut conn = w.store.acquire().await.unwrap();
    businesses::set_test_clock(&mut conn, w.business, None)
        .await
        .unwrap();
    drop(conn);
    let clock = abo_core::TestClock::shared(
        jiff::Timestamp::from_microsecond(at(date(2026, 4, 10), 1)).unwrap(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(w.engine.clone().run_forever(
        clock,
        "loop".into(),
        std::time::Duration::from_millis(50),
        async move {
            let _ = stopped.await;
        },
    ));
    let mut renewed = false;
    for _ in 0..100 {
        if w.sub(id).await.period_index == 1 {
            renewed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    stop.send(()).unwrap();
    task.await.unwrap();
    assert!(renewed, "the loop renewed the subscription");
    assert_eq!(
        period(&w.sub(id).await),
        (date(2026, 4, 10), date(2026, 5, 10))
    );
}
both_backends!(the_background_loop_renews_on_the_node_clock => sqlite_the_background_loop_renews_on_the_node_clock, postgres_the_background_loop_renews_on_the_node_clock);
