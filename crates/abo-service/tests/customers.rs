//! The Customers use cases against a real store: every test runs on SQLite (a temp file) and,
//! when ABO_TEST_POSTGRES_URL is set, on a fresh PostgreSQL database (ABO_REQUIRE_POSTGRES=1
//! turns the skip into a failure), through `abo_store::both_backends!`.

use abo_links::{Keyring, LinkClaims, LinkError, LinkKey, Purpose};
use abo_service::ServiceError;
use abo_service::business::{BusinessSpec, create_business};
use abo_service::customers::{
    self, BillingAddressInput, CustomerInput, CustomerKey, ListQuery, PaymentSettingsInput,
    SegmentSelector,
};
use abo_store::balance_lines::{self, NewBalanceLine};
use abo_store::features::{self, NewFeature};
use abo_store::invoices::{self, NewInvoice};
use abo_store::offers::{self, FeatureTerms, NewOffer, Offer};
use abo_store::segments::{self, NewSegment, Segment};
use abo_store::subscriptions::{self, NewSubscription};
use abo_store::{Store, both_backends};
use serde_json::json;

const NOW: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z in µs

// ----- fixtures ------------------------------------------------------------------------------

struct Tenant {
    business_id: i64,
    main: Segment,
    usd: Segment,
}

/// A business (through the real use case, so it has credentials and a link key) with a
/// default EUR segment and a second USD one.
async fn tenant(store: &Store, name: &str) -> Tenant {
    let created = create_business(
        store,
        &BusinessSpec {
            name: name.into(),
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
    let seg = |reference: &str, currency: &str, is_default: bool, prefix: &str| NewSegment {
        business_id,
        reference: reference.into(),
        name: reference.into(),
        currency: currency.into(),
        time_zone: None,
        locale: None,
        is_default,
        invoice_prefix: Some(prefix.into()),
        credit_note_prefix: None,
    };
    let main = segments::create(&mut c, &seg("main-eur", "EUR", true, "S-"), NOW)
        .await
        .unwrap();
    let usd = segments::create(&mut c, &seg("other-usd", "USD", false, "U-"), NOW)
        .await
        .unwrap();
    Tenant {
        business_id,
        main,
        usd,
    }
}

fn input(reference: &str) -> CustomerInput {
    CustomerInput {
        reference: Some(reference.into()),
        name: Some("John Doe".into()),
        email: Some("john@doe.com".into()),
        language: Some("en".into()),
        ..Default::default()
    }
}

async fn create(store: &Store, t: &Tenant, reference: &str) -> customers::CustomerView {
    customers::upsert(store, t.business_id, &input(reference), NOW)
        .await
        .unwrap()
        .0
}

/// An offer in the main segment including one feature `seats`.
async fn offer_with_feature(store: &Store, t: &Tenant, reference: &str) -> Offer {
    let mut c = store.acquire().await.unwrap();
    let feature = match features::find_by_reference(&mut c, t.business_id, "seats")
        .await
        .unwrap()
    {
        Some(f) => f,
        None => features::create(
            &mut c,
            &NewFeature {
                business_id: t.business_id,
                reference: "seats".into(),
                name: "Seats".into(),
                description: None,
                type_feature: "Limitation".into(),
                is_visible: true,
            },
            NOW,
        )
        .await
        .unwrap(),
    };
    offers::create(
        &mut c,
        &NewOffer {
            business_id: t.business_id,
            segment_id: t.main.id,
            reference: reference.into(),
            name: format!("Offer {reference}"),
            description: None,
            is_visible: true,
            currency: "EUR".into(),
            amount_upfront: 0,
            amount_trial: 0,
            duration_trial: None,
            unit_trial: None,
            amount_recurrence: 1000,
            duration_recurrence: 1,
            unit_recurrence: "Month".into(),
            count_recurrences: None,
            count_min_recurrences: None,
            amount_termination: 0,
            features: vec![FeatureTerms {
                feature_id: feature.id,
                is_included: true,
                is_enabled: true,
                quantity_included: Some(3),
                pricing_model: "None".into(),
                pricing_amount: None,
                updatable_before_subscription: false,
                updatable_after_subscription: false,
                free_in_trial: false,
                tiers: vec![],
            }],
        },
        NOW,
    )
    .await
    .unwrap()
}

async fn subscription(store: &Store, offer: &Offer, customer_id: i64, state: &str) -> i64 {
    let mut c = store.acquire().await.unwrap();
    subscriptions::create(
        &mut c,
        &NewSubscription::from_offer(offer, customer_id, state),
        NOW,
    )
    .await
    .unwrap()
    .id
}

/// Issue a debit invoice of 12.00 EUR in `state` (e.g. "DueOffline").
async fn invoice(store: &Store, t: &Tenant, customer_id: i64, state: &str) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let draft = invoices::create_draft(
        &mut tx,
        &NewInvoice {
            business_id: t.business_id,
            segment_id: t.main.id,
            customer_id,
            is_credit_note: false,
            type_credit: None,
            credited_invoice_id: None,
            type_payment: "ExternalBank".into(),
            currency: "EUR".into(),
            amount_subtotal: 1000,
            amount_tax: 200,
            amount_total: 1200,
            date_payment_limit_us: None,
            date_payment_scheduled_us: None,
            note: None,
            reason: None,
            buyer: None,
            lines: vec![],
        },
        NOW,
    )
    .await
    .unwrap();
    let issued = invoices::issue(&mut tx, t.business_id, draft.id, state, NOW)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    issued.id
}

fn invalid(err: ServiceError) -> Vec<String> {
    match err {
        ServiceError::Invalid(messages) => messages,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn key(reference: &str) -> CustomerKey {
    CustomerKey::new(reference)
}

// ----- upsert --------------------------------------------------------------------------------

async fn upsert_creates_then_updates_with_the_same_id(store: Store) {
    let t = tenant(&store, "A").await;
    let (created, is_new) = customers::upsert(&store, t.business_id, &input("cust-42"), NOW)
        .await
        .unwrap();
    assert!(is_new);
    // No segment given: the default segment, and its currency.
    assert_eq!(created.segment.id, t.main.id);
    assert_eq!(created.segment.currency, "EUR");
    assert_eq!(created.customer.status, "Enabled");

    // Absent fields are unchanged; given ones replace; blanks (N8N) are "absent".
    let update = CustomerInput {
        reference: Some("cust-42".into()),
        email: Some("JOHN@new.example".into()),
        name: Some("   ".into()),
        language: Some("fr_fr".into()),
        metadata: Some(json!({"Plan": "gold", "Seats": 3})),
        ..Default::default()
    };
    let (updated, is_new) = customers::upsert(&store, t.business_id, &update, NOW + 1)
        .await
        .unwrap();
    assert!(!is_new);
    assert_eq!(updated.customer.id, created.customer.id);
    assert_eq!(updated.customer.name.as_deref(), Some("John Doe"));
    assert_eq!(updated.customer.email.as_deref(), Some("JOHN@new.example"));
    assert_eq!(updated.customer.language.as_deref(), Some("fr-FR"));
    assert_eq!(updated.metadata()["Seats"], json!("3"));

    // The same reference in another segment is another customer: a segment never changes.
    let other = CustomerInput {
        segment: SegmentSelector::by_reference("other-usd"),
        ..input("cust-42")
    };
    let (in_usd, is_new) = customers::upsert(&store, t.business_id, &other, NOW)
        .await
        .unwrap();
    assert!(is_new);
    assert_ne!(in_usd.customer.id, created.customer.id);
    assert_eq!(in_usd.segment.currency, "USD");
    // IdSegment works too and finds the same customer.
    let by_id = CustomerInput {
        segment: SegmentSelector {
            reference: None,
            id: Some(t.usd.id),
        },
        ..input("cust-42")
    };
    let (again, is_new) = customers::upsert(&store, t.business_id, &by_id, NOW)
        .await
        .unwrap();
    assert!(!is_new);
    assert_eq!(again.customer.id, in_usd.customer.id);

    // Without a segment, a get prefers the default segment's customer.
    let got = customers::get(&store, t.business_id, &key("cust-42"), None)
        .await
        .unwrap();
    assert_eq!(got.customer.id, created.customer.id);
}
both_backends!(upsert_creates_then_updates_with_the_same_id =>
    upsert_creates_then_updates_with_the_same_id_sqlite,
    upsert_creates_then_updates_with_the_same_id_postgres);

async fn upsert_generates_a_reference_when_omitted(store: Store) {
    let t = tenant(&store, "A").await;
    let body = CustomerInput {
        reference: None,
        ..input("unused")
    };
    let (a, a_new) = customers::upsert(&store, t.business_id, &body, NOW)
        .await
        .unwrap();
    let (b, b_new) = customers::upsert(&store, t.business_id, &body, NOW)
        .await
        .unwrap();
    assert!(a_new && b_new);
    assert_ne!(a.customer.reference, b.customer.reference);
    assert!(uuid::Uuid::parse_str(&a.customer.reference).is_ok());
}
both_backends!(upsert_generates_a_reference_when_omitted =>
    upsert_generates_a_reference_when_omitted_sqlite,
    upsert_generates_a_reference_when_omitted_postgres);

async fn upsert_reports_every_invalid_field_and_writes_nothing(store: Store) {
    let t = tenant(&store, "A").await;
    let bad = CustomerInput {
        reference: Some("a<b".into()),
        email: Some("not-an-email".into()),
        language: Some("english".into()),
        reference_affiliation: Some("x".repeat(51)),
        metadata: Some(json!({"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6"})),
        reference_offer: Some("ghost".into()),
        ..Default::default()
    };
    let messages = invalid(
        customers::upsert(&store, t.business_id, &bad, NOW)
            .await
            .unwrap_err(),
    );
    for field in [
        "ReferenceCustomer:",
        "Email:",
        "Language:",
        "ReferenceAffiliation:",
        "Metadata:",
        "ReferenceOffer:",
    ] {
        assert!(
            messages.iter().any(|m| m.starts_with(field)),
            "{field} missing from {messages:?}"
        );
    }
    assert_eq!(messages.len(), 6, "{messages:?}");

    let too_long = input(&"r".repeat(51));
    let messages = invalid(
        customers::upsert(&store, t.business_id, &too_long, NOW)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        messages,
        ["ReferenceCustomer: must be at most 50 characters"]
    );

    let long_value = CustomerInput {
        metadata: Some(json!({"k": "v".repeat(451)})),
        ..input("c1")
    };
    let messages = invalid(
        customers::upsert(&store, t.business_id, &long_value, NOW)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        messages,
        ["Metadata.k: value must be at most 450 characters"]
    );

    let unknown_segment = CustomerInput {
        segment: SegmentSelector::by_reference("nope"),
        ..input("c1")
    };
    let messages = invalid(
        customers::upsert(&store, t.business_id, &unknown_segment, NOW)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        messages,
        ["ReferenceSegment: no segment 'nope' in this business"]
    );

    // Nothing was created by the refused calls.
    let page = customers::list(&store, t.business_id, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(page.total, 0);
}
both_backends!(upsert_reports_every_invalid_field_and_writes_nothing =>
    upsert_reports_every_invalid_field_and_writes_nothing_sqlite,
    upsert_reports_every_invalid_field_and_writes_nothing_postgres);

async fn affiliation_is_dated(store: Store) {
    let t = tenant(&store, "A").await;
    let dated_without_reference = CustomerInput {
        date_affiliation_us: Some(NOW - 10),
        ..input("c1")
    };
    let messages = invalid(
        customers::upsert(&store, t.business_id, &dated_without_reference, NOW)
            .await
            .unwrap_err(),
    );
    assert_eq!(messages, ["DateAffiliation: needs ReferenceAffiliation"]);

    let affiliated = CustomerInput {
        reference_affiliation: Some("janesmith".into()),
        ..input("c1")
    };
    let (c, _) = customers::upsert(&store, t.business_id, &affiliated, NOW)
        .await
        .unwrap();
    assert_eq!(
        c.customer.reference_affiliation.as_deref(),
        Some("janesmith")
    );
    assert_eq!(c.customer.date_affiliation_us, Some(NOW));
    // Same affiliation again later: the date stays the one it was recorded at.
    let (c, _) = customers::upsert(&store, t.business_id, &affiliated, NOW + 5)
        .await
        .unwrap();
    assert_eq!(c.customer.date_affiliation_us, Some(NOW));
    // Now the stored affiliation lets a date alone through.
    let redated = CustomerInput {
        date_affiliation_us: Some(NOW - 99),
        ..input("c1")
    };
    let (c, _) = customers::upsert(&store, t.business_id, &redated, NOW + 6)
        .await
        .unwrap();
    assert_eq!(c.customer.date_affiliation_us, Some(NOW - 99));
    let future = CustomerInput {
        date_affiliation_us: Some(NOW + 2 * 24 * 3600 * 1_000_000),
        ..input("c1")
    };
    let messages = invalid(
        customers::upsert(&store, t.business_id, &future, NOW)
            .await
            .unwrap_err(),
    );
    assert_eq!(messages, ["DateAffiliation: must not be in the future"]);
}
both_backends!(affiliation_is_dated => affiliation_is_dated_sqlite, affiliation_is_dated_postgres);

// ----- get, list, tenancy --------------------------------------------------------------------

async fn tenants_cannot_see_each_other(store: Store) {
    let a = tenant(&store, "A").await;
    let b = tenant(&store, "B").await;
    let mine = create(&store, &a, "shared-ref").await;

    // B asking for A's reference: exactly the answer for an unknown reference.
    let err = customers::get(&store, b.business_id, &key("shared-ref"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::NotFound(ref w) if w == "customer 'shared-ref'"));
    let unknown = customers::get(&store, b.business_id, &key("never-seen"), None)
        .await
        .unwrap_err();
    assert!(matches!(unknown, ServiceError::NotFound(_)));
    // Neither can B act on it, even naming A's segment id.
    let in_a_segment = key("shared-ref").in_segment(SegmentSelector {
        reference: None,
        id: Some(a.main.id),
    });
    for result in [
        customers::suspend(&store, b.business_id, &in_a_segment, NOW).await,
        customers::revoke_links(&store, b.business_id, &key("shared-ref"), NOW).await,
        customers::billing_address(&store, b.business_id, &key("shared-ref")).await,
        customers::anonymize(&store, b.business_id, &key("shared-ref"), NOW).await,
    ] {
        assert!(
            matches!(result, Err(ServiceError::NotFound(_))),
            "{result:?}"
        );
    }
    // B upserting the same reference makes B's own customer and leaves A's untouched.
    let (theirs, created) = customers::upsert(
        &store,
        b.business_id,
        &CustomerInput {
            name: Some("B's".into()),
            ..input("shared-ref")
        },
        NOW,
    )
    .await
    .unwrap();
    assert!(created);
    assert_ne!(theirs.customer.id, mine.customer.id);
    let still = customers::get(&store, a.business_id, &key("shared-ref"), None)
        .await
        .unwrap();
    assert_eq!(still.customer.name.as_deref(), Some("John Doe"));
    // Lists are per business.
    let listed = customers::list(&store, b.business_id, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(listed.items[0].customer.id, theirs.customer.id);
}
both_backends!(tenants_cannot_see_each_other =>
    tenants_cannot_see_each_other_sqlite, tenants_cannot_see_each_other_postgres);

async fn get_with_an_offer_and_ambiguous_references(store: Store) {
    let t = tenant(&store, "A").await;
    let offer = offer_with_feature(&store, &t, "pro").await;
    create(&store, &t, "c1").await;
    let got = customers::get(&store, t.business_id, &key("c1"), Some("pro"))
        .await
        .unwrap();
    assert_eq!(got.offer_id, Some(offer.id));
    let err = customers::get(&store, t.business_id, &key("c1"), Some("ghost"))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::NotFound(ref w) if w.starts_with("offer 'ghost'")));

    // A reference only in a non-default segment is found without naming it...
    let mut c = store.acquire().await.unwrap();
    let third = segments::create(
        &mut c,
        &NewSegment {
            business_id: t.business_id,
            reference: "third-gbp".into(),
            name: "third".into(),
            currency: "GBP".into(),
            time_zone: None,
            locale: None,
            is_default: false,
            invoice_prefix: Some("G-".into()),
            credit_note_prefix: None,
        },
        NOW,
    )
    .await
    .unwrap();
    drop(c);
    let in_usd = CustomerInput {
        segment: SegmentSelector::by_reference("other-usd"),
        ..input("only-usd")
    };
    customers::upsert(&store, t.business_id, &in_usd, NOW)
        .await
        .unwrap();
    let found = customers::get(&store, t.business_id, &key("only-usd"), None)
        .await
        .unwrap();
    assert_eq!(found.segment.id, t.usd.id);
    // ...but when two non-default segments hold it, the caller must say which.
    let in_gbp = CustomerInput {
        segment: SegmentSelector {
            reference: None,
            id: Some(third.id),
        },
        ..input("only-usd")
    };
    customers::upsert(&store, t.business_id, &in_gbp, NOW)
        .await
        .unwrap();
    let messages = invalid(
        customers::get(&store, t.business_id, &key("only-usd"), None)
            .await
            .unwrap_err(),
    );
    assert!(messages[0].contains("several segments"), "{messages:?}");
    let named = key("only-usd").in_segment(SegmentSelector::by_reference("third-gbp"));
    let found = customers::get(&store, t.business_id, &named, None)
        .await
        .unwrap();
    assert_eq!(found.segment.currency, "GBP");
}
both_backends!(get_with_an_offer_and_ambiguous_references =>
    get_with_an_offer_and_ambiguous_references_sqlite,
    get_with_an_offer_and_ambiguous_references_postgres);

async fn list_filters_and_pages(store: Store) {
    let t = tenant(&store, "A").await;
    let offer = offer_with_feature(&store, &t, "pro").await;
    let mut ids = Vec::new();
    for i in 1..=5 {
        ids.push(create(&store, &t, &format!("c{i}")).await.customer.id);
    }
    let usd = CustomerInput {
        segment: SegmentSelector::by_reference("other-usd"),
        ..input("u1")
    };
    customers::upsert(&store, t.business_id, &usd, NOW)
        .await
        .unwrap();
    // c1 and c3 have an active subscription with `seats`; c2's is ended; c4's is a draft.
    subscription(&store, &offer, ids[0], "ActiveRunning").await;
    subscription(&store, &offer, ids[2], "ActiveDelayedTermination").await;
    subscription(&store, &offer, ids[1], "EndedTerminated").await;
    subscription(&store, &offer, ids[3], "DraftAgent").await;

    let all = customers::list(&store, t.business_id, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(all.total, 6);
    let main_only = ListQuery {
        segment: SegmentSelector::by_reference("main-eur"),
        ..Default::default()
    };
    let page = customers::list(&store, t.business_id, &main_only)
        .await
        .unwrap();
    assert_eq!(page.total, 5);
    assert!(page.items.iter().all(|v| v.segment.currency == "EUR"));

    let with_seats = ListQuery {
        feature_reference: Some("seats".into()),
        ..Default::default()
    };
    let page = customers::list(&store, t.business_id, &with_seats)
        .await
        .unwrap();
    let found: Vec<i64> = page.items.iter().map(|v| v.customer.id).collect();
    assert_eq!(found, [ids[0], ids[2]]);

    let second_page = ListQuery {
        segment: SegmentSelector::by_reference("main-eur"),
        page: 2,
        size_page: 2,
        ..Default::default()
    };
    let page = customers::list(&store, t.business_id, &second_page)
        .await
        .unwrap();
    assert_eq!(page.total, 5);
    let refs: Vec<&str> = page
        .items
        .iter()
        .map(|v| v.customer.reference.as_str())
        .collect();
    assert_eq!(refs, ["c3", "c4"]);

    let count_only = ListQuery {
        size_page: 0,
        ..Default::default()
    };
    let page = customers::list(&store, t.business_id, &count_only)
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.total), (0, 6));

    for nothing in [
        ListQuery {
            segment: SegmentSelector::by_reference("ghost"),
            ..Default::default()
        },
        ListQuery {
            feature_reference: Some("ghost".into()),
            ..Default::default()
        },
    ] {
        let page = customers::list(&store, t.business_id, &nothing)
            .await
            .unwrap();
        assert_eq!((page.items.len(), page.total), (0, 0));
    }
}
both_backends!(list_filters_and_pages =>
    list_filters_and_pages_sqlite,
    list_filters_and_pages_postgres);

// ----- privacy and security ------------------------------------------------------------------

async fn anonymization_is_refused_until_everything_is_settled(store: Store) {
    let t = tenant(&store, "A").await;
    let offer = offer_with_feature(&store, &t, "pro").await;
    let view = customers::upsert(
        &store,
        t.business_id,
        &CustomerInput {
            metadata: Some(json!({"Gender": "Male"})),
            ..input("c1")
        },
        NOW,
    )
    .await
    .unwrap()
    .0;
    let id = view.customer.id;
    customers::update_billing_address(
        &store,
        t.business_id,
        &key("c1"),
        &BillingAddressInput {
            first_name: Some("John".into()),
            last_name: Some("Doe".into()),
            address_line1: Some("1 rue de la Paix".into()),
            zip_code: Some("75002".into()),
            city: Some("Paris".into()),
            country: Some("FR".into()),
            phone: Some("+33102030405".into()),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    let invoice_id = invoice(&store, &t, id, "DueOffline").await;
    let sub = subscription(&store, &offer, id, "ActiveRunning").await;
    let draft = subscription(&store, &offer, id, "DraftCustomer").await;
    let mut c = store.acquire().await.unwrap();
    let line = balance_lines::insert(
        &mut c,
        &NewBalanceLine {
            business_id: t.business_id,
            segment_id: t.main.id,
            customer_id: id,
            type_line: "Manual".into(),
            label: "Setup".into(),
            amount_subtotal: 500,
            currency: "EUR".into(),
            date_move_us: Some(NOW),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap()
    .0;
    drop(c);

    let refused = |code: &'static str| {
        move |r: Result<customers::CustomerView, ServiceError>| match r {
            Err(ServiceError::Refused { code: got, message }) => {
                assert_eq!(got, code, "{message}");
                message
            }
            other => panic!("expected {code}, got {other:?}"),
        }
    };
    let message = refused(customers::CODE_HAS_DUE_INVOICES)(
        customers::anonymize(&store, t.business_id, &key("c1"), NOW).await,
    );
    assert_eq!(
        message,
        "Anonymization rejected - the Customer has at least one due invoice."
    );
    let mut c = store.acquire().await.unwrap();
    invoices::set_state(&mut c, t.business_id, invoice_id, "Paid", Some(NOW), NOW)
        .await
        .unwrap();
    drop(c);
    refused(customers::CODE_HAS_ACTIVE_SUBSCRIPTIONS)(
        customers::anonymize(&store, t.business_id, &key("c1"), NOW).await,
    );
    let mut c = store.acquire().await.unwrap();
    subscriptions::update_state(&mut c, t.business_id, sub, "EndedTerminated", NOW)
        .await
        .unwrap();
    drop(c);
    refused(customers::CODE_NON_ZERO_BALANCE)(
        customers::anonymize(&store, t.business_id, &key("c1"), NOW).await,
    );
    // Nothing was erased by the refusals.
    let before = customers::get(&store, t.business_id, &key("c1"), None)
        .await
        .unwrap();
    assert_eq!(before.customer.email.as_deref(), Some("john@doe.com"));
    assert_eq!(before.customer.links_epoch, 0);

    let mut c = store.acquire().await.unwrap();
    balance_lines::set_state(&mut c, t.business_id, line.id, "Cancelled")
        .await
        .unwrap();
    drop(c);
    let done = customers::anonymize(&store, t.business_id, &key("c1"), NOW + 1)
        .await
        .unwrap();
    let c = &done.customer;
    assert_eq!(c.reference, "c1");
    assert_eq!(c.name.as_deref(), Some("## cleared ##"));
    assert_eq!(c.email, None);
    assert!(done.metadata().is_empty());
    assert_eq!(c.links_epoch, 1);
    assert_eq!(
        c.billing_address,
        abo_store::customers::BillingAddress {
            country: Some("FR".into()),
            ..Default::default()
        }
    );
    let mut conn = store.acquire().await.unwrap();
    // Invoices survive; the unstarted draft is deleted; the ended subscription is history.
    assert_eq!(
        invoices::get(&mut conn, t.business_id, invoice_id)
            .await
            .unwrap()
            .state,
        "Paid"
    );
    let draft = subscriptions::get(&mut conn, t.business_id, draft)
        .await
        .unwrap();
    assert_eq!(draft.state, "Deleted");
    let ended = subscriptions::get(&mut conn, t.business_id, sub)
        .await
        .unwrap();
    assert_eq!(ended.state, "EndedTerminated");
}
both_backends!(anonymization_is_refused_until_everything_is_settled =>
    anonymization_is_refused_until_everything_is_settled_sqlite,
    anonymization_is_refused_until_everything_is_settled_postgres);

async fn anonymization_keeps_a_company(store: Store) {
    let t = tenant(&store, "A").await;
    create(&store, &t, "c1").await;
    customers::update_billing_address(
        &store,
        t.business_id,
        &key("c1"),
        &BillingAddressInput {
            company: Some("Doe LLC".into()),
            first_name: Some("John".into()),
            last_name: Some("Doe".into()),
            phone: Some("+33102030405".into()),
            address_line1: Some("1 rue de la Paix".into()),
            city: Some("Paris".into()),
            country: Some("FR".into()),
            tax_information: Some("FR40303265045".into()),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    let done = customers::anonymize(&store, t.business_id, &key("c1"), NOW)
        .await
        .unwrap();
    let a = &done.customer.billing_address;
    assert_eq!(done.customer.name.as_deref(), Some("Doe LLC"));
    assert_eq!(done.customer.email, None);
    assert_eq!(
        (&a.first_name, &a.last_name, &a.phone),
        (&None, &None, &None)
    );
    assert_eq!(a.company.as_deref(), Some("Doe LLC"));
    assert_eq!(a.address_line1.as_deref(), Some("1 rue de la Paix"));
    assert_eq!(a.tax_information.as_deref(), Some("FR40303265045"));
}
both_backends!(anonymization_keeps_a_company =>
    anonymization_keeps_a_company_sqlite, anonymization_keeps_a_company_postgres);

/// Signs a link the way the API does, with the business's real keyring.
fn link(v: &customers::CustomerView, ring: &Keyring) -> String {
    let claims = LinkClaims::new(
        v.customer.business_id,
        v.customer.id,
        Purpose::Home,
        NOW / 1_000_000,
        abo_links::API_LINK_TTL_SECS,
        v.links_epoch(),
    );
    ring.sign(&claims)
}

async fn keyring(store: &Store, business_id: i64) -> Keyring {
    let mut c = store.acquire().await.unwrap();
    abo_service::links::load_keyring(&mut c, business_id)
        .await
        .unwrap()
}

async fn revocation_kills_earlier_links(store: Store) {
    let t = tenant(&store, "A").await;
    let ring = keyring(&store, t.business_id).await;
    let before = create(&store, &t, "c1").await;
    let old = link(&before, &ring);
    let claims = ring.verify(&old, NOW / 1_000_000).unwrap();
    assert_eq!(
        claims.check_scope(t.business_id, before.links_epoch()),
        Ok(())
    );

    let after = customers::revoke_links(&store, t.business_id, &key("c1"), NOW)
        .await
        .unwrap();
    assert_eq!(after.customer.links_epoch, before.customer.links_epoch + 1);
    assert!(after.links_allowed());
    // The old token still has a valid signature, but its epoch is revoked.
    let claims = ring.verify(&old, NOW / 1_000_000).unwrap();
    assert_eq!(
        claims.check_scope(t.business_id, after.links_epoch()),
        Err(LinkError::Revoked)
    );
    let fresh = link(&after, &ring);
    let claims = ring.verify(&fresh, NOW / 1_000_000).unwrap();
    assert_eq!(
        claims.check_scope(t.business_id, after.links_epoch()),
        Ok(())
    );
    // Another business's key cannot stand in: its tokens do not verify with A's ring.
    let other = LinkKey {
        kid: 1,
        secret: [9; 32],
    };
    assert!(
        Keyring::new(&other)
            .verify(&fresh, NOW / 1_000_000)
            .is_err()
    );
}
both_backends!(revocation_kills_earlier_links =>
    revocation_kills_earlier_links_sqlite, revocation_kills_earlier_links_postgres);

async fn invalidation_and_suspension(store: Store) {
    let t = tenant(&store, "A").await;
    let before = create(&store, &t, "c1").await;
    let invalidated = customers::invalidate(&store, t.business_id, &key("c1"), NOW)
        .await
        .unwrap();
    let r = &invalidated.customer.reference;
    assert_eq!(invalidated.customer.id, before.customer.id);
    assert!(
        r.len() == 13
            && r.starts_with("cust-")
            && r[5..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{r}"
    );
    assert_eq!(invalidated.customer.links_epoch, 1);
    assert!(matches!(
        customers::get(&store, t.business_id, &key("c1"), None).await,
        Err(ServiceError::NotFound(_))
    ));
    // The old reference is free again: an upsert creates a new customer.
    let (fresh, created) = customers::upsert(&store, t.business_id, &input("c1"), NOW)
        .await
        .unwrap();
    assert!(created && fresh.customer.id != before.customer.id);

    let suspended = customers::suspend(&store, t.business_id, &key(r), NOW)
        .await
        .unwrap();
    assert_eq!(suspended.customer.status, "Suspended");
    assert_eq!(suspended.customer.links_epoch, 2);
    assert!(!suspended.links_allowed());
    assert!(!customers::can_open_links(&suspended.customer));
    // Still suspended when read back, and an upsert does not re-enable it.
    let (again, _) = customers::upsert(&store, t.business_id, &input(r), NOW)
        .await
        .unwrap();
    assert_eq!(again.customer.status, "Suspended");
    assert!(customers::can_open_links(&fresh.customer));
}
both_backends!(invalidation_and_suspension =>
    invalidation_and_suspension_sqlite, invalidation_and_suspension_postgres);

// ----- billing address and payment settings --------------------------------------------------

async fn billing_address_partial_and_checked(store: Store) {
    let t = tenant(&store, "A").await;
    create(&store, &t, "c1").await;
    let set = |input: BillingAddressInput| {
        let store = store.clone();
        let business_id = t.business_id;
        async move {
            customers::update_billing_address(&store, business_id, &key("c1"), &input, NOW).await
        }
    };
    let v = set(BillingAddressInput {
        company: Some("Acme".into()),
        country: Some("us".into()),
        region: Some("ny".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let a = &v.customer.billing_address;
    assert_eq!(a.country.as_deref(), Some("US"));
    assert_eq!(a.region.as_deref(), Some("US-NY"));
    // Partial: only the city changes.
    let v = set(BillingAddressInput {
        city: Some("New York".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let a = &v.customer.billing_address;
    assert_eq!(
        (a.company.as_deref(), a.city.as_deref(), a.region.as_deref()),
        (Some("Acme"), Some("New York"), Some("US-NY"))
    );
    // Moving to France without a new region would leave a US state behind.
    let messages = invalid(
        set(BillingAddressInput {
            country: Some("FR".into()),
            ..Default::default()
        })
        .await
        .unwrap_err(),
    );
    assert!(
        messages[0].starts_with("Region: the stored region 'US-NY'"),
        "{messages:?}"
    );
    let messages = invalid(
        set(BillingAddressInput {
            country: Some("XX".into()),
            region: Some("ZZ".into()),
            tax_information: Some("FR1234567890".into()),
            first_name: Some("a\u{7}b".into()),
            ..Default::default()
        })
        .await
        .unwrap_err(),
    );
    let fields: Vec<&str> = messages
        .iter()
        .map(|m| m.split(':').next().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["FirstName", "Country", "Region", "TaxInformation"],
        "{messages:?}"
    );
    let v = set(BillingAddressInput {
        country: Some("ES".into()),
        region: Some("ES-M".into()),
        tax_information: Some("esa1234567b".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let a = &v.customer.billing_address;
    assert_eq!(a.tax_information.as_deref(), Some("ESA1234567B"));
    assert_eq!(a.region.as_deref(), Some("ES-M"));
    let read = customers::billing_address(&store, t.business_id, &key("c1"))
        .await
        .unwrap();
    assert_eq!(read.customer.billing_address, v.customer.billing_address);
    assert!(matches!(
        customers::billing_address(&store, t.business_id, &key("ghost")).await,
        Err(ServiceError::NotFound(_))
    ));
}
both_backends!(billing_address_partial_and_checked =>
    billing_address_partial_and_checked_sqlite, billing_address_partial_and_checked_postgres);

async fn payment_settings_fields_are_independent(store: Store) {
    let t = tenant(&store, "A").await;
    create(&store, &t, "c1").await;
    let set = |input: PaymentSettingsInput| {
        let store = store.clone();
        let business_id = t.business_id;
        async move {
            customers::update_payment_settings(&store, business_id, &key("c1"), &input, NOW).await
        }
    };
    let v = set(PaymentSettingsInput {
        type_payment: Some("102".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let p = &v.customer.payment_settings;
    assert_eq!(
        (p.type_payment.as_str(), p.mode_billing.as_str()),
        ("ExternalBank", "Auto")
    );
    let v = set(PaymentSettingsInput {
        note_invoice: Some("PO.123456".into()),
        date_next_billing_us: Some(NOW + 1),
        ..Default::default()
    })
    .await
    .unwrap();
    let p = &v.customer.payment_settings;
    assert_eq!(p.type_payment, "ExternalBank");
    assert_eq!(p.note_invoice.as_deref(), Some("PO.123456"));
    assert_eq!(p.date_next_billing_us, Some(NOW + 1));
    // N8N's IsAutoBilling maps onto ModeBilling.
    let v = set(PaymentSettingsInput {
        is_auto_billing: Some(false),
        is_grey_listed: Some(true),
        ..Default::default()
    })
    .await
    .unwrap();
    let p = &v.customer.payment_settings;
    assert_eq!(
        (p.mode_billing.as_str(), p.is_grey_listed),
        ("Manual", true)
    );
    assert_eq!(p.note_invoice.as_deref(), Some("PO.123456"));
    for refused in ["Card", "DirectDebit", "1000"] {
        let messages = invalid(
            set(PaymentSettingsInput {
                type_payment: Some(refused.into()),
                ..Default::default()
            })
            .await
            .unwrap_err(),
        );
        assert!(messages[0].starts_with("TypePayment:"), "{messages:?}");
    }
    let messages = invalid(
        set(PaymentSettingsInput {
            mode_billing: Some("Auto".into()),
            is_auto_billing: Some(false),
            ..Default::default()
        })
        .await
        .unwrap_err(),
    );
    assert!(messages[0].starts_with("IsAutoBilling:"), "{messages:?}");
    let read = customers::payment_settings(&store, t.business_id, &key("c1"))
        .await
        .unwrap();
    assert_eq!(read.customer.payment_settings.type_payment, "ExternalBank");
    assert_eq!(read.customer.payment_settings.mode_billing, "Manual");
}
both_backends!(payment_settings_fields_are_independent =>
    payment_settings_fields_are_independent_sqlite,
    payment_settings_fields_are_independent_postgres);
