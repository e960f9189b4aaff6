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

pub mod postgres;

pub use postgres::{PG_ENV, REQUIRE_PG_ENV, with_database};

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
    let Some(admin_url) = postgres::postgres_url_or_skip(name) else {
        return;
    };
    postgres::sweep_once(&admin_url).await;
    let db = postgres::new_database_name();
    postgres::create_database(&admin_url, &db)
        .await
        .unwrap_or_else(|e| panic!("create test database: {e}"));
    let url = postgres::with_database(&admin_url, &db);
    let store = Store::connect(&url).await.expect("connect test database");
    store.migrate().await.expect("migrate postgres");
    let result = tokio::spawn(body(store.clone())).await;
    store.close().await;
    if let Err(e) = postgres::drop_database(&admin_url, &db).await {
        let _ = writeln!(std::io::stderr(), "could not drop {db}: {e}");
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
