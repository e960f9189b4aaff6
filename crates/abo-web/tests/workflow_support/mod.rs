//! Helpers of the workflow tests (`workflow_*.rs`): a catalogue with exact prices, a clock
//! at billing-rules' change-of-offer date, signed links, sessions, forms.

#![allow(dead_code)]

use std::sync::Arc;

use abo_core::{Clock, TestClock};
use abo_links::{LinkClaims, Purpose};
use abo_testkit::{AppOptions, TestApp};
use jiff::civil::date;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

pub const CATALOG: &str = r#"
[[segment]]
reference = "main-eur"
currency = "EUR"
time_zone = "Europe/Paris"
default = true

[[feature]]
reference = "seats"
name = "Seats"
type = "Limitation"

[[offer]]
segment = "main-eur"
reference = "free"
name = "Free"
recurrence = "1 Month"
amount_recurrence = "0"

[[offer]]
segment = "main-eur"
reference = "basic"
name = "Basic"
recurrence = "1 Month"
amount_recurrence = "100.00"

  [[offer.feature]]
  feature = "seats"
  included = 2
  pricing = { unit = "15.00" }
  updatable_after_subscription = true

[[offer]]
segment = "main-eur"
reference = "premium"
name = "Premium"
recurrence = "1 Month"
amount_recurrence = "180.00"

  [[offer.feature]]
  feature = "seats"
  included = 5
  pricing = { unit = "12.00" }
  updatable_after_subscription = true

[[offer]]
segment = "main-eur"
reference = "premium-yearly"
name = "Premium (yearly)"
recurrence = "1 Year"
amount_recurrence = "1800.00"

[[pricing_table]]
segment = "main-eur"
reference = "monthly"
name = "Monthly"
offers = ["free", "basic", "premium"]

[[pricing_table]]
segment = "main-eur"
reference = "yearly"
name = "Yearly"
offers = ["premium-yearly"]
"#;

/// March 25, 2026, 11:00 in Paris (billing-rules' change-of-offer example).
pub fn march_25() -> AppOptions {
    let us = date(2026, 3, 25)
        .at(11, 0, 0, 0)
        .to_zoned(TimeZone::get("Europe/Paris").unwrap())
        .unwrap()
        .timestamp()
        .as_microsecond();
    let clock: Arc<dyn Clock> = TestClock::shared(jiff::Timestamp::from_microsecond(us).unwrap());
    AppOptions::default().catalog(CATALOG).clock(clock)
}

/// A customer created through the API, billed in France (20 % VAT); returns its id.
pub async fn customer(app: &TestApp, reference: &str, language: &str) -> i64 {
    let r = app
        .post_json(
            "/v1/Customer",
            &json!({"ReferenceCustomer": reference, "Name": "Jane", "Email": "jane@example.com",
                    "Language": language}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let id = r.json::<Value>().await.unwrap()["Id"].as_i64().unwrap();
    let r = app
        .post_json(
            &format!("/v1/CustomerAddressBilling?ReferenceCustomer={reference}"),
            &json!({"Country": "FR", "City": "Paris", "FirstName": "Jane", "LastName": "Doe"}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    id
}

/// A link signed in-process for `purpose` (and its target).
pub async fn link(
    app: &TestApp,
    customer_id: i64,
    purpose: Purpose,
    target: Option<i64>,
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
        app.now_us() / 1_000_000,
        3600,
        abo_service::customers::links_epoch(&c),
    );
    if let Some(t) = target {
        claims = claims.with_target(t);
    }
    abo_links::signed_hosted_url(&app.base_url, &ring, &claims)
}

/// Follows a landing link; returns the absolute session URL it points to.
pub async fn land(app: &TestApp, link: &str) -> String {
    let r = app.client.get(link).send().await.unwrap();
    assert_eq!(r.status(), 303, "landing {link}");
    app.url(r.headers()["location"].to_str().unwrap())
}

/// `http://host/portal/s/{token}` of a session URL.
pub fn session_base(url: &str) -> String {
    let i = url.find("/portal/s/").unwrap() + "/portal/s/".len();
    let end = url[i..].find('/').unwrap();
    url[..i + end].to_owned()
}

/// GET: status and body.
pub async fn page(app: &TestApp, url: &str) -> (u16, String) {
    let r = app.client.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// The CSRF token of a page's forms.
pub fn csrf(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let i = html.find(marker).expect("a CSRF field") + marker.len();
    html[i..].split('"').next().unwrap().to_owned()
}

/// An attribute value in a page (`data-quote-due="4955"` → "4955").
pub fn attr(html: &str, name: &str) -> Option<String> {
    let marker = format!("{name}=\"");
    let i = html.find(&marker)? + marker.len();
    Some(html[i..].split('"').next()?.to_owned())
}

/// The action of the form with the confirm button (the page's last POST form).
pub fn post_action(app: &TestApp, html: &str) -> String {
    let i = html
        .rfind(r#"<form method="post" action=""#)
        .expect("a POST form")
        + r#"<form method="post" action=""#.len();
    app.url(&html[i..].split('"').next().unwrap().replace("&amp;", "&"))
}

/// The hidden fields of the page's last POST form (besides csrf).
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let start = html.rfind(r#"<form method="post""#).expect("a POST form");
    let form = &html[start..html[start..].find("</form>").unwrap() + start];
    form.split(r#"<input type="hidden" name=""#)
        .skip(1)
        .filter_map(|p| {
            let name = p.split('"').next()?.to_owned();
            let value = p.split(r#"value=""#).nth(1)?.split('"').next()?.to_owned();
            (name != "csrf").then_some((name, value))
        })
        .collect()
}

pub async fn post_form(app: &TestApp, url: &str, fields: &[(String, String)]) -> reqwest::Response {
    let body = serde_urlencoded::to_string(fields).unwrap();
    app.client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

pub fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Submits the page's confirmation form; returns the response (a 303).
pub async fn confirm(app: &TestApp, html: &str) -> reqwest::Response {
    let mut fields = hidden_fields(html);
    fields.push(("csrf".into(), csrf(html)));
    post_form(app, &post_action(app, html), &fields).await
}

/// Registers a card through the portal's form with `next`; passes 3-D Secure when asked.
/// Returns where the browser ends (the `next` page).
pub async fn register_card(app: &TestApp, base: &str, number: &str, next: &str) -> String {
    let (_, form) = page(app, &format!("{base}/payment-method/card?next={next}")).await;
    let token = csrf(&form);
    let r = post_form(
        app,
        &format!("{base}/payment-method/card"),
        &pairs(&[
            ("csrf", &token),
            ("number", number),
            ("expiry", "12/30"),
            ("cvc", "123"),
            ("next", next),
        ]),
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let mut location = app.url(r.headers()["location"].to_str().unwrap());
    if location.contains("/payment-method/3ds/") {
        let (status, html) = page(app, &location).await;
        assert_eq!(status, 200);
        assert!(html.contains("data-challenge"), "{html}");
        let action = location.split('?').next().unwrap().to_owned();
        let r = post_form(
            app,
            &action,
            &pairs(&[("csrf", &token), ("answer", "approve"), ("next", next)]),
        )
        .await;
        assert_eq!(r.status(), 303);
        location = app.url(r.headers()["location"].to_str().unwrap());
    }
    location
}

/// The customer's invoices through the API, newest first.
pub async fn invoices(app: &TestApp, reference: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/v1/Invoices?ReferenceCustomer={reference}"))
        .await;
    if r.status() == 204 {
        return Vec::new();
    }
    let mut items = r.json::<Value>().await.unwrap()["Items"]
        .as_array()
        .cloned()
        .unwrap();
    items.sort_by_key(|i| std::cmp::Reverse(i["Id"].as_i64().unwrap()));
    items
}
