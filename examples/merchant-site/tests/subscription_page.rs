//! The demo shop's 'Subscription' page against a real Abo (abo-testkit, SQLite and
//! PostgreSQL): part 1 frames the customer's `hosted-home`, part 2 frames genuine `crylk`
//! links of every kind and falls back to `hosted-home` on hostile ones; an e-mail link opened
//! while signed out survives the sign-in.

use abo_links::{
    Keyring, LinkClaims, LinkKey, Purpose, integrated_link, parse_hosted_path, signed_hosted_url,
};
use abo_testkit::TestApp;
use merchant_site::abo_merchant::VerificationKey;
use merchant_site::{Site, SiteConfig};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

struct Shop {
    url: String,
    http: reqwest::Client,
    keyring: Keyring,
}

/// The business's link keys, as an operator hands them to the merchant (`kid:hex`).
async fn link_keys(app: &TestApp) -> Vec<(u16, String)> {
    let mut conn = app.store.acquire().await.unwrap();
    abo_store::link_keys::list(&mut conn, app.business_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.retired_at_us.is_none())
        .map(|k| (k.kid.parse().unwrap(), k.secret_hex))
        .collect()
}

fn keyring(keys: &[(u16, String)]) -> Keyring {
    let key = |(kid, hex): &(u16, String)| {
        let mut secret = [0u8; 32];
        for (i, b) in secret.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        LinkKey { kid: *kid, secret }
    };
    let mut ring = Keyring::new(&key(&keys[0]));
    for k in &keys[1..] {
        ring = ring.with_retired(&key(k)).unwrap();
    }
    ring
}

async fn start_shop(app: &TestApp) -> Shop {
    let keys = link_keys(app).await;
    let mut config = SiteConfig::new(&app.base_url, &app.agent_key, &app.api_key);
    config.link_keys = keys
        .iter()
        .map(|(kid, hex)| VerificationKey::parse(&format!("{kid}:{hex}")).unwrap())
        .collect();
    let site = Site::new(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(merchant_site::serve(listener, site));
    Shop {
        url,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        keyring: keyring(&keys),
    }
}

impl Shop {
    /// Signs in as `user` (returning to `next`); returns the cookie and the redirect target.
    async fn sign_in(&self, user: &str, next: &str) -> (String, String) {
        let mut body = format!("user={user}&next=");
        abo_links::percent_encode_into(next, &mut body);
        let r = self
            .http
            .post(format!("{}/login", self.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let cookie = r.headers()[SET_COOKIE].to_str().unwrap();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
        (cookie, location)
    }

    /// GETs `path_and_query` with the session; returns (iframe src, data-portal-source).
    async fn portal(&self, cookie: &str, path_and_query: &str) -> (String, String) {
        let r = self
            .http
            .get(format!("{}{path_and_query}", self.url))
            .header(COOKIE, cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path_and_query}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let html = r.text().await.unwrap();
        assert_eq!(html.matches("<iframe").count(), 1, "{html}");
        let src = between(&html, "<iframe src=\"", "\"").replace("&amp;", "&");
        let source = between(&html, "data-portal-source=\"", "\"");
        let frame_origin = src.split('/').take(3).collect::<Vec<_>>().join("/");
        assert!(
            csp.contains(&format!("frame-src {frame_origin}")),
            "{csp} / {src}"
        );
        (src, source)
    }

    /// The purpose and customer of a framed hosted URL, verified with the business's keys.
    fn claims(&self, app: &TestApp, src: &str) -> LinkClaims {
        let path = src
            .strip_prefix(&app.base_url)
            .expect("framed on Abo's origin");
        let (purpose, token) = parse_hosted_path(path).expect("a hosted page path");
        let claims = self
            .keyring
            .verify(token, now_s(app))
            .expect("a genuine token");
        assert_eq!(claims.purpose, purpose);
        claims
    }
}

fn between(html: &str, start: &str, end: &str) -> String {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {html}"))
        + start.len();
    let len = html[from..].find(end).unwrap();
    html[from..from + len].to_owned()
}

fn now_s(app: &TestApp) -> i64 {
    app.now_us().div_euclid(1_000_000)
}

async fn customer_id(app: &TestApp, reference: &str) -> i64 {
    let r = app
        .get(&format!("/v1/Customer?ReferenceCustomer={reference}"))
        .await;
    assert_eq!(r.status(), 200);
    r.json::<serde_json::Value>().await.unwrap()["Id"]
        .as_i64()
        .unwrap()
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
    async fn part_one_frames_hosted_home(app: TestApp) {
        let shop = start_shop(&app).await;
        // Signed out: sent to sign in, and back.
        let r = shop.http.get(format!("{}/subscription", shop.url)).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()[LOCATION], "/login?next=%2Fsubscription");

        let (cookie, location) = shop.sign_in("cust-alice", "/subscription").await;
        assert_eq!(location, "/subscription");
        let (src, source) = shop.portal(&cookie, "/subscription").await;
        assert_eq!(source, "home");
        assert!(src.starts_with(&format!("{}/portal-auth/", app.base_url)), "{src}");
        // The page upserted the customer server side: it exists now, and the link is hers.
        let alice = customer_id(&app, "cust-alice").await;
        let claims = shop.claims(&app, &src);
        assert_eq!((claims.purpose, claims.customer_id), (Purpose::Home, alice));
        assert_eq!(claims.business_id, app.business_id);
    }

    async fn part_two_frames_genuine_crylk_of_every_kind(app: TestApp) {
        let shop = start_shop(&app).await;
        let (cookie, _) = shop.sign_in("cust-bruno", "/").await;
        shop.portal(&cookie, "/subscription").await; // creates the customer
        let bruno = customer_id(&app, "cust-bruno").await;
        let page = format!("{}/subscription", shop.url);

        // A link the API hands out, then links as Abo signs them for e-mails: an invoice to
        // pay, the payment method page, a custom subscription, and every other kind.
        let r = app.get("/v1/Customer?ReferenceCustomer=cust-bruno").await;
        let customer: serde_json::Value = r.json().await.unwrap();
        let offers = customer["Links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "hosted-collection-offers")
            .unwrap()["href"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut hosted = vec![(Purpose::CollectionOffers, offers)];
        for purpose in Purpose::ALL {
            let mut c = LinkClaims::new(app.business_id, bruno, purpose, now_s(&app), 7 * 24 * 3600, 0);
            if purpose.target_kind().is_some() {
                c = c.with_target(1);
            }
            hosted.push((purpose, signed_hosted_url(&app.base_url, &shop.keyring, &c)));
        }
        for (purpose, url) in hosted {
            let mail_link = integrated_link(purpose, Some(&page), Some(&format!("{page}?tab=billing")), &url);
            let path = mail_link.strip_prefix(&shop.url).unwrap();
            let (src, source) = shop.portal(&cookie, path).await;
            assert_eq!((src.as_str(), source.as_str()), (url.as_str(), "crylk"), "{purpose:?}");
        }
    }

    async fn part_two_falls_back_on_hostile_crylk(app: TestApp) {
        let shop = start_shop(&app).await;
        let (cookie, _) = shop.sign_in("cust-chloe", "/").await;
        shop.portal(&cookie, "/subscription").await;
        let chloe = customer_id(&app, "cust-chloe").await;
        let base = &app.base_url;
        let host = base.strip_prefix("http://").unwrap();
        let genuine = |customer: i64, ttl: i64| {
            let c = LinkClaims::new(app.business_id, customer, Purpose::Charge, now_s(&app), ttl, 0)
                .with_target(1);
            signed_hosted_url(base, &shop.keyring, &c)
        };
        let token = genuine(chloe, 3600).rsplit('/').next().unwrap().to_owned();
        // Another customer's genuine link, an expired one, a forged one, and URL tricks.
        let forged = signed_hosted_url(
            base,
            &Keyring::new(&LinkKey { kid: shop.keyring.active_kid(), secret: [1; 32] }),
            &LinkClaims::new(app.business_id, chloe, Purpose::Charge, now_s(&app), 3600, 0),
        );
        let hostile = [
            genuine(chloe + 1000, 3600),
            genuine(chloe, -10),
            forged,
            format!("http://evil{host}/pay-invoice/{token}"),
            format!("http://{host}@evil.example/pay-invoice/{token}"),
            format!("http://{host}.evil.example/pay-invoice/{token}"),
            format!("http://localhost:{}/pay-invoice/{token}", host.rsplit(':').next().unwrap()),
            format!("{base}/admin/{token}"),
            format!("{base}/pay-invoice/{token}?next=https://evil.example"),
            format!("//evil.example/pay-invoice/{token}"),
            "javascript:alert(document.cookie)".to_owned(),
            "data:text/html,<script>alert(1)</script>".to_owned(),
            format!("{base}/pay-invoice/{token}\r\nSet-Cookie: a=b"),
        ];
        for value in hostile {
            let mut path = "/subscription?crylk=".to_owned();
            abo_links::percent_encode_into(&value, &mut path);
            let (src, source) = shop.portal(&cookie, &path).await;
            assert_eq!(source, "home", "{value}");
            let claims = shop.claims(&app, &src);
            assert_eq!((claims.purpose, claims.customer_id), (Purpose::Home, chloe), "{value}");
        }
        // Double encoding and broken escapes, as raw query values.
        for raw in ["https%253A%252F%252Fevil.example", "%zz", "%C3"] {
            let (src, source) = shop.portal(&cookie, &format!("/subscription?crylk={raw}")).await;
            assert_eq!(source, "home", "{raw}");
            assert!(src.starts_with(&format!("{base}/portal-auth/")));
        }
    }

    async fn an_email_link_survives_sign_in(app: TestApp) {
        let shop = start_shop(&app).await;
        // Create the customer (as the e-mail's customer would exist already).
        let (cookie, _) = shop.sign_in("cust-dan", "/").await;
        shop.portal(&cookie, "/subscription").await;
        let dan = customer_id(&app, "cust-dan").await;
        let c = LinkClaims::new(app.business_id, dan, Purpose::PaymentMethod, now_s(&app), 3600, 0);
        let hosted = signed_hosted_url(&app.base_url, &shop.keyring, &c);
        let mail_link = integrated_link(Purpose::PaymentMethod, None, Some(&format!("{}/subscription", shop.url)), &hosted);
        let path = mail_link.strip_prefix(&shop.url).unwrap().to_owned();

        // A fresh browser: no session.
        let r = shop.http.get(&mail_link).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let login = r.headers()[LOCATION].to_str().unwrap().to_owned();
        let next = abo_links::percent_decode(login.strip_prefix("/login?next=").unwrap()).unwrap();
        assert_eq!(next, path);
        let (cookie, back) = shop.sign_in("cust-dan", &next).await;
        assert_eq!(back, path);
        let (src, source) = shop.portal(&cookie, &back).await;
        assert_eq!((src, source.as_str()), (hosted, "crylk"));

        // The sign-in form is no open redirect.
        for evil in ["https://evil.example/", "//evil.example", "/\\evil.example"] {
            let (_, location) = shop.sign_in("cust-dan", evil).await;
            assert_eq!(location, "/", "{evil}");
        }
    }
}
