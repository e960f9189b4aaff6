//! # merchant-site
//!
//! A small merchant site ("Demo Shop") that integrates Abo's customer portal the way
//! ProAbono's guide tells merchants to, with the `abo-merchant` SDK doing the parts that
//! are easy to get wrong:
//!
//! * sign-in by picking one of a few demo users (a first-party session cookie);
//! * a **'Subscription' page** (`/subscription`) that
//!   1. upserts the signed-in user as an Abo customer, server side (`POST /v1/Customer`), and
//!      frames the customer's `hosted-home` (part 1);
//!   2. honours `?crylk=` (the links of Abo's e-mails once the segment's "URL of the
//!      integrated form/portal" point here) through [`abo_merchant::PortalLinks`]: a genuine
//!      hosted URL is framed, anything else falls back to `hosted-home` and the reason is
//!      logged (part 2).
//!
//! A visitor who is not signed in is sent to the sign-in page and back, with the `crylk`
//! value kept, so an e-mail link still lands on the right hosted page.
//!
//! `abo demo` starts this site beside Abo (see `crates/abo/src/demo_merchant.rs`); on its own:
//! `cargo run -p merchant-site -- --abo-url http://127.0.0.1:8080 --agent-key … --api-key …`.

mod config;
mod pages;
mod session;

use std::sync::Arc;

use abo_merchant::{Client, PortalLinks};

pub use abo_merchant;
pub use config::{Args, ConfigError, DemoUser, SiteConfig, demo_users};

/// The running site's shared state.
#[derive(Clone)]
pub struct Site {
    inner: Arc<Inner>,
}

struct Inner {
    config: SiteConfig,
    abo: Client,
    links: PortalLinks,
    sessions: session::Sessions,
    /// `frame-src` of the page's Content-Security-Policy: the Abo origin (and subdomains).
    frame_src: String,
}

impl Site {
    /// Builds the API client and the crylk resolver from the configuration.
    pub fn new(config: SiteConfig) -> Result<Site, ConfigError> {
        let abo = Client::new(&config.abo_api_url, &config.agent_key, &config.api_key)
            .map_err(|e| ConfigError(format!("cannot build the API client: {e}")))?;
        let mut links = PortalLinks::for_base_url(&config.abo_public_url)
            .map_err(|e| ConfigError(format!("--abo-public-url: {e}")))?;
        for host in &config.allow_http_hosts {
            links = links.allow_http_host(host);
        }
        for key in &config.link_keys {
            links = links
                .verification_key(key.clone())
                .map_err(|e| ConfigError(format!("--link-key: {e}")))?;
        }
        let frame_src = config::origin(&config.abo_public_url);
        Ok(Site {
            inner: Arc::new(Inner {
                config,
                abo,
                links,
                sessions: session::Sessions::default(),
                frame_src,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SiteConfig {
        &self.inner.config
    }
}

/// The site's routes.
pub fn router(site: Site) -> axum::Router {
    pages::routes().with_state(site)
}

/// Serves the site on `listener` until the process stops.
pub async fn serve(listener: tokio::net::TcpListener, site: Site) -> std::io::Result<()> {
    axum::serve(listener, router(site)).await
}
