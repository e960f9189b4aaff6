//! A typed async client for API Live (`/v1`), ProAbono's API as Abo serves it.
//!
//! One [`Client`] per business (agent key + API key), shared by the whole server: it holds a
//! connection pool. Every call returns a typed value or an [`ApiError`]; an empty collection
//! (`204 No Content`) is an empty [`Page`], never an error.
//!
//! ```no_run
//! use abo_merchant::{Client, CustomerRequest};
//!
//! # async fn f() -> Result<(), abo_merchant::ApiError> {
//! let abo = Client::new("https://api.abo.example", "agent-key", "api-key")?;
//! let customer = abo
//!     .upsert_customer(&CustomerRequest::new("user-42").name("Ada").email("ada@example.com"))
//!     .await?;
//! let iframe_src = customer.hosted_home().expect("an enabled customer has links");
//! # let _ = iframe_src;
//! # Ok(()) }
//! ```

mod customers;
mod error;
mod invoices;
mod offers;
mod subscriptions;
mod usages;

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use customers::{
    BillingAddress, Customer, CustomerRequest, ListCustomers, PaymentSettings,
    PaymentSettingsUpdate,
};
pub use error::{ApiError, ProAbonoError};
pub use invoices::{BillCustomer, Invoice, ListInvoices};
pub use offers::{ListOffers, Offer};
pub use subscriptions::{
    CreateOptions, ListSubscriptions, Subscription, SubscriptionFeature, SubscriptionRequest,
    Termination, Upgrade,
};
pub use usages::{Usage, UsageQuery, UsageRequest};

/// The API Live client of one business.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Arc<str>,
    agent_key: Arc<str>,
    api_key: Arc<str>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("agent_key", &self.agent_key)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

impl Client {
    /// A client for the API at `base_url` (e.g. `https://api.abo.example`; a trailing `/v1`
    /// is accepted), authenticated with HTTP Basic agent key : API key.
    ///
    /// TLS is rustls with the ring provider and the Mozilla root certificates (webpki-roots),
    /// configured for this client only: nothing process-wide is installed. Requests time out
    /// after 30 seconds.
    pub fn new(base_url: &str, agent_key: &str, api_key: &str) -> Result<Client, ApiError> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("abo-merchant/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Client::with_http_client(http, base_url, agent_key, api_key))
    }

    /// A client on a `reqwest::Client` of your own (proxy, timeouts, custom roots). With
    /// reqwest's `rustls-no-provider` feature, configure its TLS yourself or install a
    /// process-wide rustls provider before building it.
    pub fn with_http_client(
        http: reqwest::Client,
        base_url: &str,
        agent_key: &str,
        api_key: &str,
    ) -> Client {
        let base = base_url.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        Client {
            http,
            base: base.into(),
            agent_key: agent_key.into(),
            api_key: api_key.into(),
        }
    }

    /// The API base URL, without `/v1`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &Query,
    ) -> reqwest::RequestBuilder {
        let mut url = String::with_capacity(self.base.len() + path.len() + 64);
        url.push_str(&self.base);
        url.push_str(path);
        query.append_to(&mut url);
        self.http
            .request(method, url)
            .basic_auth(&*self.agent_key, Some(&*self.api_key))
            .header(reqwest::header::ACCEPT, "application/json")
    }

    /// Sends and reads the answer: `Ok(None)` for 204, the parsed body for other 2xx.
    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<Option<(u16, T)>, ApiError> {
        let response = request.send().await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        if !(200..300).contains(&status) {
            return Err(ApiError::from_response(status, &body));
        }
        if status == 204 || body.is_empty() {
            return Ok(None);
        }
        Ok(Some((status, serde_json::from_slice(&body)?)))
    }

    /// A single object: 204 or an empty body is an error.
    async fn one<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ApiError> {
        match self.send(request).await? {
            Some((_, v)) => Ok(v),
            None => Err(ApiError::Empty(204)),
        }
    }

    async fn get_one<T: DeserializeOwned>(&self, path: &str, query: &Query) -> Result<T, ApiError> {
        self.one(self.request(reqwest::Method::GET, path, query))
            .await
    }

    async fn post_one<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: &str,
        query: &Query,
        body: &B,
    ) -> Result<T, ApiError> {
        self.one(self.request(reqwest::Method::POST, path, query).json(body))
            .await
    }

    /// A POST without a body (`Content-Length: 0`).
    async fn post_empty_one<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Query,
    ) -> Result<T, ApiError> {
        self.one(
            self.request(reqwest::Method::POST, path, query)
                .body(Vec::<u8>::new()),
        )
        .await
    }

    async fn get_page<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Query,
    ) -> Result<Page<T>, ApiError> {
        Ok(self
            .send(self.request(reqwest::Method::GET, path, query))
            .await?
            .map(|(_, page)| page)
            .unwrap_or_default())
    }
}

/// rustls with ring and the webpki roots: no OpenSSL, no aws-lc, no global provider.
fn tls_config() -> Result<rustls::ClientConfig, ApiError> {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ApiError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Query-string builder: names as ProAbono spells them, values percent-encoded.
#[derive(Debug, Default, Clone)]
pub(crate) struct Query(Vec<(&'static str, String)>);

impl Query {
    pub(crate) fn new() -> Self {
        Query(Vec::new())
    }

    pub(crate) fn add(mut self, name: &'static str, value: impl ToString) -> Self {
        self.0.push((name, value.to_string()));
        self
    }

    pub(crate) fn opt(self, name: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.add(name, v),
            None => self,
        }
    }

    fn append_to(&self, url: &mut String) {
        for (i, (name, value)) in self.0.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(name);
            url.push('=');
            abo_links::percent_encode_into(value, url);
        }
    }
}

/// A page of a collection (`Page`, `SizePage`, `Count`, `TotalItems`, `Items`). A 204 answer
/// is an empty page (`Default`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Page<T> {
    /// 1-based page number.
    pub page: i64,
    /// Page size asked for.
    pub size_page: i64,
    /// Items on this page.
    pub count: i64,
    /// Items in the whole collection.
    pub total_items: i64,
    /// The items.
    pub items: Vec<T>,
    /// Collection links (`next`).
    pub links: Vec<Link>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            page: 1,
            size_page: 0,
            count: 0,
            total_items: 0,
            items: Vec::new(),
            links: Vec::new(),
        }
    }
}

/// One entry of a resource's `Links`: `rel` names it (`hosted-home`, `insite-charge`, ...);
/// `href` is the absolute hosted URL (`hosted-*`), `query` the token (`insite-*`).
///
/// Hosted links are temporary (4 hours): fetch them when rendering, never store them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct Link {
    /// The relation, lower case.
    pub rel: String,
    /// Absolute URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// Token for In-Site integrations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Media type, when given.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
}

/// The `href` of the link named `rel` (case-insensitive) in `links`.
///
/// ```
/// use abo_merchant::{Link, link_href};
/// let links = vec![Link { rel: "hosted-home".into(), href: Some("https://abo.example/portal-auth/T".into()), ..Default::default() }];
/// assert_eq!(link_href(&links, "Hosted-Home"), Some("https://abo.example/portal-auth/T"));
/// assert_eq!(link_href(&links, "hosted-charge"), None);
/// ```
pub fn link_href<'a>(links: &'a [Link], rel: &str) -> Option<&'a str> {
    links
        .iter()
        .find(|l| l.rel.eq_ignore_ascii_case(rel))
        .and_then(|l| l.href.as_deref())
}

/// Fields a typed struct does not name, kept as they came (the API grows; nothing is lost).
pub type Extra = Map<String, Value>;
