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
