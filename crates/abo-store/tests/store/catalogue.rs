use abo_store::discounts::{self, NewDiscount};
use abo_store::features;
use abo_store::offers::{self, Tier};
use abo_store::pricing_tables::{self, NewPricingTable};
use abo_store::segments::{self, SegmentSettingsPatch};
use abo_store::{PageRequest, Store, StoreError, Written, credentials, link_keys};

use crate::fixtures::*;

async fn uniqueness_rules(store: Store) {
    let a = tenant(&store, "A").await;
    let b = tenant(&store, "B").await;
    let mut c = store.acquire().await.unwrap();

    // Segment reference: unique per business.
    let err = segments::create(&mut c, &new_segment(a.bid(), "main-eur", false), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let a2 = segments::create(&mut c, &new_segment(a.bid(), "other-eur", true), NOW)
        .await
        .unwrap();
    // One default segment per business: the new default replaced the old one.
    assert_eq!(
        segments::get_default(&mut c, a.bid()).await.unwrap().id,
        a2.id
    );
    assert!(
        !segments::get(&mut c, a.bid(), a.sid())
            .await
            .unwrap()
            .is_default
    );
    segments::set_default(&mut c, a.bid(), a.sid(), NOW)
        .await
        .unwrap();
    assert_eq!(
        segments::get_default(&mut c, a.bid()).await.unwrap().id,
        a.sid()
    );

    // Feature reference: unique per business, reusable in another business.
    feature(&mut c, a.bid(), "seats", "Limitation").await;
    let err = features::create(&mut c, &new_feature(a.bid(), "seats", "OnOff"), NOW)
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    feature(&mut c, b.bid(), "seats", "Limitation").await;

    // Offer reference: unique per segment.
    offer(&mut c, &a, "pro", vec![]).await;
    let err = offers::create(&mut c, &new_offer(&a, "pro", vec![]), NOW)
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    let mut in_other_segment = new_offer(&a, "pro", vec![]);
    in_other_segment.segment_id = a2.id;
    offers::create(&mut c, &in_other_segment, NOW)
        .await
        .unwrap();

    // Customer reference: unique per segment.
    customer(&mut c, &a, "cust-1").await;
    let dup = abo_store::customers::NewCustomer {
        business_id: a.bid(),
        segment_id: a.sid(),
        reference: "cust-1".into(),
        ..Default::default()
    };
    let err = abo_store::customers::create(&mut c, &dup, NOW)
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    let other = abo_store::customers::NewCustomer {
        segment_id: a2.id,
        ..dup
    };
    abo_store::customers::create(&mut c, &other, NOW)
        .await
        .unwrap();

    // Pricing tables and discounts: unique per segment.
    let pt = NewPricingTable {
        business_id: a.bid(),
        segment_id: a.sid(),
        reference: "grid".into(),
        name: "Grid".into(),
        offer_ids: vec![],
    };
    pricing_tables::create(&mut c, &pt, NOW).await.unwrap();
    assert!(
        pricing_tables::create(&mut c, &pt, NOW)
            .await
            .unwrap_err()
            .is_conflict()
    );
    let d = new_discount(&a, "50percent-upfrontfee");
    discounts::create(&mut c, &d, NOW).await.unwrap();
    assert!(
        discounts::create(&mut c, &d, NOW)
            .await
            .unwrap_err()
            .is_conflict()
    );

    // Agent keys: globally unique; link key ids unique per business.
    let cred = credentials::NewApiCredential {
        business_id: a.bid(),
        agent_key: "agent-1".into(),
        api_key_hash: "00".repeat(32),
        label: "main".into(),
    };
    credentials::create(&mut c, &cred, NOW).await.unwrap();
    let cred_b = credentials::NewApiCredential {
        business_id: b.bid(),
        ..cred
    };
    assert!(
        credentials::create(&mut c, &cred_b, NOW)
            .await
            .unwrap_err()
            .is_conflict()
    );
    link_keys::create(&mut c, a.bid(), "k1", "aa", NOW)
        .await
        .unwrap();
    assert!(
        link_keys::create(&mut c, a.bid(), "k1", "bb", NOW)
            .await
            .unwrap_err()
            .is_conflict()
    );
    link_keys::create(&mut c, b.bid(), "k1", "cc", NOW)
        .await
        .unwrap();
}
abo_store::both_backends!(uniqueness_rules => sqlite_uniqueness_rules, postgres_uniqueness_rules);

fn new_discount(t: &Tenant, reference: &str) -> NewDiscount {
    NewDiscount {
        business_id: t.bid(),
        segment_id: t.sid(),
        reference: reference.into(),
        name: "Half the setup fee".into(),
        target: "UpFront".into(),
        feature_id: None,
        value_kind: "Percent".into(),
        amount: None,
        percent: Some("50".into()),
        count_recurrences: None,
    }
}

async fn catalogue_upserts_are_idempotent(store: Store) {
    let t = tenant(&store, "A").await;
    let mut tx = store.begin().await.unwrap();

    // Features.
    let nf = new_feature(t.bid(), "seats", "Limitation");
    let (seats, w) = features::upsert(&mut tx, &nf, NOW).await.unwrap();
    assert_eq!(w, Written::Created);
    let (same, w) = features::upsert(&mut tx, &nf, NOW + 1).await.unwrap();
    assert_eq!((w, same.clone()), (Written::Unchanged, seats.clone()));
    assert!(!w.changed());
    let renamed = features::NewFeature {
        name: "Seats".into(),
        ..nf
    };
    let (f2, w) = features::upsert(&mut tx, &renamed, NOW + 2).await.unwrap();
    assert_eq!(w, Written::Updated);
    assert_eq!(
        (f2.id, f2.name.as_str(), f2.updated_at_us),
        (seats.id, "Seats", NOW + 2)
    );
    let (api, _) = features::upsert(&mut tx, &new_feature(t.bid(), "api", "OnOff"), NOW)
        .await
        .unwrap();

    // Offers with features and tiers.
    let no = new_offer(
        &t,
        "pro",
        vec![terms(seats.id, graduated_tiers()), terms(api.id, vec![])],
    );
    let (o, w) = offers::upsert(&mut tx, &no, NOW).await.unwrap();
    assert_eq!(w, Written::Created);
    assert_eq!(o.features.len(), 2);
    assert_eq!(o.features[0].feature_reference, "seats");
    assert_eq!(o.features[0].type_feature, "Limitation");
    assert_eq!(o.features[0].terms.tiers, graduated_tiers());
    assert_eq!(o.features[1].terms.tiers, vec![]);
    let (again, w) = offers::upsert(&mut tx, &no, NOW + 10).await.unwrap();
    assert_eq!(w, Written::Unchanged);
    assert_eq!(again, o);
    assert_eq!(again.updated_at_us, NOW);

    // A changed tier is an update; the offer keeps its id.
    let mut changed = no.clone();
    changed.features[0].tiers[2] = Tier {
        up_to: None,
        price_kind: "Flat".into(),
        amount: 5000,
        lot_size: None,
    };
    let (o2, w) = offers::upsert(&mut tx, &changed, NOW + 20).await.unwrap();
    assert_eq!(w, Written::Updated);
    assert_eq!(o2.id, o.id);
    assert_eq!(o2.features[0].terms.tiers[2].price_kind, "Flat");
    assert_eq!(o2.updated_at_us, NOW + 20);
    let (_, w) = offers::upsert(&mut tx, &changed, NOW + 30).await.unwrap();
    assert_eq!(w, Written::Unchanged);
    // A changed scalar is an update too.
    let pricier = offers::NewOffer {
        amount_recurrence: 12_000,
        ..changed.clone()
    };
    let (o3, w) = offers::upsert(&mut tx, &pricier, NOW + 40).await.unwrap();
    assert_eq!((w, o3.amount_recurrence), (Written::Updated, 12_000));
    assert_eq!(o3.features, o2.features);

    // Pricing tables.
    let (basic, _) = offers::upsert(&mut tx, &new_offer(&t, "basic", vec![]), NOW)
        .await
        .unwrap();
    let npt = NewPricingTable {
        business_id: t.bid(),
        segment_id: t.sid(),
        reference: "monthly".into(),
        name: "Monthly".into(),
        offer_ids: vec![basic.id, o.id],
    };
    let (pt, w) = pricing_tables::upsert(&mut tx, &npt, NOW).await.unwrap();
    assert_eq!(
        (w, pt.offer_ids.clone()),
        (Written::Created, vec![basic.id, o.id])
    );
    assert_eq!(
        pricing_tables::upsert(&mut tx, &npt, NOW).await.unwrap().1,
        Written::Unchanged
    );
    let reordered = NewPricingTable {
        offer_ids: vec![o.id, basic.id],
        ..npt
    };
    let (pt2, w) = pricing_tables::upsert(&mut tx, &reordered, NOW)
        .await
        .unwrap();
    assert_eq!((w, pt2.offer_ids), (Written::Updated, vec![o.id, basic.id]));
    let got = pricing_tables::get_by_reference(&mut tx, t.bid(), t.sid(), "monthly")
        .await
        .unwrap();
    assert_eq!(got.offer_ids, vec![o.id, basic.id]);
    assert_eq!(
        pricing_tables::list(&mut tx, t.bid(), t.sid())
            .await
            .unwrap()
            .len(),
        1
    );

    // Discounts.
    let nd = new_discount(&t, "half");
    assert_eq!(
        discounts::upsert(&mut tx, &nd, NOW).await.unwrap().1,
        Written::Created
    );
    assert_eq!(
        discounts::upsert(&mut tx, &nd, NOW).await.unwrap().1,
        Written::Unchanged
    );
    let nd2 = NewDiscount {
        percent: Some("25".into()),
        ..nd
    };
    let (d, w) = discounts::upsert(&mut tx, &nd2, NOW).await.unwrap();
    assert_eq!((w, d.percent.as_deref()), (Written::Updated, Some("25")));

    // Segments.
    let ns = new_segment(t.bid(), "main-eur", true);
    assert_eq!(
        segments::upsert(&mut tx, &ns, NOW).await.unwrap().1,
        Written::Unchanged
    );
    let usd = segments::NewSegment {
        currency: "USD".into(),
        ..ns.clone()
    };
    assert!(matches!(
        segments::upsert(&mut tx, &usd, NOW).await,
        Err(StoreError::Invalid(_))
    ));
    tx.commit().await.unwrap();

    // Listing with pagination.
    let mut c = store.acquire().await.unwrap();
    let page = offers::list(&mut c, t.bid(), t.sid(), PageRequest::new(0, 1))
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (2, 1));
    assert_eq!(page.items[0].features.len(), 2);
    let page = offers::list(&mut c, t.bid(), t.sid(), PageRequest::new(1, 10))
        .await
        .unwrap();
    assert_eq!(page.items[0].reference, "basic");
    assert_eq!(features::list(&mut c, t.bid()).await.unwrap().len(), 2);
}
abo_store::both_backends!(catalogue_upserts_are_idempotent => sqlite_catalogue_upserts_are_idempotent, postgres_catalogue_upserts_are_idempotent);

async fn segment_settings_partial_update(store: Store) {
    let t = tenant(&store, "A").await;
    let mut c = store.acquire().await.unwrap();
    let s = &t.segment;
    assert_eq!(
        (
            s.time_zone.as_str(),
            s.locale.as_str(),
            s.invoice_prefix.as_str(),
            s.credit_note_prefix.as_str()
        ),
        ("Europe/Paris", "en", "S-", "C-")
    );
    assert!(s.block_renewal_without_payment_method && !s.upgrade_at_renewal);
    let patch = SegmentSettingsPatch {
        url_integrated_portal: Some(Some("https://merchant.example/portal".into())),
        upgrade_at_renewal: Some(true),
        ..Default::default()
    };
    let s2 = segments::update_settings(&mut c, t.bid(), t.sid(), &patch, NOW + 1)
        .await
        .unwrap();
    assert_eq!(
        s2.url_integrated_portal.as_deref(),
        Some("https://merchant.example/portal")
    );
    assert!(s2.upgrade_at_renewal && s2.block_renewal_without_payment_method);
    assert_eq!(s2.name, s.name);
    let clear = SegmentSettingsPatch {
        url_integrated_portal: Some(None),
        ..Default::default()
    };
    let s3 = segments::update_settings(&mut c, t.bid(), t.sid(), &clear, NOW + 2)
        .await
        .unwrap();
    assert_eq!(s3.url_integrated_portal, None);
    assert!(s3.upgrade_at_renewal);
    assert_eq!(
        segments::get_by_reference(&mut c, t.bid(), "main-eur")
            .await
            .unwrap(),
        s3
    );
}
abo_store::both_backends!(segment_settings_partial_update => sqlite_segment_settings_partial_update, postgres_segment_settings_partial_update);

async fn credentials_and_link_keys(store: Store) {
    let a = tenant(&store, "A").await;
    let b = tenant(&store, "B").await;
    let mut c = store.acquire().await.unwrap();
    let hash_a = "ab".repeat(32);
    let cred = credentials::create(
        &mut c,
        &credentials::NewApiCredential {
            business_id: a.bid(),
            agent_key: "agent-a".into(),
            api_key_hash: hash_a.clone(),
            label: "main".into(),
        },
        NOW,
    )
    .await
    .unwrap();
    credentials::create(
        &mut c,
        &credentials::NewApiCredential {
            business_id: b.bid(),
            agent_key: "agent-b".into(),
            api_key_hash: "cd".repeat(32),
            label: "main".into(),
        },
        NOW,
    )
    .await
    .unwrap();
    let found = credentials::find_business_by_credentials(&mut c, "agent-a", &hash_a)
        .await
        .unwrap();
    assert_eq!(found.id, a.bid());
    // Right key hash, wrong agent (or the other way round): not found.
    let err = credentials::find_business_by_credentials(&mut c, "agent-b", &hash_a)
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert!(
        credentials::find_business_by_credentials(&mut c, "agent-a", &"cd".repeat(32))
            .await
            .is_err()
    );
    // Revoked credentials stop working; another business cannot revoke them.
    assert!(
        credentials::revoke(&mut c, b.bid(), cred.id, NOW)
            .await
            .unwrap_err()
            .is_not_found()
    );
    credentials::revoke(&mut c, a.bid(), cred.id, NOW)
        .await
        .unwrap();
    assert!(
        credentials::find_business_by_credentials(&mut c, "agent-a", &hash_a)
            .await
            .is_err()
    );
    assert_eq!(credentials::list(&mut c, a.bid()).await.unwrap().len(), 1);

    // Link keys rotate: the newest active key signs, retired keys remain readable.
    link_keys::create(&mut c, a.bid(), "k1", "01", NOW)
        .await
        .unwrap();
    link_keys::create(&mut c, a.bid(), "k2", "02", NOW + 1)
        .await
        .unwrap();
    assert_eq!(link_keys::current(&mut c, a.bid()).await.unwrap().kid, "k2");
    link_keys::retire(&mut c, a.bid(), "k2", NOW + 2)
        .await
        .unwrap();
    assert_eq!(link_keys::current(&mut c, a.bid()).await.unwrap().kid, "k1");
    let k2 = link_keys::get_by_kid(&mut c, a.bid(), "k2").await.unwrap();
    assert_eq!(
        (k2.secret_hex.as_str(), k2.retired_at_us),
        ("02", Some(NOW + 2))
    );
    assert!(
        link_keys::current(&mut c, b.bid())
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(link_keys::get_by_kid(&mut c, b.bid(), "k1").await.is_err());
    assert_eq!(link_keys::list(&mut c, a.bid()).await.unwrap().len(), 2);
}
abo_store::both_backends!(credentials_and_link_keys => sqlite_credentials_and_link_keys, postgres_credentials_and_link_keys);
