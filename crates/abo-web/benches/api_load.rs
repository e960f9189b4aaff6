//! API load benchmark (not a test): `cargo bench -p abo-web --bench api_load`.
//!
//! Starts the real application router exactly as `abo serve` does (same
//! `AppState`, system clock, SQLite with the store's default configuration:
//! WAL, synchronous=NORMAL, default pool) on a loopback port, seeds a
//! business with the demo catalogue and customers subscribed to `pro-monthly`,
//! then drives it from an in-process load generator (reqwest, N concurrent
//! connections, bounded by count and time) and prints throughput and latency
//! percentiles for:
//!
//! 1. `POST /v1/Usage` increments spread over the customers (target
//!    ≥ 10,000 writes/s, p99 < 20 ms),
//! 2. `POST /v1/Usage` increments all on one customer's usage (the contended
//!    case), then checks the counter equals the acknowledged writes,
//! 3. `GET /v1/Customer` with its signed links (target ≥ 15,000 req/s).
//!
//! Knobs (environment): `ABO_BENCH_SECS` (per scenario, default 10),
//! `ABO_BENCH_CONCURRENCY` (default 64), `ABO_BENCH_MAX` (requests per
//! scenario, default 500000), `ABO_BENCH_CUSTOMERS` (default 1000),
//! `ABO_BENCH_SCENARIOS` (comma-separated subset of `spread,hot,reads`,
//! default all three).
//! The client and the server share the machine's cores: on a 2-core VM the
//! figures are a floor, and noisy.
//!
//! `ABO_BENCH_SERVE=1` seeds and serves only (no load), printing the base
//! URL and the `Authorization` header, so that an external generator such
//! as `wrk` measures the server alone, e.g.
//! `wrk -t2 -c64 -d10s -H "Authorization: Basic ..." "$URL/v1/Customer?ReferenceCustomer=cust-1"`.
//! `crates/abo-web/benches/wrk/` holds Lua scripts spreading requests over
//! the customers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use abo_service::business::{BusinessSpec, create_business};
use abo_service::catalog::{import_catalog, parse_catalog};
use abo_store::customers::{self, NewCustomer};
use abo_store::subscriptions::{self, NewSubscription};
use abo_store::{Store, offers, segments};
use abo_web::AppState;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Report {
    name: &'static str,
    ok: u64,
    errors: u64,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl Report {
    fn print(&mut self) {
        self.latencies_us.sort_unstable();
        let pct = |p: f64| -> f64 {
            if self.latencies_us.is_empty() {
                return 0.0;
            }
            let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
            self.latencies_us[i] as f64 / 1000.0
        };
        println!(
            "{:<34} {:>8} ok {:>5} err in {:>5.2}s = {:>8.0} req/s | p50 {:>6.2} ms p90 {:>6.2} ms p99 {:>6.2} ms max {:>7.2} ms",
            self.name,
            self.ok,
            self.errors,
            self.elapsed.as_secs_f64(),
            self.ok as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.90),
            pct(0.99),
            pct(1.0),
        );
    }
}

/// Runs `concurrency` workers that each send requests built by `make(i)`
/// until `max` requests were sent in total or `secs` elapsed.
async fn load<F>(name: &'static str, concurrency: u64, max: u64, secs: u64, make: F) -> Report
where
    F: Fn(u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let issued = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (make, issued) = (make.clone(), issued.clone());
        workers.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut lat) = (0u64, 0u64, Vec::with_capacity(4096));
            loop {
                let i = issued.fetch_add(1, Ordering::Relaxed);
                if i >= max || Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                match make(i).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        ok += 1;
                        lat.push(t.elapsed().as_micros() as u64);
                    }
                    Ok(r) => {
                        if errors == 0 {
                            eprintln!(
                                "{name}: {} {}",
                                r.status(),
                                r.text().await.unwrap_or_default()
                            );
                        }
                        errors += 1;
                    }
                    Err(e) => {
                        if errors == 0 {
                            eprintln!("{name}: {e}");
                        }
                        errors += 1;
                    }
                }
            }
            (ok, errors, lat)
        }));
    }
    let mut report = Report {
        name,
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
    };
    for w in workers {
        let (ok, errors, lat) = w.await.unwrap();
        report.ok += ok;
        report.errors += errors;
        report.latencies_us.extend(lat);
    }
    report.elapsed = start.elapsed();
    report
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    // reqwest is built with rustls and no default provider (stack.md: ring only).
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
    let max = env("ABO_BENCH_MAX", 500_000);
    let n_customers = env("ABO_BENCH_CUSTOMERS", 1000);
    let scenarios = std::env::var("ABO_BENCH_SCENARIOS")
        .unwrap_or_else(|_| "spread,hot,reads".into())
        .to_ascii_lowercase();
    let wanted = |name: &str| scenarios.split(',').any(|s| s.trim() == name);
    let serve_only = std::env::var("ABO_BENCH_SERVE").is_ok_and(|v| v == "1");

    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/abo.db", dir.path().display());
    let store = Store::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let now_us = jiff::Timestamp::now().as_microsecond();

    // Seed: a production (non-test) business, the demo catalogue, customers
    // each with a started pro-monthly subscription.
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
                    language: Some("en".into()),
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
            subscriptions::create(&mut tx, &new, now_us).await.unwrap();
        }
        tx.commit().await.expect("commit seed");
    }

    // The server, as `abo serve` builds it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store.clone(), Arc::new(abo_core::SystemClock), &base);
    let app = abo_web::router(state);
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });

    if serve_only {
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            created.credentials.agent_key, created.credentials.api_key
        ));
        println!("abo api_load: serving {base} ({n_customers} customers cust-0..), Ctrl-C to stop");
        println!("URL={base}");
        println!("AUTH=Authorization: Basic {basic}");
        let _ = tokio::signal::ctrl_c().await;
        return;
    }

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency as usize)
        .build()
        .unwrap();
    let (agent, key) = (
        created.credentials.agent_key.clone(),
        created.credentials.api_key.clone(),
    );
    println!(
        "abo api_load: SQLite (default store configuration), {n_customers} customers, {concurrency} connections, {secs}s or {max} requests per scenario, {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    // Warm-up: connections, auth cache, SQLite page cache.
    {
        let (c, base, agent, key) = (client.clone(), base.clone(), agent.clone(), key.clone());
        let _ = load("warm-up", concurrency, 2000, 5, move |i| {
            c.get(format!(
                "{base}/v1/Customer?ReferenceCustomer=cust-{}",
                i % n_customers
            ))
            .basic_auth(&agent, Some(&key))
        })
        .await;
    }

    if wanted("spread") {
        let (c, u, a, k) = (client.clone(), base.clone(), agent.clone(), key.clone());
        let mut spread = load(
            "POST /v1/Usage (1000 customers)",
            concurrency,
            max,
            secs,
            move |i| {
                c.post(format!("{u}/v1/Usage"))
                    .basic_auth(&a, Some(&k))
                    .json(&serde_json::json!({
                        "ReferenceFeature": "e-signature",
                        "ReferenceCustomer": format!("cust-{}", i % n_customers),
                        "Increment": 1,
                    }))
            },
        )
        .await;
        spread.print();
    }

    if wanted("hot") {
        let (c, u, a, k) = (client.clone(), base.clone(), agent.clone(), key.clone());
        let mut hot = load(
            "POST /v1/Usage (one hot usage)",
            concurrency,
            max,
            secs,
            move |_| {
                c.post(format!("{u}/v1/Usage"))
                    .basic_auth(&a, Some(&k))
                    .json(&serde_json::json!({
                        "ReferenceFeature": "team-members",
                        "ReferenceCustomer": "cust-0",
                        "Increment": 1,
                    }))
            },
        )
        .await;
        hot.print();
        // Every acknowledged write counted, none twice.
        let counted: i64 = client
            .get(format!(
                "{base}/v1/Usage?ReferenceFeature=team-members&ReferenceCustomer=cust-0"
            ))
            .basic_auth(&agent, Some(&key))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()["QuantityCurrent"]
            .as_i64()
            .unwrap();
        println!(
            "  hot usage counter = {counted}, acknowledged writes = {}",
            hot.ok
        );
        assert_eq!(
            counted as u64, hot.ok,
            "acknowledged writes and counter differ"
        );
    }

    if wanted("reads") {
        let (c, u, a, k) = (client.clone(), base.clone(), agent.clone(), key.clone());
        let mut reads = load(
            "GET /v1/Customer (with links)",
            concurrency,
            max,
            secs,
            move |i| {
                c.get(format!(
                    "{u}/v1/Customer?ReferenceCustomer=cust-{}",
                    i % n_customers
                ))
                .basic_auth(&a, Some(&k))
            },
        )
        .await;
        reads.print();
    }

    println!(
        "targets: writes >= 10000/s and p99 < 20 ms; customer reads >= 15000/s (2-core VM: client and server share the cores)"
    );
    store.close().await;
}
