use abo_store::customers::{
    self, BillingAddressPatch, CustomerFilter, CustomerPatch, NewCustomer, PaymentSettingsPatch,
};
use abo_store::{PageRequest, Store};

use crate::fixtures::*;

async fn customer_upsert_and_partial_updates(store: Store) {
    let t = tenant(&store, "A").await;
    let mut c = store.acquire().await.unwrap();
    let new = NewCustomer {
        business_id: t.bid(),
        segment_id: t.sid(),
        reference: "cust-1".into(),
        name: Some("John".into()),
        email: Some("john@example.com".into()),
        language: Some("en".into()),
        metadata: Some(r#"{"plan":"a"}"#.into()),
        ..Default::default()
    };
    let (created, is_new) = customers::upsert(&mut c, &new, NOW).await.unwrap();
    assert!(is_new);
    assert_eq!(created.status, "Enabled");
    assert_eq!(created.payment_settings.type_payment, "Free");
    assert_eq!(created.payment_settings.mode_billing, "Auto");
    assert_eq!(created.links_epoch, 0);

    // Second upsert: same id, only the given fields change.
    let again = NewCustomer {
        email: Some("john@new.example".into()),
        name: None,
        language: None,
        metadata: None,
        ..new.clone()
    };
    let (updated, is_new) = customers::upsert(&mut c, &again, NOW + 1).await.unwrap();
    assert!(!is_new);
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.email.as_deref(), Some("john@new.example"));
    assert_eq!(updated.name.as_deref(), Some("John"));
    assert_eq!(updated.metadata.as_deref(), Some(r#"{"plan":"a"}"#));
    assert_eq!(updated.updated_at_us, NOW + 1);

    // Billing address: each field independently.
    let addr = BillingAddressPatch {
        company: Some("Acme".into()),
        city: Some("Paris".into()),
        country: Some("FR".into()),
        ..Default::default()
    };
    let c1 = customers::update_billing_address(&mut c, t.bid(), created.id, &addr, NOW + 2)
        .await
        .unwrap();
    let zip = BillingAddressPatch {
        zip_code: Some("75001".into()),
        ..Default::default()
    };
    let c2 = customers::update_billing_address(&mut c, t.bid(), created.id, &zip, NOW + 3)
        .await
        .unwrap();
    assert_eq!(c2.billing_address.company.as_deref(), Some("Acme"));
    assert_eq!(c2.billing_address.city.as_deref(), Some("Paris"));
    assert_eq!(c2.billing_address.zip_code.as_deref(), Some("75001"));
    assert_eq!(c2.billing_address.first_name, None);
    assert_eq!(c1.name, c2.name);

    // Payment settings: each field independently.
    let p = PaymentSettingsPatch {
        type_payment: Some("ExternalBank".into()),
        ..Default::default()
    };
    customers::update_payment_settings(&mut c, t.bid(), created.id, &p, NOW)
        .await
        .unwrap();
    let p = PaymentSettingsPatch {
        is_grey_listed: Some(true),
        note_invoice: Some("PO 42".into()),
        date_next_billing_us: Some(NOW + 99),
        ..Default::default()
    };
    let c3 = customers::update_payment_settings(&mut c, t.bid(), created.id, &p, NOW)
        .await
        .unwrap();
    let ps = &c3.payment_settings;
    assert_eq!(ps.type_payment, "ExternalBank");
    assert_eq!(ps.mode_billing, "Auto");
    assert!(ps.is_grey_listed);
    assert_eq!(
        (ps.note_invoice.as_deref(), ps.date_next_billing_us),
        (Some("PO 42"), Some(NOW + 99))
    );
    let p = PaymentSettingsPatch {
        is_grey_listed: Some(false),
        ..Default::default()
    };
    let c4 = customers::update_payment_settings(&mut c, t.bid(), created.id, &p, NOW)
        .await
        .unwrap();
    assert!(!c4.payment_settings.is_grey_listed);
    assert_eq!(c4.payment_settings.note_invoice.as_deref(), Some("PO 42"));

    // Status, invalidation (new reference), link revocation.
    let patch = CustomerPatch {
        status: Some("Suspended".into()),
        reference: Some("cust-8f3a2b1d".into()),
        ..Default::default()
    };
    let c5 = customers::update(&mut c, t.bid(), created.id, &patch, NOW)
        .await
        .unwrap();
    assert_eq!(
        (c5.status.as_str(), c5.reference.as_str()),
        ("Suspended", "cust-8f3a2b1d")
    );
    assert!(
        customers::get_by_reference(&mut c, t.bid(), t.sid(), "cust-1")
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(
        customers::revoke_links(&mut c, t.bid(), created.id, NOW)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        customers::revoke_links(&mut c, t.bid(), created.id, NOW)
            .await
            .unwrap(),
        2
    );
    let other = customer(&mut c, &t, "cust-2").await;
    let dup = CustomerPatch {
        reference: Some("cust-2".into()),
        ..Default::default()
    };
    assert!(
        customers::update(&mut c, t.bid(), created.id, &dup, NOW)
            .await
            .unwrap_err()
            .is_conflict()
    );

    // Anonymization-style replacement clears what is not given.
    let kept = abo_store::customers::BillingAddress {
        country: Some("FR".into()),
        ..Default::default()
    };
    let anon = customers::replace_personal_data(
        &mut c,
        t.bid(),
        other.id,
        Some("## cleared ##"),
        None,
        &kept,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        (anon.name.as_deref(), anon.email.as_deref()),
        (Some("## cleared ##"), None)
    );
    assert_eq!(anon.billing_address, kept);
}
abo_store::both_backends!(customer_upsert_and_partial_updates => sqlite_customer_upsert_and_partial_updates, postgres_customer_upsert_and_partial_updates);

async fn customer_listing_paginates(store: Store) {
    let t = tenant(&store, "A").await;
    let mut c = store.acquire().await.unwrap();
    for i in 0..7 {
        customer(&mut c, &t, &format!("c{i}")).await;
    }
    let all = CustomerFilter::default();
    let p1 = customers::list(&mut c, t.bid(), &all, PageRequest::new(0, 3))
        .await
        .unwrap();
    let p3 = customers::list(&mut c, t.bid(), &all, PageRequest::new(6, 3))
        .await
        .unwrap();
    assert_eq!((p1.total, p1.items.len()), (7, 3));
    assert_eq!((p3.total, p3.items.len()), (7, 1));
    assert_eq!(p1.items[0].reference, "c0");
    assert_eq!(p3.items[0].reference, "c6");
    let by_email = CustomerFilter {
        email: Some("c3@example.com".into()),
        ..Default::default()
    };
    let p = customers::list(&mut c, t.bid(), &by_email, PageRequest::default())
        .await
        .unwrap();
    assert_eq!((p.total, p.items[0].reference.as_str()), (1, "c3"));
    let other_segment = CustomerFilter {
        segment_id: Some(t.sid() + 1000),
        ..Default::default()
    };
    assert_eq!(
        customers::list(&mut c, t.bid(), &other_segment, PageRequest::default())
            .await
            .unwrap()
            .total,
        0
    );
}
abo_store::both_backends!(customer_listing_paginates => sqlite_customer_listing_paginates, postgres_customer_listing_paginates);

async fn concurrent_upserts_create_one_customer(store: Store) {
    let t = tenant(&store, "A").await;
    let mut handles = Vec::new();
    for i in 0..10 {
        let store = store.clone();
        let (bid, sid) = (t.bid(), t.sid());
        handles.push(tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            let new = NewCustomer {
                business_id: bid,
                segment_id: sid,
                reference: "same".into(),
                name: Some(format!("n{i}")),
                ..Default::default()
            };
            let (cust, created) = customers::upsert(&mut tx, &new, NOW).await.unwrap();
            tx.commit().await.unwrap();
            (cust.id, created)
        }));
    }
    let mut ids = Vec::new();
    let mut created = 0;
    for h in handles {
        let (id, c) = h.await.unwrap();
        ids.push(id);
        created += c as usize;
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(created, 1);
}
abo_store::both_backends!(concurrent_upserts_create_one_customer => sqlite_concurrent_upserts_create_one_customer, postgres_concurrent_upserts_create_one_customer);
