//! The billing engine of `abo serve` killed (SIGKILL) in the middle of many
//! renewals, then restarted: every renewal happens exactly once — no
//! duplicate, no skip — and every invoice is numbered without a gap.
//!
//! A test business with N subscriptions (offline payers) running since
//! January 10, 2026, whose test clock stands at December 10: eleven
//! renewals each are due. The real binary serves the database with its
//! engine; the test kills it once a share of the work is done, starts it
//! again, and waits for the rest (the dead node's leased jobs come back
//! after their lease, one minute on the node's clock).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use abo_service::business::{BusinessSpec, create_business};
use abo_service::catalog::{import_catalog, parse_catalog};
use abo_store::customers::{self, NewCustomer, PaymentSettingsPatch};
use abo_store::subscriptions::{self, NewSubscription};
use abo_store::{Store, businesses, offers, segments};
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use sqlx::Row;

const SUBSCRIPTIONS: usize = 40;
const RENEWALS: usize = 11;

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

fn paris_midnight(d: Date) -> i64 {
    d.to_zoned(TimeZone::get("Europe/Paris").unwrap())
        .unwrap()
        .timestamp()
        .as_microsecond()
}

async fn prepare(store: &Store) -> i64 {
    let business = create_business(
        store,
        &BusinessSpec {
            name: "Killed".into(),
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
    import_catalog(store, business, &parse_catalog(CATALOG).unwrap(), 0)
        .await
        .unwrap();
    let start = date(2026, 1, 10);
    let (start_us, end_us) = (paris_midnight(start), paris_midnight(date(2026, 2, 10)));
    let mut tx = store.begin().await.unwrap();
    let segment = segments::get_default(&mut tx, business).await.unwrap().id;
    let offer = offers::get_by_reference(&mut tx, business, segment, "monthly")
        .await
        .unwrap();
    for i in 0..SUBSCRIPTIONS {
        let c = customers::create(
            &mut tx,
            &NewCustomer {
                business_id: business,
                segment_id: segment,
                reference: format!("cust-{i:04}"),
                ..Default::default()
            },
            start_us,
        )
        .await
        .unwrap();
        customers::update_payment_settings(
            &mut tx,
            business,
            c.id,
            &PaymentSettingsPatch {
                type_payment: Some("ExternalBank".into()),
                ..Default::default()
            },
            start_us,
        )
        .await
        .unwrap();
        let mut new = NewSubscription::from_offer(&offer, c.id, "ActiveRunning");
        new.date_start_us = Some(start_us);
        new.date_period_start_us = Some(start_us);
        new.date_period_end_us = Some(end_us);
        new.date_term_us = Some(end_us);
        new.billing_anchor = Some(start.to_string());
        subscriptions::create(&mut tx, &new, start_us)
            .await
            .unwrap();
    }
    businesses::set_test_clock(
        &mut tx,
        business,
        Some(paris_midnight(date(2026, 12, 10)) + 12 * 3_600_000_000),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    business
}

fn serve(dir: &Path, url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_abo"))
        .current_dir(dir)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("serve")
        .arg("--port")
        .arg("0")
        .env("ABO_DATABASE_URL", url)
        .env_remove("ABO_PORT")
        .env("ABO_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start abo serve")
}

/// Moves the business's test clock forward by `by_us`.
async fn nudge_clock(store: &Store, business: i64, by_us: i64) {
    let mut conn = store.acquire().await.unwrap();
    let now = businesses::get(&mut conn, business)
        .await
        .unwrap()
        .test_clock_us
        .expect("a test business");
    businesses::set_test_clock(&mut conn, business, Some(now + by_us))
        .await
        .unwrap();
}

async fn count(store: &Store, sql: &str) -> i64 {
    let mut conn = store.acquire().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get::<i64, _>(0)
}

const LINES: &str = "SELECT COUNT(*) FROM balance_lines";
const INVOICES: &str = "SELECT COUNT(*) FROM invoices WHERE number IS NOT NULL";
const ENGINE_JOBS_LEFT: &str = "SELECT COUNT(*) FROM jobs WHERE done_at_us IS NULL \
     AND kind IN ('Renew', 'BillCustomer')";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_engine_renews_everything_exactly_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let url = format!("sqlite://{}/engine.db", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let business = prepare(&store).await;
    let total = (SUBSCRIPTIONS * RENEWALS) as i64;

    // Run, and kill the node once about a fifth of the renewals are done.
    let mut node = serve(dir.path(), &url);
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let lines = count(&store, LINES).await;
        assert!(Instant::now() < deadline, "no progress: {lines} lines");
        if lines >= total / 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node.kill().expect("SIGKILL");
    node.wait().unwrap();
    let at_kill = count(&store, LINES).await;
    assert!(at_kill < total, "killed too late: everything was done");

    // Restart and wait for the rest. A job that failed (e.g. the database
    // was busy while the node died) is retried after a backoff on the
    // business's clock, and this test clock stands still: when nothing moves
    // for a while, the test moves the clock a minute, as a merchant would.
    let mut node = serve(dir.path(), &url);
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut last = (-1, -1);
    let mut still_since = Instant::now();
    loop {
        let progress = (count(&store, LINES).await, count(&store, INVOICES).await);
        let done = progress == (total, total) && count(&store, ENGINE_JOBS_LEFT).await == 0;
        if done {
            break;
        }
        if progress != last {
            last = progress;
            still_since = Instant::now();
        } else if still_since.elapsed() > Duration::from_secs(5) {
            nudge_clock(&store, business, 60_000_000).await;
            still_since = Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "not finished: {} lines, {} invoices",
            count(&store, LINES).await,
            count(&store, INVOICES).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    node.kill().unwrap();
    node.wait().unwrap();

    // Every subscription renewed eleven times, once per term.
    let mut conn = store.acquire().await.unwrap();
    let per_sub = sqlx::query(
        "SELECT subscription_id, COUNT(*) AS n, COUNT(DISTINCT date_period_start_us) AS d, \
         MIN(date_period_start_us) AS first, MAX(date_period_start_us) AS last \
         FROM balance_lines GROUP BY subscription_id",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(per_sub.len(), SUBSCRIPTIONS);
    for r in &per_sub {
        assert_eq!(r.get::<i64, _>("n"), RENEWALS as i64);
        assert_eq!(r.get::<i64, _>("d"), RENEWALS as i64);
        assert_eq!(r.get::<i64, _>("first"), paris_midnight(date(2026, 2, 10)));
        assert_eq!(r.get::<i64, _>("last"), paris_midnight(date(2026, 12, 10)));
    }
    let subs = sqlx::query("SELECT period_index, state FROM subscriptions")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    for r in &subs {
        assert_eq!(r.get::<i64, _>(0), RENEWALS as i64);
        assert_eq!(r.get::<String, _>(1), "ActiveRunning");
    }
    // One invoice per customer and term, each with its one line; numbers
    // 1..=total without a gap.
    let invoices = sqlx::query(
        "SELECT i.number, COUNT(b.id) AS lines, SUM(b.amount_subtotal) AS amount \
         FROM invoices i JOIN balance_lines b ON b.invoice_id = i.id GROUP BY i.id, i.number \
         ORDER BY i.number",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(invoices.len(), total as usize);
    for (n, r) in invoices.iter().enumerate() {
        assert_eq!(r.get::<i64, _>(0), n as i64 + 1);
        assert_eq!(r.get::<i64, _>(1), 1);
        assert_eq!(r.get::<i64, _>(2), 1000);
    }
    // Nothing billed twice, nothing left unbilled, no job given up.
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM balance_lines WHERE invoice_id IS NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM jobs WHERE done_at_us IS NULL AND attempts >= max_attempts"
        )
        .await,
        0
    );
    drop(conn);
    store.close().await;
}
