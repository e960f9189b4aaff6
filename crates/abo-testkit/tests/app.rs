//! spawn_app on both backends, the request helpers, and `checked`.

use abo_service::business::authenticate;
use abo_store::segments;
use abo_testkit::postgres::{self, postgres_url_or_skip};
use abo_testkit::{
    AppOptions, Backend, Contract, TestApp, ValidateOptions, both_backends, send_checked,
    spawn_app_or_skip,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const CUSTOM_CATALOG: &str = r#"
[[segment]]
reference = "custom-usd"
name = "Custom (USD)"
currency = "USD"
time_zone = "America/New_York"
locale = "en"
default = true
"#;

async fn segment_id(app: &TestApp, business_id: i64, reference: &str) -> Option<i64> {
    let mut conn = app.store.acquire().await.unwrap();
    segments::get_by_reference(&mut conn, business_id, reference)
        .await
        .ok()
        .map(|s| s.id)
}

fn basic(agent: &str, api: &str) -> String {
    // Base64 without a dependency: small and only for this assertion.
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{agent}:{api}").into_bytes();
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

both_backends! {
    /// The smoke test: the server answers and its database is ready.
    async fn healthz_and_readyz(app: TestApp) {
        let health = app.get("/healthz").await;
        assert_eq!(health.status().as_u16(), 200);
        let ready = app.get("/readyz").await;
        assert_eq!(ready.status().as_u16(), 200);
        assert!(app.base_url.starts_with("http://127.0.0.1:"));
        assert_eq!(app.url("/healthz"), format!("{}/healthz", app.base_url));
    }

    async fn seeds_a_business_with_the_demo_catalogue(app: TestApp) {
        assert!(app.business_id > 0);
        let business = authenticate(&app.store, &app.agent_key, &app.api_key)
            .await
            .unwrap()
            .expect("the credentials open the business");
        assert_eq!(business.id, app.business_id);
        assert!(business.is_test);
        assert!(segment_id(&app, app.business_id, abo_service::demo::DEMO_SEGMENT).await.is_some());
        let now = app.now_us();
        assert!(now > 1_700_000_000_000_000, "{now}");
        match app.backend {
            Backend::Sqlite => assert_eq!(app.database_name(), None),
            Backend::Postgres => assert!(app.database_name().unwrap().starts_with("abo_t_")),
        }
    }

    async fn a_second_business_has_its_own_keys_and_catalogue(app: TestApp) {
        let other = app.second_business().await;
        assert_ne!(other.business_id, app.business_id);
        assert_ne!(other.agent_key, app.agent_key);
        assert_ne!(other.api_key, app.api_key);
        assert_eq!(other.base_url, app.base_url);
        let opened = authenticate(&app.store, &other.agent_key, &other.api_key)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(opened.id, other.business_id);
        // Keys do not mix across businesses.
        assert!(authenticate(&app.store, &app.agent_key, &other.api_key)
            .await
            .unwrap()
            .is_none());
        let mine = segment_id(&app, app.business_id, "demo-eur").await.unwrap();
        let theirs = segment_id(&app, other.business_id, "demo-eur").await.unwrap();
        assert_ne!(mine, theirs);
        let third = other.second_business().await;
        assert!(third.business_id != app.business_id && third.business_id != other.business_id);
        // Both still serve.
        assert_eq!(other.get("/healthz").await.status().as_u16(), 200);
    }

    #[options(AppOptions::default().catalog(CUSTOM_CATALOG))]
    async fn imports_a_custom_catalogue(app: TestApp) {
        assert!(segment_id(&app, app.business_id, "custom-usd").await.is_some());
        assert!(segment_id(&app, app.business_id, "demo-eur").await.is_none());
        let other = app.second_business().await;
        assert!(segment_id(&app, other.business_id, "custom-usd").await.is_some());
    }

    #[options(AppOptions::default().without_catalog())]
    async fn can_start_without_a_catalogue(app: TestApp) {
        assert!(segment_id(&app, app.business_id, "demo-eur").await.is_none());
        assert_eq!(app.get("/readyz").await.status().as_u16(), 200);
    }

    #[options(AppOptions::default().clock(Arc::new(abo_core::TestClock::new(
        "2030-01-01T00:00:00Z".parse().unwrap()
    ))))]
    async fn runs_on_the_given_clock(app: TestApp) {
        assert_eq!(app.now_us(), 1_893_456_000_000_000);
    }

    async fn requests_carry_basic_auth_unless_unauthenticated(app: TestApp) {
        let request = app.request("get", "/v1/Customer?ReferenceCustomer=x").build().unwrap();
        assert_eq!(request.method().as_str(), "GET");
        assert_eq!(request.url().as_str(), format!("{}/v1/Customer?ReferenceCustomer=x", app.base_url));
        assert_eq!(
            request.headers()["authorization"].to_str().unwrap(),
            basic(&app.agent_key, &app.api_key)
        );
        assert_eq!(request.headers()["accept"], "application/json");

        let anonymous = app.unauthenticated();
        assert!(!anonymous.is_authenticated());
        let request = anonymous.request("POST", "/v1/Customer").build().unwrap();
        assert!(request.headers().get("authorization").is_none());

        let wrong = app.with_credentials(&app.agent_key, "not-the-key");
        let request = wrong.request("GET", "/healthz").build().unwrap();
        assert_eq!(
            request.headers()["authorization"].to_str().unwrap(),
            basic(&app.agent_key, "not-the-key")
        );
    }

    /// `checked` against the real server: a request without credentials is
    /// refused with the contract's 401 (an Error object).
    async fn checked_validates_real_answers(app: TestApp) {
        let anonymous = app.unauthenticated();
        let (status, body) = anonymous
            .checked(
                "GET",
                "/v1/Customer",
                anonymous.request("GET", "/v1/Customer?ReferenceCustomer=nobody"),
            )
            .await;
        assert_eq!(status, 401);
        assert!(body.unwrap()["Code"].is_string());
        let (status, _) = app
            .with_credentials(&app.agent_key, "wrong")
            .get_checked("/v1/Customer?ReferenceCustomer=nobody")
            .await;
        assert_eq!(status, 401);
    }
}

/// A stand-in server answering canned responses, to test `send_checked`
/// without depending on the API's progress.
async fn stub() -> (String, tokio::task::JoinHandle<()>) {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    use axum::routing::get;
    let json = |status: StatusCode, body: Value| {
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    };
    let router = axum::Router::new()
        .route(
            "/v1/Customer",
            get(move || async move {
                json(StatusCode::OK, json!({"Id": "1", "Status": "Gone", "Name": null}))
            }),
        )
        .route(
            "/v1/Feature",
            get(|| async { (StatusCode::NO_CONTENT, "{}").into_response() }),
        )
        .route(
            "/v1/Feature/{id}",
            get(move || async move {
                (StatusCode::OK, json!({"Id": 1}).to_string()).into_response()
            }),
        )
        .route(
            "/v1/Offer",
            get(|| async { (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{oops").into_response() }),
        )
        .route(
            "/v1/Customers",
            get(move || async move {
                json(StatusCode::OK, json!({"Count": 0, "Page": 1, "SizePage": 10, "TotalItems": 0, "Items": []}))
            }),
        )
        .route(
            "/v1/Invoices",
            get(|| async { StatusCode::NO_CONTENT.into_response() }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (base, task)
}

#[tokio::test]
async fn send_checked_reports_every_violation() {
    let (base, server) = stub().await;
    let client = reqwest::Client::new();
    let contract = Contract::shared();
    let opts = ValidateOptions::default();
    let check = |method: &'static str, template: &'static str, path: &'static str| {
        let request = client.request(method.parse().unwrap(), format!("{base}{path}"));
        send_checked(
            &client,
            contract.operation(method, template),
            request,
            &opts,
        )
    };

    let failure = check("GET", "/v1/Customer", "/v1/Customer?ReferenceCustomer=c1")
        .await
        .unwrap_err();
    assert_eq!(failure.status, Some(200));
    assert_eq!(failure.request, "GET /v1/Customer?ReferenceCustomer=c1");
    assert_eq!(failure.operation, "GET /v1/Customer");
    let mut errors = failure.errors.clone();
    errors.sort();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors[0].starts_with("$.Id: type: expected integer, got string \"1\""));
    assert!(errors[1].starts_with("$.Name: nullable: null is not allowed"));
    assert!(errors[2].starts_with("$.Status: enum: \"Gone\""));
    let message = failure.to_string();
    assert!(message.starts_with(
        "contract violation: GET /v1/Customer?ReferenceCustomer=c1 (operation GET /v1/Customer) answered 200:\n  - "
    ), "{message}");
    assert!(message.contains("body:\n{\n  \"Id\": \"1\""), "{message}");

    let failure = check("GET", "/v1/Feature", "/v1/Feature?ReferenceFeature=f")
        .await
        .unwrap_err();
    assert_eq!(failure.errors.len(), 1, "{:#?}", failure.errors);
    assert!(
        failure.errors[0].starts_with("body: a 204 response must have no body (Content-Length: 2"),
        "{:#?}",
        failure.errors
    );

    let failure = check("GET", "/v1/Feature/{id}", "/v1/Feature/1")
        .await
        .unwrap_err();
    assert_eq!(failure.errors.len(), 1, "{:#?}", failure.errors);
    assert!(
        failure.errors[0].starts_with("headers: a JSON body is served as \"text/plain"),
        "{:#?}",
        failure.errors
    );

    let failure = check("GET", "/v1/Offer", "/v1/Offer?ReferenceOffer=o")
        .await
        .unwrap_err();
    assert_eq!(failure.errors.len(), 1, "{:#?}", failure.errors);
    assert!(
        failure.errors[0].starts_with("body: not JSON"),
        "{:#?}",
        failure.errors
    );

    // The request must fit the operation it is checked against.
    let failure = check("GET", "/v1/Feature/{id}", "/v1/Customer")
        .await
        .unwrap_err();
    assert_eq!(failure.status, None);
    assert_eq!(
        failure.errors,
        vec![
            "request: the path /v1/Customer does not fit the template /v1/Feature/{id}".to_string()
        ]
    );

    let ok = check("GET", "/v1/Customers", "/v1/Customers")
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body.unwrap()["Count"], 0);
    assert_eq!(ok.headers["content-type"], "application/json");

    let ok = check("GET", "/v1/Invoices", "/v1/Invoices?ReferenceCustomer=c")
        .await
        .unwrap();
    assert_eq!((ok.status, ok.body), (204, None));

    server.abort();
}

/// Postgres housekeeping: the database goes with the app, however it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_databases_are_dropped_on_cleanup_and_on_drop() {
    let Some(admin_url) =
        postgres_url_or_skip("postgres_databases_are_dropped_on_cleanup_and_on_drop")
    else {
        return;
    };
    let exists = |name: String| {
        let admin_url = admin_url.clone();
        async move {
            let admin = abo_store::Store::connect(&admin_url).await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
                .bind(name)
                .fetch_one(admin.pool())
                .await
                .unwrap();
            admin.close().await;
            n == 1
        }
    };

    // Explicit cleanup.
    let app = spawn_app_or_skip(Backend::Postgres, AppOptions::default(), "cleanup")
        .await
        .unwrap();
    let name = app.database_name().unwrap().to_owned();
    assert!(exists(name.clone()).await);
    app.cleanup().await;
    assert!(!exists(name).await);
    app.cleanup().await; // idempotent

    // Dropping the last clone, inside a runtime.
    let app = spawn_app_or_skip(Backend::Postgres, AppOptions::default(), "drop")
        .await
        .unwrap();
    let clone = app.second_business().await;
    let name = app.database_name().unwrap().to_owned();
    drop(app);
    assert!(exists(name.clone()).await, "a clone still holds the app");
    drop(clone);
    assert!(!exists(name).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_drops_only_stale_test_databases() {
    let Some(admin_url) = postgres_url_or_skip("the_sweep_drops_only_stale_test_databases") else {
        return;
    };
    // A leftover from two hours ago, and one of a run still going.
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    let since = two_hours_ago.duration_since(std::time::UNIX_EPOCH).unwrap();
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, since.as_secs(), since.subsec_nanos());
    let stale = format!("abo_t_{}", uuid::Uuid::new_v7(ts).simple());
    let fresh = postgres::new_database_name();
    postgres::create_database(&admin_url, &stale).await.unwrap();
    postgres::create_database(&admin_url, &fresh).await.unwrap();

    let dropped = postgres::sweep_stale_databases(&admin_url, Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(dropped.contains(&stale), "{dropped:?}");
    assert!(!dropped.contains(&fresh), "{dropped:?}");
    postgres::drop_database(&admin_url, &fresh).await.unwrap();
    // Names that are not test databases are refused.
    assert!(
        postgres::drop_database(&admin_url, "postgres")
            .await
            .is_err()
    );
}
