//! `abo demo`'s merchant site: the Demo Shop (`examples/merchant-site`) runs in-process
//! beside Abo, and the demo segment's "URL of the integrated form" and "URL of the
//! integrated portal" point at its 'Subscription' page, so links in the demo's e-mails land
//! inside the merchant's page (the crylk mechanism, spec §4).

use crate::config::Config;
use abo_service::demo::Demo;
use abo_store::Store;
use abo_store::segments::SegmentSettingsPatch;
use anyhow::Context;
use merchant_site::abo_merchant::VerificationKey;
use merchant_site::{Site, SiteConfig};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tokio::net::TcpListener;

/// The running shop.
pub struct DemoMerchant {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub url: String,
}

impl DemoMerchant {
    /// The 'Subscription' page (the segment's integrated form and portal URL).
    pub fn subscription_url(&self) -> String {
        format!("{}/subscription", self.url)
    }
}

/// Binds the shop next to Abo (Abo's port + 1 when free, else any port), configures the demo
/// segment's integrated URLs to its 'Subscription' page and serves it in a task.
///
/// The shop calls the API with the demo credentials and verifies crylk tokens offline with
/// the business's link keys, which it reads here as an operator would hand them over.
pub async fn start(
    config: &Config,
    store: &Store,
    demo: &Demo,
    abo_base_url: &str,
) -> anyhow::Result<DemoMerchant> {
    let ip: IpAddr = config
        .bind
        .parse()
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let preferred = if config.port == 0 {
        0
    } else {
        config.port.saturating_add(1)
    };
    let listener = match TcpListener::bind(SocketAddr::new(ip, preferred)).await {
        Ok(l) => l,
        Err(_) => TcpListener::bind(SocketAddr::new(ip, 0))
            .await
            .context("cannot listen for the demo merchant site")?,
    };
    let local = listener.local_addr()?;
    // A wildcard bind is reached on loopback; http is only accepted for loopback hosts.
    let host = if local.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        local.ip()
    };
    let url = format!("http://{}", SocketAddr::new(host, local.port()));
    let shop = DemoMerchant { url };

    let mut conn = store.acquire().await?;
    let segment =
        abo_store::segments::get_by_reference(&mut conn, demo.business_id, &demo.segment_reference)
            .await?;
    let page = shop.subscription_url();
    if abo_links::validate_integrated_url(&page).is_ok() {
        let patch = SegmentSettingsPatch {
            url_integrated_form: Some(Some(page.clone())),
            url_integrated_portal: Some(Some(page)),
            ..Default::default()
        };
        abo_store::segments::update_settings(
            &mut conn,
            demo.business_id,
            segment.id,
            &patch,
            crate::commands::now_us(),
        )
        .await?;
    } else {
        tracing::warn!(
            url = %page,
            "the demo shop is not on a loopback address: e-mail links keep opening Abo's own pages"
        );
    }
    let link_keys = abo_store::link_keys::list(&mut conn, demo.business_id)
        .await?
        .into_iter()
        .filter(|k| k.retired_at_us.is_none())
        .filter_map(|k| VerificationKey::parse(&format!("{}:{}", k.kid, k.secret_hex)).ok())
        .collect();
    drop(conn);

    let mut site_config = SiteConfig::new(
        abo_base_url,
        &demo.credentials.agent_key,
        &demo.credentials.api_key,
    );
    site_config.segment = Some(demo.segment_reference.clone());
    site_config.link_keys = link_keys;
    let site = Site::new(site_config).map_err(|e| anyhow::anyhow!("demo merchant site: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = merchant_site::serve(listener, site).await {
            tracing::error!(error = %e, "the demo merchant site stopped");
        }
    });
    Ok(shop)
}
