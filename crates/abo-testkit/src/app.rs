//! `spawn_app`: the real Abo HTTP server, in-process, on an ephemeral port and
//! a fresh database, with a seeded business and its catalogue.

use crate::check::{self, CheckedResponse};
use crate::contract::{Contract, ValidateOptions};
use crate::postgres;
use abo_core::{Clock, SystemClock};
use abo_service::business::{BusinessSpec, create_business};
use abo_service::catalog::{import_catalog, parse_catalog};
use abo_store::{Backend, Store, StoreOptions};
use abo_web::AppState;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use std::future::Future;
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::oneshot;

/// How a [`TestApp`] is seeded.
#[derive(Clone)]
pub struct AppOptions {
    /// Catalogue TOML imported for each business; `None` imports nothing.
    pub catalog: Option<String>,
    /// ISO 3166-1 alpha-2 country of the seeded businesses.
    pub country: String,
    /// `en` or `fr`.
    pub language: String,
    /// The node clock; `None` is the system clock. Pass an
    /// `Arc<abo_core::TestClock>` to move time from the test.
    pub clock: Option<Arc<dyn Clock>>,
    /// Pool size of the app's store. Small by default: tests run in
    /// parallel and PostgreSQL allows 100 connections in all.
    pub max_connections: u32,
    /// Webhooks may target loopback/private addresses over http (the
    /// operator's `webhooks_allow_private` and `webhooks_allow_http`): for
    /// tests with a local receiver. Off by default, as in production.
    pub webhooks_allow_private: bool,
}

impl std::fmt::Debug for AppOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppOptions")
            .field(
                "catalog",
                &self.catalog.as_ref().map(|c| format!("{} bytes", c.len())),
            )
            .field("country", &self.country)
            .field("language", &self.language)
            .field("clock", &self.clock.as_ref().map(|c| c.now()))
            .field("max_connections", &self.max_connections)
            .field("webhooks_allow_private", &self.webhooks_allow_private)
            .finish()
    }
}

impl Default for AppOptions {
    /// The demo catalogue (`catalog/demo.toml`: segment `demo-eur`), a French
    /// business speaking English.
    fn default() -> Self {
        AppOptions {
            catalog: Some(abo_service::demo::DEMO_CATALOG.to_string()),
            country: "FR".into(),
            language: "en".into(),
            clock: None,
            max_connections: 4,
            webhooks_allow_private: false,
        }
    }
}

impl AppOptions {
    /// Imports this catalogue (TOML, as `abo import` reads) instead of the demo one.
    pub fn catalog(mut self, toml: impl Into<String>) -> Self {
        self.catalog = Some(toml.into());
        self
    }

    /// Seeds the businesses without any catalogue.
    pub fn without_catalog(mut self) -> Self {
        self.catalog = None;
        self
    }

    pub fn country(mut self, country: impl Into<String>) -> Self {
        self.country = country.into();
        self
    }

    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = language.into();
        self
    }

    /// The store's pool size (default 4).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Lets webhooks reach a local receiver (loopback over http).
    pub fn allow_private_webhooks(mut self) -> Self {
        self.webhooks_allow_private = true;
        self
    }

    /// Runs the node on this clock (e.g. a shared `abo_core::TestClock`).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }
}

/// A running Abo and the credentials of one of its businesses. Cheap to clone
/// (clones share the server and database); the server stops and the database
/// is removed when the last clone is dropped, or at [`TestApp::cleanup`].
#[derive(Clone)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub base_url: String,
    pub business_id: i64,
    pub agent_key: String,
    pub api_key: String,
    /// The store the server uses (same database), to seed or inspect directly.
    pub store: Store,
    /// Follows no redirects, so tests see them.
    pub client: reqwest::Client,
    pub backend: Backend,
    /// Whether requests carry the HTTP Basic credentials.
    authenticated: bool,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("base_url", &self.base_url)
            .field("backend", &self.backend)
            .field("business_id", &self.business_id)
            .field("agent_key", &self.agent_key)
            .field("authenticated", &self.authenticated)
            .field("database", &self.database_name())
            .finish_non_exhaustive()
    }
}

struct Inner {
    options: AppOptions,
    clock: Arc<dyn Clock>,
    server: Mutex<Option<Server>>,
    database: Mutex<Option<TestDatabase>>,
    database_name: Option<String>,
    store: Store,
    businesses: AtomicUsize,
}

struct Server {
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

enum TestDatabase {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

/// The application state of a test server. The one place that knows the
/// fields of [`AppState`]: when it gains one, only this function changes.
/// (A Prometheus recorder is process-global: test servers run without one.)
pub fn build_state(store: Store, public_url: &str, clock: Arc<dyn Clock>) -> AppState {
    AppState::new(store, clock, public_url)
}

/// Starts Abo on `backend` with the demo catalogue. Panics on failure; for
/// `Backend::Postgres`, `ABO_TEST_POSTGRES_URL` must be set (see
/// [`spawn_app_or_skip`] and [`crate::both_backends!`] to skip instead).
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, AppOptions::default()).await
}

/// [`spawn_app`] with options.
pub async fn spawn_app_with(backend: Backend, options: AppOptions) -> TestApp {
    let admin_url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(std::env::var(postgres::PG_ENV).unwrap_or_else(|_| {
            panic!(
                "spawn_app(Backend::Postgres) needs {}; use spawn_app_or_skip or both_backends!",
                postgres::PG_ENV
            )
        })),
    };
    start(backend, admin_url, options).await
}

/// Starts Abo on `backend`, or returns `None` after printing
/// `SKIPPED (set ABO_TEST_POSTGRES_URL ...): <test_name>` when Postgres is not
/// configured (panics instead under `ABO_REQUIRE_POSTGRES=1`).
pub async fn spawn_app_or_skip(
    backend: Backend,
    options: AppOptions,
    test_name: &str,
) -> Option<TestApp> {
    let admin_url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(postgres::postgres_url_or_skip(test_name)?),
    };
    Some(start(backend, admin_url, options).await)
}

async fn start(backend: Backend, admin_url: Option<String>, options: AppOptions) -> TestApp {
    let (database, url, database_name) = match admin_url {
        None => {
            let dir = tempfile::tempdir().expect("create a temporary directory");
            let url = format!("sqlite://{}/abo.db", dir.path().display());
            (TestDatabase::Sqlite(dir), url, None)
        }
        Some(admin_url) => {
            postgres::sweep_once(&admin_url).await;
            let name = postgres::new_database_name();
            postgres::create_database(&admin_url, &name)
                .await
                .unwrap_or_else(|e| panic!("creating the test database: {e}"));
            let url = postgres::with_database(&admin_url, &name);
            (
                TestDatabase::Postgres {
                    admin_url,
                    name: name.clone(),
                },
                url,
                Some(name),
            )
        }
    };
    // From here on, `guard` drops the database if anything below panics.
    let guard = DatabaseGuard(Some(database));
    let store = Store::connect_with(
        &url,
        StoreOptions {
            max_connections: Some(options.max_connections),
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("connecting to the test database: {e}"));
    store
        .migrate()
        .await
        .unwrap_or_else(|e| panic!("migrating the test database: {e}"));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind an ephemeral port on 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
    let base_url = format!("http://{addr}");
    let clock: Arc<dyn Clock> = options
        .clock
        .clone()
        .unwrap_or_else(|| Arc::new(SystemClock));
    let mut state = build_state(store.clone(), &base_url, clock.clone());
    if options.webhooks_allow_private {
        state = state.with_webhook_policy(abo_webhooks::TargetPolicy::permissive());
    }
    let router = abo_web::router(state);
    let (shutdown, shutdown_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = shutdown_rx.await;
            })
            .await;
        if let Err(e) = served {
            let _ = writeln!(
                std::io::stderr(),
                "abo-testkit: the test server failed: {e}"
            );
        }
    });

    // reqwest is built with `rustls-no-provider` (stack.md: ring only).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("build the HTTP client");
    let inner = Arc::new(Inner {
        options,
        clock,
        server: Mutex::new(Some(Server { shutdown, task })),
        database: Mutex::new(guard.disarm()),
        database_name,
        store: store.clone(),
        businesses: AtomicUsize::new(0),
    });
    let shell = TestApp {
        base_url,
        business_id: 0,
        agent_key: String::new(),
        api_key: String::new(),
        store,
        client,
        backend,
        authenticated: true,
        inner,
    };
    shell.new_business().await
}

/// Drops a test database unless disarmed (used while `start` may still panic).
struct DatabaseGuard(Option<TestDatabase>);

impl DatabaseGuard {
    fn disarm(mut self) -> Option<TestDatabase> {
        self.0.take()
    }
}

impl Drop for DatabaseGuard {
    fn drop(&mut self) {
        if let Some(db) = self.0.take() {
            remove_database_blocking(db);
        }
    }
}

fn remove_database_blocking(db: TestDatabase) {
    match db {
        TestDatabase::Sqlite(dir) => drop(dir),
        TestDatabase::Postgres { admin_url, name } => {
            if let Err(e) = postgres::drop_database_blocking(&admin_url, &name) {
                let _ = writeln!(
                    std::io::stderr(),
                    "abo-testkit: could not drop test database {name}: {e}"
                );
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let server = self
            .server
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(server) = server {
            server.task.abort();
        }
        let database = self
            .database
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(db) = database {
            remove_database_blocking(db);
        }
    }
}

impl TestApp {
    /// Seeds a business (with the app's catalogue) and returns a handle
    /// authenticated as it.
    async fn new_business(&self) -> TestApp {
        let n = self.inner.businesses.fetch_add(1, Ordering::SeqCst) + 1;
        let now_us = self.now_us();
        let options = &self.inner.options;
        let created = create_business(
            &self.store,
            &BusinessSpec {
                name: format!("Test business {n}"),
                country: options.country.clone(),
                default_language: options.language.clone(),
                is_test: true,
            },
            now_us,
        )
        .await
        .unwrap_or_else(|e| panic!("creating test business {n}: {e}"));
        let business_id = created.business.id;
        if let Some(toml) = &options.catalog {
            let file = parse_catalog(toml).unwrap_or_else(|e| panic!("parsing the catalogue: {e}"));
            import_catalog(&self.store, business_id, &file, now_us)
                .await
                .unwrap_or_else(|e| panic!("importing the catalogue for business {n}: {e}"));
        }
        TestApp {
            business_id,
            agent_key: created.credentials.agent_key,
            api_key: created.credentials.api_key,
            authenticated: true,
            ..self.clone()
        }
    }

    /// Another business on the same server, with its own credentials and its
    /// own copy of the catalogue: for tenant-isolation tests.
    pub async fn second_business(&self) -> TestApp {
        self.new_business().await
    }

    /// The same app, sending these credentials instead (e.g. a valid agent key
    /// with a wrong API key).
    pub fn with_credentials(&self, agent_key: &str, api_key: &str) -> TestApp {
        TestApp {
            agent_key: agent_key.to_owned(),
            api_key: api_key.to_owned(),
            authenticated: true,
            ..self.clone()
        }
    }

    /// The same app, sending no `Authorization` header.
    pub fn unauthenticated(&self) -> TestApp {
        TestApp {
            authenticated: false,
            ..self.clone()
        }
    }

    /// Whether requests carry HTTP Basic credentials.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// The current instant of the app's clock, in microseconds since the epoch.
    pub fn now_us(&self) -> i64 {
        self.inner.clock.now().as_microsecond()
    }

    /// The app's clock (the one its state is built with).
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.inner.clock.clone()
    }

    /// The Postgres database name (`abo_t_...`), `None` on SQLite.
    /// Seeds a customer of the default segment billed in France (20 % VAT),
    /// named Jane, in English, paying by `payment` (`Card`, `ExternalBank`,
    /// `Free`, ...): `(customer id, segment id)`.
    pub async fn billed_customer(&self, reference: &str, payment: &str) -> (i64, i64) {
        use abo_store::customers::{self, BillingAddress, NewCustomer, PaymentSettingsPatch};
        let mut conn = self.store.acquire().await.unwrap();
        let segment = abo_store::segments::get_default(&mut conn, self.business_id)
            .await
            .unwrap();
        let c = customers::create(
            &mut conn,
            &NewCustomer {
                business_id: self.business_id,
                segment_id: segment.id,
                reference: reference.into(),
                name: Some("Jane".into()),
                language: Some("en".into()),
                ..Default::default()
            },
            0,
        )
        .await
        .unwrap();
        let address = BillingAddress {
            country: Some("FR".into()),
            ..Default::default()
        };
        customers::update_billing_address(&mut conn, self.business_id, c.id, &address, 0)
            .await
            .unwrap();
        let settings = PaymentSettingsPatch {
            type_payment: Some(payment.into()),
            ..Default::default()
        };
        customers::update_payment_settings(&mut conn, self.business_id, c.id, &settings, 0)
            .await
            .unwrap();
        (c.id, segment.id)
    }

    pub fn database_name(&self) -> Option<&str> {
        self.inner.database_name.as_deref()
    }

    /// The options the app was seeded with.
    pub fn options(&self) -> &AppOptions {
        &self.inner.options
    }

    /// The API contract (loaded once per process).
    pub fn contract(&self) -> &'static Contract {
        Contract::shared()
    }

    /// `base_url` + `path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        assert!(path.starts_with('/'), "paths start with '/': {path:?}");
        format!("{}{path}", self.base_url)
    }

    /// A request to `path` (which may carry a query string), with
    /// `Accept: application/json` and, unless [`TestApp::unauthenticated`],
    /// HTTP Basic agent key : API key.
    pub fn request(&self, method: &str, path: &str) -> RequestBuilder {
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .unwrap_or_else(|_| panic!("invalid HTTP method {method:?}"));
        let builder = self
            .client
            .request(method, self.url(path))
            .header(reqwest::header::ACCEPT, "application/json");
        if self.authenticated {
            builder.basic_auth(&self.agent_key, Some(&self.api_key))
        } else {
            builder
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        send(self.request("GET", path)).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        send(self.request("POST", path).json(body)).await
    }

    /// A POST without a body (`Content-Length: 0`).
    pub async fn post_empty(&self, path: &str) -> Response {
        send(self.request("POST", path).body(Vec::<u8>::new())).await
    }

    /// Sends `request`, then checks the answer against the contract's
    /// operation `method path_template`: documented status, no body on 204, a
    /// JSON body valid against the schema wherever the contract gives one.
    /// Panics with every violation and the body. Returns the status and the
    /// parsed body (`None` when empty).
    ///
    /// ```no_run
    /// # async fn f(app: abo_testkit::TestApp) {
    /// let (status, body) = app
    ///     .checked("GET", "/v1/Customer", app.request("GET", "/v1/Customer?ReferenceCustomer=c1"))
    ///     .await;
    /// # }
    /// ```
    pub async fn checked(
        &self,
        method: &str,
        path_template: &str,
        request: RequestBuilder,
    ) -> (u16, Option<Value>) {
        let r = self
            .checked_with(method, path_template, request, &ValidateOptions::default())
            .await;
        (r.status, r.body)
    }

    /// [`TestApp::checked`] with options (extra statuses, unknown properties),
    /// returning the headers too.
    pub async fn checked_with(
        &self,
        method: &str,
        path_template: &str,
        request: RequestBuilder,
        options: &ValidateOptions,
    ) -> CheckedResponse {
        let operation = self.contract().operation(method, path_template);
        check::send_checked(&self.client, operation, request, options)
            .await
            .unwrap_or_else(|failure| panic!("{failure}"))
    }

    /// GET `path` and check it against the operation whose template matches.
    pub async fn get_checked(&self, path: &str) -> (u16, Option<Value>) {
        self.checked_inferred("GET", path, self.request("GET", path))
            .await
    }

    /// POST `body` to `path` and check it against the operation whose template matches.
    pub async fn post_json_checked(&self, path: &str, body: &Value) -> (u16, Option<Value>) {
        self.checked_inferred("POST", path, self.request("POST", path).json(body))
            .await
    }

    /// POST nothing to `path` and check it against the operation whose template matches.
    pub async fn post_empty_checked(&self, path: &str) -> (u16, Option<Value>) {
        let request = self.request("POST", path).body(Vec::<u8>::new());
        self.checked_inferred("POST", path, request).await
    }

    async fn checked_inferred(
        &self,
        method: &str,
        path: &str,
        request: RequestBuilder,
    ) -> (u16, Option<Value>) {
        let operation = self
            .contract()
            .find_operation(method, path)
            .unwrap_or_else(|| panic!("no operation of the contract matches {method} {path}"));
        let r = check::send_checked(
            &self.client,
            operation,
            request,
            &ValidateOptions::default(),
        )
        .await
        .unwrap_or_else(|failure| panic!("{failure}"));
        (r.status, r.body)
    }

    /// Stops the server, closes the pool and removes the database, now.
    /// Idempotent; later requests through any clone fail. (Without it, the
    /// same happens when the last clone is dropped.)
    pub async fn cleanup(&self) {
        let server = self
            .inner
            .server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(server) = server {
            let _ = server.shutdown.send(());
            let mut task = server.task;
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.inner.store.close()).await;
        let database = self
            .inner
            .database
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match database {
            Some(TestDatabase::Postgres { admin_url, name }) => {
                if let Err(e) = postgres::drop_database(&admin_url, &name).await {
                    let _ = writeln!(
                        std::io::stderr(),
                        "abo-testkit: could not drop test database {name}: {e}"
                    );
                }
            }
            Some(TestDatabase::Sqlite(dir)) => drop(dir),
            None => {}
        }
    }
}

async fn send(request: RequestBuilder) -> Response {
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("request to the test server failed: {e}"))
}

/// Runs `body` against a fresh app on `backend`, in a runtime of its own, then
/// cleans up (even when `body` panics, whose panic is then re-raised).
/// On Postgres without `ABO_TEST_POSTGRES_URL`, prints the skip line and
/// returns. This is what [`crate::both_backends!`] expands to.
pub fn run_test<F, Fut>(backend: Backend, test_name: &str, options: AppOptions, body: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build the test runtime");
    runtime.block_on(async {
        let Some(app) = spawn_app_or_skip(backend, options, test_name).await else {
            return;
        };
        let keeper = app.clone();
        let outcome = tokio::spawn(body(app)).await;
        keeper.cleanup().await;
        if let Err(e) = outcome {
            match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => panic!("{test_name}: the test task did not finish: {e}"),
            }
        }
    });
}
