//! Headless Chromium for the hosted pages' browser tests.
//!
//! - [`Browser::start`] runs Debian's `/usr/bin/chromedriver` on a free port
//!   (one per test) and opens a WebDriver session on `/usr/bin/chromium`:
//!   headless, a fresh profile in a temporary directory, **third-party
//!   cookies blocked** (Chromium's default, forced through the profile prefs
//!   and `--test-third-party-cookie-phaseout` so a test that passes proves
//!   the portal works without them), at a [`Viewport`] size.
//! - [`MerchantSite`] is a tiny merchant web site on another origin **and
//!   another site** than Abo (Abo listens on `127.0.0.1`, the merchant is
//!   addressed as `localhost`): its page embeds a given URL in an iframe, as
//!   merchants embed the portal.
//! - Helpers wait for selectors, enter frames and write screenshots (the
//!   whole page, not just the viewport) under
//!   `<cargo target dir>/screenshots/<test>/`, outside the repository.
//!
//! Missing `chromium` or `chromedriver` makes [`Browser::start`] panic with
//! the install command: a browser test never passes without a browser.
//! chromedriver runs in its own process group, which is killed (chromium
//! with it) when the [`Browser`] is dropped.
//!
//! ```no_run
//! use abo_testkit::browser::{Browser, MerchantSite, Viewport};
//!
//! # async fn f(portal_url: &str) {
//! let merchant = MerchantSite::start().await;
//! let browser = Browser::start("portal_home", Viewport::Desktop).await;
//! browser.goto(&merchant.frame_url(portal_url)).await;
//! browser.enter_frame("#abo-frame").await;
//! browser.wait_for("main").await;
//! browser.screenshot("home").await;
//! browser.close().await;
//! # }
//! ```

use axum::Router;
use axum::extract::Query;
use axum::response::Html;
use axum::routing::get;
use base64::Engine as _;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

/// Debian's binaries (packages `chromium` and `chromium-driver`); nothing
/// ever downloads a browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a wait may last before the test fails with diagnostics. A bound
/// against hangs on a loaded 2-core machine, not a performance assertion.
pub const WAIT: Duration = Duration::from_secs(30);

/// Browser window sizes the hosted pages must look right at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewport {
    /// 1280 × 900.
    Desktop,
    /// 390 × 844 (a current phone, in CSS pixels).
    Phone,
}

impl Viewport {
    pub fn size(self) -> (u32, u32) {
        match self {
            Viewport::Desktop => (1280, 900),
            Viewport::Phone => (390, 844),
        }
    }

    /// `desktop` / `phone`, for screenshot names.
    pub fn name(self) -> &'static str {
        match self {
            Viewport::Desktop => "desktop",
            Viewport::Phone => "phone",
        }
    }
}

/// Installs rustls' ring provider as the process default (once; later calls
/// do nothing). reqwest is built with `rustls-no-provider` in this workspace,
/// so no HTTP client can be built before this.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Panics unless Debian's chromium and chromedriver are installed.
pub fn require_chromium() {
    if let Err(message) = check_installed(&[CHROMIUM, CHROMEDRIVER]) {
        panic!("{message}");
    }
}

/// `Err` with the install instructions when one of `binaries` is missing.
fn check_installed(binaries: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = binaries
        .iter()
        .copied()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the browser tests need headless Chromium, and {} is missing: install Debian's \
         packages with `apt-get install -y chromium chromium-driver` (.ci/run does it). \
         These tests never pass without a browser.",
        missing.join(" and ")
    ))
}

/// chromedriver, in a process group of its own so chromium dies with it.
struct Driver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Driver {
    fn start(dir: &Path) -> Driver {
        let log = dir.join("chromedriver.log");
        // A free port: bind, read, release. Another process could take it in
        // between; the readiness check below then fails loudly.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("pick a free port for chromedriver");
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}"));
        Driver { child, port, log }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until chromedriver answers `/status` with `ready: true`.
    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "chromedriver exited at start-up ({status}); its log:\n{}",
                    tail(&self.log)
                );
            }
            let ready = http
                .get(format!("{}/status", self.url()))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if let Some(r) = ready
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not become ready on port {}; its log:\n{}",
                self.port,
                tail(&self.log)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver, chromium and chromium's helpers.
        let pgid = self.child.id();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last lines of a log file, for failure messages.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A headless Chromium session driven through chromedriver.
pub struct Browser {
    client: Client,
    session_id: String,
    viewport: std::sync::Mutex<Viewport>,
    screenshots: PathBuf,
    shots_taken: AtomicUsize,
    /// How deep the current browsing context is in frames (0 = top).
    depth: AtomicU32,
    // Dropped last: the session first, then the processes, then the profile.
    driver: Driver,
    _profile: tempfile::TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("chromedriver", &self.driver.url())
            .field("viewport", &self.viewport())
            .field("screenshots", &self.screenshots)
            .finish_non_exhaustive()
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session for test `test`
    /// (the screenshot folder's name) at `viewport`. Panics with a clear
    /// message when Chromium is not installed or does not start.
    pub async fn start(test: &str, viewport: Viewport) -> Browser {
        require_chromium();
        install_tls_provider();
        let profile = tempfile::Builder::new()
            .prefix("abo-chromium-")
            .tempdir()
            .expect("create a temporary Chromium profile");
        let user_data = profile.path().join("profile");
        let mut driver = Driver::start(profile.path());
        driver.wait_ready().await;

        let (width, height) = viewport.size();
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-extensions".into(),
            "--disable-dev-shm-usage".into(),
            "--mute-audio".into(),
            "--hide-scrollbars".into(),
            "--password-store=basic".into(),
            // Third-party cookies blocked, whatever this Chromium's default.
            "--test-third-party-cookie-phaseout".into(),
            format!("--user-data-dir={}", user_data.display()),
            format!("--window-size={width},{height}"),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": args,
                "prefs": {
                    "profile.block_third_party_cookies": true,
                    // 1 = block third-party cookies (the settings page's switch).
                    "profile.cookie_controls_mode": 1,
                    "intl.accept_languages": "en-US,en",
                },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("the capabilities are an object")
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "starting headless Chromium through chromedriver failed: {e}\n\
                     chromedriver log:\n{}",
                    tail(&driver.log)
                )
            });
        let session_id = client
            .session_id()
            .await
            .ok()
            .flatten()
            .expect("the WebDriver session id");
        let browser = Browser {
            client,
            session_id,
            viewport: std::sync::Mutex::new(viewport),
            screenshots: screenshot_root().join(sanitise(test)),
            shots_taken: AtomicUsize::new(0),
            depth: AtomicU32::new(0),
            driver,
            _profile: profile,
        };
        browser.set_viewport(viewport).await;
        browser
    }

    /// The fantoccini client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The current viewport (the last [`Browser::set_viewport`]).
    pub fn viewport(&self) -> Viewport {
        *self
            .viewport
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Resizes the window so the *viewport* (what the page sees) has the size
    /// of `viewport`; it applies to the pages opened afterwards too.
    pub async fn set_viewport(&self, viewport: Viewport) {
        *self
            .viewport
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = viewport;
        let (width, height) = viewport.size();
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width,
                "height": height,
                "deviceScaleFactor": 1,
                "mobile": viewport == Viewport::Phone,
            }),
        )
        .await;
    }

    /// Opens `url` in the top-level browsing context.
    pub async fn goto(&self, url: &str) {
        self.to_top().await;
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// Back to the top-level browsing context.
    pub async fn to_top(&self) {
        while self.depth.load(Ordering::SeqCst) > 0 {
            self.leave_frame().await;
        }
    }

    /// Waits for the iframe `css` in the current context, then switches into it.
    pub async fn enter_frame(&self, css: &str) {
        let frame = self.wait_for(css).await;
        frame
            .enter_frame()
            .await
            .unwrap_or_else(|e| panic!("entering the frame {css}: {e}"));
        self.depth.fetch_add(1, Ordering::SeqCst);
    }

    /// Switches to the parent of the current frame.
    pub async fn leave_frame(&self) {
        self.client
            .enter_parent_frame()
            .await
            .unwrap_or_else(|e| panic!("leaving a frame: {e}"));
        let _ = self
            .depth
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| d.checked_sub(1));
    }

    /// Waits until `css` matches an element in the current context; on
    /// timeout, fails with the URL, the page's text and a screenshot.
    pub async fn wait_for(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => self.fail(&format!("waiting for `{css}`: {e}")).await,
        }
    }

    /// Waits until the element `css` contains `text` (its rendered text).
    pub async fn wait_for_text(&self, css: &str, text: &str) -> Element {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(elements) = self.client.find_all(Locator::Css(css)).await {
                for element in elements {
                    if element.text().await.is_ok_and(|t| t.contains(text)) {
                        return element;
                    }
                }
            }
            if tokio::time::Instant::now() >= deadline {
                self.fail(&format!("waiting for `{css}` to contain {text:?}"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until one of `selectors` matches in the current context and
    /// returns its index (for pages that may or may not ask for a step, such
    /// as a 3-D Secure challenge).
    pub async fn wait_for_any(&self, selectors: &[&str]) -> usize {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            for (i, css) in selectors.iter().enumerate() {
                if let Ok(found) = self.client.find_all(Locator::Css(css)).await
                    && !found.is_empty()
                {
                    return i;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                self.fail(&format!("waiting for one of {selectors:?}"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for `css`, then returns its attribute `name` (failing when absent).
    pub async fn attr(&self, css: &str, name: &str) -> String {
        let element = self.wait_for(css).await;
        match element.attr(name).await {
            Ok(Some(v)) => v,
            Ok(None) => self.fail(&format!("`{css}` has no attribute {name}")).await,
            Err(e) => self.fail(&format!("reading {name} of `{css}`: {e}")).await,
        }
    }

    /// Waits until no element matches `css` in the current context.
    pub async fn wait_gone(&self, css: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match self.client.find_all(Locator::Css(css)).await {
                Ok(v) if v.is_empty() => return,
                _ => {}
            }
            if tokio::time::Instant::now() >= deadline {
                self.fail(&format!("waiting for `{css}` to disappear"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every element matching `css` now (no wait).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        match self.client.find_all(Locator::Css(css)).await {
            Ok(v) => v,
            Err(e) => self.fail(&format!("finding `{css}`: {e}")).await,
        }
    }

    /// Whether `css` matches something now (no wait).
    pub async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    /// Waits for `css`, then clicks it.
    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        if let Err(e) = element.click().await {
            self.fail(&format!("clicking `{css}`: {e}")).await;
        }
    }

    /// Waits for the field `css`, clears it and types `value`.
    pub async fn fill(&self, css: &str, value: &str) {
        let element = self.wait_for(css).await;
        let typed = async {
            element.clear().await?;
            element.send_keys(value).await
        }
        .await;
        if let Err(e) = typed {
            self.fail(&format!("typing into `{css}`: {e}")).await;
        }
    }

    /// Waits for the `<select>` `css` and picks the option of value `value`.
    pub async fn select(&self, css: &str, value: &str) {
        let element = self.wait_for(css).await;
        if let Err(e) = element.select_by_value(value).await {
            self.fail(&format!("selecting {value:?} in `{css}`: {e}"))
                .await;
        }
    }

    /// The rendered text of the first element matching `css` (waits for it).
    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        match element.text().await {
            Ok(t) => t,
            Err(e) => {
                self.fail(&format!("reading the text of `{css}`: {e}"))
                    .await
            }
        }
    }

    /// The rendered text of the current document's body.
    pub async fn body_text(&self) -> String {
        self.text("body").await
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the
    /// current context and returns its result.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        match self.client.execute(script, args).await {
            Ok(v) => v,
            Err(e) => self.fail(&format!("running script: {e}")).await,
        }
    }

    /// The URL of the current context's document (inside a frame: the frame's).
    pub async fn document_url(&self) -> String {
        self.execute("return document.URL;", vec![])
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// A Chrome DevTools Protocol command through chromedriver (it applies to
    /// the current top-level page).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let url = format!(
            "{}/session/{}/goog/cdp/execute",
            self.driver.url(),
            self.session_id
        );
        let response = reqwest::Client::new()
            .post(&url)
            .json(&json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"));
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd}: unreadable answer: {e}"));
        assert!(status.is_success(), "CDP {cmd} failed: {status} {body}");
        body["value"].clone()
    }

    /// Writes a PNG of the whole top-level page (beyond the viewport) to
    /// `<screenshots>/<test>/<name>.png` and returns its path. Works from
    /// inside a frame (the current context is kept).
    ///
    /// The viewport is stretched to the page's height for the capture:
    /// Chromium's `captureBeyondViewport` leaves cross-site (out-of-process)
    /// iframes unpainted below the fold, and the portal is one.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let viewport = self.viewport();
        let (width, height) = viewport.size();
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let full = metrics["cssContentSize"]["height"]
            .as_f64()
            .unwrap_or(0.0)
            .ceil()
            .clamp(f64::from(height), 16_000.0);
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width,
                "height": full,
                "deviceScaleFactor": 1,
                "mobile": viewport == Viewport::Phone,
            }),
        )
        .await;
        // Two animation frames: layout and paint at the new size, frames included.
        let _ = self
            .client
            .execute_async(
                "const done = arguments[0];\
                 requestAnimationFrame(() => requestAnimationFrame(() => done(null)));",
                vec![],
            )
            .await;
        let shot = self
            .cdp("Page.captureScreenshot", json!({ "format": "png" }))
            .await;
        self.set_viewport(viewport).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap_or_default())
            .expect("CDP screenshots are base64");
        self.write_png(name, &png)
    }

    fn write_png(&self, name: &str, png: &[u8]) -> PathBuf {
        std::fs::create_dir_all(&self.screenshots)
            .unwrap_or_else(|e| panic!("creating {}: {e}", self.screenshots.display()));
        let path = self.screenshots.join(format!("{}.png", sanitise(name)));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// Fails the test with what the browser shows: URL, text, a screenshot.
    pub async fn fail(&self, what: &str) -> ! {
        let url = self
            .client
            .execute("return document.URL;", vec![])
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let text = self
            .client
            .execute(
                "return document.body ? document.body.innerText : document.documentElement.outerHTML;",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let n = self.shots_taken.fetch_add(1, Ordering::SeqCst);
        let shot = match self.client.screenshot().await {
            Ok(png) => self
                .write_png(&format!("FAILED-{n}"), &png)
                .display()
                .to_string(),
            Err(e) => format!("(no screenshot: {e})"),
        };
        let text: String = text.chars().take(3000).collect();
        panic!("{what}\n  document: {url}\n  screenshot: {shot}\n  text:\n{text}");
    }

    /// Ends the session and stops chromedriver and chromium.
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.clone().close()).await;
        // Drop kills the process group and removes the profile.
    }
}

/// `<cargo target dir>/screenshots`, from the test binary's path
/// (`<target>/<profile>/deps/<test>`), or `ABO_SCREENSHOT_DIR`.
pub fn screenshot_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("ABO_SCREENSHOT_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(std::env::temp_dir)
        .join("screenshots")
}

fn sanitise(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Escapes text for an HTML attribute value or element content.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A merchant's web site on its own origin, which frames hosted pages.
///
/// Abo's test server listens on `127.0.0.1`; the merchant is addressed as
/// `http://localhost:<port>`, a different *site* (not just origin), so the
/// iframe is cross-site and its cookies are third-party.
pub struct MerchantSite {
    /// `http://localhost:<port>`, no trailing slash.
    pub base_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for MerchantSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantSite")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl MerchantSite {
    /// Starts the site on `127.0.0.1:<free port>`, addressed as `localhost`.
    pub async fn start() -> MerchantSite {
        MerchantSite::start_as("localhost").await
    }

    /// Starts the site on `127.0.0.1:<free port>`, addressed by `host` (a
    /// name that resolves to loopback: `localhost`, `127.0.0.1`).
    pub async fn start_as(host: &str) -> MerchantSite {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the merchant site");
        let port = listener.local_addr().expect("merchant address").port();
        let router = Router::new()
            .route(
                "/",
                get(|| async { Html(page("Merchant", "<p>Welcome.</p>")) }),
            )
            .route("/subscription", get(frame_page))
            .route(
                "/cookie-probe",
                get(|| async { Html(page("Probe", "<p id=\"probe\">cookie probe</p>")) }),
            );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        MerchantSite {
            base_url: format!("http://{host}:{port}"),
            shutdown: Some(tx),
        }
    }

    /// The origin (`scheme://host:port`) to allow in a segment's settings.
    pub fn origin(&self) -> &str {
        &self.base_url
    }

    /// The merchant's 'Subscription' page embedding `src` in
    /// `<iframe id="abo-frame">`.
    pub fn frame_url(&self, src: &str) -> String {
        let mut query = String::new();
        abo_links::percent_encode_into(src, &mut query);
        format!("{}/subscription?src={query}", self.base_url)
    }
}

impl Drop for MerchantSite {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title>\
         <style>body{{font-family:sans-serif;margin:0;background:#f4f1ea}}\
         header{{background:#2d3142;color:#fff;padding:12px 16px}}\
         main{{padding:12px}}iframe{{width:100%;height:480px;border:0;background:#fff;display:block}}</style>\
         </head><body><header>Merchant site</header><main>{body}</main></body></html>"
    )
}

/// The 'Subscription' page: `?src=<url>` in an iframe that counts its loads
/// (`data-loads`, also set when the frame's navigation is blocked, so a test
/// can tell "loaded, but not the portal" from "not loaded yet") and takes the
/// height the hosted page posts for auto-resizing.
async fn frame_page(Query(query): Query<HashMap<String, String>>) -> Html<String> {
    let src = query
        .get("src")
        .map(String::as_str)
        .unwrap_or("about:blank");
    let body = format!(
        "<h1>Your subscription</h1>\
         <iframe id=\"abo-frame\" title=\"Billing\" src=\"{src}\" data-loads=\"0\" \
          onload=\"this.dataset.loads = String(Number(this.dataset.loads) + 1)\"></iframe>\
         <script>\
         window.addEventListener('message', function (e) {{\
           var d = e.data, h = null;\
           if (typeof d === 'number') h = d;\
           else if (d && typeof d === 'object') h = d.height || d.frameHeight || null;\
           else if (typeof d === 'string') {{ try {{ var j = JSON.parse(d); h = j.height || null; }} catch (x) {{}} }}\
           var f = document.getElementById('abo-frame');\
           if (h && f && e.source === f.contentWindow) f.style.height = Math.ceil(h) + 'px';\
         }});\
         </script>",
        src = html_escape(src)
    );
    Html(page("Your subscription", &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_browser_fails_with_the_install_command() {
        let err = check_installed(&["/nonexistent/chromium", "/bin/sh"]).unwrap_err();
        assert!(err.contains("/nonexistent/chromium is missing"), "{err}");
        assert!(
            err.contains("apt-get install -y chromium chromium-driver"),
            "{err}"
        );
        assert!(check_installed(&["/bin/sh"]).is_ok());
    }

    #[test]
    fn attribute_values_are_escaped() {
        assert_eq!(
            html_escape(r#"x" onload='a&b'<"#),
            "x&quot; onload=&#39;a&amp;b&#39;&lt;"
        );
    }
}
