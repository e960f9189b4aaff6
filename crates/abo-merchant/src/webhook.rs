//! Verifying Abo's webhook notifications.
//!
//! Abo signs each delivery twice (see `docs/integration.md`):
//!
//! * **`abo-signature: t=<unix seconds>,v1=<hex>`**, where `<hex>` is the lower-case hex
//!   HMAC-SHA256 of `"<t>.<raw body>"` keyed with the business's webhook secret. It covers
//!   the body and the time, so a captured notification can neither be altered nor replayed
//!   after the tolerance (300 s by default). During a secret rotation the header carries one
//!   `v1=` per active secret.
//! * **`x-proabono-key` / `x-proabono-signature`**, ProAbono's scheme: base64 of
//!   SHA-256(key ‖ secret). It does not cover the body, so on its own it proves little; it is
//!   accepted alone only when asked ([`WebhookVerifier::accept_proabono_signature_alone`]),
//!   for code migrating from ProAbono.
//!
//! Comparisons are constant-time. Verify the **raw** body bytes, before any JSON parsing.
//!
//! ```
//! use abo_merchant::webhook::{WebhookVerifier, abo_signature_header};
//!
//! let body = br#"{"Id":"evt_1","TypeTrigger":"CustomerAdded"}"#;
//! let now = 1_780_000_000;
//! // What Abo sends:
//! let mut headers = http::HeaderMap::new();
//! headers.insert("abo-signature", abo_signature_header(&[b"whsec_demo"], now, body).parse().unwrap());
//! headers.insert("abo-event-id", "evt_1".parse().unwrap());
//!
//! // What the merchant's endpoint checks:
//! let verifier = WebhookVerifier::new("whsec_demo");
//! let ok = verifier.verify_at(&headers, body, now + 5)?;
//! assert_eq!(ok.event_id.as_deref(), Some("evt_1"));
//! assert!(verifier.verify_at(&headers, b"{}", now).is_err());
//! # Ok::<(), abo_merchant::webhook::WebhookError>(())
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Abo's signature header.
pub const ABO_SIGNATURE_HEADER: &str = "abo-signature";
/// The event id header (same as the envelope's `Id`), for de-duplication.
pub const ABO_EVENT_ID_HEADER: &str = "abo-event-id";
/// ProAbono's per-delivery key header.
pub const PROABONO_KEY_HEADER: &str = "x-proabono-key";
/// ProAbono's signature header.
pub const PROABONO_SIGNATURE_HEADER: &str = "x-proabono-signature";
/// Default replay window: a notification older or newer than this is refused.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Why a notification was refused. Answer it with a 4xx (Abo retries non-2xx deliveries,
/// so a notification refused because of a misconfigured secret is not lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No `abo-signature` header (and the ProAbono signature is not accepted alone).
    #[error("no abo-signature header")]
    MissingSignature,
    /// A header that does not have the documented shape.
    #[error("malformed {0} header")]
    Malformed(&'static str),
    /// The timestamp is further from now than the tolerance: a replay, or a wrong clock.
    #[error("signature timestamp outside the tolerance ({age_secs} s from now)")]
    Stale {
        /// `now - t`, in seconds (negative: from the future).
        age_secs: i64,
    },
    /// No signature matches any configured secret: altered body, or wrong secret.
    #[error("signature does not match")]
    BadSignature,
    /// The ProAbono signature does not match (when it is the one checked).
    #[error("x-proabono-signature does not match")]
    BadProAbonoSignature,
}

/// Which signature a notification was accepted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    /// `abo-signature` (body and time covered).
    Abo,
    /// `x-proabono-signature` only (accepted alone on request).
    ProAbono,
}

/// A notification whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedWebhook {
    /// The signature it was accepted on.
    pub scheme: SignatureScheme,
    /// The `abo-event-id` header: store it and ignore a second delivery of the same id
    /// (deliveries are at least once).
    pub event_id: Option<String>,
    /// The signed timestamp, for `abo-signature`.
    pub timestamp: Option<i64>,
}

/// Checks webhook signatures against the business's webhook secret(s).
#[derive(Clone)]
pub struct WebhookVerifier {
    secrets: Vec<Vec<u8>>,
    tolerance_secs: i64,
    proabono_alone: bool,
}

impl std::fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secrets", &self.secrets.len())
            .field("tolerance_secs", &self.tolerance_secs)
            .field("proabono_alone", &self.proabono_alone)
            .finish()
    }
}

impl WebhookVerifier {
    /// A verifier for one secret, with the default tolerance.
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        WebhookVerifier {
            secrets: vec![secret.as_ref().to_vec()],
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
            proabono_alone: false,
        }
    }

    /// Also accepts this secret: during a rotation, configure the old and the new one until
    /// the old one is revoked in Abo.
    pub fn with_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secrets.push(secret.as_ref().to_vec());
        self
    }

    /// The replay window in seconds (default [`DEFAULT_TOLERANCE_SECS`]).
    pub fn tolerance_secs(mut self, secs: i64) -> Self {
        self.tolerance_secs = secs.max(0);
        self
    }

    /// Accepts a notification that carries only ProAbono's signature. That signature does not
    /// cover the body: use this only while migrating code written for ProAbono.
    pub fn accept_proabono_signature_alone(mut self) -> Self {
        self.proabono_alone = true;
        self
    }

    /// Verifies a notification now (system clock). See [`WebhookVerifier::verify_at`].
    pub fn verify(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<VerifiedWebhook, WebhookError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.verify_at(headers, body, now)
    }

    /// Verifies a notification at `now_unix`: the `abo-signature` must match the raw `body`
    /// and be within the tolerance. Without `abo-signature`, the ProAbono signature alone is
    /// accepted only if [`WebhookVerifier::accept_proabono_signature_alone`] was called.
    /// A ProAbono key without its signature (or the reverse) is malformed.
    pub fn verify_at(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now_unix: i64,
    ) -> Result<VerifiedWebhook, WebhookError> {
        let header = |name: &'static str| -> Result<Option<&str>, WebhookError> {
            match headers.get(name) {
                None => Ok(None),
                Some(v) => v
                    .to_str()
                    .map(Some)
                    .map_err(|_| WebhookError::Malformed(name)),
            }
        };
        let event_id = header(ABO_EVENT_ID_HEADER)?.map(str::to_owned);
        let proabono = match (
            header(PROABONO_KEY_HEADER)?,
            header(PROABONO_SIGNATURE_HEADER)?,
        ) {
            (Some(key), Some(sig)) => Some((key, sig)),
            (None, None) => None,
            (None, Some(_)) => return Err(WebhookError::Malformed(PROABONO_KEY_HEADER)),
            (Some(_), None) => return Err(WebhookError::Malformed(PROABONO_SIGNATURE_HEADER)),
        };
        match (header(ABO_SIGNATURE_HEADER)?, proabono) {
            // The body-covering signature decides. The ProAbono one is not checked next to
            // it: it adds nothing, and during a rotation Abo computes it with the new secret
            // only, which would refuse a merchant still configured with the old one.
            (Some(value), _) => {
                let t = self.verify_abo_signature(value, body, now_unix)?;
                Ok(VerifiedWebhook {
                    scheme: SignatureScheme::Abo,
                    event_id,
                    timestamp: Some(t),
                })
            }
            (None, Some((key, sig))) if self.proabono_alone => {
                self.verify_proabono_signature(key, sig)?;
                Ok(VerifiedWebhook {
                    scheme: SignatureScheme::ProAbono,
                    event_id,
                    timestamp: None,
                })
            }
            (None, _) => Err(WebhookError::MissingSignature),
        }
    }

    /// Checks an `abo-signature` header value against `body` at `now_unix`; returns its
    /// timestamp.
    pub fn verify_abo_signature(
        &self,
        header_value: &str,
        body: &[u8],
        now_unix: i64,
    ) -> Result<i64, WebhookError> {
        let malformed = WebhookError::Malformed(ABO_SIGNATURE_HEADER);
        let mut t = None;
        let mut signatures = Vec::new();
        for part in header_value.split(',') {
            let (k, v) = part.trim().split_once('=').ok_or(malformed)?;
            match k.trim() {
                "t" if t.is_none() => {
                    let v = v.trim();
                    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(malformed);
                    }
                    t = Some(v.parse::<i64>().map_err(|_| malformed)?);
                }
                "t" => return Err(malformed),
                "v1" => {
                    let sig = crate::hex::decode(v.trim()).ok_or(malformed)?;
                    if sig.len() != 32 {
                        return Err(malformed);
                    }
                    signatures.push(sig);
                }
                // Future schemes (v2=...) are ignored, as a verifier that knows only v1 must.
                _ => {}
            }
        }
        let t = t.ok_or(malformed)?;
        if signatures.is_empty() {
            return Err(malformed);
        }
        let age_secs = now_unix.saturating_sub(t);
        if age_secs.unsigned_abs() > self.tolerance_secs.unsigned_abs() {
            return Err(WebhookError::Stale { age_secs });
        }
        let t_text = t.to_string();
        for secret in &self.secrets {
            let mac = abo_mac(secret, &t_text, body);
            // `verify_slice` compares in constant time.
            if signatures
                .iter()
                .any(|sig| mac.clone().verify_slice(sig).is_ok())
            {
                return Ok(t);
            }
        }
        Err(WebhookError::BadSignature)
    }

    /// Checks ProAbono's `x-proabono-signature` for its `x-proabono-key`.
    pub fn verify_proabono_signature(
        &self,
        key: &str,
        signature: &str,
    ) -> Result<(), WebhookError> {
        let given = STANDARD
            .decode(signature.trim())
            .map_err(|_| WebhookError::Malformed(PROABONO_SIGNATURE_HEADER))?;
        if key.is_empty() {
            return Err(WebhookError::Malformed(PROABONO_KEY_HEADER));
        }
        let mut matched = false;
        for secret in &self.secrets {
            // Every secret is compared, whatever matched before: no early exit to time.
            matched |= constant_time_eq(&proabono_digest(key, secret), &given);
        }
        if matched {
            Ok(())
        } else {
            Err(WebhookError::BadProAbonoSignature)
        }
    }
}

fn abo_mac(secret: &[u8], t: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn proabono_digest(key: &str, secret: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update(secret);
    h.finalize().into()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `abo-signature` value Abo sends for `body` at `t` with these secrets (one `v1=` per
/// secret). For tests of a merchant's endpoint.
///
/// ```
/// let v = abo_merchant::webhook::abo_signature_header(&[b"s"], 1_700_000_000, b"{}");
/// assert!(v.starts_with("t=1700000000,v1="));
/// assert_eq!(v.len(), "t=1700000000,v1=".len() + 64);
/// ```
pub fn abo_signature_header(secrets: &[&[u8]], t: i64, body: &[u8]) -> String {
    let t_text = t.to_string();
    let mut out = format!("t={t_text}");
    for secret in secrets {
        out.push_str(",v1=");
        out.push_str(&crate::hex::encode(
            &abo_mac(secret, &t_text, body).finalize().into_bytes(),
        ));
    }
    out
}

/// The `x-proabono-signature` value for a delivery key and secret: base64(SHA-256(key ‖
/// secret)). For tests of a merchant's endpoint.
///
/// ```
/// let sig = abo_merchant::webhook::proabono_signature("k", b"s");
/// assert_eq!(sig.len(), 44);
/// ```
pub fn proabono_signature(key: &str, secret: &[u8]) -> String {
    STANDARD.encode(proabono_digest(key, secret))
}
