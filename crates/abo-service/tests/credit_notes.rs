//! Credit notes against a real store, on SQLite and PostgreSQL: cancelling an
//! unpaid invoice (voiding note, `Void`, balance lines `Cancelled`, collection
//! stopped) and refunding a paid one, fully or in parts, through the sandbox
//! gateways or recorded for an offline payment; never more than the invoice,
//! even with two refunds at once; numbers from the segment's credit-note
//! sequence; every effect in the outbox.

use abo_gateway::{CardDetails, ChargeId, DirectDebitDetails, PaymentDetails, PaymentGateway};
use abo_service::ServiceError;
use abo_service::billing::credit::{
    RESUME_REFUND_AFTER_US, RefundRequest, cancel_invoice, refund_invoice, reserve_refund,
    resume_refund,
};
use abo_service::billing::permissions::register_permission;
use abo_service::billing::{CollectOutcome, Gateways, collect_invoice, register_offline_payment};
use abo_store::balance_lines;
use abo_store::{Store, both_backends, invoices, jobs, refunds};

mod common;

use common::{DAY, NOW, Tenant, bill_19000, customer};

/// The business of these tests: invoices `S-…`, credit notes `C-…`.
async fn tenant(store: &Store) -> Tenant {
    common::tenant(store, "Credit Co", Some(("S-", "C-"))).await
}

async fn invoice(store: &Store, t: &Tenant, id: i64) -> invoices::Invoice {
    let mut c = store.acquire().await.unwrap();
    invoices::get(&mut c, t.business_id, id).await.unwrap()
}

async fn has_job(store: &Store, key: &str) -> bool {
    let mut c = store.acquire().await.unwrap();
    jobs::find_by_natural_key(&mut c, key)
        .await
        .unwrap()
        .is_some()
}

fn card(number: &str) -> PaymentDetails {
    PaymentDetails::Card(CardDetails {
        number: number.into(),
        expiry: "12/30".into(),
        cvc: "123".into(),
        country: Some("FR".into()),
    })
}

fn sepa(iban: &str) -> PaymentDetails {
    PaymentDetails::DirectDebit(DirectDebitDetails {
        iban: iban.into(),
        holder_name: "Jane Doe".into(),
        mandate_accepted: true,
    })
}

/// A card customer whose 22800 invoice is paid; returns (customer, invoice).
async fn paid_by_card(store: &Store, t: &Tenant, gateways: &Gateways, key: &str) -> (i64, i64) {
    let cust = customer(store, t, key, "Free").await;
    register_permission(
        store,
        gateways,
        t.business_id,
        cust,
        &card("4242 4242 4242 4242"),
        NOW,
    )
    .await
    .unwrap();
    let id = bill_19000(store, t, cust, key).await;
    let outcome = collect_invoice(store, gateways, t.business_id, id, 1, NOW)
        .await
        .unwrap();
    assert_eq!(outcome, CollectOutcome::Paid);
    (cust, id)
}

/// What the card network has given back on the charge that paid `invoice`.
async fn refunded_on_card(store: &Store, t: &Tenant, gateways: &Gateways, invoice: i64) -> i64 {
    let payment = {
        let mut c = store.acquire().await.unwrap();
        abo_store::payments::list_for_invoice(&mut c, t.business_id, invoice)
            .await
            .unwrap()
            .remove(0)
    };
    let charge = ChargeId(payment.charge_id.unwrap());
    gateways
        .card
        .get_charge(&charge)
        .await
        .unwrap()
        .refunded
        .minor
}

// ----- cancel -----------------------------------------------------------------------------

async fn cancel_voids_an_offline_invoice(store: Store) {
    let t = tenant(&store).await;
    let cust = customer(&store, &t, "offline", "ExternalBank").await;
    let id = bill_19000(&store, &t, cust, "o1").await;
    let issued = invoice(&store, &t, id).await;
    assert_eq!(issued.state, "DueOffline");

    let done = cancel_invoice(
        &store,
        t.business_id,
        id,
        Some(" Ordered twice "),
        NOW + DAY,
    )
    .await
    .unwrap();
    let note = &done.credit_note;
    let seg = t.segment.id;
    assert_eq!(
        note.full_number.as_deref(),
        Some(&*format!("C-{seg}.00000001"))
    );
    assert!(note.is_credit_note);
    assert_eq!(note.type_credit.as_deref(), Some("Voiding"));
    assert_eq!(note.credited_invoice_id, Some(id));
    assert_eq!(note.reason.as_deref(), Some("Ordered twice"));
    assert_eq!(
        (note.amount_subtotal, note.amount_tax, note.amount_total),
        (19000, 3800, 22800)
    );
    assert_eq!(
        (
            note.state.as_str(),
            note.date_issue_us,
            note.date_payment_us
        ),
        ("Paid", Some(NOW + DAY), None)
    );
    // The whole invoice at once: its lines, copied.
    assert_eq!(note.lines.len(), 1);
    assert_eq!(note.lines[0].label, "Pro plan");
    assert_eq!(
        (note.lines[0].amount_subtotal, note.lines[0].amount_tax),
        (19000, 3800)
    );
    assert_eq!(done.invoice.state, "Void");
    // Invoices keep their own sequence.
    assert_eq!(
        issued.full_number.as_deref(),
        Some(&*format!("S-{seg}.00000001"))
    );

    let mut c = store.acquire().await.unwrap();
    let line_id = issued.lines[0].balance_line_id.unwrap();
    let line = balance_lines::get(&mut c, t.business_id, line_id)
        .await
        .unwrap();
    assert_eq!(line.state_move, "Cancelled");
    drop(c);
    let cn = note.id;
    assert!(has_job(&store, &format!("webhook:InvoiceCreditIssued:invoice={cn}")).await);
    assert!(
        has_job(
            &store,
            &format!("webhook:InvoiceDebitCancelled:invoice={id}:credit={cn}")
        )
        .await
    );
    assert!(has_job(&store, &format!("email:invoice={cn}:CreditNoteNewPaid")).await);

    // Nothing more to cancel; a credit note is not an invoice to credit.
    let again = cancel_invoice(&store, t.business_id, id, None, NOW + DAY).await;
    assert!(matches!(again, Err(ServiceError::Conflict(_))), "{again:?}");
    let of_note = cancel_invoice(&store, t.business_id, cn, None, NOW + DAY).await;
    assert!(
        matches!(of_note, Err(ServiceError::Conflict(_))),
        "{of_note:?}"
    );
    // A paid invoice is refunded, not cancelled.
    let other = bill_19000(&store, &t, cust, "o2").await;
    register_offline_payment(&store, t.business_id, other, "ExternalBank", NOW, None, NOW)
        .await
        .unwrap();
    let paid = cancel_invoice(&store, t.business_id, other, None, NOW).await;
    assert!(matches!(paid, Err(ServiceError::Conflict(_))), "{paid:?}");
}
both_backends!(cancel_voids_an_offline_invoice => sqlite_cancel_voids_an_offline_invoice, postgres_cancel_voids_an_offline_invoice);

async fn cancel_stops_card_collection(store: Store) {
    let t = tenant(&store).await;
    let gateways = Gateways::sandbox();
    let cust = customer(&store, &t, "card", "Free").await;
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
    let id = bill_19000(&store, &t, cust, "c1").await;
    assert_eq!(invoice(&store, &t, id).await.state, "DueAuto");
    cancel_invoice(&store, t.business_id, id, None, NOW)
        .await
        .unwrap();
    let mut c = store.acquire().await.unwrap();
    let collect = jobs::find_by_natural_key(&mut c, &format!("collect:{id}:1"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        collect.done_at_us.is_some(),
        "the collection job is retired"
    );
    drop(c);
    // Even a worker that had already claimed it charges nothing.
    let outcome = collect_invoice(&store, &gateways, t.business_id, id, 1, NOW)
        .await
        .unwrap();
    assert_eq!(outcome, CollectOutcome::Skipped);
    let inv = invoice(&store, &t, id).await;
    assert_eq!(
        (inv.state.as_str(), inv.date_payment_scheduled_us),
        ("Void", None)
    );
}
both_backends!(cancel_stops_card_collection => sqlite_cancel_stops_card_collection, postgres_cancel_stops_card_collection);

async fn cancel_refuses_a_debit_in_flight(store: Store) {
    let t = tenant(&store).await;
    let gateways = Gateways::sandbox();
    let cust = customer(&store, &t, "sepa", "Free").await;
    register_permission(
        &store,
        &gateways,
        t.business_id,
        cust,
        &sepa("DE89 3704 0044 0532 0130 00"),
        NOW,
    )
    .await
    .unwrap();
    let id = bill_19000(&store, &t, cust, "s1").await;
    let outcome = collect_invoice(&store, &gateways, t.business_id, id, 1, NOW + 3 * DAY)
        .await
        .unwrap();
    assert!(
        matches!(outcome, CollectOutcome::Pending { .. }),
        "{outcome:?}"
    );
    let refused = cancel_invoice(&store, t.business_id, id, None, NOW + 3 * DAY).await;
    assert!(
        matches!(refused, Err(ServiceError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(invoice(&store, &t, id).await.state, "DuePending");
}
both_backends!(cancel_refuses_a_debit_in_flight => sqlite_cancel_refuses_a_debit_in_flight, postgres_cancel_refuses_a_debit_in_flight);

// ----- refund -----------------------------------------------------------------------------

async fn refund_card_in_two_parts(store: Store) {
    let t = tenant(&store).await;
    let gateways = Gateways::sandbox();
    let (_, id) = paid_by_card(&store, &t, &gateways, "r1").await;
    let seg = t.segment.id;

    let first = refund_invoice(
        &store,
        &gateways,
        t.business_id,
        id,
        &RefundRequest {
            amount: Some(10000),
            reason: Some("Goodwill".into()),
        },
        NOW + DAY,
    )
    .await
    .unwrap();
    let note = &first.credit_note;
    assert_eq!(
        note.full_number.as_deref(),
        Some(&*format!("C-{seg}.00000001"))
    );
    assert_eq!(note.type_credit.as_deref(), Some("Refund"));
    // 10000 tax included at 20 %: 8333 + 1667.
    assert_eq!(
        (note.amount_subtotal, note.amount_tax, note.amount_total),
        (8333, 1667, 10000)
    );
    assert_eq!(note.lines.len(), 1);
    assert_eq!(
        note.lines[0].label,
        format!("Refund of invoice S-{seg}.00000001")
    );
    assert_eq!(
        first.invoice.state, "Paid",
        "a partial refund leaves it Paid"
    );
    let refund = first.refund.clone().unwrap();
    assert_eq!((refund.state.as_str(), refund.amount), ("Succeeded", 10000));
    assert!(refund.gateway_refund_id.is_some());

    // More than remains (12800) is refused and changes nothing.
    let too_much = refund_invoice(
        &store,
        &gateways,
        t.business_id,
        id,
        &RefundRequest {
            amount: Some(12801),
            reason: None,
        },
        NOW + DAY,
    )
    .await;
    assert!(
        matches!(too_much, Err(ServiceError::Invalid(_))),
        "{too_much:?}"
    );

    let rest = refund_invoice(
        &store,
        &gateways,
        t.business_id,
        id,
        &RefundRequest::default(),
        NOW + 2 * DAY,
    )
    .await
    .unwrap();
    let note2 = &rest.credit_note;
    assert_eq!(
        note2.full_number.as_deref(),
        Some(&*format!("C-{seg}.00000002"))
    );
    // The last note absorbs the rounding: both add up to the invoice exactly.
    assert_eq!(
        (note2.amount_subtotal, note2.amount_tax, note2.amount_total),
        (19000 - 8333, 3800 - 1667, 12800)
    );
    assert_eq!(rest.invoice.state, "PaidRefunded");

    // The card network gave back exactly the invoice.
    assert_eq!(refunded_on_card(&store, &t, &gateways, id).await, 22800);
    let mut c = store.acquire().await.unwrap();
    let all = refunds::list_for_invoice(&mut c, t.business_id, id)
        .await
        .unwrap();
    assert_eq!(all.len(), 2, "the refused request left no row");
    drop(c);
    for cn in [note.id, note2.id] {
        assert!(
            has_job(
                &store,
                &format!("webhook:InvoiceDebitRefunded:invoice={id}:credit={cn}")
            )
            .await
        );
        assert!(has_job(&store, &format!("webhook:InvoiceCreditIssued:invoice={cn}")).await);
        assert!(has_job(&store, &format!("email:invoice={cn}:CreditNoteNewPaid")).await);
    }
    let done = refund_invoice(
        &store,
        &gateways,
        t.business_id,
        id,
        &RefundRequest::default(),
        NOW,
    )
    .await;
    assert!(matches!(done, Err(ServiceError::Invalid(_))), "{done:?}");
}
both_backends!(refund_card_in_two_parts => sqlite_refund_card_in_two_parts, postgres_refund_card_in_two_parts);

async fn refund_offline_is_recorded(store: Store) {
    let t = tenant(&store).await;
    let gateways = Gateways::sandbox();
    let cust = customer(&store, &t, "cheque", "ExternalCheck").await;
    let id = bill_19000(&store, &t, cust, "x1").await;
    // An unpaid invoice is cancelled, not refunded.
    let unpaid = refund_invoice(
        &store,
        &gateways,
        t.business_id,
        id,
        &RefundRequest::default(),
        NOW,
    )
    .await;
    assert!(
        matches!(unpaid, Err(ServiceError::Conflict(_))),
        "{unpaid:?}"
    );
    register_offline_payment(&store, t.business_id, id, "ExternalCheck", NOW, None, NOW)
        .await
        .unwrap();
    let done = refund_invoice(
        &store,
        &gateways,
        t.business_id,
        id,
        &RefundRequest {
            amount: None,
            reason: Some("Cancelled order".into()),
        },
        NOW,
    )
    .await
    .unwrap();
    let refund = done.refund.unwrap();
    assert_eq!(
        (
            refund.state.as_str(),
            refund.gateway_refund_id,
            refund.credit_note_id
        ),
        ("Recorded", None, Some(done.credit_note.id))
    );
    assert_eq!(done.credit_note.amount_total, 22800);
    assert_eq!(done.credit_note.lines[0].label, "Pro plan");
    assert_eq!(done.invoice.state, "PaidRefunded");
}
both_backends!(refund_offline_is_recorded => sqlite_refund_offline_is_recorded, postgres_refund_offline_is_recorded);

/// Two refunds of 15000 at once on a 22800 invoice: whatever the order, one
/// is issued and the other refused, and the notes never exceed the invoice.
async fn concurrent_refunds_never_exceed(store: Store) {
    let t = tenant(&store).await;
    let gateways = std::sync::Arc::new(Gateways::sandbox());
    let (_, id) = paid_by_card(&store, &t, &gateways, "race").await;
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (store, gateways, business_id) = (store.clone(), gateways.clone(), t.business_id);
        tasks.push(tokio::spawn(async move {
            refund_invoice(
                &store,
                &gateways,
                business_id,
                id,
                &RefundRequest {
                    amount: Some(15000),
                    reason: None,
                },
                NOW,
            )
            .await
        }));
    }
    let mut issued = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(done) => {
                issued += 1;
                assert_eq!(done.credit_note.amount_total, 15000);
            }
            Err(ServiceError::Invalid(_)) => refused += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!((issued, refused), (1, 1));
    let mut c = store.acquire().await.unwrap();
    let notes = invoices::list_credit_notes(&mut c, t.business_id, id)
        .await
        .unwrap();
    let total: i64 = notes.iter().map(|n| n.amount_total).sum();
    assert_eq!((notes.len(), total), (1, 15000));
}
both_backends!(concurrent_refunds_never_exceed => sqlite_concurrent_refunds_never_exceed, postgres_concurrent_refunds_never_exceed);

/// A refund left `Started` (its process died) keeps its reservation: a
/// second refund of the rest credits the rest only, not the whole invoice,
/// and the first, finished later by its job, completes the invoice.
async fn a_refund_in_flight_is_not_credited_twice(store: Store) {
    let t = tenant(&store).await;
    let gateways = Gateways::sandbox();
    let (_, id) = paid_by_card(&store, &t, &gateways, "r3").await;
    let first = reserve_refund(
        &store,
        &gateways,
        t.business_id,
        id,
        &RefundRequest {
            amount: Some(10000),
            reason: None,
        },
        NOW,
    )
    .await
    .unwrap();
    assert!(has_job(&store, &format!("resume-refund:{}", first.id)).await);

    let rest = refund_invoice(
        &store,
        &gateways,
        t.business_id,
        id,
        &RefundRequest::default(),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(rest.credit_note.amount_total, 12800);
    assert_eq!(rest.credit_note.lines.len(), 1, "one line per tax rate");
    assert_eq!(
        rest.invoice.state, "Paid",
        "the first refund is not issued yet"
    );

    resume_refund(
        &store,
        &gateways,
        t.business_id,
        first.id,
        NOW + RESUME_REFUND_AFTER_US,
    )
    .await
    .unwrap();
    let mut c = store.acquire().await.unwrap();
    let first = refunds::get(&mut c, t.business_id, first.id).await.unwrap();
    assert_eq!(first.state, "Succeeded");
    let notes = invoices::list_credit_notes(&mut c, t.business_id, id)
        .await
        .unwrap();
    let totals: Vec<i64> = notes.iter().map(|n| n.amount_total).collect();
    assert_eq!(totals.iter().sum::<i64>(), 22800, "{totals:?}");
    assert_eq!(
        invoices::get(&mut c, t.business_id, id)
            .await
            .unwrap()
            .state,
        "PaidRefunded"
    );
    drop(c);
    assert_eq!(refunded_on_card(&store, &t, &gateways, id).await, 22800);
    // Finished: running its job again changes nothing.
    resume_refund(
        &store,
        &gateways,
        t.business_id,
        first.id,
        NOW + 2 * RESUME_REFUND_AFTER_US,
    )
    .await
    .unwrap();
    assert_eq!(refunded_on_card(&store, &t, &gateways, id).await, 22800);
    let mut c = store.acquire().await.unwrap();
    assert_eq!(
        invoices::list_credit_notes(&mut c, t.business_id, id)
            .await
            .unwrap()
            .len(),
        2
    );
}
both_backends!(a_refund_in_flight_is_not_credited_twice => sqlite_a_refund_in_flight_is_not_credited_twice, postgres_a_refund_in_flight_is_not_credited_twice);
