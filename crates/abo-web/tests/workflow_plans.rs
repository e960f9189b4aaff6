//! The customer workflows over HTTP with the real server, on both backends: choose a plan,
//! subscribe (with a 3-D Secure card), change plan mid-period — the quote shown is the
//! amount then invoiced and charged — and the redirect to the merchant's return URL.

mod workflow_support;

use abo_links::Purpose;
use abo_testkit::{TestApp, both_backends};
use serde_json::{Value, json};
use workflow_support::*;

async fn offer_id(app: &TestApp, reference: &str) -> i64 {
    let r = app
        .get(&format!("/v1/Offer?ReferenceOffer={reference}"))
        .await;
    r.json::<Value>().await.unwrap()["Id"].as_i64().unwrap()
}

both_backends! {
    /// billing-rules' example through the hosted pages: monthly €100 from Jan 10, changed on
    /// Mar 25 to €180. The page quotes 41.29 + 20 % VAT = 49.55 due now; confirming charges
    /// the card and the invoice is exactly that, paid.
    #[options(march_25())]
    async fn change_plan_mid_period_charges_the_quote(app: TestApp) {
        let id = customer(&app, "c1", "en").await;
        let home = land(&app, &link(&app, id, Purpose::Home, None).await).await;
        let base = session_base(&home);
        register_card(&app, &base, "4242 4242 4242 4242", "wf/plans").await;
        let r = app.post_json("/v1/Subscription?TryStart=true", &json!({"ReferenceCustomer": "c1",
            "ReferenceOffer": "basic", "DateStart": "2026-01-10T10:00:00Z"})).await;
        assert_eq!(r.status(), 201);
        let sub = r.json::<Value>().await.unwrap()["Id"].as_i64().unwrap();
        // The running period is billed (and left to its collection job).
        assert_eq!(app.post_json("/v1/Billing/Customer", &json!({"ReferenceCustomer": "c1"})).await.status(), 200);
        let before = invoices(&app, "c1").await.len();

        // The Upgrade link opens the offers the subscription can change to.
        let url = land(&app, &link(&app, id, Purpose::Upgrade, Some(sub)).await).await;
        assert!(url.ends_with(&format!("/wf/change-plan/{sub}")), "{url}");
        let (status, grid) = page(&app, &url).await;
        assert_eq!(status, 200, "{grid}");
        assert!(grid.contains("data-offer=\"premium\""), "{grid}");
        assert!(!grid.contains("data-offer=\"basic\""), "the current offer is not offered");
        let premium = offer_id(&app, "premium").await;
        assert!(grid.contains(&format!("/wf/change-plan/{sub}?offer={premium}")), "{grid}");

        // The quote.
        let (status, html) = page(&app, &format!("{base}/wf/change-plan/{sub}?offer={premium}")).await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(attr(&html, "data-quote-due").as_deref(), Some("4955"), "{html}");
        assert_eq!(attr(&html, "data-method").as_deref(), Some("Card"));
        assert!(html.contains("-€51.61") && html.contains("€92.90"), "{html}");
        assert!(html.contains("€49.55"), "{html}");
        // Then €180 + VAT from April 10.
        assert!(html.contains("€216.00") && html.contains("10 April 2026"), "{html}");

        // Confirm: changed, billed, charged, paid.
        let r = confirm(&app, &html).await;
        assert_eq!(r.status(), 303);
        let done = app.url(r.headers()["location"].to_str().unwrap());
        assert!(done.contains("wf/done?from=upgrade&outcome=paid"), "{done}");
        let (_, html) = page(&app, &done).await;
        assert_eq!(attr(&html, "data-outcome").as_deref(), Some("paid"));
        let all = invoices(&app, "c1").await;
        assert_eq!(all.len(), before + 1);
        assert_eq!(all[0]["AmountSubtotal"], 4129);
        assert_eq!(all[0]["AmountTotal"], 4955);
        assert_eq!(all[0]["StateInvoice"], "Paid");
        let subs: Value = app.get("/v1/Subscriptions?ReferenceCustomer=c1").await.json().await.unwrap();
        assert!(subs["Items"].as_array().unwrap().iter()
            .any(|s| s["ReferenceOffer"] == "premium" && s["StateSubscription"] == "ActiveRunning"), "{subs}");

        // CSRF: a POST without the token is refused, nothing happens.
        let r = post_form(&app, &format!("{base}/wf/change-plan/{sub}"),
            &pairs(&[("offer", &premium.to_string())])).await;
        assert_eq!(r.status(), 403);
        // Another customer's subscription is not found from this session.
        let other = customer(&app, "c-other", "en").await;
        let r = app.post_json("/v1/Subscription?TryStart=true",
            &json!({"ReferenceCustomer": "c-other", "ReferenceOffer": "free"})).await;
        let other_sub = r.json::<Value>().await.unwrap()["Id"].as_i64().unwrap();
        let _ = other;
        let (status, html) = page(&app, &format!("{base}/wf/change-plan/{other_sub}")).await;
        assert_eq!(status, 404);
        assert_eq!(attr(&html, "data-error").as_deref(), Some("notfound"));
    }

    /// Subscribe with the sandbox card that needs 3-D Secure: the page asks for a method
    /// first, the card form and the bank's challenge come back to the quote, and confirming
    /// charges exactly the quote.
    #[options(march_25())]
    async fn subscribe_with_a_3d_secure_card(app: TestApp) {
        let id = customer(&app, "c3", "en").await;
        let basic = offer_id(&app, "basic").await;
        let url = land(&app, &link(&app, id, Purpose::Subscribe, Some(basic)).await).await;
        let base = session_base(&url);
        let (status, html) = page(&app, &url).await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(attr(&html, "data-quote-due").as_deref(), Some("12000"));
        assert_eq!(attr(&html, "data-method").as_deref(), Some("none"));
        assert!(!html.contains("data-confirm"), "no confirmation before a method is registered");
        assert!(html.contains("payment-method/card?next=wf/subscribe/"), "{html}");

        let back = register_card(&app, &base, "4200 4600 3700 3700", &format!("wf/subscribe/{basic}")).await;
        assert!(back.ends_with(&format!("/wf/subscribe/{basic}")), "{back}");
        let (_, html) = page(&app, &back).await;
        assert_eq!(attr(&html, "data-method").as_deref(), Some("Card"));
        assert!(html.contains("****-****-****-3700"), "{html}");
        let due = attr(&html, "data-quote-due").unwrap();
        let r = confirm(&app, &html).await;
        assert_eq!(r.status(), 303);
        // The customer is present: the bank asks for 3-D Secure for the charge too.
        let challenge = app.url(r.headers()["location"].to_str().unwrap());
        assert!(challenge.contains("/wf/authenticate/") && challenge.contains("from=subscribe"), "{challenge}");
        let (status, html) = page(&app, &challenge).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("data-challenge") && html.contains("€120.00"), "{html}");
        let done = {
            let action = post_action(&app, &html);
            let r = post_form(&app, &action, &pairs(&[("csrf", &csrf(&html)), ("answer", "approve")])).await;
            assert_eq!(r.status(), 303);
            r.headers()["location"].to_str().unwrap().to_owned()
        };
        assert!(done.contains("from=subscribe&outcome=paid"), "{done}");
        let all = invoices(&app, "c3").await;
        assert_eq!(all.len(), 1);
        assert_eq!(all[0]["AmountTotal"].to_string(), due);
        assert_eq!(all[0]["StateInvoice"], "Paid");
    }

    /// Choose a plan: the pricing tables as a monthly/yearly switcher without JavaScript;
    /// a free plan needs no payment method; the workflow ends on the merchant's return URL
    /// with from, outcome, idc, refo, idsub. In French.
    #[options(march_25())]
    async fn choose_a_plan_then_return_to_the_merchant(app: TestApp) {
        let id = customer(&app, "c2", "fr").await;
        let mut conn = app.store.acquire().await.unwrap();
        let segment = abo_store::segments::get_default(&mut conn, app.business_id).await.unwrap();
        drop(conn);
        abo_service::workflows::set_return_url(&app.store, app.business_id, segment.id,
            Some("https://merchant.example/back?site=1"), app.now_us()).await.unwrap();
        assert!(abo_service::workflows::set_return_url(&app.store, app.business_id, segment.id,
            Some("javascript:alert(1)"), app.now_us()).await.is_err());

        let url = land(&app, &link(&app, id, Purpose::CollectionUpgrade, None).await).await;
        assert!(url.ends_with("/wf/plans"), "{url}");
        let (status, html) = page(&app, &url).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("Choisissez votre formule"), "{html}");
        assert!(html.contains("data-table=\"monthly\"") && html.contains("data-table=\"yearly\""));
        assert!(html.contains("data-offer=\"basic\"") && !html.contains("data-offer=\"premium-yearly\""));
        let base = session_base(&url);
        let (_, yearly) = page(&app, &format!("{base}/wf/plans?table=yearly")).await;
        assert!(yearly.contains("data-offer=\"premium-yearly\"") && !yearly.contains("data-offer=\"basic\""), "{yearly}");
        let (status, _) = page(&app, &format!("{base}/wf/plans?table=nope")).await;
        assert_eq!(status, 404);

        let free = offer_id(&app, "free").await;
        let (_, html) = page(&app, &format!("{base}/wf/subscribe/{free}")).await;
        assert_eq!(attr(&html, "data-quote-due").as_deref(), Some("0"));
        assert!(html.contains("Rien à payer maintenant."), "{html}");
        let r = confirm(&app, &html).await;
        assert_eq!(r.status(), 303);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let subs: Value = app.get("/v1/Subscriptions?ReferenceCustomer=c2").await.json().await.unwrap();
        let sub = subs["Items"][0]["Id"].as_i64().unwrap();
        assert_eq!(location, format!(
            "https://merchant.example/back?site=1&from=subscribe&outcome=nocharge&idc={id}&refo=free&idsub={sub}"));
        assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors"));
        assert_eq!(subs["Items"][0]["StateSubscription"], "ActiveRunning");
    }
}
