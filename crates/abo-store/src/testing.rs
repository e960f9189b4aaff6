//! Test support shared by every crate's tests: run an async test body on
//! SQLite (a temp file) and on PostgreSQL (a fresh database per test, dropped
//! afterwards). Enabled by the `testing` feature (dev-dependencies only).
//!
//! PostgreSQL runs when `ABO_TEST_POSTGRES_URL` is set; otherwise the test
//! prints `SKIPPED ...` with the reason, or fails when `ABO_REQUIRE_POSTGRES=1`
//! (CI), so a skip can never pass silently.

use std::future::Future;
use std::io::Write;

use crate::Store;

pub const PG_ENV: &str = "ABO_TEST_POSTGRES_URL";
pub const REQUIRE_PG_ENV: &str = "ABO_REQUIRE_POSTGRES";

/// Generate `#[tokio::test]`s running `$body` (an `async fn(Store)`) on both
/// backends: `both_backends!(my_test => sqlite_my_test, postgres_my_test);`.
#[macro_export]
macro_rules! both_backends {
    ($body:path => $sqlite:ident, $postgres:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $sqlite() {
            $crate::testing::run_sqlite($body).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $postgres() {
            $crate::testing::run_postgres(stringify!($postgres), $body).await;
        }
    };
}

pub async fn run_sqlite<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/abo.db", dir.path().display());
    let store = Store::connect(&url).await.expect("connect sqlite");
    store.migrate().await.expect("migrate sqlite");
    let result = tokio::spawn(body(store.clone())).await;
    store.close().await;
    drop(dir);
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

pub async fn run_postgres<F, Fut>(name: &str, body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(admin_url) = std::env::var(PG_ENV) else {
        if std::env::var(REQUIRE_PG_ENV).as_deref() == Ok("1") {
            panic!("{REQUIRE_PG_ENV}=1 but {PG_ENV} is not set: cannot run {name}");
        }
        // Written to the real stderr (not eprintln!, which libtest captures) so skips show.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (set {PG_ENV} to run on PostgreSQL): {name}"
        );
        return;
    };
    let db = format!("abo_t_{}", uuid::Uuid::new_v4().simple());
    let admin = Store::connect_with(
        &admin_url,
        crate::StoreOptions {
            max_connections: Some(1),
            ..Default::default()
        },
    )
    .await
    .expect("connect to ABO_TEST_POSTGRES_URL");
    admin_exec(&admin, &format!("CREATE DATABASE {db}")).await;
    let url = with_database(&admin_url, &db);
    let store = Store::connect(&url).await.expect("connect test database");
    store.migrate().await.expect("migrate postgres");
    let result = tokio::spawn(body(store.clone())).await;
    store.close().await;
    admin_exec(
        &admin,
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    )
    .await;
    admin.close().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn admin_exec(admin: &Store, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(admin.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Replace the database name (the URL path) in a Postgres URL, keeping any query string.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}
