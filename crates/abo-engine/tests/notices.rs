//! Effects the engine carries out on their date, through the test clock, on
//! SQLite and PostgreSQL: card-expiry notices (30, 7 and 1 days before the
//! end of the expiry month, then expired) written to the outbox as e-mails
//! and webhooks, and delayed subscriptions started on their start date.

mod common;

use abo_service::subscriptions::{self, CreateSubscription};
use abo_store::payments;
use abo_store::{Store, both_backends};
use common::*;
use jiff::civil::date;

async fn card_expiry_notices_then_expired(store: Store) {
    let t0 = at(date(2026, 3, 10), 10);
    let w = World::new(store, t0).await;
    let c = w.customer("card", "Free").await;
    // Works through May 31, 2026.
    let card_id = w
        .register(c, &card("4242 4242 4242 4242", "05/26"), t0)
        .await
        .id;
    // Another customer replaces its card before the first notice: the old
    // card is never mentioned.
    let other = w.customer("other", "Free").await;
    let old = w
        .register(other, &card("4242 4242 4242 4242", "05/26"), t0)
        .await
        .id;
    let mut conn = w.store.acquire().await.unwrap();
    payments::set_permission_state(&mut conn, w.business, old, "Disabled", t0)
        .await
        .unwrap();
    drop(conn);
    let new = w
        .register(other, &card("4242 4242 4242 4242", "05/29"), t0)
        .await
        .id;

    // Nothing before April 30 (May 1 is 30 days before May 31).
    w.advance(at(date(2026, 4, 30), 23)).await;
    assert!(
        w.job(&format!("email:permission={card_id}:CardExpiresSoon:30"))
            .await
            .is_none()
    );
    w.advance(at(date(2026, 6, 2), 0)).await;
    for (days, on) in [
        (30, date(2026, 5, 1)),
        (7, date(2026, 5, 24)),
        (1, date(2026, 5, 30)),
    ] {
        let mail = w
            .outbox(&format!(
                "email:permission={card_id}:CardExpiresSoon:{days}"
            ))
            .await;
        assert_eq!(mail.kind, "Email");
        assert_eq!(mail.created_at_us, at(on, 0), "{days} days");
        let payload: serde_json::Value = serde_json::from_str(&mail.payload).unwrap();
        assert_eq!(payload["Template"], "CardExpiresSoon");
        assert_eq!(payload["IdCustomer"], c);
        assert_eq!(payload["IdPermission"], card_id);
        assert_eq!(payload["DaysBefore"], days);
        let hook = w
            .outbox(&format!(
                "webhook:permission={card_id}:GatewayPermissionSoonExpired:{days}"
            ))
            .await;
        assert_eq!(hook.created_at_us, at(on, 0));
        assert!(
            hook.payload
                .contains("\"NameDisplay\":\"****-****-****-4242\"")
        );
    }
    let expired = w
        .outbox(&format!("email:permission={card_id}:CardExpired"))
        .await;
    assert_eq!(expired.created_at_us, at(date(2026, 6, 1), 0));
    assert!(expired.payload.contains("\"Template\":\"CardExpired\""));
    w.outbox(&format!(
        "webhook:permission={card_id}:GatewayPermissionExpired"
    ))
    .await;
    let mut conn = w.store.acquire().await.unwrap();
    let p = payments::get_permission(&mut conn, w.business, card_id)
        .await
        .unwrap();
    assert_eq!(p.state, "Expired");
    drop(conn);
    // The replaced card: no notice. The new one (05/29): none yet.
    for id in [old, new] {
        assert!(
            w.job(&format!("email:permission={id}:CardExpiresSoon:30"))
                .await
                .is_none()
        );
        assert!(
            w.job(&format!("email:permission={id}:CardExpired"))
                .await
                .is_none()
        );
    }
    // Running again changes nothing (natural keys).
    let again = w.advance(at(date(2026, 6, 3), 0)).await;
    assert_eq!(again.run.jobs_run, 0);
}
both_backends!(card_expiry_notices_then_expired => sqlite_card_expiry_notices_then_expired, postgres_card_expiry_notices_then_expired);

async fn delayed_subscription_starts_on_its_date(store: Store) {
    let t0 = at(date(2026, 3, 10), 10);
    let w = World::new(store, t0).await;
    let c = w.customer("later", "Free").await;
    w.register(c, &card("4242 4242 4242 4242", "12/30"), t0)
        .await;
    let start = at(date(2026, 4, 15), 10);
    let request = CreateSubscription {
        business_id: w.business,
        customer_reference: Some("later".into()),
        offer_reference: "yearly".into(),
        date_start_us: Some(start),
        ..Default::default()
    };
    let id = subscriptions::create(&w.store, &request, t0)
        .await
        .unwrap()
        .subscription
        .id;
    assert_eq!(w.sub(id).await.state, "DraftDelayedStart");
    w.advance(start - 1).await;
    assert_eq!(w.sub(id).await.state, "DraftDelayedStart");
    assert!(w.lines(c).await.is_empty());

    let report = w.advance(at(date(2026, 4, 20), 0)).await;
    assert_eq!(report.run.starts, 1);
    let s = w.sub(id).await;
    assert_eq!(s.state, "ActiveRunning");
    assert_eq!(s.date_start_us, Some(start));
    assert_eq!(
        (
            local(s.date_period_start_us.unwrap()),
            local(s.date_period_end_us.unwrap())
        ),
        (date(2026, 4, 15), date(2027, 4, 15))
    );
    let mut lines: Vec<_> = w
        .lines(c)
        .await
        .into_iter()
        .map(|l| (l.type_line, l.amount_subtotal))
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            ("AutoSubscriptionRecurrence".to_string(), 10000),
            ("AutoSubscriptionUpfront".to_string(), 500),
        ]
    );
    w.outbox(&format!("webhook:SubscriptionStarted:{id}:0"))
        .await;
    // Billed and charged on its start date.
    let inv = w.invoices(c).await;
    assert_eq!(inv.len(), 1);
    assert_eq!(
        (
            inv[0].state.as_str(),
            inv[0].amount_total,
            inv[0].date_issue_us
        ),
        ("Paid", 12600, Some(start))
    );
    // It renews a year later.
    w.advance(at(date(2027, 4, 15), 1)).await;
    assert_eq!(w.sub(id).await.period_index, 1);
    assert_eq!(w.invoices(c).await.len(), 2);
}
both_backends!(delayed_subscription_starts_on_its_date => sqlite_delayed_subscription_starts_on_its_date, postgres_delayed_subscription_starts_on_its_date);
