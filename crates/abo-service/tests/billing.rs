//! The billing engine against a real store, on SQLite and (when
//! ABO_TEST_POSTGRES_URL is set) PostgreSQL: billing the balance into issued
//! invoices, numbering, tax, collection by card and SEPA with the sandbox
//! gateways, retries, offline payments. Time is driven by hand.

use abo_gateway::{CardDetails, DirectDebitDetails, PaymentDetails};
use abo_service::ServiceError;
use abo_service::billing::permissions::register_permission;
use abo_service::billing::{
    self, BillOptions, CollectOutcome, Gateways, PAYMENT_SETTINGS_MISSING, bill_customer,
    collect_invoice, poll_payment, register_offline_payment,
};
use abo_service::business::{BusinessSpec, create_business};
use abo_store::balance_lines::{self, NewBalanceLine};
use abo_store::customers::{self, BillingAddress, NewCustomer, PaymentSettingsPatch};
use abo_store::invoices;
use abo_store::jobs;
use abo_store::payments;
use abo_store::segments::{self, NewSegment, Segment};
use abo_store::{Store, both_backends};

const NOW: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
const DAY: i64 = 86_400_000_000;

struct Tenant {
    business_id: i64,
    main: Segment,
    other: Segment,
}

async fn tenant(store: &Store) -> Tenant {
    let created = create_business(
        store,
        &BusinessSpec {
            name: "Billing Co".into(),
            country: "FR".into(),
            default_language: "en".into(),
            is_test: true,
        },
        NOW,
    )
    .await
    .unwrap();
    let business_id = created.business.id;
    let mut c = store.acquire().await.unwrap();
    let seg = |reference: &str, is_default: bool, prefix: &str| NewSegment {
        business_id,
        reference: reference.into(),
        name: reference.into(),
        currency: "EUR".into(),
        time_zone: None,
        locale: None,
        is_default,
        invoice_prefix: Some(prefix.into()),
        credit_note_prefix: None,
    };
    let main = segments::create(&mut c, &seg("main", true, "S-"), NOW)
        .await
        .unwrap();
    let other = segments::create(&mut c, &seg("other", false, "T-"), NOW)
        .await
        .unwrap();
    Tenant {
        business_id,
        main,
        other,
    }
}

/// A customer in `segment`, billed in `country` (with a VAT number when
/// given), paying by `type_payment`.
async fn customer(
    store: &Store,
    t: &Tenant,
    segment: &Segment,
    reference: &str,
    country: &str,
    vat: Option<&str>,
    type_payment: &str,
) -> i64 {
    let mut c = store.acquire().await.unwrap();
    let cust = customers::create(
        &mut c,
        &NewCustomer {
            business_id: t.business_id,
            segment_id: segment.id,
            reference: reference.into(),
            name: Some("Jane Doe".into()),
            email: Some("jane@doe.com".into()),
            language: Some("en".into()),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    customers::update_billing_address(
        &mut c,
        t.business_id,
        cust.id,
        &BillingAddress {
            company: vat.map(|_| "Acme GmbH".to_owned()),
            country: Some(country.into()),
            tax_information: vat.map(str::to_owned),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    customers::update_payment_settings(
        &mut c,
        t.business_id,
        cust.id,
        &PaymentSettingsPatch {
            type_payment: Some(type_payment.into()),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    cust.id
}

async fn line(store: &Store, t: &Tenant, customer_id: i64, amount: i64, key: &str) -> i64 {
    let mut c = store.acquire().await.unwrap();
    let cust = customers::get(&mut c, t.business_id, customer_id)
        .await
        .unwrap();
    balance_lines::insert(
        &mut c,
        &NewBalanceLine {
            business_id: t.business_id,
            segment_id: cust.segment_id,
            customer_id,
            type_line: "AutoSubscriptionRecurrence".into(),
            label: "Pro plan".into(),
            quantity_billed: Some(1),
            amount_subtotal: amount,
            currency: "EUR".into(),
            date_move_us: Some(NOW),
            natural_key: Some(key.into()),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap()
    .0
    .id
}

async fn invoice(store: &Store, t: &Tenant, id: i64) -> invoices::Invoice {
    let mut c = store.acquire().await.unwrap();
    invoices::get(&mut c, t.business_id, id).await.unwrap()
}

async fn job(store: &Store, key: &str) -> Option<jobs::Job> {
    let mut c = store.acquire().await.unwrap();
    jobs::find_by_natural_key(&mut c, key).await.unwrap()
}

fn card(number: &str) -> PaymentDetails {
    PaymentDetails::Card(CardDetails {
        number: number.into(),
        expiry: "12/30".into(),
        cvc: "123".into(),
        country: Some("FR".into()),
    })
}

// ----- billing ---------------------------------------------------------------------------

async fn bills_19000_into_22800_offline_then_paid(store: Store) {
    let t = tenant(&store).await;
    let cust = customer(&store, &t, &t.main, "c1", "FR", None, "ExternalBank").await;
    let line_id = line(&store, &t, cust, 19000, "l1").await;

    let id = bill_customer(&store, t.business_id, cust, NOW)
        .await
        .unwrap()
        .expect("an invoice");
    let inv = invoice(&store, &t, id).await;
    assert_eq!(
        (inv.amount_subtotal, inv.amount_tax, inv.amount_total),
        (19000, 3800, 22800)
    );
    assert_eq!(inv.state, "DueOffline");
    assert_eq!(inv.type_payment, "ExternalBank");
    assert_eq!(
        inv.full_number.as_deref(),
        Some(format!("S-{}.00000001", t.main.id).as_str())
    );
    assert_eq!(inv.date_issue_us, Some(NOW));
    assert_eq!(inv.lines.len(), 1);
    assert_eq!(inv.lines[0].tax_rate, "20");
    assert_eq!(inv.lines[0].amount_tax, 3800);
    {
        let mut c = store.acquire().await.unwrap();
        let l = balance_lines::get(&mut c, t.business_id, line_id)
            .await
            .unwrap();
        assert_eq!((l.state_move.as_str(), l.invoice_id), ("Billed", Some(id)));
    }
    let hook = job(
        &store,
        &format!("webhook:invoice={id}:InvoiceDebitIssuedPaymentOffline"),
    )
    .await
    .expect("webhook queued");
    assert_eq!(hook.kind, "Webhook");
    assert!(hook.payload.contains("\"IdInvoice\":"));
    assert!(
        job(
            &store,
            &format!("email:invoice={id}:InvoiceNewPaymentOffline")
        )
        .await
        .is_some()
    );

    // Billing twice bills nothing new.
    assert_eq!(
        bill_customer(&store, t.business_id, cust, NOW + DAY)
            .await
            .unwrap(),
        None
    );

    let paid = register_offline_payment(
        &store,
        t.business_id,
        id,
        "ExternalBank",
        NOW + 2 * DAY,
        Some("wire ref 42"),
        NOW + 3 * DAY,
    )
    .await
    .unwrap();
    assert_eq!(paid.state, "Paid");
    assert_eq!(paid.date_payment_us, Some(NOW + 2 * DAY));
    assert!(
        job(&store, &format!("webhook:invoice={id}:InvoiceDebitPaid"))
            .await
            .is_some()
    );
    // Paying twice is refused by the state machine.
    let again =
        register_offline_payment(&store, t.business_id, id, "ExternalBank", NOW, None, NOW).await;
    assert!(matches!(again, Err(ServiceError::Conflict(_))), "{again:?}");
}
both_backends!(bills_19000_into_22800_offline_then_paid => sqlite_bills_19000_into_22800_offline_then_paid, postgres_bills_19000_into_22800_offline_then_paid);

async fn reverse_charge_and_oss(store: Store) {
    let t = tenant(&store).await;
    let b2b = customer(
        &store,
        &t,
        &t.main,
        "de-b2b",
        "DE",
        Some("DE123456789"),
        "ExternalBank",
    )
    .await;
    line(&store, &t, b2b, 19000, "rc").await;
    let id = bill_customer(&store, t.business_id, b2b, NOW)
        .await
        .unwrap()
        .unwrap();
    let inv = invoice(&store, &t, id).await;
    assert_eq!((inv.amount_tax, inv.amount_total), (0, 19000));
    assert!(inv.note.unwrap().contains("Article 196"));

    // A German consumer pays German VAT (19 %).
    let b2c = customer(&store, &t, &t.main, "de-b2c", "DE", None, "ExternalBank").await;
    line(&store, &t, b2c, 10000, "oss").await;
    let id = bill_customer(&store, t.business_id, b2c, NOW)
        .await
        .unwrap()
        .unwrap();
    let inv = invoice(&store, &t, id).await;
    assert_eq!((inv.amount_tax, inv.amount_total), (1900, 11900));
}
both_backends!(reverse_charge_and_oss => sqlite_reverse_charge_and_oss, postgres_reverse_charge_and_oss);

async fn numbers_are_gapless_per_segment(store: Store) {
    let t = tenant(&store).await;
    let a = customer(&store, &t, &t.main, "a", "FR", None, "ExternalCheck").await;
    let b = customer(&store, &t, &t.other, "b", "FR", None, "ExternalCheck").await;

    // A billing rolled back burns no number.
    line(&store, &t, a, 1000, "a1").await;
    {
        let mut tx = store.begin().await.unwrap();
        let id = billing::bill_in(&mut tx, t.business_id, a, &BillOptions::default(), NOW)
            .await
            .unwrap();
        assert!(id.is_some());
        tx.rollback().await.unwrap();
    }
    let mut numbers = Vec::new();
    for (n, (cust, seg)) in [(a, &t.main), (b, &t.other), (a, &t.main), (b, &t.other)]
        .into_iter()
        .enumerate()
    {
        line(&store, &t, cust, 1000, &format!("n{n}")).await;
        let id = bill_customer(&store, t.business_id, cust, NOW)
            .await
            .unwrap()
            .unwrap();
        let inv = invoice(&store, &t, id).await;
        assert_eq!(inv.segment_id, seg.id);
        numbers.push(inv.full_number.unwrap());
    }
    assert_eq!(
        numbers,
        vec![
            format!("S-{}.00000001", t.main.id),
            format!("T-{}.00000001", t.other.id),
            format!("S-{}.00000002", t.main.id),
            format!("T-{}.00000002", t.other.id),
        ]
    );
    // The first invoice of `a` took both its lines (the rolled back one too).
    let mut c = store.acquire().await.unwrap();
    let inv = invoices::get_by_full_number(&mut c, t.business_id, &numbers[0])
        .await
        .unwrap();
    assert_eq!(inv.amount_subtotal, 2000);
}
both_backends!(numbers_are_gapless_per_segment => sqlite_numbers_are_gapless_per_segment, postgres_numbers_are_gapless_per_segment);

async fn zero_is_paid_and_no_method_is_offline(store: Store) {
    let t = tenant(&store).await;
    let free = customer(&store, &t, &t.main, "free", "FR", None, "Free").await;
    line(&store, &t, free, 1000, "z1").await;
    line(&store, &t, free, -1000, "z2").await;
    let id = bill_customer(&store, t.business_id, free, NOW)
        .await
        .unwrap()
        .unwrap();
    let inv = invoice(&store, &t, id).await;
    assert_eq!((inv.state.as_str(), inv.amount_total), ("Paid", 0));

    // No payment method: a scheduled billing still invoices, to be paid
    // offline (the API refuses up front instead).
    line(&store, &t, free, 500, "z3").await;
    let id = bill_customer(&store, t.business_id, free, NOW)
        .await
        .unwrap()
        .unwrap();
    let inv = invoice(&store, &t, id).await;
    assert_eq!(
        (inv.state.as_str(), inv.type_payment.as_str()),
        ("DueOffline", "Free")
    );
    let err = billing::query::bill_now(
        &store,
        t.business_id,
        &billing::query::BillRequest {
            reference_customer: "free".into(),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ServiceError::Refused { code, .. } if code == PAYMENT_SETTINGS_MISSING),
        "{err:?}"
    );
    // A credit balance is carried forward: no invoice.
    let credit = customer(&store, &t, &t.main, "credit", "FR", None, "ExternalBank").await;
    line(&store, &t, credit, -700, "cr").await;
    assert_eq!(
        bill_customer(&store, t.business_id, credit, NOW)
            .await
            .unwrap(),
        None
    );
}
both_backends!(zero_is_paid_and_no_method_is_offline => sqlite_zero_is_paid_and_no_method_is_offline, postgres_zero_is_paid_and_no_method_is_offline);

// ----- collection -------------------------------------------------------------------------

async fn card_success(store: Store) {
    let t = tenant(&store).await;
    let gateways = Gateways::sandbox();
    let cust = customer(&store, &t, &t.main, "card", "FR", None, "Free").await;
    let permission = register_permission(
        &store,
        &gateways,
        t.business_id,
        cust,
        &card("4242 4242 4242 4242"),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(permission.state, "Enabled");
    line(&store, &t, cust, 19000, "c1").await;
    let id = bill_customer(&store, t.business_id, cust, NOW)
        .await
        .unwrap()
        .unwrap();
    let inv = invoice(&store, &t, id).await;
    assert_eq!(
        (inv.state.as_str(), inv.type_payment.as_str()),
        ("DueAuto", "Card")
    );
    let collect = job(&store, &format!("collect:{id}:1")).await.unwrap();
    assert_eq!(
        (collect.kind.as_str(), collect.run_at_us),
        ("CollectInvoice", NOW)
    );
    assert!(collect.payload.contains("\"attempt\":1"));

    let outcome = collect_invoice(&store, &gateways, t.business_id, id, 1, NOW)
        .await
        .unwrap();
    assert_eq!(outcome, CollectOutcome::Paid);
    let inv = invoice(&store, &t, id).await;
    assert_eq!(
        (inv.state.as_str(), inv.date_payment_us),
        ("Paid", Some(NOW))
    );
    assert!(
        job(&store, &format!("webhook:invoice={id}:InvoiceDebitPaid"))
            .await
            .is_some()
    );
    // The job running again (crash, second node) charges nothing more.
    let again = collect_invoice(&store, &gateways, t.business_id, id, 1, NOW)
        .await
        .unwrap();
    assert_eq!(again, CollectOutcome::Skipped);
    let mut c = store.acquire().await.unwrap();
    let attempts = payments::list_for_invoice(&mut c, t.business_id, id)
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].state, "Succeeded");
}
both_backends!(card_success => sqlite_card_success, postgres_card_success);

async fn card_insufficient_funds_retries_then_problem(store: Store) {
    let t = tenant(&store).await;
    let gateways = Gateways::sandbox();
    let cust = customer(&store, &t, &t.main, "poor", "FR", None, "Free").await;
    register_permission(
        &store,
        &gateways,
        t.business_id,
        cust,
        &card("4200 4600 3702 5901"),
        // Registered days before: the charges are made in the customer's absence.
        NOW - 2 * DAY,
    )
    .await
    .unwrap();
    line(&store, &t, cust, 19000, "p1").await;
    let id = bill_customer(&store, t.business_id, cust, NOW)
        .await
        .unwrap()
        .unwrap();

    let mut now = NOW;
    for (attempt, delay_days) in [(1, 3), (2, 5), (3, 7)] {
        let outcome = collect_invoice(&store, &gateways, t.business_id, id, attempt, now)
            .await
            .unwrap();
        let next = now + delay_days * DAY;
        assert_eq!(
            outcome,
            CollectOutcome::Retrying {
                next_attempt_us: next
            },
            "attempt {attempt}"
        );
        let inv = invoice(&store, &t, id).await;
        assert_eq!(inv.state, "DueAuto");
        assert_eq!(inv.date_payment_scheduled_us, Some(next));
        let retry = job(&store, &format!("collect:{id}:{}", attempt + 1))
            .await
            .unwrap();
        assert_eq!(retry.run_at_us, next);
        now = next;
    }
    let outcome = collect_invoice(&store, &gateways, t.business_id, id, 4, now)
        .await
        .unwrap();
    assert_eq!(outcome, CollectOutcome::Problem);
    let inv = invoice(&store, &t, id).await;
    assert_eq!(inv.state, "ProblemAuto");
    assert_eq!(inv.date_payment_scheduled_us, None);
    assert!(
        job(
            &store,
            &format!("webhook:invoice={id}:InvoiceDebitPaymentAutoFailed")
        )
        .await
        .is_some()
    );
    assert!(
        job(
            &store,
            &format!("email:invoice={id}:InvoicePaymentAutoFailed")
        )
        .await
        .is_some()
    );
    assert!(job(&store, &format!("collect:{id}:5")).await.is_none());
    // A late payment registered by hand still settles it.
    let paid = register_offline_payment(&store, t.business_id, id, "ExternalBank", now, None, now)
        .await
        .unwrap();
    assert_eq!(paid.state, "Paid");
}
both_backends!(card_insufficient_funds_retries_then_problem => sqlite_card_insufficient_funds_retries_then_problem, postgres_card_insufficient_funds_retries_then_problem);

async fn card_rejected_is_not_retried(store: Store) {
    let t = tenant(&store).await;
    let gateways = Gateways::sandbox();
    let rejected = customer(&store, &t, &t.main, "rej", "FR", None, "Free").await;
    register_permission(
        &store,
        &gateways,
        t.business_id,
        rejected,
        &card("4200 4600 3705 4208"),
        // Registered days before: the charges are made in the customer's absence.
        NOW - 2 * DAY,
    )
    .await
    .unwrap();
    line(&store, &t, rejected, 1000, "r1").await;
    let id = bill_customer(&store, t.business_id, rejected, NOW)
        .await
        .unwrap()
        .unwrap();
    // A rejection is not retried.
    assert_eq!(
        collect_invoice(&store, &gateways, t.business_id, id, 1, NOW)
            .await
            .unwrap(),
        CollectOutcome::Problem
    );
    assert_eq!(invoice(&store, &t, id).await.state, "ProblemAuto");
    // A card that may not be registered at all stores nothing.
    let err = register_permission(
        &store,
        &gateways,
        t.business_id,
        rejected,
        &card("4205 4202 5602 5607"),
        NOW,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ServiceError::Invalid(_)), "{err:?}");
}
both_backends!(card_rejected_is_not_retried => sqlite_card_rejected_is_not_retried, postgres_card_rejected_is_not_retried);

async fn sepa_notice_then_debit_at_three_days(store: Store) {
    let t = tenant(&store).await;
    let gateways = Gateways::sandbox();
    let cust = customer(&store, &t, &t.main, "sepa", "FR", None, "Free").await;
    let permission = register_permission(
        &store,
        &gateways,
        t.business_id,
        cust,
        &PaymentDetails::DirectDebit(DirectDebitDetails {
            iban: "DE89 3704 0044 0532 0130 00".into(),
            holder_name: "Jane Doe".into(),
            mandate_accepted: true,
        }),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(permission.type_payment, "DirectDebit");
    line(&store, &t, cust, 19000, "s1").await;
    let id = bill_customer(&store, t.business_id, cust, NOW)
        .await
        .unwrap()
        .unwrap();
    let inv = invoice(&store, &t, id).await;
    assert_eq!(inv.state, "DueAuto");
    assert_eq!(inv.date_payment_scheduled_us, Some(NOW + 3 * DAY));
    let notice = job(&store, &format!("email:invoice={id}:DirectDebitNotice"))
        .await
        .unwrap();
    assert!(notice.payload.contains("\"AmountTotal\":22800"));
    let collect = job(&store, &format!("collect:{id}:1")).await.unwrap();
    assert_eq!(collect.run_at_us, NOW + 3 * DAY);

    let outcome = collect_invoice(&store, &gateways, t.business_id, id, 1, NOW + 3 * DAY)
        .await
        .unwrap();
    let CollectOutcome::Pending { settles_at_us } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(settles_at_us > NOW + 3 * DAY);
    assert_eq!(invoice(&store, &t, id).await.state, "DuePending");
    let poll = job(&store, &format!("poll:{id}:1:{settles_at_us}"))
        .await
        .unwrap();
    assert_eq!(poll.kind, "PollPayment");

    let settled = poll_payment(&store, &gateways, t.business_id, id, 1, settles_at_us)
        .await
        .unwrap();
    assert_eq!(settled, CollectOutcome::Paid);
    assert_eq!(invoice(&store, &t, id).await.state, "Paid");
}
both_backends!(sepa_notice_then_debit_at_three_days => sqlite_sepa_notice_then_debit_at_three_days, postgres_sepa_notice_then_debit_at_three_days);

async fn force_offline_and_date_window(store: Store) {
    let t = tenant(&store).await;
    let gateways = Gateways::sandbox();
    let cust = customer(&store, &t, &t.main, "fo", "FR", None, "Free").await;
    register_permission(
        &store,
        &gateways,
        t.business_id,
        cust,
        &card("4242 4242 4242 4242"),
        NOW,
    )
    .await
    .unwrap();
    line(&store, &t, cust, 1000, "f1").await;
    let mut tx = store.begin().await.unwrap();
    let id = billing::bill_in(
        &mut tx,
        t.business_id,
        cust,
        &BillOptions {
            force_offline: true,
            note: Some("PO.123".into()),
            date_start_us: Some(NOW - DAY),
            date_end_us: Some(NOW + DAY),
        },
        NOW,
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    let inv = invoice(&store, &t, id).await;
    assert_eq!(inv.state, "DueOffline");
    assert_eq!(inv.note.as_deref(), Some("PO.123"));
    assert!(job(&store, &format!("collect:{id}:1")).await.is_none());
}
both_backends!(force_offline_and_date_window => sqlite_force_offline_and_date_window, postgres_force_offline_and_date_window);

async fn card_requiring_3ds_at_renewal(store: Store) {
    use abo_gateway::{PaymentGateway, Registration};
    let t = tenant(&store).await;
    let gateways = Gateways::sandbox();
    let cust = customer(&store, &t, &t.main, "sca", "FR", None, "Card").await;
    // The customer passed 3-D Secure at registration (the portal's flow).
    let ts = jiff::Timestamp::from_microsecond(NOW).unwrap();
    let Registration::RequiresAction {
        permission,
        verification_id,
        ..
    } = gateways
        .card
        .register_permission("sca", &card("4200 4600 3700 4609"), ts)
        .await
        .unwrap()
    else {
        panic!("3-D Secure expected at registration")
    };
    gateways
        .card
        .complete_authentication(&verification_id, true, ts)
        .await
        .unwrap();
    {
        let mut c = store.acquire().await.unwrap();
        payments::insert_permission(
            &mut c,
            &payments::NewPermission {
                business_id: t.business_id,
                customer_id: cust,
                type_payment: "Card".into(),
                type_gateway: "CardDummy".into(),
                gateway_permission_id: permission.id.as_str().to_owned(),
                state: "Enabled".into(),
                name_display: permission.name_display.clone(),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
    }
    line(&store, &t, cust, 5000, "sca1").await;
    let id = bill_customer(&store, t.business_id, cust, NOW)
        .await
        .unwrap()
        .unwrap();
    let outcome = collect_invoice(&store, &gateways, t.business_id, id, 1, NOW)
        .await
        .unwrap();
    assert_eq!(outcome, CollectOutcome::RequiresAuthentication);
    assert_eq!(invoice(&store, &t, id).await.state, "DueAuto");
    assert!(
        job(
            &store,
            &format!("webhook:invoice={id}:InvoiceDebitPaymentAutoRequestedAuth:1")
        )
        .await
        .is_some()
    );
    assert!(
        job(
            &store,
            &format!("email:invoice={id}:InvoicePaymentSecureRequired:1")
        )
        .await
        .is_some()
    );
}
both_backends!(card_requiring_3ds_at_renewal => sqlite_card_requiring_3ds_at_renewal, postgres_card_requiring_3ds_at_renewal);
