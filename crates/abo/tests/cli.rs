//! The `abo` binary as an operator uses it: one clear line on bad input, a
//! database left untouched, and a demo that starts, answers and reuses its data.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

fn abo(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_abo"));
    cmd.current_dir(dir)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env_remove("ABO_DATABASE_URL")
        .env_remove("ABO_PORT")
        .env("ABO_LOG", "warn");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run abo")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The error contract of the CLI: non-zero exit, exactly one line on stderr.
fn assert_one_line_error(out: &Output, expected: &str) {
    let err = stderr(out);
    assert!(
        !out.status.success(),
        "expected a failure, got success: {err}"
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err:?}"
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(expected), "expected {expected:?} in {err:?}");
}

fn sqlite_dump(dir: &Path) -> String {
    // The catalogue tables, through the binary's own database file.
    let out = Command::new("sqlite3")
        .arg(dir.join("data/abo.db"))
        .arg("SELECT * FROM segments; SELECT * FROM features; SELECT * FROM offers; SELECT * FROM offer_features; SELECT * FROM offer_feature_tiers;")
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        // Without the sqlite3 CLI, compare the file bytes instead (WAL is checkpointed on close).
        _ => format!(
            "{:?}",
            std::fs::read(dir.join("data/abo.db")).unwrap_or_default()
        ),
    }
}

#[test]
fn import_errors_are_one_line_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(abo(dir.path()).args(["import", "nothing.toml"]));
    assert_one_line_error(&out, "no business exists yet");

    let out = run(abo(dir.path()).args(["business", "create", "--name", "Acme", "--test"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog/demo.toml");
    let out = run(abo(dir.path()).arg("import").arg(&catalog));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("13 created"));
    let before = sqlite_dump(dir.path());

    let out = run(abo(dir.path()).arg("import").arg(&catalog));
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 created, 0 updated, 13 unchanged"));

    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(&catalog)
        .unwrap()
        .replace("\"19.00\"", "\"19.001\"");
    std::fs::write(&bad, text).unwrap();
    let out = run(abo(dir.path()).arg("import").arg(&bad));
    assert_one_line_error(
        &out,
        "offer 'pro-monthly': amount_recurrence '19.001' has more decimals",
    );
    assert_eq!(sqlite_dump(dir.path()), before);

    std::fs::write(&bad, "[[segment]]\nreference = 'x'\ncurrency = EUR\n").unwrap();
    let out = run(abo(dir.path()).arg("import").arg(&bad));
    assert_one_line_error(&out, "line 3");
    assert_eq!(sqlite_dump(dir.path()), before);

    let out = run(abo(dir.path()).args(["import", "missing.toml"]));
    assert_one_line_error(&out, "cannot read missing.toml");
}

#[test]
fn configuration_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("abo.toml"), "prot = 8080\n").unwrap();
    assert_one_line_error(&run(abo(dir.path()).arg("migrate")), "prot");

    std::fs::write(dir.path().join("abo.toml"), "port = 99999\n").unwrap();
    assert_one_line_error(&run(abo(dir.path()).arg("migrate")), "port");

    std::fs::remove_file(dir.path().join("abo.toml")).unwrap();
    let out = run(abo(dir.path())
        .arg("migrate")
        .env("ABO_DATABASE_URL", "mysql://localhost/abo"));
    assert_one_line_error(
        &out,
        "database_url must start with sqlite:// or postgres://",
    );

    let out = run(abo(dir.path())
        .arg("migrate")
        .env("ABO_DATABASE_URL", "postgres://u:hunter2@127.0.0.1:1/abo"));
    assert_one_line_error(&out, "cannot open database postgres://***@127.0.0.1:1/abo");
    assert!(
        !stderr(&out).contains("hunter2"),
        "secrets never reach the output"
    );

    let out = run(abo(dir.path()).args(["--config", "nope.toml", "migrate"]));
    assert_one_line_error(&out, "nope.toml does not exist");
}

/// A running `abo demo`, killed when dropped.
struct Demo {
    child: Child,
    _stdout: BufReader<std::process::ChildStdout>,
    base_url: String,
    json: serde_json::Value,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_demo(dir: &Path) -> (Demo, String) {
    let mut child = abo(dir)
        .args(["demo", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The banner ends with the Ctrl-C line; reading stops there, the server
    // goes on. The pipe stays open (in `Demo`) so later output has a reader.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap_or(0) > 0 {
        banner.push_str(&line);
        if line.contains("Stop with Ctrl-C") {
            break;
        }
        line.clear();
    }
    assert!(banner.contains("Abo demo is running"), "banner: {banner}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("data/demo.json")).unwrap())
            .unwrap();
    let base_url = json["base_url"].as_str().unwrap().to_string();
    assert!(banner.contains(&base_url) && banner.contains(json["api_key"].as_str().unwrap()));
    (
        Demo {
            child,
            _stdout: stdout,
            base_url,
            json,
        },
        banner,
    )
}

fn http_get(url: &str) -> (u16, String) {
    // A tiny HTTP/1.0 client: no TLS, loopback only.
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn demo_serves_and_reuses_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let (first, banner) = start_demo(dir.path());
    assert!(banner.contains("new data"), "{banner}");
    assert_eq!(
        http_get(&format!("{}/healthz", first.base_url)),
        (200, "ok".into())
    );
    assert_eq!(http_get(&format!("{}/readyz", first.base_url)).0, 200);
    assert_eq!(first.json["segment_reference"], "demo-eur");
    let first_json = first.json.clone();
    drop(first);

    // Same directory: same business, and the remembered keys still work.
    let (second, banner) = start_demo(dir.path());
    assert!(banner.contains("existing data"), "{banner}");
    assert_eq!(second.json["business_id"], first_json["business_id"]);
    assert_eq!(second.json["api_key"], first_json["api_key"]);
    assert_eq!(http_get(&format!("{}/readyz", second.base_url)).0, 200);
}

/// `abo business link-keys` prints the active verification keys as `kid:hex`
/// (the merchant SDK's format); an unknown business is one clear line.
#[test]
fn link_keys_are_exported_for_the_merchant_sdk() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(abo(dir.path()).args(["business", "create", "--name", "Acme", "--test"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(abo(dir.path()).args(["business", "link-keys", "--business", "1"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let (kid, hex) = lines[0].split_once(':').expect("kid:hex");
    assert!(
        !kid.is_empty() && kid.bytes().all(|b| b.is_ascii_digit()),
        "{kid}"
    );
    assert!(
        hex.len() >= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{hex}"
    );

    let out = run(abo(dir.path()).args(["business", "link-keys", "--business", "99"]));
    assert_one_line_error(&out, "not found");
}
