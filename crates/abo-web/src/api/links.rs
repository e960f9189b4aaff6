//! `Links` of API responses: signed, expiring, customer-scoped hosted links.
//!
//! Each link purpose is published under two rels: the legacy `hosted-*`
//! (absolute `href`, what PHP/demo clients put in their iframe) and the
//! current `insite-*` (spec §2.7: `insite-home` with an `href`, the others
//! with the token in `query`). Both carry the same token.

use super::error::ApiResult;
use crate::AppState;
use abo_links::{API_LINK_TTL_SECS, Keyring, LinkClaims, Purpose};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The contract's `Link` object (lower-case field names).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Link {
    pub rel: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
}

impl Link {
    pub fn href(rel: &str, href: String) -> Link {
        Link {
            rel: rel.into(),
            href: Some(href),
            query: None,
            mime: None,
        }
    }
}

/// How long a loaded keyring is used before it is read again: a key rotated
/// or retired by another process (the CLI, another node) is picked up within
/// this time, while signing stays off the database on the hot path.
const KEYRING_TTL: Duration = Duration::from_secs(30);

/// Keyrings per business, cached (they change only on rotation).
#[derive(Default)]
pub(crate) struct KeyringCache {
    rings: RwLock<HashMap<i64, (Arc<Keyring>, Instant)>>,
}

impl KeyringCache {
    pub(crate) async fn get(&self, state: &AppState, business_id: i64) -> ApiResult<Arc<Keyring>> {
        if let Some(ring) = self.rings.read().ok().and_then(|m| {
            m.get(&business_id)
                .filter(|(_, loaded)| loaded.elapsed() < KEYRING_TTL)
                .map(|(ring, _)| ring.clone())
        }) {
            return Ok(ring);
        }
        let mut conn = state.store.acquire().await?;
        let ring = Arc::new(abo_service::links::load_keyring(&mut conn, business_id).await?);
        if let Ok(mut map) = self.rings.write() {
            map.insert(business_id, (ring.clone(), Instant::now()));
        }
        Ok(ring)
    }
}

/// The hosted-link families a response can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkFamily {
    Home,
    CollectionOffers,
    Subscribe,
    Register,
    CollectionUpgrade,
    RelatedSubscription,
    Upgrade,
    Restart,
    Charge,
    CollectionInvoice,
}

impl LinkFamily {
    fn purpose(self) -> Purpose {
        match self {
            LinkFamily::Home => Purpose::Home,
            LinkFamily::CollectionOffers => Purpose::CollectionOffers,
            LinkFamily::Subscribe => Purpose::Subscribe,
            LinkFamily::Register => Purpose::Register,
            LinkFamily::CollectionUpgrade => Purpose::CollectionUpgrade,
            LinkFamily::RelatedSubscription => Purpose::RelatedSubscription,
            LinkFamily::Upgrade => Purpose::Upgrade,
            LinkFamily::Restart => Purpose::Restart,
            LinkFamily::Charge => Purpose::Charge,
            LinkFamily::CollectionInvoice => Purpose::CollectionInvoices,
        }
    }

    /// The rel suffix shared by `hosted-*` and `insite-*`.
    fn rel(self) -> &'static str {
        match self {
            LinkFamily::Home => "home",
            LinkFamily::CollectionOffers => "collection-offers",
            LinkFamily::Subscribe => "subscribe",
            LinkFamily::Register => "register",
            LinkFamily::CollectionUpgrade => "collection-upgrade",
            LinkFamily::RelatedSubscription => "related-subscription",
            LinkFamily::Upgrade => "upgrade",
            LinkFamily::Restart => "restart",
            LinkFamily::Charge => "charge",
            LinkFamily::CollectionInvoice => "collection-invoice",
        }
    }
}

/// Signs the links of one customer for one response.
pub struct LinkSigner {
    base: Arc<str>,
    keyring: Arc<Keyring>,
    business_id: i64,
    customer_id: i64,
    epoch: u32,
    now_s: i64,
}

impl LinkSigner {
    /// `epoch` is the customer's links epoch: revocation bumps it.
    pub async fn new(
        state: &AppState,
        business_id: i64,
        customer_id: i64,
        epoch: i64,
        now_us: i64,
    ) -> ApiResult<LinkSigner> {
        Ok(LinkSigner {
            base: state.public_url.clone(),
            keyring: state.keyrings.get(state, business_id).await?,
            business_id,
            customer_id,
            epoch: u32::try_from(epoch).unwrap_or(u32::MAX),
            now_s: now_us.div_euclid(1_000_000),
        })
    }

    /// The absolute hosted URL of a purpose (for e-mails and redirects too).
    pub fn url(&self, purpose: Purpose, target_id: Option<i64>) -> String {
        let mut claims = LinkClaims::new(
            self.business_id,
            self.customer_id,
            purpose,
            self.now_s,
            API_LINK_TTL_SECS,
            self.epoch,
        );
        if let Some(target) = target_id {
            claims = claims.with_target(target);
        }
        abo_links::signed_hosted_url(&self.base, &self.keyring, &claims)
    }

    /// Appends `hosted-<rel>` and `insite-<rel>` for a family.
    pub fn push(&self, links: &mut Vec<Link>, family: LinkFamily, target_id: Option<i64>) {
        let url = self.url(family.purpose(), target_id);
        let token = url.rsplit('/').next().unwrap_or_default().to_string();
        let rel = family.rel();
        links.push(Link::href(&format!("hosted-{rel}"), url.clone()));
        let insite = if family == LinkFamily::Home {
            Link::href("insite-home", url)
        } else {
            Link {
                rel: format!("insite-{rel}"),
                href: None,
                query: Some(token),
                mime: None,
            }
        };
        links.push(insite);
    }
}
