//! SIGKILL durability check of usage writes (a bench, not a test):
//! `cargo bench -p abo-web --bench usage_durability`.
//!
//! Runs the real `abo` binary (release) as a child process on a temporary
//! data directory: creates a business (`abo business create`), imports the
//! demo catalogue (`abo import catalog/demo.toml`), starts `abo serve`,
//! creates a customer with a started `pro-monthly` subscription through the
//! API, then hammers `POST /v1/Usage` (+1 each) from many connections and
//! kills the server with SIGKILL in the middle of the load. After a restart
//! on the same data, the stored counter must have grown by at least the
//! number of acknowledged (200) writes — an acknowledged write was committed —
//! and by at most the number sent. Repeated for several rounds; exits
//! non-zero on any loss (or over-count).
//!
//! Knobs (environment): `ABO_DURABILITY_ROUNDS` (default 3),
//! `ABO_DURABILITY_CONCURRENCY` (default 64), `ABO_DURABILITY_KILL_MS` (load
//! time before the kill, default 2000), `ABO_BIN` (the `abo` binary; default:
//! built here with `cargo build --release -p abo` in this bench's target
//! directory).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const FEATURE: &str = "e-signature";
const CUSTOMER: &str = "durability-1";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The release `abo` binary: `ABO_BIN`, else built in the target directory
/// this bench runs from (`<target>/release/deps/usage_durability-*`).
fn abo_binary() -> PathBuf {
    if let Ok(bin) = std::env::var("ABO_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("current exe");
    let release = exe
        .parent()
        .and_then(Path::parent)
        .expect("bench binary under <target>/<profile>/deps");
    let target = release.parent().expect("target directory");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "abo",
            "--bin",
            "abo",
            "--target-dir",
        ])
        .arg(target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo build");
    assert!(status.success(), "building the abo binary failed");
    target.join("release").join("abo")
}

fn abo(bin: &Path, data: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("--data-dir")
        .arg(data)
        .env("ABO_LOG", "warn")
        .env_remove("ABO_DATABASE_URL")
        .env_remove("ABO_PORT")
        .env_remove("ABO_BIND");
    cmd
}

fn run_ok(mut cmd: Command) -> String {
    let out = cmd.output().expect("run abo");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `abo serve` on any free port; returns the child and its base URL.
fn serve(bin: &Path, data: &Path) -> (Child, String) {
    let mut cmd = abo(bin, data);
    cmd.args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("spawn abo serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("abo serve exited before listening")
            .expect("read stdout");
        if let Some(url) = line.strip_prefix("Abo is listening on ") {
            break url.trim().to_string();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

struct Api {
    client: reqwest::Client,
    base: String,
    agent: String,
    key: String,
}

impl Api {
    async fn post(&self, path_and_query: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{path_and_query}", self.base))
            .basic_auth(&self.agent, Some(&self.key))
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn quantity(&self) -> i64 {
        let r = self
            .client
            .get(format!(
                "{}/v1/Usage?ReferenceFeature={FEATURE}&ReferenceCustomer={CUSTOMER}",
                self.base
            ))
            .basic_auth(&self.agent, Some(&self.key))
            .send()
            .await
            .expect("GET /v1/Usage");
        assert!(r.status().is_success(), "GET /v1/Usage: {}", r.status());
        r.json::<Value>().await.expect("usage JSON")["QuantityCurrent"]
            .as_i64()
            .expect("QuantityCurrent")
    }
}

fn main() {
    // reqwest is built with rustls and no default provider (stack.md: ring only).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let lost = runtime.block_on(run());
    if lost {
        eprintln!("usage_durability: FAILED (acknowledged writes lost or over-counted)");
        std::process::exit(1);
    }
}

/// Returns whether any round failed.
async fn run() -> bool {
    let rounds = env("ABO_DURABILITY_ROUNDS", 3);
    let concurrency = env("ABO_DURABILITY_CONCURRENCY", 64);
    let kill_after = Duration::from_millis(env("ABO_DURABILITY_KILL_MS", 2000));
    let bin = abo_binary();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");

    let created = run_ok({
        let mut c = abo(&bin, &data);
        c.args(["business", "create", "--name", "Durability"]);
        c
    });
    let field = |prefix: &str| {
        created
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no '{prefix}' in: {created}"))
            .to_string()
    };
    let (agent, key) = (field("agent key:"), field("API key:"));
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog/demo.toml");
    run_ok({
        let mut c = abo(&bin, &data);
        c.arg("import").arg(&catalog);
        c
    });

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency as usize)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let (mut child, base) = serve(&bin, &data);
    let mut api = Api {
        client: client.clone(),
        base,
        agent,
        key,
    };
    let (status, body) = api
        .post("/v1/Customer", json!({"ReferenceCustomer": CUSTOMER}))
        .await;
    assert!(status == 200 || status == 201, "customer: {status} {body}");
    let (status, body) = api
        .post(
            "/v1/Subscription?TryStart=true",
            json!({"ReferenceCustomer": CUSTOMER, "ReferenceOffer": "free"}),
        )
        .await;
    assert!(
        status == 200 || status == 201,
        "subscription: {status} {body}"
    );

    println!(
        "abo usage_durability: {rounds} rounds, {concurrency} connections, SIGKILL after {} ms of POST /v1/Usage (+1), SQLite default configuration",
        kill_after.as_millis()
    );
    let mut failed = false;
    for round in 1..=rounds {
        let before = api.quantity().await;
        let sent = Arc::new(AtomicU64::new(0));
        let acked = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::new();
        for _ in 0..concurrency {
            let (client, url) = (client.clone(), format!("{}/v1/Usage", api.base));
            let (agent, key) = (api.agent.clone(), api.key.clone());
            let (sent, acked, stop) = (sent.clone(), acked.clone(), stop.clone());
            workers.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    // Counted before sending: the server may apply a write whose
                    // answer never arrives, never one that was not sent.
                    sent.fetch_add(1, Ordering::SeqCst);
                    let answer = client
                        .post(&url)
                        .basic_auth(&agent, Some(&key))
                        .json(&json!({
                            "ReferenceFeature": FEATURE,
                            "ReferenceCustomer": CUSTOMER,
                            "Increment": 1,
                        }))
                        .send()
                        .await;
                    match answer {
                        Ok(r) if r.status().as_u16() == 200 => {
                            // Acknowledged only once the whole answer is read.
                            if r.bytes().await.is_ok() {
                                acked.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        Ok(r) => {
                            eprintln!("unexpected answer: {}", r.status());
                            break;
                        }
                        // The server is gone (killed): this worker is done.
                        Err(_) => break,
                    }
                }
            }));
        }
        tokio::time::sleep(kill_after).await;
        let killed_at = Instant::now();
        // `Child::kill` is SIGKILL on Unix: no graceful shutdown, no flush.
        child.kill().expect("SIGKILL abo serve");
        let _ = child.wait();
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            let _ = w.await;
        }
        let (sent, acked) = (sent.load(Ordering::SeqCst), acked.load(Ordering::SeqCst));

        let (next, base) = serve(&bin, &data);
        child = next;
        api.base = base;
        let after = api.quantity().await;
        let stored = u64::try_from(after - before).unwrap_or(0);
        let ok = acked <= stored && stored <= sent;
        failed |= !ok;
        println!(
            "round {round}: sent {sent}, acknowledged {acked}, stored {stored} (in flight at the kill: {} applied, {} not) -> {} [restart {} ms]",
            stored.saturating_sub(acked),
            sent.saturating_sub(stored),
            if ok {
                "OK: no acknowledged write lost"
            } else {
                "LOSS"
            },
            killed_at.elapsed().as_millis()
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    failed
}
