//! `abo demo`: a business with its catalogue, customers and subscriptions, so
//! a newcomer sees something real on first run. Seeding happens once per
//! database; later runs reuse it.

use crate::business::{self, BusinessSpec, Credentials};
use crate::catalog::{import_catalog, parse_catalog};
use crate::error::{Result, ServiceError};
use crate::subscribe::{self, SubscribeRequest};
use abo_store::{Store, businesses, customers, segments};

/// The demo catalogue shipped with Abo (`catalog/demo.toml`).
pub const DEMO_CATALOG: &str = include_str!("../../../catalog/demo.toml");
pub const DEMO_BUSINESS_NAME: &str = "Abo Demo";
pub const DEMO_SEGMENT: &str = "demo-eur";

/// Demo customers: reference, name, e-mail, language, offer (if subscribed).
const CUSTOMERS: &[(&str, &str, &str, &str, Option<&str>)] = &[
    (
        "cust-alice",
        "Alice Martin",
        "alice@example.com",
        "en",
        Some("pro-monthly"),
    ),
    (
        "cust-bruno",
        "Bruno Lefèvre",
        "bruno@example.fr",
        "fr",
        Some("pro-yearly"),
    ),
    (
        "cust-chloe",
        "Chloé Dubois",
        "chloe@example.fr",
        "fr",
        Some("free"),
    ),
    ("cust-dan", "Dan Smith", "dan@example.com", "en", None),
];

/// What a demo user and scripts need.
#[derive(Debug, Clone)]
pub struct Demo {
    pub business_id: i64,
    pub segment_reference: String,
    pub credentials: Credentials,
    /// True when this run created the data.
    pub created: bool,
}

/// Returns the demo business, creating it on an empty database. `known` are
/// credentials remembered from an earlier run; they are reused when still
/// valid, else a fresh pair is issued for the existing demo business.
pub async fn ensure_demo(store: &Store, known: Option<Credentials>, now_us: i64) -> Result<Demo> {
    let existing = {
        let mut conn = store.acquire().await?;
        businesses::list(&mut conn)
            .await?
            .into_iter()
            .find(|b| b.name == DEMO_BUSINESS_NAME)
    };
    if let Some(demo_business) = existing {
        let credentials = match known {
            Some(c)
                if business::authenticate(store, &c.agent_key, &c.api_key)
                    .await?
                    .is_some_and(|b| b.id == demo_business.id) =>
            {
                c
            }
            _ => business::add_credentials(store, demo_business.id, "demo", false, now_us).await?,
        };
        return Ok(Demo {
            business_id: demo_business.id,
            segment_reference: DEMO_SEGMENT.into(),
            credentials,
            created: false,
        });
    }

    let created = business::create_business(
        store,
        &BusinessSpec {
            name: DEMO_BUSINESS_NAME.into(),
            country: "FR".into(),
            default_language: "en".into(),
            is_test: true,
        },
        now_us,
    )
    .await?;
    let business_id = created.business.id;
    import_catalog(store, business_id, &parse_catalog(DEMO_CATALOG)?, now_us).await?;

    let segment = {
        let mut conn = store.acquire().await?;
        segments::get_by_reference(&mut conn, business_id, DEMO_SEGMENT).await?
    };
    for (reference, name, email, language, offer) in CUSTOMERS {
        let mut tx = store.begin().await?;
        customers::create(
            &mut tx,
            &customers::NewCustomer {
                business_id,
                segment_id: segment.id,
                reference: (*reference).into(),
                name: Some((*name).into()),
                email: Some((*email).into()),
                language: Some((*language).into()),
                ..Default::default()
            },
            now_us,
        )
        .await?;
        tx.commit().await?;
        if let Some(offer) = offer {
            subscribe::subscribe(
                store,
                &SubscribeRequest {
                    business_id,
                    segment_id: segment.id,
                    customer_reference: (*reference).into(),
                    offer_reference: (*offer).into(),
                },
                now_us,
            )
            .await
            .map_err(|e| {
                ServiceError::Internal(format!("demo subscription for {reference}: {e}"))
            })?;
        }
    }
    Ok(Demo {
        business_id,
        segment_reference: DEMO_SEGMENT.into(),
        credentials: created.credentials,
        created: true,
    })
}

/// Bills every subscribed demo customer once, so that a newcomer finds
/// invoices in the portal and their e-mails (with links into the merchant
/// site) in the demo mailbox. Billing twice bills nothing new. Returns the
/// number of invoices issued.
pub async fn bill_demo_customers(store: &Store, business_id: i64, now_us: i64) -> Result<usize> {
    let segment = {
        let mut conn = store.acquire().await?;
        segments::get_by_reference(&mut conn, business_id, DEMO_SEGMENT).await?
    };
    let mut issued = 0;
    for (reference, ..) in CUSTOMERS.iter().filter(|c| c.4.is_some()) {
        let customer = {
            let mut conn = store.acquire().await?;
            customers::get_by_reference(&mut conn, business_id, segment.id, reference).await?
        };
        if crate::billing::bill_customer(store, business_id, customer.id, now_us)
            .await?
            .is_some()
        {
            issued += 1;
        }
    }
    Ok(issued)
}
