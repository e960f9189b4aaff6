//! The world of the engine's end-to-end tests: a test business with one
//! EUR segment in Paris, its catalogue, customers paying by card, SEPA or
//! offline, an engine with the sandbox gateways, and the test clock.
#![allow(dead_code)]

pub mod fleet;
pub mod outcome;

use abo_engine::Engine;
use abo_gateway::{CardDetails, DirectDebitDetails, PaymentDetails};
use abo_service::billing::permissions::register_permission;
use abo_service::business::{BusinessSpec, create_business};
use abo_service::catalog::{import_catalog, parse_catalog};
use abo_service::subscriptions::{self, CreateSubscription, StartOptions, SubscriptionView};
use abo_store::balance_lines::{self, BalanceLine};
use abo_store::customers::{self, BillingAddress, NewCustomer, PaymentSettingsPatch};
use abo_store::invoices::{self, Invoice, InvoiceFilter};
use abo_store::payments::{self, Payment, Permission};
use abo_store::subscriptions::{self as store_subs, Subscription};
use abo_store::{PageRequest, Store, businesses, jobs, segments};
use jiff::civil::Date;
use jiff::tz::TimeZone;

pub const DAY: i64 = 86_400_000_000;

pub const CATALOG: &str = r#"
[[segment]]
reference = "main-eur"
currency = "EUR"
time_zone = "Europe/Paris"
default = true

[[offer]]
segment = "main-eur"
reference = "monthly"
name = "Monthly"
recurrence = "1 Month"
amount_recurrence = "10.00"

[[offer]]
segment = "main-eur"
reference = "yearly"
name = "Yearly"
recurrence = "1 Year"
amount_recurrence = "100.00"
amount_upfront = "5.00"
"#;

pub fn paris() -> TimeZone {
    TimeZone::get("Europe/Paris").unwrap()
}

/// An instant: `hour`:00 on `d` in Paris.
pub fn at(d: Date, hour: i8) -> i64 {
    d.at(hour, 0, 0, 0)
        .to_zoned(paris())
        .unwrap()
        .timestamp()
        .as_microsecond()
}

pub fn local(us: i64) -> Date {
    jiff::Timestamp::from_microsecond(us)
        .unwrap()
        .to_zoned(paris())
        .date()
}

pub fn card(number: &str, expiry: &str) -> PaymentDetails {
    PaymentDetails::Card(CardDetails {
        number: number.into(),
        expiry: expiry.into(),
        cvc: "123".into(),
        country: Some("FR".into()),
    })
}

pub fn mandate(iban: &str) -> PaymentDetails {
    PaymentDetails::DirectDebit(DirectDebitDetails {
        iban: iban.into(),
        holder_name: "Jane Doe".into(),
        mandate_accepted: true,
    })
}

pub struct World {
    pub store: Store,
    pub business: i64,
    pub segment: i64,
    pub engine: Engine,
}

impl World {
    pub async fn new(store: Store, now: i64) -> World {
        Self::with_catalog(store, now, CATALOG).await
    }

    pub async fn with_catalog(store: Store, now: i64, catalog: &str) -> World {
        let spec = BusinessSpec {
            name: "Acme".into(),
            country: "FR".into(),
            default_language: "en".into(),
            is_test: true,
        };
        let business = create_business(&store, &spec, now)
            .await
            .unwrap()
            .business
            .id;
        let file = parse_catalog(catalog).unwrap();
        import_catalog(&store, business, &file, now).await.unwrap();
        let mut conn = store.acquire().await.unwrap();
        businesses::set_test_clock(&mut conn, business, Some(now))
            .await
            .unwrap();
        let segment = segments::get_default(&mut conn, business).await.unwrap().id;
        drop(conn);
        World {
            engine: Engine::new(store.clone()),
            store,
            business,
            segment,
        }
    }

    /// A customer billed in France (20% VAT) paying by `type_payment`.
    pub async fn customer(&self, reference: &str, type_payment: &str) -> i64 {
        let mut conn = self.store.acquire().await.unwrap();
        let c = customers::create(
            &mut conn,
            &NewCustomer {
                business_id: self.business,
                segment_id: self.segment,
                reference: reference.into(),
                name: Some("Jane Doe".into()),
                email: Some(format!("{reference}@example.com")),
                language: Some("en".into()),
                ..Default::default()
            },
            0,
        )
        .await
        .unwrap();
        customers::update_billing_address(
            &mut conn,
            self.business,
            c.id,
            &BillingAddress {
                country: Some("FR".into()),
                ..Default::default()
            },
            0,
        )
        .await
        .unwrap();
        customers::update_payment_settings(
            &mut conn,
            self.business,
            c.id,
            &PaymentSettingsPatch {
                type_payment: Some(type_payment.into()),
                ..Default::default()
            },
            0,
        )
        .await
        .unwrap();
        c.id
    }

    /// Registers a card or mandate with the engine's sandbox gateways.
    pub async fn register(&self, customer: i64, details: &PaymentDetails, now: i64) -> Permission {
        register_permission(
            &self.store,
            self.engine.gateways(),
            self.business,
            customer,
            details,
            now,
        )
        .await
        .unwrap()
    }

    /// A subscription created and started at `now`, billed at once.
    pub async fn subscribe(&self, customer: &str, offer: &str, now: i64) -> SubscriptionView {
        let request = CreateSubscription {
            business_id: self.business,
            customer_reference: Some(customer.into()),
            offer_reference: offer.into(),
            ..Default::default()
        };
        let draft = subscriptions::create(&self.store, &request, now)
            .await
            .unwrap();
        subscriptions::start(
            &self.store,
            self.business,
            draft.subscription.id,
            StartOptions {
                ensure_billable: false,
                bill_now: true,
            },
            now,
        )
        .await
        .unwrap()
    }

    pub async fn advance(&self, to: i64) -> abo_engine::AdvanceReport {
        self.engine
            .advance_clock(self.business, to, 0, "test-worker")
            .await
            .unwrap()
    }

    pub async fn sub(&self, id: i64) -> Subscription {
        let mut conn = self.store.acquire().await.unwrap();
        store_subs::get(&mut conn, self.business, id).await.unwrap()
    }

    pub async fn lines(&self, customer: i64) -> Vec<BalanceLine> {
        let mut conn = self.store.acquire().await.unwrap();
        balance_lines::list_for_customer(&mut conn, self.business, customer, None)
            .await
            .unwrap()
    }

    /// The customer's invoices, oldest first.
    pub async fn invoices(&self, customer: i64) -> Vec<Invoice> {
        let mut conn = self.store.acquire().await.unwrap();
        let filter = InvoiceFilter {
            customer_id: Some(customer),
            ..Default::default()
        };
        let mut all = invoices::list(&mut conn, self.business, &filter, PageRequest::new(0, 1000))
            .await
            .unwrap()
            .items;
        all.sort_by_key(|i| i.id);
        all
    }

    pub async fn invoice(&self, id: i64) -> Invoice {
        let mut conn = self.store.acquire().await.unwrap();
        invoices::get(&mut conn, self.business, id).await.unwrap()
    }

    pub async fn payments(&self, invoice: i64) -> Vec<Payment> {
        let mut conn = self.store.acquire().await.unwrap();
        payments::list_for_invoice(&mut conn, self.business, invoice)
            .await
            .unwrap()
    }

    pub async fn job(&self, key: &str) -> Option<jobs::Job> {
        let mut conn = self.store.acquire().await.unwrap();
        jobs::find_by_natural_key(&mut conn, key).await.unwrap()
    }

    /// The outbox row under `key`, which must exist.
    pub async fn outbox(&self, key: &str) -> jobs::Job {
        self.job(key)
            .await
            .unwrap_or_else(|| panic!("no outbox row {key}"))
    }
}
