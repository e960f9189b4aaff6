//! The signature headers of a delivery (docs/integration.md, "Webhooks"):
//!
//! - ProAbono's: `x-proabono-key` (32 random url-safe characters, new for
//!   each attempt) and `x-proabono-signature` = base64(SHA-256(key ‖ secret)).
//!   It does not cover the body: kept for existing integrations.
//! - Abo's: `abo-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
//!   "<t>.<body>")>`, one `v1=` per signing secret (two during a rotation).
//!   It covers the timestamp and the exact body bytes.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const HEADER_KEY: &str = "x-proabono-key";
pub const HEADER_SIGNATURE: &str = "x-proabono-signature";
pub const HEADER_ABO_SIGNATURE: &str = "abo-signature";
pub const HEADER_EVENT_ID: &str = "abo-event-id";

/// 24 random bytes as 32 url-safe characters: a delivery key, a secret or a code.
pub fn random_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new business webhook secret (`whsec_` + 32 url-safe characters).
pub fn new_secret() -> String {
    format!("whsec_{}", random_token())
}

/// ProAbono's signature: base64(SHA-256(key bytes ‖ secret bytes)).
pub fn proabono_signature(key: &str, secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(key.as_bytes());
    hasher.update(secret.as_bytes());
    STANDARD.encode(hasher.finalize())
}

/// One `v1` value: lowercase hex HMAC-SHA256(secret, "<t>.<body>").
pub fn abo_v1(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex(&mac.finalize().into_bytes())
}

/// The `abo-signature` header value for `secrets` (current first).
pub fn abo_signature(secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
    let mut value = format!("t={timestamp}");
    for secret in secrets {
        value.push_str(",v1=");
        value.push_str(&abo_v1(secret, timestamp, body));
    }
    value
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Every header of one attempt, secrets applied (key, ProAbono signature,
/// Abo signature, event id).
pub fn headers(
    event_id: &str,
    secrets: &[&str],
    timestamp: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let key = random_token();
    let current = secrets.first().copied().unwrap_or_default();
    vec![
        (HEADER_SIGNATURE, proabono_signature(&key, current)),
        (HEADER_KEY, key),
        (
            HEADER_ABO_SIGNATURE,
            abo_signature(secrets, timestamp, body),
        ),
        (HEADER_EVENT_ID, event_id.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_url_safe_chars() {
        let t = random_token();
        assert_eq!(t.len(), 32);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(t, random_token());
    }

    #[test]
    fn abo_signature_lists_every_secret() {
        let v = abo_signature(&["a", "b"], 10, b"{}");
        let parts: Vec<&str> = v.split(',').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "t=10");
        assert_eq!(parts[1], format!("v1={}", abo_v1("a", 10, b"{}")));
        assert_eq!(parts[2].len(), 3 + 64);
    }
}
