//! One HTTP POST to a merchant's endpoint: JSON, 10 s timeout, redirects not
//! followed (a 3xx is a failure, as in ProAbono), signed, and only to an
//! address the SSRF guard accepted ([`crate::guard`]).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use abo_core::Clock;

use crate::guard::{GuardedResolver, ResolveError, TargetPolicy};
use crate::sign;

/// How long an endpoint has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The process's webhook client for `policy` (one connection pool each).
/// Names resolve through the guard; no proxy is used, since a proxy would
/// resolve (and reach) the host itself, out of the guard's sight. The rustls
/// provider is ring (stack.md: no aws-lc); it is installed here once if
/// nothing else installed one first.
pub fn client(policy: TargetPolicy) -> &'static reqwest::Client {
    static STRICT: OnceLock<reqwest::Client> = OnceLock::new();
    static PRIVATE: OnceLock<reqwest::Client> = OnceLock::new();
    // Only `allow_private` changes what the resolver accepts; the scheme is
    // checked before sending.
    let resolver = TargetPolicy {
        allow_private: policy.allow_private,
        allow_http: false,
    };
    let cell = if policy.allow_private {
        &PRIVATE
    } else {
        &STRICT
    };
    cell.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver(resolver)))
            .user_agent(concat!("Abo-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the webhook HTTP client builds")
    })
}

/// What an attempt got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The HTTP status, when the endpoint answered.
    pub status: Option<u16>,
    /// Why it failed (refused by the guard, transport error or status),
    /// `None` on a 2xx.
    pub error: Option<String>,
}

impl Outcome {
    pub fn delivered(&self) -> bool {
        self.error.is_none()
    }

    fn failed(error: String) -> Outcome {
        Outcome {
            status: None,
            error: Some(error),
        }
    }
}

/// POSTs `body` to `url` with the signature headers of `secrets` (current
/// first), if `policy` accepts the target. Never logs the secrets.
pub async fn post(
    policy: TargetPolicy,
    url: &str,
    event_id: &str,
    secrets: &[&str],
    body: &str,
) -> Outcome {
    // Scheme and literal addresses; names are checked by the resolver.
    let url = match policy.check_url(url) {
        Ok(url) => url,
        Err(refused) => return Outcome::failed(refused),
    };
    // The Abo signature's timestamp is compared by receivers with their own
    // clock, so it is the real time even for a business on a test clock.
    let timestamp = abo_core::SystemClock.now().as_second();
    let mut request = client(policy)
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_owned());
    for (name, value) in sign::headers(event_id, secrets, timestamp, body.as_bytes()) {
        request = request.header(name, value);
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            // Read (and drop) the body so the connection can be reused.
            let _ = response.bytes().await;
            Outcome {
                status: Some(status.as_u16()),
                error: (!status.is_success()).then(|| format!("HTTP {}", status.as_u16())),
            }
        }
        Err(e) => Outcome {
            status: e.status().map(|s| s.as_u16()),
            error: Some(describe(&e)),
        },
    }
}

fn describe(e: &reqwest::Error) -> String {
    // The guard's refusal comes back wrapped in the connect error.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(cause) = source {
        if let Some(resolve) = cause.downcast_ref::<ResolveError>() {
            return resolve.to_string();
        }
        source = cause.source();
    }
    if e.is_timeout() {
        format!("timed out after {} s", TIMEOUT.as_secs())
    } else if e.is_connect() {
        "connection failed".into()
    } else if e.is_request() {
        // Not the error's text: it would carry the URL, which may hold a token.
        "request failed".into()
    } else {
        "transport error".into()
    }
}
