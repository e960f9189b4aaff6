//! The SSRF guard, on SQLite and PostgreSQL. By default (production) a
//! webhook must be an https URL on a public address: registration refuses
//! every internal class with a 422, and a delivery whose host resolves (or
//! came to resolve) to an internal address fails with a recorded reason and
//! no request sent. The operator's `webhooks_allow_private` lets local
//! receivers in, but never link-local (cloud metadata) addresses.
//!
//! No test sends a request anywhere but loopback: refused targets are
//! refused before any connection.

mod webhooks_support;

use abo_engine::Engine;
use abo_testkit::{AppOptions, TestApp, both_backends};
use abo_webhooks::TargetPolicy;
use serde_json::{Value, json};
use webhooks_support::Receiver;

async fn create(app: &TestApp, url: &str) -> (u16, Value) {
    let r = app
        .post_json(
            "/Notification/Webhooks",
            &json!({ "Url": url, "Triggers": ["CustomerAdded"] }),
        )
        .await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Asserts a 422 on `Url` whose message contains `reason`.
async fn assert_refused(app: &TestApp, url: &str, reason: &str) {
    let (status, body) = create(app, url).await;
    assert_eq!(status, 422, "{url}: {body}");
    assert_eq!(body[0]["Code"], "Error.Api.Validation.Url", "{url}: {body}");
    let message = body[0]["Message"].as_str().unwrap();
    assert!(
        message.contains(reason),
        "{url}: {message:?} lacks {reason:?}"
    );
}

/// Every internal class, as a literal address (no DNS involved).
const INTERNAL: &[(&str, &str)] = &[
    ("https://127.0.0.1/hook", "a loopback address"),
    ("https://127.8.9.10:8443/hook", "a loopback address"),
    ("https://[::1]/hook", "a loopback address"),
    ("https://10.0.0.1/hook", "a private address"),
    ("https://172.16.0.1/hook", "a private address"),
    ("https://172.31.255.254/hook", "a private address"),
    ("https://192.168.1.1/hook", "a private address"),
    (
        "https://169.254.169.254/latest/meta-data",
        "a link-local address",
    ),
    (
        "https://100.64.0.1/hook",
        "a shared (carrier-grade NAT) address",
    ),
    ("https://[fc00::1]/hook", "a unique-local address"),
    ("https://[fd00:ec2::254]/hook", "a unique-local address"),
    ("https://[fe80::1]/hook", "a link-local address"),
    ("https://0.0.0.0/hook", "an unspecified address"),
    ("https://[::]/hook", "an unspecified address"),
    ("https://224.0.0.1/hook", "a multicast address"),
    ("https://[ff02::1]/hook", "a multicast address"),
    ("https://255.255.255.255/hook", "a reserved address"),
    ("https://[::ffff:127.0.0.1]/hook", "a loopback address"),
    (
        "https://[::ffff:169.254.169.254]/hook",
        "a link-local address",
    ),
    ("https://[::ffff:10.1.2.3]/hook", "a private address"),
];

async fn history(app: &TestApp) -> Vec<Value> {
    let r = app
        .get("/Notification/WebhookNotifications?SizePage=1000")
        .await;
    if r.status() == 204 {
        return Vec::new();
    }
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["Items"]
        .as_array()
        .unwrap()
        .clone()
}

both_backends! {
    /// The production default: every internal class, a name resolving to
    /// loopback, plain http and other schemes are refused at registration.
    async fn registration_refuses_internal_targets(app: TestApp) {
        for (url, reason) in INTERNAL {
            assert_refused(&app, url, reason).await;
        }
        // A name is resolved at registration: localhost is loopback.
        assert_refused(&app, "https://localhost:8443/hook", "a loopback address").await;
        assert_refused(&app, "http://hooks.example.com/x", "Url must use https").await;
        for scheme in ["ftp://hooks.example.com/x", "file:///etc/passwd", "gopher://a/b"] {
            assert_refused(&app, scheme, "absolute http(s) URL").await;
        }
        // Nothing was registered.
        assert_eq!(app.get("/Notification/Webhooks").await.status(), 204);
        // A public https target is accepted (its name may not resolve here:
        // every delivery resolves and checks again).
        let (status, body) = create(&app, "https://hooks.example.com/abo").await;
        assert_eq!(status, 201, "{body}");
    }

    /// `webhooks_allow_private`: local receivers are accepted, the cloud
    /// metadata service and non-unicast addresses still are not.
    #[options(AppOptions::default().allow_private_webhooks())]
    async fn allowing_private_targets_keeps_metadata_out(app: TestApp) {
        for url in ["http://127.0.0.1:9/hook", "http://[::1]:9/hook", "https://10.0.0.1/hook"] {
            let (status, body) = create(&app, url).await;
            assert_eq!(status, 201, "{url}: {body}");
        }
        for (url, reason) in INTERNAL {
            if reason.contains("link-local")
                || reason.contains("unspecified")
                || reason.contains("multicast")
                || reason.contains("reserved")
            {
                assert_refused(&app, url, reason).await;
            }
        }
    }

    /// An endpoint accepted when it was registered (here: on a node that
    /// allowed private targets) is checked again at each delivery: once its
    /// host is (or resolves to) an internal address, the attempt fails with
    /// the reason recorded, and the receiver gets no request.
    #[options(AppOptions::default().allow_private_webhooks())]
    async fn delivery_to_a_host_now_internal_is_refused_without_a_request(app: TestApp) {
        let receiver = Receiver::start().await;
        let b = app.business_id;
        // The same receiver by a name and by its literal address.
        let by_name = receiver.url.replace("127.0.0.1", "localhost");
        let mut ids = Vec::new();
        for url in [&by_name, &receiver.url] {
            let (status, created) = create(&app, url).await;
            assert_eq!(status, 201, "{created}");
            let id = created["Id"].as_i64().unwrap();
            let send = format!("/Notification/Webhooks/{id}/Verification?sendCode=true");
            assert_eq!(app.get(&send).await.status(), 200);
            let verify = format!(
                "/Notification/Webhooks/{id}/Verification?code={}",
                receiver.last_code()
            );
            assert_eq!(app.post_empty(&verify).await.status(), 200);
            ids.push(id);
        }

        // The delivering node allows http but not private targets.
        let engine = Engine::new(app.store.clone()).with_webhook_policy(TargetPolicy {
            allow_private: false,
            allow_http: true,
        });
        let r = app
            .post_json("/v1/Customer", &json!({ "ReferenceCustomer": "ssrf-1" }))
            .await;
        assert_eq!(r.status(), 201);
        engine.run_due(app.now_us(), "w").await.unwrap();
        engine.wait_webhooks(b).await;

        assert!(receiver.notifications().is_empty(), "no request was sent");
        let h = history(&app).await;
        assert_eq!(h.len(), 2);
        for n in &h {
            assert_eq!(n["Status"], "Pending", "{n}");
            assert_eq!(n["CountAttempts"], 1, "{n}");
            assert!(n["LastHttpStatus"].is_null(), "{n}");
            let error = n["LastError"].as_str().unwrap();
            assert!(
                error.starts_with("refused: the webhook host is ")
                    && error.contains("a loopback address"),
                "{n}"
            );
        }
        // The name was resolved and its address checked: the reason names the address.
        let named = h.iter().find(|n| n["IdWebhook"] == ids[0]).unwrap();
        let error = named["LastError"].as_str().unwrap();
        assert!(error.contains("127.0.0.1") || error.contains("::1"), "{error}");

        // The same deliveries, by a node that allows private targets, go through.
        let dev = Engine::new(app.store.clone()).with_webhook_policy(TargetPolicy::permissive());
        let next = {
            let mut conn = app.store.acquire().await.unwrap();
            let id = h[0]["Id"].as_i64().unwrap();
            let d = abo_store::webhooks::get_delivery(&mut conn, b, id).await.unwrap();
            d.next_attempt_us.expect("a next attempt is scheduled")
        };
        dev.run_business(b, next, "dev").await.unwrap();
        dev.wait_webhooks(b).await;
        assert_eq!(receiver.notifications().len(), 2);
        assert!(history(&app).await.iter().all(|n| n["Status"] == "Delivered"));
    }
}
