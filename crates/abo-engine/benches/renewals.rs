//! Benchmark (not a test): the engine renewing N subscriptions (default
//! 100,000) that fall due at the same term, each with its renewal, its
//! invoice, its card payment on the sandbox gateway and its outbox rows.
//!
//! `cargo bench -p abo-engine --bench renewals` (release). Environment:
//! - `ABO_BENCH_SUBSCRIPTIONS` (default 100000);
//! - `ABO_BENCH_BACKENDS` (default `sqlite,postgres`; PostgreSQL runs when
//!   `ABO_TEST_POSTGRES_URL` is set, in a fresh database);
//! - `ABO_BENCH_ANALYZE` (`0`: PostgreSQL's statistics are not gathered
//!   by the benchmark; by default they are, after the setup, when the
//!   server's autovacuum is off);
//! - `ABO_BENCH_LOG` (a tracing filter on stderr: `sqlx::query=debug` logs
//!   every statement with its time, to find where a run's time goes).
//!
//! Prints subscriptions/s for the run (setup excluded) and the process's
//! peak resident memory (VmHWM, setup included).

#[path = "../tests/common/fleet.rs"]
mod fleet;

use std::time::Instant;

/// The allocator of the `abo` binary, so that the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use abo_engine::Engine;
use abo_service::business::{BusinessSpec, create_business};
use abo_service::catalog::{import_catalog, parse_catalog};
use abo_store::{Store, businesses, jobs, segments};
use jiff::civil::date;

const CATALOG: &str = r#"
[[segment]]
reference = "main-eur"
currency = "EUR"
time_zone = "Europe/Paris"
default = true

[[offer]]
segment = "main-eur"
reference = "monthly"
name = "Monthly"
recurrence = "1 Month"
amount_recurrence = "10.00"
"#;

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn run(store: Store, backend: &'static str, n: usize) {
    let start = date(2026, 3, 10);
    let setup = Instant::now();
    let business = create_business(
        &store,
        &BusinessSpec {
            name: "Bench".into(),
            country: "FR".into(),
            default_language: "en".into(),
            is_test: true,
        },
        0,
    )
    .await
    .unwrap()
    .business
    .id;
    import_catalog(&store, business, &parse_catalog(CATALOG).unwrap(), 0)
        .await
        .unwrap();
    let segment = {
        let mut conn = store.acquire().await.unwrap();
        segments::get_default(&mut conn, business).await.unwrap().id
    };
    let engine = Engine::new(store.clone());
    fleet::create_fleet(
        &store,
        engine.gateways(),
        business,
        segment,
        "monthly",
        n,
        fleet::Payer::Card,
        start,
        "Europe/Paris",
    )
    .await;
    let term = date(2026, 4, 10)
        .at(1, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .unwrap()
        .timestamp()
        .as_microsecond();
    {
        let mut conn = store.acquire().await.unwrap();
        businesses::set_test_clock(&mut conn, business, Some(term))
            .await
            .unwrap();
    }
    // Autovacuum's statistics after a bulk load, on a server running
    // without it (as this machine's does): without them the planner takes
    // the business's tables for nearly empty and reads all of a business's
    // rows to find a batch's thousand (a bitmap scan on `business_id`).
    if backend == "postgres" && analyze_wanted(&store).await {
        eprintln!("[{backend}] autovacuum is off: ANALYZE after the setup");
        let mut conn = store.acquire().await.unwrap();
        sqlx::query("ANALYZE").execute(&mut *conn).await.unwrap();
    }
    eprintln!(
        "[{backend}] setup of {n} subscriptions: {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut total = abo_engine::RunReport::default();
    loop {
        let report = engine.run_business(business, term, "bench").await.unwrap();
        total.renewals += report.renewals;
        total.invoices += report.invoices;
        total.payments += report.payments;
        total.jobs_run += report.jobs_run;
        total.jobs_failed += report.jobs_failed;
        total.batches_rolled_back += report.batches_rolled_back;
        if report.jobs_run == 0 {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (outbox, dead) = {
        let mut conn = store.acquire().await.unwrap();
        let n = abo_store::engine_scan::count_jobs(&mut conn).await.unwrap();
        let dead = jobs::list_dead(&mut conn, 10).await.unwrap();
        (n, dead)
    };
    assert!(dead.is_empty(), "dead jobs: {dead:?}");
    assert_eq!(total.renewals, n as u64, "every subscription renewed");
    assert_eq!(total.invoices, n as u64, "one invoice each");
    assert_eq!(total.payments, n as u64, "one card payment each");
    assert_eq!(total.jobs_failed, 0);
    assert_eq!(total.batches_rolled_back, 0, "every batch went through");
    println!(
        "[{backend}] renewed {n} subscriptions (renewal + invoice + card payment + outbox) in \
         {elapsed:.1} s: {:.0} subscriptions/s; {} jobs run, {outbox} jobs in the table; \
         peak RSS {:.0} MiB",
        n as f64 / elapsed,
        total.jobs_run,
        peak_rss_mib().unwrap_or(f64::NAN),
    );
}

/// Whether the benchmark gathers PostgreSQL's statistics itself: when the
/// server's autovacuum is off, unless `ABO_BENCH_ANALYZE=0`.
async fn analyze_wanted(store: &Store) -> bool {
    if std::env::var("ABO_BENCH_ANALYZE").as_deref() == Ok("0") {
        return false;
    }
    let mut conn = store.acquire().await.unwrap();
    let autovacuum: String = sqlx::query_scalar("SHOW autovacuum")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    autovacuum != "on"
}

fn main() {
    let n: usize = std::env::var("ABO_BENCH_SUBSCRIPTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let backends = std::env::var("ABO_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    if std::env::var("ABO_BENCH_LOG").is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_env("ABO_BENCH_LOG"))
            .with_writer(std::io::stderr)
            .init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if backends.contains("sqlite") {
            abo_store::testing::run_sqlite(move |store| run(store, "sqlite", n)).await;
        }
        if backends.contains("postgres") {
            abo_store::testing::run_postgres("bench_renewals", move |store| {
                run(store, "postgres", n)
            })
            .await;
        }
    });
}
