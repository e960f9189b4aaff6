//! Configuration: from command-line arguments or `ABO_*`/`MERCHANT_*` environment variables
//! (binary), or built directly (`abo demo`, tests).

use std::net::SocketAddr;

use abo_merchant::VerificationKey;

/// A configuration value the site cannot run with.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// A user of the demo shop; `reference` is its Abo `ReferenceCustomer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoUser {
    /// The merchant's user id, used as `ReferenceCustomer`.
    pub reference: String,
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// `en` or `fr`.
    pub language: String,
}

/// The users of the demo shop: the customers `abo demo` seeds, so e-mails sent to them link
/// back to a user who can sign in here.
pub fn demo_users() -> Vec<DemoUser> {
    [
        ("cust-alice", "Alice Martin", "alice@example.com", "en"),
        ("cust-bruno", "Bruno Lefèvre", "bruno@example.fr", "fr"),
        ("cust-chloe", "Chloé Dubois", "chloe@example.fr", "fr"),
        ("cust-dan", "Dan Smith", "dan@example.com", "en"),
    ]
    .into_iter()
    .map(|(reference, name, email, language)| DemoUser {
        reference: reference.into(),
        name: name.into(),
        email: email.into(),
        language: language.into(),
    })
    .collect()
}

/// What the site needs to run.
#[derive(Debug, Clone)]
pub struct SiteConfig {
    /// Abo's API base URL (without `/v1`).
    pub abo_api_url: String,
    /// The base URL of Abo's hosted pages (its `public_url`); crylk values must point there.
    pub abo_public_url: String,
    /// Agent key (HTTP Basic user).
    pub agent_key: String,
    /// API key (HTTP Basic password).
    pub api_key: String,
    /// Segment to create customers in (`None`: the business's default).
    pub segment: Option<String>,
    /// The business's link verification keys (`kid:hex`), for offline token checks.
    pub link_keys: Vec<VerificationKey>,
    /// Development hosts accepted over http, besides a loopback Abo public URL.
    pub allow_http_hosts: Vec<String>,
    /// The users who can sign in.
    pub users: Vec<DemoUser>,
    /// Shop name shown in the header.
    pub shop_name: String,
}

impl SiteConfig {
    /// A configuration for one Abo and one business, with the demo users.
    pub fn new(abo_url: &str, agent_key: &str, api_key: &str) -> SiteConfig {
        SiteConfig {
            abo_api_url: abo_url.trim_end_matches('/').to_owned(),
            abo_public_url: abo_url.trim_end_matches('/').to_owned(),
            agent_key: agent_key.to_owned(),
            api_key: api_key.to_owned(),
            segment: None,
            link_keys: Vec::new(),
            allow_http_hosts: Vec::new(),
            users: demo_users(),
            shop_name: "Demo Shop".into(),
        }
    }
}

/// Command-line arguments of the `merchant-site` binary.
#[derive(Debug, clap::Parser)]
#[command(
    name = "merchant-site",
    about = "Demo merchant site embedding Abo's customer portal"
)]
pub struct Args {
    /// Abo's API base URL.
    #[arg(long, env = "ABO_URL", default_value = "http://127.0.0.1:8080")]
    pub abo_url: String,
    /// Base URL of Abo's hosted pages (default: the API base URL).
    #[arg(long, env = "ABO_PUBLIC_URL")]
    pub abo_public_url: Option<String>,
    /// Agent key of the business.
    #[arg(long, env = "ABO_AGENT_KEY")]
    pub agent_key: String,
    /// API key of the business.
    #[arg(long, env = "ABO_API_KEY")]
    pub api_key: String,
    /// Segment to create customers in.
    #[arg(long, env = "ABO_SEGMENT")]
    pub segment: Option<String>,
    /// Link verification key (`kid:hex`) for offline checks of crylk tokens; repeat during a
    /// rotation.
    #[arg(long = "link-key", env = "ABO_LINK_KEYS", value_delimiter = ',')]
    pub link_keys: Vec<String>,
    /// Extra development host accepted over http.
    #[arg(
        long = "allow-http-host",
        env = "MERCHANT_ALLOW_HTTP_HOSTS",
        value_delimiter = ','
    )]
    pub allow_http_hosts: Vec<String>,
    /// Address to listen on.
    #[arg(long, env = "MERCHANT_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
}

impl Args {
    /// The site configuration these arguments describe.
    pub fn site_config(&self) -> Result<SiteConfig, ConfigError> {
        let mut config = SiteConfig::new(&self.abo_url, &self.agent_key, &self.api_key);
        if let Some(public) = &self.abo_public_url {
            config.abo_public_url = public.trim_end_matches('/').to_owned();
        }
        config.segment = self.segment.clone();
        config.allow_http_hosts = self.allow_http_hosts.clone();
        config.link_keys = self
            .link_keys
            .iter()
            .map(|k| VerificationKey::parse(k).map_err(|e| ConfigError(format!("--link-key: {e}"))))
            .collect::<Result<_, _>>()?;
        Ok(config)
    }
}

/// `scheme://host[:port]` of a URL, for the page's `frame-src`.
pub(crate) fn origin(url: &str) -> String {
    let after = url.find("://").map_or(0, |i| i + 3);
    let end = url[after..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after + i);
    url[..end].to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn origins() {
        assert_eq!(
            super::origin("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            super::origin("https://abo.example/x?y"),
            "https://abo.example"
        );
    }
}
