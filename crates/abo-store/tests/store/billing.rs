use abo_store::balance_lines::{self, NewBalanceLine};
use abo_store::idempotency::{self, Reservation};
use abo_store::invoices::{self, InvoiceFilter, NewInvoice, NewInvoiceLine};
use abo_store::{PageRequest, Store, StoreError};

use crate::fixtures::*;

fn draft(t: &Tenant, customer_id: i64, amount: i64) -> NewInvoice {
    NewInvoice {
        business_id: t.bid(),
        segment_id: t.sid(),
        customer_id,
        type_payment: "ExternalBank".into(),
        currency: "EUR".into(),
        amount_subtotal: amount,
        amount_tax: amount / 5,
        amount_total: amount + amount / 5,
        buyer: Some(r#"{"Name":"John"}"#.into()),
        lines: vec![NewInvoiceLine {
            type_line: "SubscriptionRenewal".into(),
            label: "Pro plan".into(),
            quantity: 1,
            unit_amount: amount,
            amount_subtotal: amount,
            tax_rate: "20".into(),
            amount_tax: amount / 5,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Numbers are consecutive even when an issuing transaction rolls back in the middle.
async fn invoice_numbering_is_gapless(store: Store) {
    let t = tenant(&store, "A").await;
    let mut c = store.acquire().await.unwrap();
    let cust = customer(&mut c, &t, "cust-1").await;
    drop(c);

    let mut tx = store.begin().await.unwrap();
    let d1 = invoices::create_draft(&mut tx, &draft(&t, cust.id, 10_000), NOW)
        .await
        .unwrap();
    assert_eq!(
        (d1.state.as_str(), d1.number, d1.lines.len()),
        ("Draft", None, 1)
    );
    let i1 = invoices::issue(&mut tx, t.bid(), d1.id, "Due", NOW + 1)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let d2 = invoices::create_draft(&mut tx, &draft(&t, cust.id, 20_000), NOW)
        .await
        .unwrap();
    let rolled = invoices::issue(&mut tx, t.bid(), d2.id, "Due", NOW + 2)
        .await
        .unwrap();
    assert_eq!(rolled.number, Some(2));
    tx.rollback().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let d3 = invoices::create_draft(&mut tx, &draft(&t, cust.id, 30_000), NOW)
        .await
        .unwrap();
    let i3 = invoices::issue(&mut tx, t.bid(), d3.id, "Due", NOW + 3)
        .await
        .unwrap();
    // Credit notes have their own counter and prefix.
    let mut credit = draft(&t, cust.id, -10_000);
    credit.is_credit_note = true;
    credit.type_credit = Some("Refund".into());
    credit.credited_invoice_id = Some(i1.id);
    let cn = invoices::create_draft(&mut tx, &credit, NOW).await.unwrap();
    let cn = invoices::issue(&mut tx, t.bid(), cn.id, "Paid", NOW + 4)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        (i1.number, i1.full_number.as_deref()),
        (Some(1), Some(format!("S-{}.00000001", t.sid()).as_str()))
    );
    assert_eq!(
        (i3.number, i3.full_number.as_deref()),
        (Some(2), Some(format!("S-{}.00000002", t.sid()).as_str()))
    );
    assert_eq!(
        (cn.number, cn.full_number.as_deref()),
        (Some(1), Some(format!("C-{}.00000001", t.sid()).as_str()))
    );
    assert_eq!(
        (i1.state.as_str(), i1.date_issue_us),
        ("Due", Some(NOW + 1))
    );

    let mut c = store.acquire().await.unwrap();
    // The rolled-back draft does not exist; re-issuing is refused.
    // (SQLite may reuse the rolled-back row id, so look for its content instead.)
    let all = invoices::list(
        &mut c,
        t.bid(),
        &InvoiceFilter::default(),
        PageRequest::default(),
    )
    .await
    .unwrap();
    assert!(all.items.iter().all(|i| i.amount_subtotal != 20_000));
    assert_eq!(all.total, 3);
    let err = invoices::issue(&mut c, t.bid(), i1.id, "Due", NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let seg = abo_store::segments::get(&mut c, t.bid(), t.sid())
        .await
        .unwrap();
    assert_eq!(
        (seg.next_invoice_number, seg.next_credit_note_number),
        (3, 2)
    );

    // Reads, listing, state changes.
    let got = invoices::get_by_full_number(&mut c, t.bid(), &format!("S-{}.00000002", t.sid()))
        .await
        .unwrap();
    assert_eq!(got, i3);
    assert_eq!(got.lines[0].tax_rate, "20");
    let paid = invoices::set_state(&mut c, t.bid(), i1.id, "Paid", Some(NOW + 9), NOW + 9)
        .await
        .unwrap();
    assert_eq!(
        (paid.state.as_str(), paid.date_payment_us),
        ("Paid", Some(NOW + 9))
    );
    invoices::set_payment_scheduled(&mut c, t.bid(), i3.id, Some(NOW + 7), NOW)
        .await
        .unwrap();
    let debits = InvoiceFilter {
        is_credit_note: Some(false),
        ..Default::default()
    };
    let page = invoices::list(&mut c, t.bid(), &debits, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.items[0].id, i3.id); // newest first
    assert_eq!(page.items[0].date_payment_scheduled_us, Some(NOW + 7));
    let credits = InvoiceFilter {
        is_credit_note: Some(true),
        ..Default::default()
    };
    assert_eq!(
        invoices::list(&mut c, t.bid(), &credits, PageRequest::default())
            .await
            .unwrap()
            .total,
        1
    );
}
abo_store::both_backends!(invoice_numbering_is_gapless => sqlite_invoice_numbering_is_gapless, postgres_invoice_numbering_is_gapless);

/// Concurrent issuers in one segment get distinct consecutive numbers.
async fn concurrent_issues_get_consecutive_numbers(store: Store) {
    let t = tenant(&store, "A").await;
    let mut c = store.acquire().await.unwrap();
    let cust = customer(&mut c, &t, "cust-1").await;
    drop(c);
    let mut handles = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        let new = draft(&t, cust.id, 100 + i);
        let bid = t.bid();
        handles.push(tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            let d = invoices::create_draft(&mut tx, &new, NOW).await.unwrap();
            let inv = invoices::issue(&mut tx, bid, d.id, "Due", NOW)
                .await
                .unwrap();
            if i % 4 == 3 {
                tx.rollback().await.unwrap();
                None
            } else {
                tx.commit().await.unwrap();
                inv.number
            }
        }));
    }
    let mut numbers = Vec::new();
    for h in handles {
        numbers.extend(h.await.unwrap());
    }
    numbers.sort();
    assert_eq!(numbers, (1..=15).collect::<Vec<i64>>());
}
abo_store::both_backends!(concurrent_issues_get_consecutive_numbers => sqlite_concurrent_issues_get_consecutive_numbers, postgres_concurrent_issues_get_consecutive_numbers);

async fn balance_lines_are_exactly_once(store: Store) {
    let t = tenant(&store, "A").await;
    let mut c = store.acquire().await.unwrap();
    let cust = customer(&mut c, &t, "cust-1").await;
    let line = NewBalanceLine {
        business_id: t.bid(),
        segment_id: t.sid(),
        customer_id: cust.id,
        type_line: "SubscriptionRenewal".into(),
        label: "Pro, January".into(),
        amount_subtotal: 10_000,
        currency: "EUR".into(),
        date_period_start_us: Some(NOW),
        natural_key: Some("renewal:sub=1:period=1".into()),
        ..Default::default()
    };
    let (first, inserted) = balance_lines::insert(&mut c, &line, NOW).await.unwrap();
    assert!(inserted);
    assert_eq!(first.state_move, "Due");
    let (second, inserted) = balance_lines::insert(&mut c, &line, NOW + 1).await.unwrap();
    assert!(!inserted);
    assert_eq!(second, first);
    // Lines without a natural key are never deduplicated.
    let free = NewBalanceLine {
        natural_key: None,
        amount_subtotal: -2_500,
        ..line.clone()
    };
    let (a, _) = balance_lines::insert(&mut c, &free, NOW).await.unwrap();
    let (b, _) = balance_lines::insert(&mut c, &free, NOW).await.unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(
        balance_lines::due_total(&mut c, t.bid(), cust.id)
            .await
            .unwrap(),
        5_000
    );

    let inv = invoices::create_draft(&mut c, &draft(&t, cust.id, 5_000), NOW)
        .await
        .unwrap();
    assert!(
        balance_lines::mark_billed(&mut c, t.bid(), first.id, inv.id)
            .await
            .unwrap()
    );
    assert!(
        !balance_lines::mark_billed(&mut c, t.bid(), first.id, inv.id)
            .await
            .unwrap()
    );
    let billed = balance_lines::get(&mut c, t.bid(), first.id).await.unwrap();
    assert_eq!(
        (billed.state_move.as_str(), billed.invoice_id),
        ("Billed", Some(inv.id))
    );
    balance_lines::set_state(&mut c, t.bid(), a.id, "Cancelled")
        .await
        .unwrap();
    let due = balance_lines::list_for_customer(&mut c, t.bid(), cust.id, Some("Due"))
        .await
        .unwrap();
    assert_eq!(due.iter().map(|l| l.id).collect::<Vec<_>>(), vec![b.id]);
    assert_eq!(
        balance_lines::list_for_customer(&mut c, t.bid(), cust.id, None)
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        balance_lines::due_total(&mut c, t.bid(), cust.id)
            .await
            .unwrap(),
        -2_500
    );
}
abo_store::both_backends!(balance_lines_are_exactly_once => sqlite_balance_lines_are_exactly_once, postgres_balance_lines_are_exactly_once);

async fn idempotency_keys(store: Store) {
    let a = tenant(&store, "A").await;
    let b = tenant(&store, "B").await;
    let mut c = store.acquire().await.unwrap();
    assert_eq!(
        idempotency::begin(&mut c, a.bid(), "k1", "h1", NOW)
            .await
            .unwrap(),
        Reservation::New
    );
    assert_eq!(
        idempotency::begin(&mut c, a.bid(), "k1", "h1", NOW)
            .await
            .unwrap(),
        Reservation::InProgress
    );
    assert_eq!(
        idempotency::begin(&mut c, a.bid(), "k1", "h2", NOW)
            .await
            .unwrap(),
        Reservation::Mismatch
    );
    // Keys are per business.
    assert_eq!(
        idempotency::begin(&mut c, b.bid(), "k1", "h2", NOW)
            .await
            .unwrap(),
        Reservation::New
    );
    idempotency::complete(&mut c, a.bid(), "k1", 201, "{\"Id\":1}")
        .await
        .unwrap();
    assert_eq!(
        idempotency::begin(&mut c, a.bid(), "k1", "h1", NOW)
            .await
            .unwrap(),
        Reservation::Replay {
            status: 201,
            body: "{\"Id\":1}".into()
        }
    );
    idempotency::release(&mut c, b.bid(), "k1").await.unwrap();
    assert_eq!(
        idempotency::begin(&mut c, b.bid(), "k1", "h3", NOW + 10)
            .await
            .unwrap(),
        Reservation::New
    );
    assert_eq!(idempotency::purge(&mut c, NOW + 1).await.unwrap(), 1);
    assert_eq!(
        idempotency::begin(&mut c, a.bid(), "k1", "h9", NOW)
            .await
            .unwrap(),
        Reservation::New
    );
}
abo_store::both_backends!(idempotency_keys => sqlite_idempotency_keys, postgres_idempotency_keys);

/// The batch inserts build the invoices and payments they return from what
/// they wrote, without reading them back: what they return must be what is
/// stored, field by field (a column given a value by the database, or a
/// field built wrong, fails here).
async fn batch_inserts_return_what_they_stored(store: Store) {
    use abo_store::invoices::IssuedInvoice;
    use abo_store::payments::{self, NewPayment};

    let t = tenant(&store, "A").await;
    let mut tx = store.begin().await.unwrap();
    let cust = customer(&mut tx, &t, "cust-1").await;
    let numbers = invoices::take_numbers(&mut tx, t.bid(), t.sid(), false, 3)
        .await
        .unwrap();
    let issued: Vec<IssuedInvoice> = numbers
        .into_iter()
        .enumerate()
        .map(|(i, (number, full_number))| {
            let mut new = draft(&t, cust.id, 1000 * (i as i64 + 1));
            new.type_payment = "Card".into();
            new.note = (i == 1).then(|| "note".into());
            new.date_payment_scheduled_us = Some(NOW + 3);
            IssuedInvoice {
                new,
                state: "DueAuto".into(),
                number,
                full_number,
            }
        })
        .collect();
    let returned = invoices::insert_issued_many(&mut tx, &issued, NOW)
        .await
        .unwrap();
    let ids: Vec<i64> = returned.iter().map(|i| i.id).collect();
    let stored = invoices::get_many_heads(&mut tx, t.bid(), &ids)
        .await
        .unwrap();
    assert_eq!(returned.len(), 3);
    assert_eq!(returned, stored);
    assert_eq!(returned[2].full_number, Some(issued[2].full_number.clone()));

    let attempt = |invoice: &invoices::Invoice| NewPayment {
        business_id: t.bid(),
        invoice_id: invoice.id,
        attempt: 1,
        type_payment: "Card".into(),
        permission_id: None,
        amount: invoice.amount_total,
        currency: "EUR".into(),
        state: "Started".into(),
        note: Some("first".into()),
        date_payment_us: None,
    };
    // The first invoice's attempt exists already: it is skipped.
    payments::insert_attempts(&mut tx, &[attempt(&returned[0])], NOW)
        .await
        .unwrap();
    let new: Vec<NewPayment> = returned.iter().map(attempt).collect();
    let mut inserted = payments::insert_attempts(&mut tx, &new, NOW + 1)
        .await
        .unwrap();
    inserted.sort_by_key(|p| p.invoice_id);
    assert_eq!(
        inserted.iter().map(|p| p.invoice_id).collect::<Vec<_>>(),
        ids[1..]
    );
    let pairs: Vec<(i64, i64)> = ids[1..].iter().map(|id| (*id, 1)).collect();
    let mut found = payments::find_attempts(&mut tx, t.bid(), &pairs)
        .await
        .unwrap();
    found.sort_by_key(|p| p.invoice_id);
    assert_eq!(inserted, found);
    tx.commit().await.unwrap();
}
abo_store::both_backends!(batch_inserts_return_what_they_stored => sqlite_batch_inserts_return_what_they_stored, postgres_batch_inserts_return_what_they_stored);
