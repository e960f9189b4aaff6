//! The hosted Customer Portal over HTTP, on both backends: link landing for every hosted
//! path, the clear error pages (expired, tampered, revoked, suspended), sessions in the URL,
//! `Content-Security-Policy: frame-ancestors`, CSRF, and the four sections (subscriptions
//! with terminate at term and its cancellation, invoices with a real PDF, billing
//! information, payment method with sandbox card, 3-D Secure, SEPA and the grey list), in
//! English and French.

use abo_links::{LinkClaims, Purpose};
use abo_store::segments::{self, SegmentSettingsPatch};
use abo_testkit::{TestApp, both_backends};
use serde_json::{Value, json};

/// Creates a customer through the API and returns its id.
async fn customer(app: &TestApp, reference: &str, language: &str) -> i64 {
    let r = app
        .post_json(
            "/v1/Customer",
            &json!({"ReferenceCustomer": reference, "Name": "Jane", "Email": "jane@example.com",
                    "Language": language}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let body: Value = r.json().await.unwrap();
    body["Id"].as_i64().unwrap()
}

/// The customer's `hosted-home` link, as the API hands it out.
async fn home_link(app: &TestApp, reference: &str) -> String {
    let r = app
        .get(&format!("/v1/Customer?ReferenceCustomer={reference}"))
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["Links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "hosted-home")
        .and_then(|l| l["href"].as_str())
        .expect("hosted-home link")
        .to_owned()
}

/// A link signed in-process with the business's keyring (for purposes the API does not
/// publish on customers, and for expired links).
async fn signed_link(
    app: &TestApp,
    customer_id: i64,
    purpose: Purpose,
    target: Option<i64>,
    issued_at: i64,
    ttl: i64,
) -> String {
    let mut conn = app.store.acquire().await.unwrap();
    let ring = abo_service::links::load_keyring(&mut conn, app.business_id)
        .await
        .unwrap();
    let c = abo_store::customers::get(&mut conn, app.business_id, customer_id)
        .await
        .unwrap();
    let mut claims = LinkClaims::new(
        app.business_id,
        customer_id,
        purpose,
        issued_at,
        ttl,
        abo_service::customers::links_epoch(&c),
    );
    if let Some(t) = target {
        claims = claims.with_target(t);
    }
    abo_links::signed_hosted_url(&app.base_url, &ring, &claims)
}

/// Makes the customer billable offline (bank transfer) with a French billing address, so
/// `POST /v1/Billing/Customer` issues an invoice.
async fn billable(app: &TestApp, reference: &str) {
    let r = app
        .post_json(
            &format!("/v1/CustomerSettingsPayment?ReferenceCustomer={reference}"),
            &json!({"TypePayment": "ExternalBank"}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let r = app
        .post_json(
            &format!("/v1/CustomerAddressBilling?ReferenceCustomer={reference}"),
            &json!({"Country": "FR", "City": "Paris", "FirstName": "Jane", "LastName": "Doe"}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
}

fn now_s(app: &TestApp) -> i64 {
    app.now_us() / 1_000_000
}

async fn raw_get(app: &TestApp, url: &str) -> reqwest::Response {
    app.client.get(url).send().await.unwrap()
}

/// Follows a landing link: asserts the 303 and returns the session URL it points to.
async fn land(app: &TestApp, link: &str) -> String {
    let r = raw_get(app, link).await;
    assert_eq!(r.status(), 303, "landing {link}");
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/portal/s/"), "{location}");
    app.url(&location)
}

/// A page: status, headers and body.
async fn page(app: &TestApp, url: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let r = raw_get(app, url).await;
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

/// The session prefix (`http://host/portal/s/{token}`) of a session URL.
fn session_base(url: &str) -> String {
    let i = url.find("/portal/s/").unwrap() + "/portal/s/".len();
    let rest = &url[i..];
    let end = rest.find('/').unwrap();
    url[..i + end].to_owned()
}

/// The CSRF token in a page's forms.
fn csrf(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let i = html.find(marker).expect("a CSRF field") + marker.len();
    html[i..].split('"').next().unwrap().to_owned()
}

async fn post_form(app: &TestApp, url: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let body = serde_urlencoded::to_string(fields).unwrap();
    app.client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Lands on the home page and returns the session base URL.
async fn session(app: &TestApp, reference: &str) -> String {
    let url = land(app, &home_link(app, reference).await).await;
    session_base(&url)
}

fn error_code(html: &str) -> Option<String> {
    let i = html.find("data-error=\"")? + "data-error=\"".len();
    Some(html[i..].split('"').next()?.to_owned())
}

both_backends! {
    /// Every hosted path prefix lands: portal pages open inside a session, workflow links
    /// are handed to `wf/...`, the invoice PDF link is checked separately.
    async fn every_portal_link_kind_lands(app: TestApp) {
        let id = customer(&app, "c-land", "en").await;
        let r = app
            .post_json("/v1/Subscription?TryStart=true",
                &json!({"ReferenceCustomer": "c-land", "ReferenceOffer": "free"}))
            .await;
        assert!(r.status().is_success(), "{}", r.status());
        let sub: Value = r.json().await.unwrap();
        let sub_id = sub["Id"].as_i64().unwrap();
        for purpose in Purpose::ALL {
            if purpose == Purpose::InvoicePdf {
                continue;
            }
            let target = match purpose.target_kind() {
                Some(abo_links::TargetKind::Offer) => Some(1),
                Some(_) => Some(sub_id),
                None => None,
            };
            let link = signed_link(&app, id, purpose, target, now_s(&app), 3600).await;
            let url = land(&app, &link).await;
            let rel = url.split_once("/portal/s/").unwrap().1.split_once('/').unwrap().1;
            assert_eq!(
                rel,
                abo_web::portal::landing::session_target(purpose, target),
                "{purpose:?}"
            );
            if !rel.starts_with("wf/") {
                let (status, headers, body) = page(&app, &url).await;
                assert_eq!(status, 200, "{purpose:?} {rel}: {body}");
                assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
                assert!(body.contains("<nav class=\"sections\""), "{purpose:?}");
            }
        }
        // The API's own link lands on the home page, which shows the one subscription.
        let url = land(&app, &home_link(&app, "c-land").await).await;
        let (status, _, body) = page(&app, &url).await;
        assert_eq!(status, 200);
        assert!(body.contains(&format!("data-subscription=\"{sub_id}\"")), "{body}");
        assert!(body.contains("Free"));
    }

    /// Expired, tampered, revoked and suspended-customer links get a clear page with the
    /// right status, never a stack trace; revocation also ends open sessions.
    async fn bad_links_get_clear_pages(app: TestApp) {
        let id = customer(&app, "c-bad", "en").await;
        let home = home_link(&app, "c-bad").await;

        // Expired: issued two days ago, valid one day.
        let expired = signed_link(&app, id, Purpose::Home, None, now_s(&app) - 2 * 86_400, 86_400).await;
        let (status, headers, body) = page(&app, &expired).await;
        assert_eq!(status, 410, "{body}");
        assert_eq!(error_code(&body).as_deref(), Some("expired"));
        assert!(body.contains("This link has expired"));
        assert!(headers["content-security-policy"].to_str().unwrap().starts_with("frame-ancestors 'self'"));

        // Tampered: one character changed in the token.
        let mut chars: Vec<char> = home.chars().collect();
        let last = chars.len() - 3;
        chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        let (status, _, body) = page(&app, &tampered).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error_code(&body).as_deref(), Some("invalid"));
        // Garbage and a link of one page used on another.
        let (status, _, _) = page(&app, &app.url("/portal-auth/not-a-token")).await;
        assert_eq!(status, 400);
        let token = home.rsplit('/').next().unwrap();
        let (status, _, body) = page(&app, &app.url(&format!("/portal-invoices/{token}"))).await;
        assert_eq!(status, 400, "{body}");
        assert!(!body.contains("panicked") && !body.contains("stack"));

        // A session opened before the revocation.
        let base = session_base(&land(&app, &home).await);
        let r = app.post_empty("/v1/Customer/LinksRevokation?ReferenceCustomer=c-bad").await;
        assert!(r.status().is_success(), "{}", r.status());
        let (status, _, body) = page(&app, &home).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(error_code(&body).as_deref(), Some("revoked"));
        assert!(body.contains("revoked"));
        let (status, _, body) = page(&app, &format!("{base}/home")).await;
        assert_eq!(status, 403);
        assert_eq!(error_code(&body).as_deref(), Some("revoked"));

        // Suspended: a link issued after the revocation, then the customer is suspended.
        let fresh = signed_link(&app, id, Purpose::Home, None, now_s(&app), 3600).await;
        assert_eq!(raw_get(&app, &fresh).await.status(), 303);
        let r = app.post_empty("/v1/Customer/Suspension?ReferenceCustomer=c-bad").await;
        assert!(r.status().is_success(), "{}", r.status());
        // Suspension bumps the epoch too: the link is revoked; a link signed with the new
        // epoch is refused because the customer is suspended.
        let (status, _, _) = page(&app, &fresh).await;
        assert_eq!(status, 403);
        let after = signed_link(&app, id, Purpose::Home, None, now_s(&app), 3600).await;
        let (status, _, body) = page(&app, &after).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(error_code(&body).as_deref(), Some("suspended"));

        // A forged or stale session.
        let (status, _, body) = page(&app, &app.url("/portal/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/home")).await;
        assert_eq!(status, 410);
        assert_eq!(error_code(&body).as_deref(), Some("session"));
    }

    /// Pages carry `frame-ancestors` with the segment's integration origins and the extra
    /// ones configured, plus 'self'; unknown segments (invalid links) only 'self'.
    async fn csp_frame_ancestors(app: TestApp) {
        {
            let mut conn = app.store.acquire().await.unwrap();
            let seg = segments::get_default(&mut conn, app.business_id).await.unwrap();
            segments::update_settings(&mut conn, app.business_id, seg.id, &SegmentSettingsPatch {
                url_integrated_portal: Some(Some("https://shop.example/account?tab=billing".into())),
                url_integrated_form: Some(Some("https://shop.example/subscribe".into())),
                ..Default::default()
            }, 0).await.unwrap();
        }
        abo_service::portal::settings::update_settings(
            &app.store, app.business_id, None,
            &abo_service::portal::settings::PortalSettingsInput {
                frame_origins: Some("https://app.example, http://127.0.0.1:9999".into()),
                ..Default::default()
            }, 0,
        ).await.unwrap();
        let bad = abo_service::portal::settings::update_settings(
            &app.store, app.business_id, None,
            &abo_service::portal::settings::PortalSettingsInput {
                frame_origins: Some("javascript:alert(1)".into()),
                ..Default::default()
            }, 0,
        ).await;
        assert!(bad.is_err());
        customer(&app, "c-csp", "en").await;
        let url = land(&app, &home_link(&app, "c-csp").await).await;
        let (status, headers, _) = page(&app, &url).await;
        assert_eq!(status, 200);
        assert_eq!(
            headers["content-security-policy"],
            "frame-ancestors 'self' https://shop.example https://app.example http://127.0.0.1:9999"
        );
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-store");
        let (_, headers, _) = page(&app, &app.url("/portal-auth/garbage-token-that-is-not-valid")).await;
        assert_eq!(headers["content-security-policy"], "frame-ancestors 'self'");
    }

    /// Every POST needs the session's CSRF token.
    async fn csrf_is_required(app: TestApp) {
        customer(&app, "c-csrf", "en").await;
        let base = session(&app, "c-csrf").await;
        let (_, _, html) = page(&app, &format!("{base}/billing")).await;
        let token = csrf(&html);
        let fields = [("kind", "person"), ("city", "Lyon"), ("country", "FR")];
        let r = post_form(&app, &format!("{base}/billing"), &fields).await;
        assert_eq!(r.status(), 403);
        assert_eq!(error_code(&r.text().await.unwrap()).as_deref(), Some("csrf"));
        let mut wrong = fields.to_vec();
        wrong.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAA"));
        let r = post_form(&app, &format!("{base}/billing"), &wrong).await;
        assert_eq!(r.status(), 403);
        // Another customer's token does not work either.
        customer(&app, "c-csrf-2", "en").await;
        let other = session(&app, "c-csrf-2").await;
        let (_, _, other_html) = page(&app, &format!("{other}/billing")).await;
        let mut foreign = fields.to_vec();
        let other_token = csrf(&other_html);
        foreign.push(("csrf", other_token.as_str()));
        let r = post_form(&app, &format!("{base}/billing"), &foreign).await;
        assert_eq!(r.status(), 403);
        let mut good = fields.to_vec();
        good.push(("csrf", token.as_str()));
        let r = post_form(&app, &format!("{base}/billing"), &good).await;
        assert_eq!(r.status(), 303);
    }

    /// Billing information is saved through the customer use case; a malformed VAT number is
    /// refused with the reason, and nothing is saved.
    async fn billing_information_saved(app: TestApp) {
        customer(&app, "c-bill", "en").await;
        let base = session(&app, "c-bill").await;
        let (_, _, html) = page(&app, &format!("{base}/billing")).await;
        let token = csrf(&html);
        let r = post_form(&app, &format!("{base}/billing"), &[
            ("csrf", &token), ("kind", "company"), ("company", "Acme SAS"),
            ("first_name", "Jane"), ("last_name", "Doe"), ("address1", "1 rue de la Paix"),
            ("zip", "75002"), ("city", "Paris"), ("country", "FR"), ("vat", "FR12"),
            ("email", "billing@acme.example"),
        ]).await;
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(body.contains("TaxInformation") || body.contains("VAT"), "{body}");
        assert!(body.contains("Acme SAS"), "the form keeps what was typed");
        let r = post_form(&app, &format!("{base}/billing"), &[
            ("csrf", &token), ("kind", "company"), ("company", "Acme SAS"),
            ("first_name", "Jane"), ("last_name", "Doe"), ("address1", "1 rue de la Paix"),
            ("zip", "75002"), ("city", "Paris"), ("country", "fr"), ("vat", "FR40303265045"),
            ("email", "billing@acme.example"),
        ]).await;
        assert_eq!(r.status(), 303);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let (status, _, body) = page(&app, &app.url(&location)).await;
        assert_eq!(status, 200);
        assert!(body.contains("Your billing information has been saved."));
        assert!(body.contains("value=\"FR40303265045\""));
        let r = app.get("/v1/CustomerAddressBilling?ReferenceCustomer=c-bill").await;
        let address: Value = r.json().await.unwrap();
        assert_eq!(address["Company"], "Acme SAS");
        assert_eq!(address["Country"], "FR");
        assert_eq!(address["TaxInformation"], "FR40303265045");
        let c: Value = app.get("/v1/Customer?ReferenceCustomer=c-bill").await.json().await.unwrap();
        assert_eq!(c["Email"], "billing@acme.example");
    }

    /// A sandbox card is registered and shown masked with its expiry; a 3-D Secure card goes
    /// through the sandbox challenge page first.
    async fn card_registered_and_masked(app: TestApp) {
        customer(&app, "c-card", "en").await;
        let base = session(&app, "c-card").await;
        let (status, _, html) = page(&app, &format!("{base}/payment-method")).await;
        assert_eq!(status, 200);
        assert!(html.contains("data-method=\"none\""));
        let (_, _, form) = page(&app, &format!("{base}/payment-method/card")).await;
        let token = csrf(&form);
        let r = post_form(&app, &format!("{base}/payment-method/card"), &[
            ("csrf", &token), ("number", "4242 4242 4242 4242"), ("expiry", "12/30"), ("cvc", "123"),
        ]).await;
        assert_eq!(r.status(), 303);
        let (_, _, html) = page(&app, &format!("{base}/payment-method")).await;
        assert!(html.contains("data-method=\"Card\""), "{html}");
        assert!(html.contains("****-****-****-4242"), "{html}");
        assert!(html.contains("December 2030"), "{html}");
        assert!(!html.contains("4242 4242 4242 4242"));
        let s: Value = app.get("/v1/CustomerSettingsPayment?ReferenceCustomer=c-card").await.json().await.unwrap();
        assert_eq!(s["TypePayment"], "Card");

        // 3-D Secure at registration.
        let r = post_form(&app, &format!("{base}/payment-method/card"), &[
            ("csrf", &token), ("number", "4200 4600 3700 3700"), ("expiry", "11/31"), ("cvc", "123"),
        ]).await;
        assert_eq!(r.status(), 303);
        let challenge = app.url(r.headers()["location"].to_str().unwrap());
        assert!(challenge.contains("/payment-method/3ds/"), "{challenge}");
        let (status, _, html) = page(&app, &challenge).await;
        assert_eq!(status, 200);
        assert!(html.contains("data-challenge"));
        let action = challenge.split('?').next().unwrap().to_owned();
        let r = post_form(&app, &action, &[("csrf", &token), ("answer", "approve")]).await;
        assert_eq!(r.status(), 303);
        let (_, _, html) = page(&app, &format!("{base}/payment-method")).await;
        assert!(html.contains("****-****-****-3700"), "{html}");
        assert!(html.contains("November 2031"), "{html}");

        // Invalid details are explained, not counted.
        let r = post_form(&app, &format!("{base}/payment-method/card"), &[
            ("csrf", &token), ("number", "4242 4242 4242 4241"), ("expiry", "12/30"), ("cvc", "123"),
        ]).await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("The details are not valid"));
    }

    /// Repeated declines grey-list the customer: the forms are then refused with ProAbono's
    /// message.
    async fn grey_list_after_repeated_declines(app: TestApp) {
        customer(&app, "c-grey", "en").await;
        let base = session(&app, "c-grey").await;
        let (_, _, form) = page(&app, &format!("{base}/payment-method/card")).await;
        let token = csrf(&form);
        for attempt in 1..=3 {
            let r = post_form(&app, &format!("{base}/payment-method/card"), &[
                ("csrf", &token), ("number", "4205 4202 5602 5607"), ("expiry", "12/30"), ("cvc", "123"),
            ]).await;
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            if attempt < 3 {
                assert_eq!(status, 422, "{body}");
                assert!(body.contains("declined"), "{body}");
            } else {
                assert_eq!(status, 403, "{body}");
                assert!(body.contains("You are not allowed to access the payment forms"));
            }
        }
        let (status, _, body) = page(&app, &format!("{base}/payment-method/card")).await;
        assert_eq!(status, 403);
        assert!(body.contains("You are not allowed to access the payment forms"));
        let s: Value = app.get("/v1/CustomerSettingsPayment?ReferenceCustomer=c-grey").await.json().await.unwrap();
        assert_eq!(s["IsGreyListed"], true);
    }

    /// A SEPA mandate is registered with a test IBAN once the mandate is accepted.
    async fn sepa_mandate_registered(app: TestApp) {
        customer(&app, "c-sepa", "fr").await;
        let base = session(&app, "c-sepa").await;
        let (_, _, form) = page(&app, &format!("{base}/payment-method/sepa")).await;
        assert!(form.contains("J’accepte le mandat de prélèvement SEPA"), "{form}");
        let token = csrf(&form);
        let r = post_form(&app, &format!("{base}/payment-method/sepa"), &[
            ("csrf", &token), ("iban", "FR76 3000 6000 0112 3456 7890 189"), ("holder", "Jeanne Martin"),
        ]).await;
        assert_eq!(r.status(), 422, "the mandate must be accepted");
        let r = post_form(&app, &format!("{base}/payment-method/sepa"), &[
            ("csrf", &token), ("iban", "FR76 3000 6000 0112 3456 7890 189"),
            ("holder", "Jeanne Martin"), ("accept", "on"),
        ]).await;
        assert_eq!(r.status(), 303);
        let (_, _, html) = page(&app, &format!("{base}/payment-method")).await;
        assert!(html.contains("data-method=\"DirectDebit\""), "{html}");
        assert!(html.contains("Prélèvement SEPA"), "{html}");
        assert!(html.contains("Mandat "), "{html}");
        let s: Value = app.get("/v1/CustomerSettingsPayment?ReferenceCustomer=c-sepa").await.json().await.unwrap();
        assert_eq!(s["TypePayment"], "DirectDebit");
    }

    /// Terminate at term, see it scheduled, cancel the termination.
    async fn terminate_at_term_then_cancel(app: TestApp) {
        customer(&app, "c-term", "en").await;
        let r = app
            .post_json("/v1/Subscription?TryStart=true",
                &json!({"ReferenceCustomer": "c-term", "ReferenceOffer": "free"}))
            .await;
        let sub: Value = r.json().await.unwrap();
        let id = sub["Id"].as_i64().unwrap();
        let base = session(&app, "c-term").await;
        let (status, _, html) = page(&app, &format!("{base}/subscriptions/{id}/terminate")).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("at the end of the current period"), "{html}");
        let token = csrf(&html);
        let r = post_form(&app, &format!("{base}/subscriptions/{id}/terminate"),
            &[("csrf", &token), ("mode", "at-term")]).await;
        assert_eq!(r.status(), 303);
        let (_, _, html) = page(&app, &app.url(r.headers()["location"].to_str().unwrap())).await;
        assert!(html.contains("data-scheduled"), "{html}");
        assert!(html.contains("Termination scheduled on"), "{html}");
        assert!(html.contains("Cancel the termination"));
        let s: Value = app.get(&format!("/v1/Subscription/{id}")).await.json().await.unwrap();
        assert_eq!(s["StateSubscription"], "ActiveDelayedTermination");
        let r = post_form(&app, &format!("{base}/subscriptions/{id}/cancel-termination"),
            &[("csrf", &token)]).await;
        assert_eq!(r.status(), 303);
        let (_, _, html) = page(&app, &app.url(r.headers()["location"].to_str().unwrap())).await;
        assert!(html.contains("The termination has been cancelled."), "{html}");
        assert!(!html.contains("data-scheduled"));
        let s: Value = app.get(&format!("/v1/Subscription/{id}")).await.json().await.unwrap();
        assert_eq!(s["StateSubscription"], "ActiveRunning");
        // Another customer cannot touch it.
        customer(&app, "c-term-2", "en").await;
        let other = session(&app, "c-term-2").await;
        let (status, _, _) = page(&app, &format!("{other}/subscriptions/{id}")).await;
        assert_eq!(status, 404);
    }

    /// The invoice list shows the invoice; its PDF (from the portal and from the
    /// `/portal-inv-pdf/` link) is a real PDF with the invoice number in it.
    async fn invoice_pdf_downloads(app: TestApp) {
        let id = customer(&app, "c-inv", "en").await;
        billable(&app, "c-inv").await;
        let r = app.post_json("/v1/BalanceLine", &json!({
            "ReferenceCustomer": "c-inv", "Label": "Consulting", "Amount": 12000, "Quantity": 1
        })).await;
        assert_eq!(r.status(), 201);
        let r = app.post_json("/v1/Billing/Customer", &json!({"ReferenceCustomer": "c-inv"})).await;
        assert_eq!(r.status(), 200);
        let invoice: Value = r.json().await.unwrap();
        let number = invoice["FullNumber"].as_str().unwrap().to_owned();
        let invoice_id = invoice["Id"].as_i64().unwrap();
        let base = session(&app, "c-inv").await;
        let (status, _, html) = page(&app, &format!("{base}/invoices")).await;
        assert_eq!(status, 200);
        assert!(html.contains(&format!("data-invoice=\"{number}\"")), "{html}");
        assert!(html.contains("€144.00"), "{html}");
        let link = signed_link(&app, id, Purpose::InvoicePdf, Some(invoice_id), now_s(&app), 3600).await;
        for url in [link, format!("{base}/invoices/{invoice_id}/pdf")] {
            let r = raw_get(&app, &url).await;
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["content-type"], "application/pdf");
            let bytes = r.bytes().await.unwrap();
            assert!(bytes.starts_with(b"%PDF-"));
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("invoice.pdf");
            std::fs::write(&path, &bytes).unwrap();
            let out = std::process::Command::new("pdftotext")
                .arg(&path)
                .arg("-")
                .output()
                .expect("pdftotext (poppler-utils) must be installed");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains(&number), "{text}");
        }
        // Another customer's session cannot read it.
        customer(&app, "c-inv-2", "en").await;
        let other = session(&app, "c-inv-2").await;
        let (status, _, _) = page(&app, &format!("{other}/invoices/{invoice_id}/pdf")).await;
        assert_eq!(status, 404);
    }

    /// A French customer gets French pages, amounts and dates.
    async fn french_pages(app: TestApp) {
        customer(&app, "c-fr", "fr").await;
        billable(&app, "c-fr").await;
        let r = app.post_json("/v1/BalanceLine", &json!({
            "ReferenceCustomer": "c-fr", "Label": "Conseil", "Amount": 1000, "Quantity": 1
        })).await;
        assert_eq!(r.status(), 201);
        let r = app.post_json("/v1/Billing/Customer", &json!({"ReferenceCustomer": "c-fr"})).await;
        assert_eq!(r.status(), 200);
        let base = session(&app, "c-fr").await;
        let (_, _, html) = page(&app, &format!("{base}/home")).await;
        assert!(html.contains("<html lang=\"fr\">"));
        assert!(html.contains("Vos abonnements"));
        assert!(html.contains("Vous n’avez pas encore d’abonnement."));
        assert!(html.contains("Nos offres"));
        assert!(html.contains("Factures") && html.contains("Moyen de paiement"));
        let (_, _, html) = page(&app, &format!("{base}/invoices")).await;
        assert!(html.contains("12,00\u{a0}€"), "{html}");
        assert!(html.contains("Télécharger le PDF"));
        let (_, _, html) = page(&app, &format!("{base}/billing")).await;
        assert!(html.contains("Raison sociale") && html.contains("Numéro de TVA"));
    }

    /// The segment's string overrides, CSS, sanitised header/footer and logo show on its
    /// pages.
    async fn segment_look_and_overrides(app: TestApp) {
        use abo_service::portal::settings::{PortalSettingsInput, set_text, update_settings};
        set_text(&app.store, app.business_id, None, "fr", "nav.invoices", Some("Mes factures"),
            abo_web::portal::i18n::is_known_key, 0).await.unwrap();
        assert!(set_text(&app.store, app.business_id, None, "fr", "no.such.key", Some("x"),
            abo_web::portal::i18n::is_known_key, 0).await.is_err());
        let png = b"\x89PNG\r\n\x1a\n0000IHDR-not-really-but-sniffed".to_vec();
        update_settings(&app.store, app.business_id, None, &PortalSettingsInput {
            css: Some(":root { --accent: #8a2be2; } </style><script>alert(1)</script>".into()),
            header_html: Some("<p class=\"x\" onclick=\"steal()\">Welcome <b>back</b><script>alert(1)</script></p>".into()),
            footer_html: Some("<a href=\"javascript:alert(1)\">bad</a> <a href=\"https://shop.example/help\">Help</a>".into()),
            logo: Some(png.clone()),
            ..Default::default()
        }, 0).await.unwrap();
        customer(&app, "c-look", "fr").await;
        let base = session(&app, "c-look").await;
        let (_, _, html) = page(&app, &format!("{base}/home")).await;
        assert!(html.contains("Mes factures"), "{html}");
        assert!(html.contains("--accent: #8a2be2"));
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("onclick") && !html.contains("javascript:"), "{html}");
        assert!(html.contains("Welcome <b>back</b>"), "{html}");
        assert!(html.contains("https://shop.example/help"));
        // The page's links carry its own refreshed session token (sliding
        // expiry): it differs from `base`'s once a second has passed.
        let marker = "class=\"logo\" src=\"";
        let i = html.find(marker).expect("the segment's logo") + marker.len();
        let src = html[i..].split('"').next().unwrap();
        let token = src.strip_prefix("/portal/s/").and_then(|t| t.strip_suffix("/logo"));
        assert!(token.is_some_and(|t| !t.is_empty() && !t.contains('/')), "{src}");
        let r = raw_get(&app, &format!("{}{src}", app.base_url)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/png");
        assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    }
}

/// Sessions slide: each page hands out a token valid one more hour; a token not renewed for
/// an hour is refused with the "session ended" page. Runs on a test clock, on both backends.
async fn session_slides_and_expires(backend: abo_testkit::Backend, name: &str) {
    use abo_core::TestClock;
    let clock = TestClock::shared("2026-11-30T10:00:00Z".parse().unwrap());
    let options = abo_testkit::AppOptions::default().clock(clock.clone());
    let Some(app) = abo_testkit::spawn_app_or_skip(backend, options, name).await else {
        return;
    };
    customer(&app, "c-slide", "en").await;
    let first = session(&app, "c-slide").await;
    clock
        .advance(std::time::Duration::from_secs(50 * 60))
        .unwrap();
    let (status, _, html) = page(&app, &format!("{first}/home")).await;
    assert_eq!(status, 200);
    // The page's links carry a renewed token.
    let marker = "href=\"/portal/s/";
    let i = html.find(marker).unwrap() + marker.len() - "/portal/s/".len();
    let renewed = app.url(&session_base(html[i..].split('"').next().unwrap()));
    assert_ne!(renewed, first);
    clock
        .advance(std::time::Duration::from_secs(50 * 60))
        .unwrap();
    let (status, _, _) = page(&app, &format!("{renewed}/invoices")).await;
    assert_eq!(
        status, 200,
        "the renewed token is still good after 100 minutes"
    );
    let (status, _, body) = page(&app, &format!("{first}/invoices")).await;
    assert_eq!(
        status, 410,
        "the first token expired an hour after its last use"
    );
    assert_eq!(error_code(&body).as_deref(), Some("session"));
    assert!(body.contains("Your session has ended"));
    app.cleanup().await;
}

#[tokio::test]
async fn session_slides_and_expires_sqlite() {
    session_slides_and_expires(
        abo_testkit::Backend::Sqlite,
        "session_slides_and_expires_sqlite",
    )
    .await;
}

#[tokio::test]
async fn session_slides_and_expires_postgres() {
    session_slides_and_expires(
        abo_testkit::Backend::Postgres,
        "session_slides_and_expires_postgres",
    )
    .await;
}
