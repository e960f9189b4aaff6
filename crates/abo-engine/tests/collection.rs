//! Collection through the engine, driven by the test clock, on SQLite and
//! PostgreSQL: a card charged at issue, a card failing at renewal retried at
//! +3/+5/+7 days then `ProblemAuto` (and the buyer suspended at the next
//! renewal, restarted by its payment), SEPA (notice, debit 3 days later,
//! asynchronous settlement), an offline invoice paid by a registered
//! payment, then overdue.

mod common;

use abo_service::billing::register_offline_payment;
use abo_store::billing_settings::{self, BillingSettings};
use abo_store::{Store, both_backends};
use common::*;
use jiff::civil::date;

/// (state, subtotal, tax, total) of an invoice.
fn amounts(i: &abo_store::invoices::Invoice) -> (&str, i64, i64, i64) {
    (
        i.state.as_str(),
        i.amount_subtotal,
        i.amount_tax,
        i.amount_total,
    )
}

async fn card_is_charged_at_issue_and_at_renewal(store: Store) {
    let t0 = at(date(2026, 3, 10), 10);
    let w = World::new(store, t0).await;
    let c = w.customer("card", "Free").await;
    let permission = w
        .register(c, &card("4242 4242 4242 4242", "12/30"), t0)
        .await;
    let id = w.subscribe("card", "monthly", t0).await.subscription.id;
    let report = w.advance(t0 + 1).await;
    assert_eq!((report.run.invoices, report.run.payments), (1, 1));

    let inv = w.invoices(c).await;
    assert_eq!(inv.len(), 1);
    assert_eq!(amounts(&inv[0]), ("Paid", 1000, 200, 1200));
    assert_eq!(inv[0].type_payment, "Card");
    assert_eq!(inv[0].date_issue_us, Some(t0));
    assert_eq!(inv[0].date_payment_us, Some(t0));
    assert_eq!(inv[0].lines.len(), 1);
    assert_eq!(inv[0].lines[0].type_line, "AutoSubscriptionRecurrence");
    assert_eq!(
        (
            local(inv[0].lines[0].date_period_start_us.unwrap()),
            local(inv[0].lines[0].date_period_end_us.unwrap())
        ),
        (date(2026, 3, 10), date(2026, 4, 10))
    );
    let paid = w.payments(inv[0].id).await;
    assert_eq!(paid.len(), 1);
    assert_eq!(
        (
            paid[0].state.as_str(),
            paid[0].amount,
            paid[0].permission_id
        ),
        ("Succeeded", 1200, Some(permission.id))
    );
    let first = inv[0].id;
    for key in [
        format!("webhook:invoice={first}:InvoiceDebitIssuedPaymentAuto"),
        format!("email:invoice={first}:InvoiceNewPaymentAuto"),
        format!("webhook:invoice={first}:InvoiceDebitPaid"),
        format!("webhook:invoice={first}:CustomerChargingSucceeded"),
    ] {
        w.outbox(&key).await;
    }

    // The renewal on April 10 (midnight, Paris) is charged at once.
    w.advance(at(date(2026, 4, 10), 12)).await;
    let inv = w.invoices(c).await;
    assert_eq!(inv.len(), 2);
    assert_eq!(amounts(&inv[1]), ("Paid", 1000, 200, 1200));
    assert_eq!(inv[1].date_issue_us, Some(at(date(2026, 4, 10), 0)));
    assert_eq!(inv[1].date_payment_us, Some(at(date(2026, 4, 10), 0)));
    assert_eq!(w.sub(id).await.period_index, 1);
    assert_ne!(inv[0].full_number, inv[1].full_number);
}
both_backends!(card_is_charged_at_issue_and_at_renewal => sqlite_card_is_charged_at_issue_and_at_renewal, postgres_card_is_charged_at_issue_and_at_renewal);

async fn card_failing_at_renewal_is_retried_then_problem_auto(store: Store) {
    let t0 = at(date(2026, 3, 10), 10);
    let w = World::new(store, t0).await;
    // Unpaid for 14 days or more: suspended at the next renewal.
    let mut conn = w.store.acquire().await.unwrap();
    billing_settings::set(
        &mut conn,
        w.business,
        w.segment,
        &BillingSettings {
            unpaid_threshold_days: Some(14),
            ..Default::default()
        },
        t0,
    )
    .await
    .unwrap();
    drop(conn);
    let c = w.customer("poor", "Free").await;
    // ProAbono's test card: ok at registration, insufficient funds at renewal.
    w.register(c, &card("4200 4600 3702 5901", "12/30"), t0)
        .await;
    let id = w.subscribe("poor", "monthly", t0).await.subscription.id;
    w.advance(t0 + 1).await;
    assert_eq!(amounts(&w.invoices(c).await[0]), ("Paid", 1000, 200, 1200));

    // April 10: the renewal's invoice fails, then its retries.
    let renewal = at(date(2026, 4, 10), 0);
    w.advance(at(date(2026, 4, 10), 12)).await;
    let inv = w.invoices(c).await;
    assert_eq!(inv.len(), 2);
    let second = inv[1].id;
    assert_eq!(amounts(&inv[1]), ("DueAuto", 1000, 200, 1200));
    assert_eq!(inv[1].date_payment_scheduled_us, Some(renewal + 3 * DAY));

    w.advance(at(date(2026, 5, 1), 0)).await;
    let attempts = w.payments(second).await;
    let summary: Vec<_> = attempts
        .iter()
        .map(|p| {
            (
                p.attempt,
                p.state.clone(),
                p.failure_reason.clone(),
                p.created_at_us,
            )
        })
        .collect();
    let failed = |n: i64, at: i64| {
        (
            n,
            "Failed".to_string(),
            Some("InsufficientFunds".to_string()),
            at,
        )
    };
    assert_eq!(
        summary,
        [
            failed(1, renewal),
            failed(2, renewal + 3 * DAY),
            failed(3, renewal + 8 * DAY),
            failed(4, renewal + 15 * DAY),
        ]
    );
    let inv = w.invoice(second).await;
    assert_eq!(amounts(&inv), ("ProblemAuto", 1000, 200, 1200));
    assert_eq!(inv.date_payment_scheduled_us, None);
    for n in 1..=4 {
        w.outbox(&format!(
            "webhook:invoice={second}:CustomerChargingFailed:{n}"
        ))
        .await;
    }
    // "ProAbono will retry the debit": told after each failure but the last.
    for n in 1..=3 {
        w.outbox(&format!(
            "webhook:invoice={second}:GatewayPermissionInsufficientFunds:{n}"
        ))
        .await;
    }
    for key in [
        "InvoiceDebitPaymentAutoFailed",
        "CustomerChargingAutoFailedNoRetry",
    ] {
        let hook = w.outbox(&format!("webhook:invoice={second}:{key}")).await;
        assert_eq!(hook.run_at_us, renewal + 15 * DAY);
    }
    let mail = w
        .outbox(&format!("email:invoice={second}:InvoicePaymentAutoFailed"))
        .await;
    assert!(
        mail.payload
            .contains("\"Template\":\"InvoicePaymentAutoFailed\"")
    );
    assert!(w.job(&format!("collect:{second}:5")).await.is_none());

    // May 10: still unpaid after 30 days (threshold 14): suspended, nothing
    // charged for May.
    w.advance(at(date(2026, 5, 10), 12)).await;
    let s = w.sub(id).await;
    assert_eq!(
        (s.state.as_str(), s.period_index),
        ("SuspendedPaymentDue", 1)
    );
    assert_eq!(w.lines(c).await.len(), 2);
    w.outbox(&format!("webhook:SubscriptionSuspendedPaymentDue:{id}:1"))
        .await;
    w.outbox(&format!(
        "email:subscription={id}:SubscriptionSuspendedPaymentDue:1"
    ))
    .await;

    // May 20: the customer pays by bank transfer: the subscription restarts
    // in the period of today (May 10 – June 10), which is charged.
    let may20 = at(date(2026, 5, 20), 9);
    w.advance(may20).await;
    let paid = register_offline_payment(
        &w.store,
        w.business,
        second,
        "ExternalBank",
        may20,
        Some("transfer"),
        may20,
    )
    .await
    .unwrap();
    assert_eq!(paid.state, "Paid");
    let s = w.sub(id).await;
    assert_eq!((s.state.as_str(), s.period_index), ("ActiveRunning", 2));
    assert_eq!(
        (
            local(s.date_period_start_us.unwrap()),
            local(s.date_period_end_us.unwrap())
        ),
        (date(2026, 5, 10), date(2026, 6, 10))
    );
    w.outbox(&format!("webhook:SubscriptionRestarted:{id}:payment-due:1"))
        .await;
    // The restart bills the new period at once (the card then fails again).
    w.advance(may20 + 1).await;
    let inv = w.invoices(c).await;
    assert_eq!(inv.len(), 3);
    assert_eq!(amounts(&inv[2]), ("DueAuto", 1000, 200, 1200));
    assert_eq!(inv[2].date_issue_us, Some(may20));
}
both_backends!(card_failing_at_renewal_is_retried_then_problem_auto => sqlite_card_failing_at_renewal_is_retried_then_problem_auto, postgres_card_failing_at_renewal_is_retried_then_problem_auto);

async fn sepa_notice_debit_at_three_days_then_settlement(store: Store) {
    // Tuesday March 10, 2026.
    let t0 = at(date(2026, 3, 10), 10);
    let w = World::new(store, t0).await;
    let c = w.customer("sepa", "Free").await;
    let permission = w
        .register(c, &mandate("DE89 3704 0044 0532 0130 00"), t0)
        .await;
    assert_eq!(permission.type_payment, "DirectDebit");
    w.subscribe("sepa", "yearly", t0).await;
    w.advance(t0 + 1).await;
    let inv = w.invoices(c).await;
    assert_eq!(inv.len(), 1);
    // 100.00 for the year + 5.00 up front, 20% VAT.
    assert_eq!(amounts(&inv[0]), ("DueAuto", 10500, 2100, 12600));
    let id = inv[0].id;
    let debit_at = t0 + 3 * DAY;
    assert_eq!(inv[0].date_payment_scheduled_us, Some(debit_at));
    let notice = w
        .outbox(&format!("email:invoice={id}:DirectDebitNotice"))
        .await;
    assert!(notice.payload.contains("\"AmountTotal\":12600"));
    assert!(
        notice
            .payload
            .contains(&format!("\"DatePaymentScheduledUs\":{debit_at}"))
    );
    assert_eq!(notice.run_at_us, t0);

    // Nothing is debited before the third day.
    w.advance(debit_at - 1).await;
    assert!(w.payments(id).await.is_empty());
    // Friday March 13: debited, pending; the bank settles 3 business days
    // later (Wednesday March 18).
    w.advance(debit_at).await;
    let pending = w.payments(id).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].state, "Pending");
    assert_eq!(w.invoice(id).await.state, "DuePending");
    w.outbox(&format!("webhook:invoice={id}:CustomerChargingPending:1"))
        .await;
    w.advance(at(date(2026, 3, 18), 0)).await;
    assert_eq!(w.invoice(id).await.state, "DuePending");
    w.advance(at(date(2026, 3, 19), 0)).await;
    let inv = w.invoice(id).await;
    assert_eq!(inv.state, "Paid");
    let settled = inv.date_payment_us.unwrap();
    assert_eq!(local(settled), date(2026, 3, 18));
    assert_eq!(w.payments(id).await[0].state, "Succeeded");
    w.outbox(&format!("webhook:invoice={id}:InvoiceDebitPaid"))
        .await;
}
both_backends!(sepa_notice_debit_at_three_days_then_settlement => sqlite_sepa_notice_debit_at_three_days_then_settlement, postgres_sepa_notice_debit_at_three_days_then_settlement);

async fn offline_invoice_is_paid_by_a_registered_payment(store: Store) {
    let t0 = at(date(2026, 3, 10), 10);
    let w = World::new(store, t0).await;
    let c = w.customer("bank", "ExternalBank").await;
    let id = w.subscribe("bank", "monthly", t0).await.subscription.id;
    w.advance(t0 + 1).await;
    let inv = w.invoices(c).await;
    assert_eq!(amounts(&inv[0]), ("DueOffline", 1000, 200, 1200));
    assert_eq!(inv[0].type_payment, "ExternalBank");
    let first = inv[0].id;
    w.outbox(&format!(
        "webhook:invoice={first}:InvoiceDebitIssuedPaymentOffline"
    ))
    .await;
    w.outbox(&format!("email:invoice={first}:InvoiceNewPaymentOffline"))
        .await;
    // Nothing is collected automatically.
    w.advance(at(date(2026, 4, 1), 0)).await;
    assert!(w.payments(first).await.is_empty());
    assert_eq!(w.invoice(first).await.state, "DueOffline");

    let received = at(date(2026, 4, 2), 0);
    let paid = register_offline_payment(
        &w.store,
        w.business,
        first,
        "ExternalBank",
        received,
        Some("wire 42"),
        at(date(2026, 4, 3), 9),
    )
    .await
    .unwrap();
    assert_eq!(
        (paid.state.as_str(), paid.date_payment_us),
        ("Paid", Some(received))
    );
    let registered = w.payments(first).await;
    assert_eq!(registered.len(), 1);
    assert_eq!(
        (
            registered[0].state.as_str(),
            registered[0].type_payment.as_str(),
            registered[0].note.as_deref()
        ),
        ("Registered", "ExternalBank", Some("wire 42"))
    );

    // The April invoice stays unpaid: 60 days after its issue it is overdue.
    w.advance(at(date(2026, 4, 10), 12)).await;
    let april = w.invoices(c).await[1].clone();
    assert_eq!(april.state, "DueOffline");
    let issued = april.date_issue_us.unwrap();
    w.advance(issued + 60 * DAY - 1).await;
    assert_eq!(w.invoice(april.id).await.state, "DueOffline");
    assert!(
        w.job(&format!("webhook:invoice={}:InvoiceDebitOverdue", april.id))
            .await
            .is_none()
    );
    w.advance(issued + 60 * DAY).await;
    assert_eq!(w.invoice(april.id).await.state, "ProblemOverdue");
    let hook = w
        .outbox(&format!("webhook:invoice={}:InvoiceDebitOverdue", april.id))
        .await;
    assert_eq!(hook.run_at_us, issued + 60 * DAY);
    w.outbox(&format!("email:invoice={}:InvoiceOverdue", april.id))
        .await;
    // The paid March invoice is never overdue.
    assert!(
        w.job(&format!("webhook:invoice={first}:InvoiceDebitOverdue"))
            .await
            .is_none()
    );
    assert_eq!(w.sub(id).await.state, "ActiveRunning");
}
both_backends!(offline_invoice_is_paid_by_a_registered_payment => sqlite_offline_invoice_is_paid_by_a_registered_payment, postgres_offline_invoice_is_paid_by_a_registered_payment);

async fn a_charged_back_debit_is_disputed(store: Store) {
    let t0 = at(date(2026, 3, 10), 10);
    let w = World::new(store, t0).await;
    let c = w.customer("claims", "Free").await;
    // The sandbox's debtor who claims the money back 7 days after settlement.
    w.register(c, &mandate("DE43 5001 0517 0000 0000 03"), t0)
        .await;
    w.subscribe("claims", "yearly", t0).await;
    w.advance(at(date(2026, 3, 20), 0)).await;
    let id = w.invoices(c).await[0].id;
    let paid = w.invoice(id).await;
    assert_eq!(paid.state, "Paid");
    let settled = paid.date_payment_us.unwrap();
    // The bank's chargeback is looked for at the end of the 8-week window.
    let watch = w.outbox(&format!("dispute-watch:{id}:1")).await;
    assert_eq!(watch.run_at_us, settled + 56 * DAY);
    w.advance(settled + 56 * DAY - 1).await;
    assert_eq!(w.invoice(id).await.state, "Paid");
    w.advance(settled + 56 * DAY).await;
    assert_eq!(w.invoice(id).await.state, "ProblemDisputed");
    assert_eq!(w.payments(id).await[0].state, "Disputed");
    let hook = w
        .outbox(&format!("webhook:invoice={id}:InvoiceDebitDisputed"))
        .await;
    assert!(
        hook.payload
            .contains("\"StateInvoice\":\"ProblemDisputed\"")
    );
    w.outbox(&format!("email:invoice={id}:InvoiceDisputed"))
        .await;
}
both_backends!(a_charged_back_debit_is_disputed => sqlite_a_charged_back_debit_is_disputed, postgres_a_charged_back_debit_is_disputed);

/// A refund whose process died after its reservation, before its credit
/// note (step 1 of `refund_invoice` only), is finished by its `ResumeRefund`
/// job 10 minutes later: before the gateway was asked (the money goes back),
/// and after the gateway answered (replayed under the same idempotency key:
/// the money goes back once).
async fn a_refund_left_unfinished_is_finished_by_its_job(store: Store) {
    use abo_core::Money;
    use abo_gateway::{ChargeId, PaymentGateway};
    use abo_service::billing::credit::{RESUME_REFUND_AFTER_US, RefundRequest, reserve_refund};
    use abo_store::refunds;

    let t0 = at(date(2026, 3, 10), 10);
    let w = World::new(store, t0).await;
    let c = w.customer("card", "Free").await;
    w.register(c, &card("4242 4242 4242 4242", "12/30"), t0)
        .await;
    w.subscribe("card", "monthly", t0).await;
    w.advance(t0 + 1).await;
    let invoice = w.invoices(c).await.remove(0);
    assert_eq!(amounts(&invoice), ("Paid", 1000, 200, 1200));
    let charge = ChargeId(w.payments(invoice.id).await[0].charge_id.clone().unwrap());
    let gateways = w.engine.gateways().clone();
    let refund_of = |id: i64| {
        let store = w.store.clone();
        async move {
            let mut conn = store.acquire().await.unwrap();
            refunds::get(&mut conn, w.business, id).await.unwrap()
        }
    };
    // What the card network has given back on the invoice's charge.
    let refunded = || async {
        let got = gateways.card.get_charge(&charge).await.unwrap();
        got.refunded.minor
    };

    // 1. Dies before asking the gateway.
    let t1 = t0 + 3600 * 1_000_000;
    let request = RefundRequest {
        amount: Some(500),
        reason: None,
    };
    let first = reserve_refund(&w.store, &gateways, w.business, invoice.id, &request, t1)
        .await
        .unwrap();
    assert_eq!(first.state, "Started");
    w.advance(t1 + RESUME_REFUND_AFTER_US - 1).await;
    assert_eq!(refund_of(first.id).await.state, "Started");
    w.advance(t1 + RESUME_REFUND_AFTER_US).await;
    let first = refund_of(first.id).await;
    assert_eq!(first.state, "Succeeded");
    let note = w.invoice(first.credit_note_id.unwrap()).await;
    assert_eq!(
        (note.amount_total, note.type_credit.as_deref()),
        (500, Some("Refund"))
    );
    assert_eq!(refunded().await, 500);
    assert_eq!(w.invoice(invoice.id).await.state, "Paid");

    // 2. Dies after the gateway gave the rest back, before the credit note.
    let t2 = t1 + RESUME_REFUND_AFTER_US + 1;
    let rest = reserve_refund(
        &w.store,
        &gateways,
        w.business,
        invoice.id,
        &RefundRequest::default(),
        t2,
    )
    .await
    .unwrap();
    assert_eq!(rest.amount, 700);
    let eur = abo_core::Currency::from_code("EUR").unwrap();
    gateways
        .card
        .refund_once(
            &charge,
            Money::new(700, eur),
            &format!("refund:{}", rest.id),
            jiff::Timestamp::from_microsecond(t2).unwrap(),
        )
        .await
        .unwrap();
    w.advance(t2 + RESUME_REFUND_AFTER_US).await;
    let rest = refund_of(rest.id).await;
    assert_eq!(rest.state, "Succeeded");
    let note = w.invoice(rest.credit_note_id.unwrap()).await;
    assert_eq!(note.amount_total, 700);
    assert_eq!(
        refunded().await,
        1200,
        "the replayed refund gave the money back once"
    );
    assert_eq!(w.invoice(invoice.id).await.state, "PaidRefunded");
    let notes = {
        let mut conn = w.store.acquire().await.unwrap();
        abo_store::invoices::list_credit_notes(&mut conn, w.business, invoice.id)
            .await
            .unwrap()
    };
    assert_eq!(notes.len(), 2, "one credit note per refund");
}
both_backends!(a_refund_left_unfinished_is_finished_by_its_job => sqlite_a_refund_left_unfinished_is_finished_by_its_job, postgres_a_refund_left_unfinished_is_finished_by_its_job);
