//! Nothing is lost over a restart of Abo: events written and deliveries
//! failed before the server and engine stop are delivered by a new server
//! and engine on the same SQLite file, and on the same PostgreSQL database.

mod webhooks_support;

use abo_core::{Clock, SystemClock};
use abo_engine::Engine;
use abo_service::business::{BusinessSpec, create_business};
use abo_service::catalog::{import_catalog, parse_catalog};
use abo_store::{Store, businesses};
use abo_testkit::postgres;
use abo_webhooks::TargetPolicy;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use webhooks_support::{Answer, Receiver, assert_signed};

const MINUTE_US: i64 = 60_000_000;

/// One run of Abo: the HTTP server and an engine on a store.
struct Node {
    base_url: String,
    store: Store,
    engine: Engine,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Node {
    async fn start(url: &str) -> Node {
        let store = Store::connect(url).await.unwrap();
        store.migrate().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        // The receiver is on loopback: the operator allows private targets.
        let state = abo_testkit::build_state(store.clone(), &base_url, clock)
            .with_webhook_policy(TargetPolicy::permissive());
        let router = abo_web::router(state);
        let (shutdown, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Node {
            base_url,
            engine: Engine::new(store.clone()).with_webhook_policy(TargetPolicy::permissive()),
            store,
            shutdown,
            task,
        }
    }

    async fn stop(self) {
        let _ = self.shutdown.send(());
        self.task.await.unwrap();
        self.store.close().await;
    }

    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        keys: &(String, String),
    ) -> reqwest::RequestBuilder {
        // reqwest is built with `rustls-no-provider` here: ring, installed first.
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
            .request(method, format!("{}{path}", self.base_url))
            .basic_auth(&keys.0, Some(&keys.1))
    }
}

async fn scenario(url: String) {
    let receiver = Receiver::start().await;
    let node = Node::start(&url).await;
    let t0 = (SystemClock.now().as_microsecond() / 1_000_000) * 1_000_000;
    let created = create_business(
        &node.store,
        &BusinessSpec {
            name: "Restart".into(),
            country: "FR".into(),
            default_language: "en".into(),
            is_test: true,
        },
        t0,
    )
    .await
    .unwrap();
    let b = created.business.id;
    let keys = (created.credentials.agent_key, created.credentials.api_key);
    let catalog = parse_catalog(abo_service::demo::DEMO_CATALOG).unwrap();
    import_catalog(&node.store, b, &catalog, t0).await.unwrap();
    {
        let mut conn = node.store.acquire().await.unwrap();
        businesses::set_test_clock(&mut conn, b, Some(t0))
            .await
            .unwrap();
    }

    // A verified endpoint, failing for now.
    let r = node
        .request(reqwest::Method::POST, "/Notification/Webhooks", &keys)
        .json(&json!({ "Url": receiver.url, "Triggers": ["CustomerAdded"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["Id"].as_i64().unwrap();
    let path = format!("/Notification/Webhooks/{id}/Verification");
    let r = node
        .request(
            reqwest::Method::GET,
            &format!("{path}?sendCode=true"),
            &keys,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = node
        .request(
            reqwest::Method::POST,
            &format!("{path}?code={}", receiver.last_code()),
            &keys,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = node
        .request(reqwest::Method::GET, "/Notification/Webhooks/Secret", &keys)
        .send()
        .await
        .unwrap();
    let secret = r.json::<Value>().await.unwrap()["SecretKey"]
        .as_str()
        .unwrap()
        .to_owned();
    receiver.script(&[], Answer::Status(500));

    let add = |node: &Node, reference: &str| {
        node.request(reqwest::Method::POST, "/v1/Customer", &keys)
            .json(&json!({ "ReferenceCustomer": reference }))
            .send()
    };
    // Two events attempted (and failed), one never picked up before the stop.
    assert_eq!(add(&node, "before-1").await.unwrap().status(), 201);
    assert_eq!(add(&node, "before-2").await.unwrap().status(), 201);
    node.engine.run_business(b, t0, "node-1").await.unwrap();
    node.engine.wait_webhooks(b).await;
    assert_eq!(receiver.notifications().len(), 2);
    assert_eq!(add(&node, "before-3").await.unwrap().status(), 201);
    node.stop().await;

    // A new Abo on the same database; the endpoint has recovered.
    receiver.script(&[], Answer::Status(200));
    let node = Node::start(&url).await;
    assert_eq!(add(&node, "after-1").await.unwrap().status(), 201);
    node.engine
        .advance_clock(b, t0 + 5 * MINUTE_US, t0, "node-2")
        .await
        .unwrap();
    let received = receiver.notifications();
    for r in &received {
        assert_signed(r, &secret);
    }
    let delivered: BTreeSet<String> = received
        .iter()
        .filter(|r| r.succeeded())
        .map(|r| {
            r.json()["Customer"]["ReferenceCustomer"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let expected: BTreeSet<String> = ["before-1", "before-2", "before-3", "after-1"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(delivered, expected);
    let r = node
        .request(
            reqwest::Method::GET,
            "/Notification/WebhookNotifications",
            &keys,
        )
        .send()
        .await
        .unwrap();
    let history = r.json::<Value>().await.unwrap();
    let items = history["Items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert!(
        items.iter().all(|n| n["Status"] == "Delivered"),
        "{history}"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_survive_a_restart_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/abo.db", dir.path().display());
    scenario(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_survive_a_restart_postgres() {
    let Some(admin) = postgres::postgres_url_or_skip("deliveries_survive_a_restart_postgres")
    else {
        return;
    };
    let name = postgres::new_database_name();
    postgres::create_database(&admin, &name).await.unwrap();
    let url = postgres::with_database(&admin, &name);
    let outcome = tokio::spawn(scenario(url)).await;
    postgres::drop_database(&admin, &name).await.unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
