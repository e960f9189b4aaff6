//! Link-signing keyrings, per business, loaded from the store.

use crate::error::{Result, ServiceError};
use abo_links::{Keyring, LinkKey};
use abo_store::{AnyConnection, link_keys};

/// The business's keyring: its newest active key signs, older ones that are
/// not retired still verify (rotation without breaking links in flight).
pub async fn load_keyring(conn: &mut AnyConnection, business_id: i64) -> Result<Keyring> {
    let keys = link_keys::list(conn, business_id).await?;
    let mut live: Vec<_> = keys
        .into_iter()
        .filter(|k| k.retired_at_us.is_none())
        .collect();
    // Newest first: it signs.
    live.sort_by_key(|k| std::cmp::Reverse((k.created_at_us, k.id)));
    let mut parsed = live.iter().map(parse_key);
    let active = parsed.next().ok_or_else(|| {
        ServiceError::Internal(format!("business {business_id} has no link key"))
    })??;
    let mut ring = Keyring::new(&active);
    for key in parsed {
        ring = ring.with_retired(&key?).map_err(|e| {
            ServiceError::Internal(format!("link keys of business {business_id}: {e}"))
        })?;
    }
    Ok(ring)
}

fn parse_key(key: &link_keys::LinkKey) -> Result<LinkKey> {
    let corrupt = || ServiceError::Internal(format!("link key {} is malformed", key.id));
    let kid: u16 = key.kid.parse().map_err(|_| corrupt())?;
    let hex = key.secret_hex.as_bytes();
    if hex.len() != 64 {
        return Err(corrupt());
    }
    let mut secret = [0u8; 32];
    for (i, pair) in hex.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).map_err(|_| corrupt())?;
        secret[i] = u8::from_str_radix(text, 16).map_err(|_| corrupt())?;
    }
    Ok(LinkKey { kid, secret })
}

/// A customer link generated outside API Live (e-mails, back office, CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerLink {
    /// The signed hosted-page URL (what a `crylk` parameter decodes to).
    pub hosted: String,
    /// What to publish: `hosted`, or the merchant's integrated page with `?crylk=` when the
    /// segment has the integrated URL of the purpose's kind (spec §4).
    pub url: String,
}

/// Signs a link for `customer_id` to the hosted page of `purpose` (optionally about
/// `target_id`: offer, subscription or invoice), valid `ttl_secs` from `now_us` and revoked
/// with the customer's links epoch, and rewrites it through crylk when the customer's segment
/// sets the "URL of the integrated form" (workflow links) or "... portal" (portal links).
///
/// API Live's own `hosted-*` links do not come here: merchants frame those directly.
#[allow(clippy::too_many_arguments)]
pub async fn customer_link(
    conn: &mut AnyConnection,
    base_url: &str,
    business_id: i64,
    customer_id: i64,
    purpose: abo_links::Purpose,
    target_id: Option<i64>,
    ttl_secs: i64,
    now_us: i64,
) -> Result<CustomerLink> {
    let customer = abo_store::customers::get(conn, business_id, customer_id).await?;
    let segment = abo_store::segments::get(conn, business_id, customer.segment_id).await?;
    let keyring = load_keyring(conn, business_id).await?;
    let epoch = u32::try_from(customer.links_epoch).unwrap_or(u32::MAX);
    let mut claims = abo_links::LinkClaims::new(
        business_id,
        customer_id,
        purpose,
        now_us.div_euclid(1_000_000),
        ttl_secs,
        epoch,
    );
    if let Some(target) = target_id {
        claims = claims.with_target(target);
    }
    let hosted = abo_links::signed_hosted_url(base_url, &keyring, &claims);
    let url = abo_links::integrated_link(
        purpose,
        segment.url_integrated_form.as_deref(),
        segment.url_integrated_portal.as_deref(),
        &hosted,
    );
    Ok(CustomerLink { hosted, url })
}
