//! Portal load benchmark (not a test): `cargo bench -p abo-web --bench portal_load`.
//!
//! Seeds a business (demo catalogue) on SQLite with customers each subscribed to
//! `pro-monthly`, lands every customer once through its signed `/portal-auth/` link to get a
//! portal session, then measures the portal home page (`/portal/s/{session}/home`: session
//! check, customer, subscriptions with features, template) two ways:
//!
//! 1. **Server time per page**: the application router called in-process (`tower::oneshot`,
//!    no socket, no client), one request at a time: p50/p90/p99/max per page
//!    (target < 10 ms), for each section (home, invoices, billing, payment method).
//! 2. **Pages per second**: the real server on a loopback port driven by an in-process
//!    client with N concurrent connections (target ≥ 5,000 pages/s). The client shares the
//!    machine's cores with the server, so on a small VM this is a floor; `ABO_BENCH_SERVE=1`
//!    prints session URLs and serves only, for an external generator such as `wrk`.
//!
//! Knobs (environment): `ABO_BENCH_SECS` (default 10), `ABO_BENCH_CONCURRENCY` (64),
//! `ABO_BENCH_CUSTOMERS` (200), `ABO_BENCH_SESSIONS_FILE` (with `ABO_BENCH_SERVE=1`: where
//! the session paths are written for `benches/wrk/portal_home.lua`; default
//! `/tmp/abo-portal-sessions.txt`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use abo_links::{API_LINK_TTL_SECS, LinkClaims, Purpose};
use abo_service::business::{BusinessSpec, create_business};
use abo_service::catalog::{import_catalog, parse_catalog};
use abo_store::customers::{self, NewCustomer};
use abo_store::subscriptions::{self, NewSubscription};
use abo_store::{Store, offers, segments};
use abo_web::AppState;
use tower::ServiceExt;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    let secs = env("ABO_BENCH_SECS", 10);
    let concurrency = env("ABO_BENCH_CONCURRENCY", 64);
    let n_customers = env("ABO_BENCH_CUSTOMERS", 200);

    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/abo.db", dir.path().display());
    let store = Store::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let now_us = jiff::Timestamp::now().as_microsecond();
    let created = create_business(
        &store,
        &BusinessSpec {
            name: "Bench".into(),
            country: "FR".into(),
            default_language: "en".into(),
            is_test: false,
        },
        now_us,
    )
    .await
    .expect("business");
    let b = created.business.id;
    import_catalog(
        &store,
        b,
        &parse_catalog(abo_service::demo::DEMO_CATALOG).expect("catalogue"),
        now_us,
    )
    .await
    .expect("import");
    let mut customer_ids = Vec::new();
    {
        let mut tx = store.begin().await.expect("begin");
        let segment = segments::get_by_reference(&mut tx, b, "demo-eur")
            .await
            .unwrap();
        let offer = offers::get_by_reference(&mut tx, b, segment.id, "pro-monthly")
            .await
            .unwrap();
        for i in 0..n_customers {
            let c = customers::create(
                &mut tx,
                &NewCustomer {
                    business_id: b,
                    segment_id: segment.id,
                    reference: format!("cust-{i}"),
                    name: Some(format!("Customer {i}")),
                    language: Some(if i % 2 == 0 { "en" } else { "fr" }.into()),
                    ..Default::default()
                },
                now_us,
            )
            .await
            .unwrap();
            let mut new = NewSubscription::from_offer(&offer, c.id, "ActiveRunning");
            new.date_start_us = Some(now_us);
            new.date_period_start_us = Some(now_us);
            new.date_period_end_us = Some(now_us + 30 * 86_400_000_000);
            new.date_term_us = Some(now_us + 30 * 86_400_000_000);
            subscriptions::create(&mut tx, &new, now_us).await.unwrap();
            customer_ids.push(c.id);
        }
        tx.commit().await.expect("commit seed");
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store.clone(), Arc::new(abo_core::SystemClock), &base);
    let app = abo_web::router(state);
    let served = app.clone();
    tokio::spawn(async move {
        axum::serve(listener, served).await.unwrap();
    });

    // One session per customer, through its landing link.
    let ring = {
        let mut conn = store.acquire().await.unwrap();
        abo_service::links::load_keyring(&mut conn, b)
            .await
            .unwrap()
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency as usize)
        .build()
        .unwrap();
    let mut sessions = Vec::new();
    for id in &customer_ids {
        let claims = LinkClaims::new(
            b,
            *id,
            Purpose::Home,
            now_us / 1_000_000,
            API_LINK_TTL_SECS,
            0,
        );
        let link = abo_links::signed_hosted_url(&base, &ring, &claims);
        let r = client.get(&link).send().await.unwrap();
        assert_eq!(r.status(), 303, "landing");
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let session = location.trim_end_matches("/home").to_owned();
        sessions.push(session);
    }
    if std::env::var("ABO_BENCH_SERVE").is_ok_and(|v| v == "1") {
        // Every session path, one a line, for `benches/wrk/portal_home.lua`.
        let file = std::env::var("ABO_BENCH_SESSIONS_FILE")
            .unwrap_or_else(|_| "/tmp/abo-portal-sessions.txt".into());
        std::fs::write(&file, sessions.join("\n") + "\n").expect("write sessions file");
        println!(
            "abo portal_load: serving {base}; {} sessions in {file}; e.g.:",
            sessions.len()
        );
        for s in sessions.iter().take(3) {
            println!("{base}{s}/home");
        }
        let _ = tokio::signal::ctrl_c().await;
        return;
    }
    println!(
        "abo portal_load: SQLite, {n_customers} customers with one pro-monthly subscription, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // 1. Server time per page, in-process, sequential.
    for page in ["home", "invoices", "billing", "payment-method"] {
        let mut lat = Vec::new();
        let n = 2000.min(sessions.len() as u64 * 10);
        for i in 0..n {
            let uri = format!("{}/{page}", sessions[(i as usize) % sessions.len()]);
            let req = axum::http::Request::get(uri)
                .body(axum::body::Body::empty())
                .unwrap();
            let t = Instant::now();
            let resp = app.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let _ = axum::body::to_bytes(resp.into_body(), usize::MAX).await;
            lat.push(t.elapsed().as_micros() as u64);
            assert!(status.is_success(), "{page}: {status}");
        }
        lat.sort_unstable();
        println!(
            "server time /{page:<16} {n:>6} pages | p50 {:>6.2} ms p90 {:>6.2} ms p99 {:>6.2} ms max {:>7.2} ms",
            pct(&lat, 0.5),
            pct(&lat, 0.9),
            pct(&lat, 0.99),
            pct(&lat, 1.0)
        );
    }

    // 2. In-process throughput (no HTTP client): the server's capacity.
    {
        let issued = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(secs);
        let start = Instant::now();
        let sessions = Arc::new(sessions.clone());
        let mut workers = Vec::new();
        for _ in 0..concurrency {
            let (app, issued, sessions) = (app.clone(), issued.clone(), sessions.clone());
            workers.push(tokio::spawn(async move {
                let mut ok = 0u64;
                while Instant::now() < deadline {
                    let i = issued.fetch_add(1, Ordering::Relaxed) as usize;
                    let uri = format!("{}/home", sessions[i % sessions.len()]);
                    let req = axum::http::Request::get(uri)
                        .body(axum::body::Body::empty())
                        .unwrap();
                    let resp = app.clone().oneshot(req).await.unwrap();
                    if resp.status().is_success() {
                        let _ = axum::body::to_bytes(resp.into_body(), usize::MAX).await;
                        ok += 1;
                    }
                }
                ok
            }));
        }
        let mut ok = 0;
        for w in workers {
            ok += w.await.unwrap();
        }
        let el = start.elapsed().as_secs_f64();
        println!(
            "home in-process, {concurrency} tasks:    {ok:>8} pages in {el:>5.2}s = {:>8.0} pages/s",
            ok as f64 / el
        );
    }

    // 3. Over HTTP on loopback (client and server share the cores).
    {
        let issued = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(secs);
        let start = Instant::now();
        let sessions = Arc::new(sessions);
        let mut workers = Vec::new();
        for _ in 0..concurrency {
            let (client, issued, sessions, base) = (
                client.clone(),
                issued.clone(),
                sessions.clone(),
                base.clone(),
            );
            workers.push(tokio::spawn(async move {
                let mut ok = 0u64;
                let mut lat = Vec::new();
                while Instant::now() < deadline {
                    let i = issued.fetch_add(1, Ordering::Relaxed) as usize;
                    let url = format!("{base}{}/home", sessions[i % sessions.len()]);
                    let t = Instant::now();
                    if let Ok(r) = client.get(&url).send().await
                        && r.status().is_success()
                    {
                        let _ = r.bytes().await;
                        ok += 1;
                        lat.push(t.elapsed().as_micros() as u64);
                    }
                }
                (ok, lat)
            }));
        }
        let (mut ok, mut lat) = (0, Vec::new());
        for w in workers {
            let (o, l) = w.await.unwrap();
            ok += o;
            lat.extend(l);
        }
        lat.sort_unstable();
        let el = start.elapsed().as_secs_f64();
        println!(
            "home over HTTP, {concurrency} connections: {ok:>8} pages in {el:>5.2}s = {:>8.0} pages/s | p50 {:.2} ms p99 {:.2} ms",
            ok as f64 / el,
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
    }
}
