//! Shared builders for the storage tests.

use abo_store::businesses::{self, Business, NewBusiness};
use abo_store::customers::{self, Customer, NewCustomer};
use abo_store::features::{self, Feature, NewFeature};
use abo_store::offers::{self, FeatureTerms, NewOffer, Offer, Tier};
use abo_store::segments::{self, NewSegment, Segment};
use abo_store::{AnyConnection, Store};

pub const NOW: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z in µs

pub struct Tenant {
    pub business: Business,
    pub segment: Segment,
}

impl Tenant {
    pub fn bid(&self) -> i64 {
        self.business.id
    }
    pub fn sid(&self) -> i64 {
        self.segment.id
    }
}

pub async fn tenant(store: &Store, name: &str) -> Tenant {
    let mut conn = store.acquire().await.unwrap();
    let business = businesses::create(
        &mut conn,
        &NewBusiness {
            name: name.into(),
            country: "FR".into(),
            default_language: "en".into(),
            is_test: true,
        },
        NOW,
    )
    .await
    .unwrap();
    let segment = segments::create(&mut conn, &new_segment(business.id, "main-eur", true), NOW)
        .await
        .unwrap();
    Tenant { business, segment }
}

pub fn new_segment(business_id: i64, reference: &str, is_default: bool) -> NewSegment {
    NewSegment {
        business_id,
        reference: reference.into(),
        name: reference.into(),
        currency: "EUR".into(),
        time_zone: None,
        locale: None,
        is_default,
        invoice_prefix: None,
        credit_note_prefix: None,
    }
}

pub async fn feature(
    conn: &mut AnyConnection,
    business_id: i64,
    reference: &str,
    kind: &str,
) -> Feature {
    features::create(conn, &new_feature(business_id, reference, kind), NOW)
        .await
        .unwrap()
}

pub fn new_feature(business_id: i64, reference: &str, kind: &str) -> NewFeature {
    NewFeature {
        business_id,
        reference: reference.into(),
        name: format!("Feature {reference}"),
        description: None,
        type_feature: kind.into(),
        is_visible: true,
    }
}

pub fn terms(feature_id: i64, tiers: Vec<Tier>) -> FeatureTerms {
    FeatureTerms {
        feature_id,
        is_included: true,
        is_enabled: true,
        quantity_included: Some(2),
        pricing_model: if tiers.is_empty() {
            "None".into()
        } else {
            "Graduated".into()
        },
        pricing_amount: None,
        updatable_before_subscription: true,
        updatable_after_subscription: false,
        free_in_trial: false,
        tiers,
    }
}

pub fn graduated_tiers() -> Vec<Tier> {
    vec![
        Tier {
            up_to: Some(5),
            price_kind: "PerUnit".into(),
            amount: 1500,
            lot_size: None,
        },
        Tier {
            up_to: Some(10),
            price_kind: "PerUnit".into(),
            amount: 1200,
            lot_size: None,
        },
        Tier {
            up_to: None,
            price_kind: "PerUnit".into(),
            amount: 800,
            lot_size: None,
        },
    ]
}

pub fn new_offer(t: &Tenant, reference: &str, features: Vec<FeatureTerms>) -> NewOffer {
    NewOffer {
        business_id: t.bid(),
        segment_id: t.sid(),
        reference: reference.into(),
        name: format!("Offer {reference}"),
        description: Some("A plan".into()),
        is_visible: true,
        currency: "EUR".into(),
        amount_upfront: 0,
        amount_trial: 0,
        duration_trial: Some(14),
        unit_trial: Some("Day".into()),
        amount_recurrence: 10_000,
        duration_recurrence: 1,
        unit_recurrence: "Month".into(),
        count_recurrences: None,
        count_min_recurrences: None,
        amount_termination: 0,
        features,
    }
}

pub async fn offer(
    conn: &mut AnyConnection,
    t: &Tenant,
    reference: &str,
    features: Vec<FeatureTerms>,
) -> Offer {
    offers::create(conn, &new_offer(t, reference, features), NOW)
        .await
        .unwrap()
}

pub async fn customer(conn: &mut AnyConnection, t: &Tenant, reference: &str) -> Customer {
    customers::create(
        conn,
        &NewCustomer {
            business_id: t.bid(),
            segment_id: t.sid(),
            reference: reference.into(),
            name: Some(format!("Customer {reference}")),
            email: Some(format!("{reference}@example.com")),
            language: Some("fr".into()),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap()
}
