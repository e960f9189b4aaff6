//! The typed client against the real Abo server (abo-testkit's `spawn_app`, SQLite and
//! PostgreSQL), one call at a time: customers, links, subscriptions, usages, offers,
//! invoices, and the error values.

use abo_merchant::{
    ApiError, BillCustomer, BillingAddress, Client, CreateOptions, CustomerRequest, ListCustomers,
    ListInvoices, ListOffers, ListSubscriptions, PaymentSettingsUpdate, PortalLinks,
    SubscriptionRequest, Termination, Upgrade, UsageQuery, UsageRequest,
};
use abo_testkit::TestApp;
use serde_json::json;

fn client(app: &TestApp) -> Client {
    Client::new(&app.base_url, &app.agent_key, &app.api_key).expect("client")
}

/// An ExternalBank customer: billable without a payment method on file.
async fn billable_customer(abo: &Client, reference: &str) {
    abo.upsert_customer(&CustomerRequest::new(reference).name("Bill Able"))
        .await
        .unwrap();
    abo.update_payment_settings(
        reference,
        &PaymentSettingsUpdate {
            type_payment: Some("ExternalBank".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

/// `abo_testkit::both_backends!`, with rustls' ring provider installed first: reqwest is
/// built with `rustls-no-provider` in this workspace, and the test server's own client
/// needs a process-wide provider (the SDK's client brings its own).
macro_rules! on_both_backends {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($app: TestApp) $body

            #[test]
            fn sqlite() {
                abo_testkit::browser::install_tls_provider();
                abo_testkit::run_test(
                    abo_testkit::Backend::Sqlite,
                    concat!(module_path!(), "::sqlite"),
                    abo_testkit::AppOptions::default(),
                    body,
                );
            }

            #[test]
            fn postgres() {
                abo_testkit::browser::install_tls_provider();
                abo_testkit::run_test(
                    abo_testkit::Backend::Postgres,
                    concat!(module_path!(), "::postgres"),
                    abo_testkit::AppOptions::default(),
                    body,
                );
            }
        }
    )*};
}

on_both_backends! {
    async fn customers_and_their_links(app: TestApp) {
        let abo = client(&app);

        // Upsert creates, then updates the same customer.
        let created = abo
            .upsert_customer(
                &CustomerRequest::new("user-1")
                    .name("Ada Lovelace")
                    .email("ada@example.com")
                    .language("en")
                    .offer("pro-monthly"),
            )
            .await
            .unwrap();
        assert!(created.id > 0);
        assert_eq!(created.reference_customer, "user-1");
        assert_eq!(created.reference_segment, "demo-eur");
        assert_eq!(created.currency, "EUR");
        assert_eq!(created.status, "Enabled");
        let home = created.hosted_home().expect("hosted-home");
        assert!(home.starts_with(&format!("{}/portal-auth/", app.base_url)), "{home}");
        assert!(created.link("hosted-subscribe").is_some());
        assert!(created.link("hosted-collection-offers").is_some());

        let updated = abo
            .upsert_customer(&CustomerRequest::new("user-1").name("Ada King"))
            .await
            .unwrap();
        assert_eq!(updated.id, created.id);
        assert_eq!(updated.name.as_deref(), Some("Ada King"));
        assert_eq!(updated.email.as_deref(), Some("ada@example.com"));

        // Every hosted link the API gives passes the SDK's resolver for this Abo.
        let links = PortalLinks::for_base_url(&app.base_url).unwrap();
        for link in &created.links {
            if let Some(href) = link.href.as_deref() {
                let r = links.resolve_portal_link(Some(href), "fallback");
                assert!(r.is_from_crylk(), "{} {href}: {:?}", link.rel, r.fallback_reason());
            }
        }

        let got = abo.get_customer("user-1").await.unwrap();
        assert_eq!(got.id, created.id);
        assert!(got.hosted_home().is_some());
        let links_now = abo.customer_links("user-1").await.unwrap();
        assert!(abo_merchant::link_href(&links_now, "hosted-home").is_some());

        // Revocation issues new links.
        let revoked = abo.revoke_customer_links("user-1").await.unwrap();
        assert_ne!(revoked.hosted_home(), Some(home));

        // Lists: a page, then a filter nobody matches (204 → empty page).
        abo.upsert_customer(&CustomerRequest::new("user-2")).await.unwrap();
        let page = abo
            .list_customers(&ListCustomers { size_page: Some(1), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(page.total_items, 2);
        assert_eq!(page.items.len(), 1);
        let none = abo
            .list_customers(&ListCustomers {
                reference_feature: Some("support-24".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(none.items.is_empty());
        assert_eq!(none.total_items, 0);

        // Billing address: partial update, then read.
        let address = abo
            .update_billing_address(
                "user-1",
                &BillingAddress {
                    company: Some("Analytical Engines Ltd".into()),
                    city: Some("London".into()),
                    country: Some("GB".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(address.city.as_deref(), Some("London"));
        let address = abo.get_billing_address("user-1").await.unwrap();
        assert_eq!(address.company.as_deref(), Some("Analytical Engines Ltd"));
        assert_eq!(address.zip_code, None);

        // Payment settings.
        let settings = abo
            .update_payment_settings(
                "user-1",
                &PaymentSettingsUpdate {
                    type_payment: Some("ExternalCheck".into()),
                    note_invoice: Some("PO 42".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(settings.type_payment, "ExternalCheck");
        let settings = abo.get_payment_settings("user-1").await.unwrap();
        assert_eq!(settings.note_invoice.as_deref(), Some("PO 42"));
    }

    async fn errors_are_typed_values(app: TestApp) {
        let abo = client(&app);
        match abo.get_customer("nobody").await {
            Err(e @ ApiError::NotFound(_)) => assert_eq!(e.status(), Some(404)),
            other => panic!("{other:?}"),
        }
        match abo.get_billing_address("nobody").await {
            Err(e @ ApiError::Forbidden(_)) => {
                assert_eq!(e.code(), Some("Error.Api.Customer.Unaccessible"))
            }
            other => panic!("{other:?}"),
        }
        let invalid = CustomerRequest::new("user-bad").email("not an address").language("klingon!");
        match abo.upsert_customer(&invalid).await {
            Err(ApiError::Validation(errors)) => {
                assert_eq!(errors.len(), 2, "{errors:?}");
                let targets: Vec<_> = errors.iter().filter_map(|e| e.target.as_deref()).collect();
                assert_eq!(targets, ["Email", "Language"]);
                assert!(errors[0].code.starts_with("Error.Api.Validation"), "{errors:?}");
            }
            other => panic!("{other:?}"),
        }
        match abo
            .update_payment_settings(
                "nobody-yet",
                &PaymentSettingsUpdate { type_payment: Some("Card".into()), ..Default::default() },
            )
            .await
        {
            Err(e) => assert_eq!(e.status().map(|s| s == 403 || s == 422), Some(true), "{e}"),
            Ok(s) => panic!("{s:?}"),
        }
        let wrong = Client::new(&app.base_url, &app.agent_key, "not-the-key").unwrap();
        match wrong.get_customer("x").await {
            Err(e @ ApiError::Unauthorized(_)) => assert_eq!(e.status(), Some(401)),
            other => panic!("{other:?}"),
        }
        // Transport errors are values too.
        let nowhere = Client::new("http://127.0.0.1:9", "a", "b").unwrap();
        assert!(matches!(nowhere.get_customer("x").await, Err(ApiError::Transport(_))));
    }

    async fn offers(app: TestApp) {
        let abo = client(&app);
        abo.upsert_customer(&CustomerRequest::new("user-o")).await.unwrap();
        let page = abo
            .list_offers(&ListOffers {
                reference_segment: Some("demo-eur".into()),
                is_visible: Some(true),
                size_page: Some(100),
                ..Default::default()
            })
            .await
            .unwrap();
        let refs: Vec<_> = page.items.iter().map(|o| o.reference_offer.as_str()).collect();
        assert!(refs.contains(&"free") && refs.contains(&"pro-monthly"), "{refs:?}");
        assert!(!refs.contains(&"enterprise-custom"), "hidden offers stay hidden");

        let offer = abo.get_offer("pro-monthly", Some("user-o")).await.unwrap();
        assert_eq!(offer.reference_offer, "pro-monthly");
        assert!(offer.is_priced);
        assert!(offer.link("hosted-subscribe").is_some(), "{:?}", offer.links);
        assert!(matches!(abo.get_offer("no-such-offer", None).await, Err(ApiError::NotFound(_))));
    }

    async fn subscriptions_and_usages(app: TestApp) {
        let abo = client(&app);
        billable_customer(&abo, "user-s").await;

        let free = abo
            .create_subscription(
                &SubscriptionRequest::new("user-s", "free"),
                CreateOptions { try_start: Some(true), ..Default::default() },
            )
            .await
            .unwrap();
        assert_eq!(free.reference_offer.as_deref(), Some("free"));
        assert!(free.is_active(), "{}", free.state_subscription);
        assert!(free.features.iter().any(|f| f.reference_feature == "e-signature"));

        assert_eq!(abo.get_subscription(free.id).await.unwrap().id, free.id);
        assert_eq!(abo.get_customer_subscription("user-s").await.unwrap().id, free.id);
        let page = abo
            .list_subscriptions(&ListSubscriptions {
                reference_customer: Some("user-s".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
        let none = abo
            .list_subscriptions(&ListSubscriptions {
                reference_customer: Some("nobody".into()),
                ..Default::default()
            })
            .await;
        // Unknown customer filter: an empty page or a 404, never a panic.
        assert!(matches!(none, Ok(ref p) if p.items.is_empty()) || matches!(none, Err(ApiError::NotFound(_))), "{none:?}");

        // Usages: one write, an idempotent retry, a batch, reads.
        let u = abo
            .post_usage(&UsageRequest::increment("user-s", "e-signature", 2))
            .await
            .unwrap();
        assert_eq!(u.quantity_current, Some(2));
        for _ in 0..2 {
            let u = abo
                .post_usage_idempotent(&UsageRequest::increment("user-s", "e-signature", 1), "sig-77")
                .await
                .unwrap();
            assert_eq!(u.quantity_current, Some(3), "the retry counts once");
        }
        let batch = abo
            .post_usages(&[
                UsageRequest::set_quantity("user-s", "team-members", 1),
                UsageRequest::increment("user-s", "e-signature", 1),
            ])
            .await
            .unwrap();
        assert_eq!(batch.len(), 2);
        let sig = abo.get_usage(&UsageQuery::new("user-s", "e-signature")).await.unwrap();
        assert_eq!(sig.quantity_current, Some(4));
        assert_eq!(sig.quantity_included, Some(3));
        assert_eq!(sig.type_feature, "Consumption");
        let all = abo
            .list_usages(&UsageQuery {
                reference_customer: Some("user-s".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(all.items.len() >= 2);
        assert!(matches!(
            abo.get_usage(&UsageQuery::new("user-s", "projects")).await,
            Err(ApiError::NotFound(_))
        ));

        // Upgrade returns the new subscription; termination ends it.
        let pro = abo.upgrade_subscription(free.id, &Upgrade::to("pro-yearly")).await.unwrap();
        assert_ne!(pro.id, free.id);
        assert_eq!(pro.reference_offer.as_deref(), Some("pro-yearly"));
        let ended = abo
            .terminate_subscription(pro.id, &Termination { immediate: true, ..Default::default() })
            .await
            .unwrap();
        assert!(ended.state_subscription.contains("Terminated"), "{}", ended.state_subscription);
        assert!(!ended.is_active());
    }

    async fn invoices(app: TestApp) {
        let abo = client(&app);
        billable_customer(&abo, "user-i").await;
        // Nothing due yet: no invoice.
        let nothing = abo
            .bill_customer(&BillCustomer { reference_customer: "user-i".into(), ..Default::default() })
            .await
            .unwrap();
        assert!(nothing.is_none());

        // A manual balance line (set up through the raw API: not part of the SDK's surface).
        let r = app
            .post_json(
                "/v1/BalanceLine",
                &json!({"ReferenceCustomer": "user-i", "Label": "Consulting", "Amount": 10000, "Quantity": 1}),
            )
            .await;
        assert_eq!(r.status(), 201);
        let invoice = abo
            .bill_customer(&BillCustomer {
                reference_customer: "user-i".into(),
                note_localized: Some("PO.1".into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .expect("an invoice");
        assert_eq!(invoice.amount_subtotal, 10000);
        assert_eq!(invoice.reference_customer, "user-i");
        assert!(invoice.link("hosted-charge").is_some() || invoice.state_invoice == "Paid");
        let number = invoice.full_number.clone().expect("issued invoices are numbered");

        assert_eq!(abo.get_invoice(invoice.id).await.unwrap().id, invoice.id);
        assert_eq!(abo.get_invoice_by_number(&number).await.unwrap().id, invoice.id);
        let list = abo
            .list_invoices(&ListInvoices { reference_customer: Some("user-i".into()), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(list.items.len(), 1);
        assert!(matches!(abo.get_invoice(invoice.id + 1000).await, Err(ApiError::NotFound(_))));

        // An unbillable customer: a typed 403.
        abo.upsert_customer(&CustomerRequest::new("user-nopay")).await.unwrap();
        let r = app
            .post_json(
                "/v1/BalanceLine",
                &json!({"ReferenceCustomer": "user-nopay", "Label": "X", "Amount": 100, "Quantity": 1}),
            )
            .await;
        assert_eq!(r.status(), 201);
        match abo
            .bill_customer(&BillCustomer { reference_customer: "user-nopay".into(), ..Default::default() })
            .await
        {
            Err(e @ ApiError::Forbidden(_)) => {
                assert_eq!(e.code(), Some("Error.Customer.PaymentSettings.Missing"))
            }
            other => panic!("{other:?}"),
        }
    }
}
