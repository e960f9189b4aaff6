//! Portal sessions carried in the URL (`/portal/s/{session}/...`), and the CSRF token bound
//! to them.
//!
//! # Why in the URL, not in a cookie
//! The portal is framed cross-site by the merchant's page. Chromium blocks third-party
//! cookies by default, and partitioned (CHIPS) cookies still depend on browser settings and
//! on `SameSite=None; Secure` (so HTTPS in development too). A signed token in the path
//! needs nothing from the browser: every link and form of a page carries it, so navigation
//! works framed or not, with or without JavaScript.
//!
//! # Token
//! Unpadded base64url of `payload ‖ tag`, where the payload is
//! `version(1) ‖ kid(varint) ‖ business ‖ customer ‖ epoch ‖ nonce(8 bytes) ‖ expires_at`
//! (integers as LEB128 varints, signed ones zigzagged) and the tag is the first 16 bytes of
//! HMAC-SHA256(session key, context ‖ payload).
//!
//! * **Keys**: derived from the business's link keys
//!   (`HMAC(link secret, "abo-portal/session-key/v1")`), so every node of a multi-node
//!   deployment verifies sessions without sharing anything new, rotation of link keys rotates
//!   session keys, and a session tag can never be mistaken for a link tag.
//! * **Scope**: business, customer and the customer's links epoch: revoking links
//!   (`POST /v1/Customer/LinksRevokation`), invalidation, suspension and anonymisation end
//!   open sessions too.
//! * **Lifetime**: one hour, sliding: every page is rendered with a fresh token (same nonce,
//!   new expiry), so a customer who keeps clicking stays in. Expiry uses the node's clock, not
//!   a business's test clock (a test clock jumps months ahead).
//! * **Nonce**: chosen at landing; the CSRF token is a MAC of it, so it is stable for the
//!   whole session while the session token itself changes on every page.
//!
//! Session tokens are bearer tokens: short-lived, never containing a secret, and pages send
//! `Referrer-Policy: no-referrer` so they do not leak to other sites through `Referer`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::AppState;

type HmacSha256 = Hmac<Sha256>;

/// Sliding lifetime of a portal session.
pub const SESSION_TTL_SECS: i64 = 3600;
const VERSION: u8 = 1;
const TAG_LEN: usize = 16;
const CONTEXT: &[u8] = b"abo-portal/session/v1\0";
const CSRF_CONTEXT: &[u8] = b"abo-portal/csrf/v1\0";
const KEY_DERIVATION: &[u8] = b"abo-portal/session-key/v1";
/// Longest token accepted: version + kid(3) + 3 × i64(10) + epoch(5) + nonce(8) + i64(10) + tag.
const MAX_TOKEN_CHARS: usize = 128;

/// What a session token asserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionClaims {
    pub business_id: i64,
    pub customer_id: i64,
    pub epoch: u32,
    pub nonce: [u8; 8],
    /// Unix seconds, exclusive.
    pub expires_at: i64,
}

/// Why a session token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    /// Not one of ours, or altered.
    Invalid,
    /// Older than its sliding hour.
    Expired,
}

/// One business's session keys: the derived key of each live link key.
struct BusinessKeys {
    active: u16,
    keys: Vec<(u16, HmacSha256)>,
}

impl BusinessKeys {
    fn find(&self, kid: u16) -> Option<&HmacSha256> {
        self.keys.iter().find(|(k, _)| *k == kid).map(|(_, m)| m)
    }
}

/// Session keys per business, derived once per node.
#[derive(Default)]
pub struct SessionKeys {
    by_business: RwLock<HashMap<i64, Arc<BusinessKeys>>>,
}

impl SessionKeys {
    async fn get(
        &self,
        state: &AppState,
        business_id: i64,
        want_kid: Option<u16>,
    ) -> Option<Arc<BusinessKeys>> {
        let cached = self
            .by_business
            .read()
            .ok()
            .and_then(|m| m.get(&business_id).cloned());
        if let Some(keys) = cached
            && want_kid.is_none_or(|k| keys.find(k).is_some())
        {
            return Some(keys);
        }
        // Unknown business, or a kid we have not seen (rotation on another node): reload.
        let mut conn = state.store.acquire().await.ok()?;
        let mut rows = abo_store::link_keys::list(&mut conn, business_id)
            .await
            .ok()?;
        rows.retain(|k| k.retired_at_us.is_none());
        rows.sort_by_key(|k| std::cmp::Reverse((k.created_at_us, k.id)));
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            let (Ok(kid), Some(secret)) = (row.kid.parse::<u16>(), parse_hex32(&row.secret_hex))
            else {
                continue;
            };
            let mut derive = <HmacSha256 as KeyInit>::new_from_slice(&secret).ok()?;
            derive.update(KEY_DERIVATION);
            let derived = derive.finalize().into_bytes();
            let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&derived).ok()?;
            mac.update(CONTEXT);
            keys.push((kid, mac));
        }
        let active = keys.first()?.0;
        let keys = Arc::new(BusinessKeys { active, keys });
        if let Ok(mut map) = self.by_business.write() {
            map.insert(business_id, keys.clone());
        }
        Some(keys)
    }

    /// Signs a session token with the business's active key.
    pub async fn sign(&self, state: &AppState, claims: &SessionClaims) -> Option<String> {
        let keys = self.get(state, claims.business_id, None).await?;
        Some(sign_with(&keys, claims))
    }

    /// Verifies a token at `now` (unix seconds).
    pub async fn verify(
        &self,
        state: &AppState,
        token: &str,
        now: i64,
    ) -> Result<SessionClaims, SessionError> {
        let (kid, claims, payload_len, bytes) = decode(token).ok_or(SessionError::Invalid)?;
        let keys = self
            .get(state, claims.business_id, Some(kid))
            .await
            .ok_or(SessionError::Invalid)?;
        let mut mac = keys.find(kid).ok_or(SessionError::Invalid)?.clone();
        mac.update(&bytes[..payload_len]);
        mac.verify_truncated_left(&bytes[payload_len..])
            .map_err(|_| SessionError::Invalid)?;
        if now >= claims.expires_at {
            return Err(SessionError::Expired);
        }
        Ok(claims)
    }

    /// The CSRF token of a session: a MAC of its nonce, stable for the session's life.
    pub async fn csrf(&self, state: &AppState, claims: &SessionClaims) -> Option<String> {
        let keys = self.get(state, claims.business_id, None).await?;
        Some(csrf_with(&keys, claims))
    }

    /// Whether `given` is the session's CSRF token (constant time).
    pub async fn check_csrf(&self, state: &AppState, claims: &SessionClaims, given: &str) -> bool {
        let Some(keys) = self.get(state, claims.business_id, None).await else {
            return false;
        };
        let Ok(given) = URL_SAFE_NO_PAD.decode(given.as_bytes()) else {
            return false;
        };
        // Any of the live keys: a rotation during the session must not break its forms.
        keys.keys.iter().any(|(_, mac)| {
            let mut mac = mac.clone();
            mac.update(CSRF_CONTEXT);
            mac.update(&csrf_message(claims));
            mac.verify_truncated_left(&given).is_ok()
        })
    }
}

fn csrf_message(c: &SessionClaims) -> Vec<u8> {
    let mut m = Vec::with_capacity(32);
    m.extend_from_slice(&c.business_id.to_le_bytes());
    m.extend_from_slice(&c.customer_id.to_le_bytes());
    m.extend_from_slice(&c.nonce);
    m
}

fn csrf_with(keys: &BusinessKeys, claims: &SessionClaims) -> String {
    let mut mac = keys.find(keys.active).expect("active key present").clone();
    mac.update(CSRF_CONTEXT);
    mac.update(&csrf_message(claims));
    let tag = mac.finalize().into_bytes();
    URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN])
}

fn sign_with(keys: &BusinessKeys, c: &SessionClaims) -> String {
    let mut buf = Vec::with_capacity(64);
    buf.push(VERSION);
    varint(&mut buf, u64::from(keys.active));
    varint(&mut buf, zigzag(c.business_id));
    varint(&mut buf, zigzag(c.customer_id));
    varint(&mut buf, u64::from(c.epoch));
    buf.extend_from_slice(&c.nonce);
    varint(&mut buf, zigzag(c.expires_at));
    let mut mac = keys.find(keys.active).expect("active key present").clone();
    mac.update(&buf);
    let tag = mac.finalize().into_bytes();
    buf.extend_from_slice(&tag[..TAG_LEN]);
    URL_SAFE_NO_PAD.encode(&buf)
}

/// Parses without checking the tag: (kid, claims, payload length, bytes).
fn decode(token: &str) -> Option<(u16, SessionClaims, usize, Vec<u8>)> {
    if token.len() > MAX_TOKEN_CHARS
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
    if bytes.len() < TAG_LEN + 14 {
        return None;
    }
    let payload_len = bytes.len() - TAG_LEN;
    let mut r = Reader {
        bytes: &bytes[..payload_len],
        pos: 0,
    };
    if r.byte()? != VERSION {
        return None;
    }
    let kid = u16::try_from(r.varint()?).ok()?;
    let business_id = unzigzag(r.varint()?);
    let customer_id = unzigzag(r.varint()?);
    let epoch = u32::try_from(r.varint()?).ok()?;
    let mut nonce = [0u8; 8];
    for b in &mut nonce {
        *b = r.byte()?;
    }
    let expires_at = unzigzag(r.varint()?);
    if r.pos != r.bytes.len() {
        return None;
    }
    let claims = SessionClaims {
        business_id,
        customer_id,
        epoch,
        nonce,
        expires_at,
    };
    Some((kid, claims, payload_len, bytes))
}

fn parse_hex32(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return None;
                }
                return Some(v);
            }
        }
        None
    }
}

/// A fresh random nonce for a new session.
pub fn new_nonce() -> [u8; 8] {
    rand::random()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: u8, kid: u16) -> BusinessKeys {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&[secret; 32]).unwrap();
        mac.update(CONTEXT);
        BusinessKeys {
            active: kid,
            keys: vec![(kid, mac)],
        }
    }

    fn claims() -> SessionClaims {
        SessionClaims {
            business_id: 7,
            customer_id: 4242,
            epoch: 3,
            nonce: [1, 2, 3, 4, 5, 6, 7, 8],
            expires_at: 1_780_000_000,
        }
    }

    #[test]
    fn round_trip_and_tamper() {
        let k = keys(9, 1);
        let t = sign_with(&k, &claims());
        let (kid, c, n, bytes) = decode(&t).unwrap();
        assert_eq!((kid, c), (1, claims()));
        let mut mac = k.find(kid).unwrap().clone();
        mac.update(&bytes[..n]);
        assert!(mac.verify_truncated_left(&bytes[n..]).is_ok());
        // Any change to the payload breaks the tag.
        let mut raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
        raw[3] ^= 1;
        let forged = URL_SAFE_NO_PAD.encode(&raw);
        if let Some((kid, _, n, bytes)) = decode(&forged) {
            let mut mac = keys(9, kid).keys[0].1.clone();
            mac.update(&bytes[..n]);
            assert!(mac.verify_truncated_left(&bytes[n..]).is_err());
        }
        // A different key does not verify.
        let other = keys(10, 1);
        let mut mac = other.find(1).unwrap().clone();
        mac.update(&bytes[..n]);
        assert!(mac.verify_truncated_left(&bytes[n..]).is_err());
    }

    #[test]
    fn csrf_is_stable_across_refreshes_and_bound_to_the_nonce() {
        let k = keys(9, 1);
        let a = csrf_with(&k, &claims());
        let later = SessionClaims {
            expires_at: claims().expires_at + 600,
            ..claims()
        };
        assert_eq!(a, csrf_with(&k, &later));
        let other = SessionClaims {
            nonce: [9; 8],
            ..claims()
        };
        assert_ne!(a, csrf_with(&k, &other));
    }
}
