//! Choosing what the merchant's 'Subscription' page frames: the hosted URL carried by a
//! `crylk` query parameter, or the customer's `hosted-home` (spec §4, part 2).
//!
//! The byte-level rules live in [`abo_links::resolve`] (shared with the server and tested
//! there against 144 attacks); this module wraps them in the shape a merchant's page wants:
//! a configuration built once at start-up ([`PortalLinks`]), one call per request that
//! always yields an iframe `src` ([`PortalLink`]), and the reason of a fallback for the log
//! ([`FallbackReason`]). When the business's link verification key is configured, the
//! token is also verified offline: signature, expiry and, optionally, that it was issued
//! for the customer who is signed in.
//!
//! ```
//! use abo_merchant::{PortalLinks, PortalLink, FallbackReason, RejectReason};
//!
//! let links = PortalLinks::new("abo.example");
//! let home = "https://abo.example/portal-auth/HOME-FROM-THE-API";
//!
//! // An e-mail link landed on https://shop.example/subscription?crylk=...
//! let crylk = "https%3A%2F%2Fabo.example%2Fpay-invoice%2FAQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2";
//! let link = links.resolve_portal_link(Some(crylk), home);
//! assert!(link.is_from_crylk());
//! assert_eq!(link.src(), "https://abo.example/pay-invoice/AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2");
//!
//! // A naive "ends with" check would have accepted this one.
//! let evil = "https://evilabo.example/pay-invoice/AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2";
//! let link = links.resolve_portal_link(Some(evil), home);
//! assert_eq!(link.src(), home);
//! assert_eq!(link.fallback_reason(), Some(&FallbackReason::Rejected(RejectReason::Host)));
//! ```

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use abo_links::{
    Keyring, LinkClaims, LinkError, LinkKey, LinkPolicy, Purpose, RejectReason,
    validate_crylk_value,
};

/// The business's link verification key: the key id and 32-byte secret Abo signs hosted
/// links with (`kid:hex`, 64 hex digits, e.g. `1:9f86d0…`).
///
/// Link tokens are HMAC-signed, so this key is a secret shared between Abo and the
/// merchant's server: keep it with the API key, never in a browser. Several keys may be
/// configured during a rotation (see [`PortalLinks::verification_key`]).
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationKey(LinkKey);

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.0.kid)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A configuration value the SDK could not use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The verification key is not `kid:hex` with a `u16` key id and 64 hex digits.
    #[error("a verification key is written kid:hex (a key id and 64 hexadecimal digits)")]
    VerificationKey,
    /// The Abo base URL is not an absolute http(s) URL without path; the detail says why.
    #[error("invalid Abo base URL: {0}")]
    BaseUrl(LinkError),
    /// A verification key id given twice.
    #[error("verification key id {0} given twice")]
    DuplicateKeyId(u16),
}

impl VerificationKey {
    /// A key from its id and secret.
    pub fn new(kid: u16, secret: [u8; 32]) -> Self {
        VerificationKey(LinkKey { kid, secret })
    }

    /// Parses `kid:hex` (64 hexadecimal digits, either case).
    ///
    /// ```
    /// use abo_merchant::VerificationKey;
    /// let key = VerificationKey::parse(&format!("7:{}", "ab".repeat(32)))?;
    /// assert_eq!(key.kid(), 7);
    /// assert!(VerificationKey::parse("7:abcd").is_err());
    /// # Ok::<(), abo_merchant::ConfigError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let (kid, hex) = text
            .trim()
            .split_once(':')
            .ok_or(ConfigError::VerificationKey)?;
        let kid: u16 = kid.parse().map_err(|_| ConfigError::VerificationKey)?;
        let bytes = crate::hex::decode(hex).ok_or(ConfigError::VerificationKey)?;
        let secret: [u8; 32] = bytes.try_into().map_err(|_| ConfigError::VerificationKey)?;
        Ok(VerificationKey::new(kid, secret))
    }

    /// The key id.
    pub fn kid(&self) -> u16 {
        self.0.kid
    }
}

/// What the merchant accepts as a hosted Abo URL, and how it checks the token.
///
/// Build it once at start-up; it is cheap to clone and `Send + Sync`.
#[derive(Debug, Clone)]
pub struct PortalLinks {
    policy: LinkPolicy,
    keyring: Option<Keyring>,
}

impl PortalLinks {
    /// Production configuration for the Abo host serving hosted pages (e.g.
    /// `billing.example.com`): `https` only, no explicit port, no subdomain, no offline
    /// verification.
    pub fn new(abo_host: &str) -> Self {
        PortalLinks {
            policy: LinkPolicy::new(abo_host),
            keyring: None,
        }
    }

    /// The configuration that accepts exactly the hosted URLs Abo builds on `base_url`
    /// (its `public_url`): its host and explicit port, and for `http://` (loopback only, for
    /// development) or an IP address, that host as an allowed http host.
    ///
    /// ```
    /// use abo_merchant::PortalLinks;
    /// let links = PortalLinks::for_base_url("http://127.0.0.1:8080")?;
    /// let url = "http://127.0.0.1:8080/portal-auth/AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2";
    /// assert!(links.resolve_portal_link(Some(url), "fallback").is_from_crylk());
    /// assert!(PortalLinks::for_base_url("http://abo.example").is_err()); // clear text on a real host
    /// # Ok::<(), abo_merchant::ConfigError>(())
    /// ```
    pub fn for_base_url(base_url: &str) -> Result<Self, ConfigError> {
        Ok(PortalLinks {
            policy: LinkPolicy::for_base_url(base_url).map_err(ConfigError::BaseUrl)?,
            keyring: None,
        })
    }

    /// Also accepts subdomains of the Abo host, at a dot boundary (`eur.abo.example`, never
    /// `evilabo.example`).
    pub fn allow_subdomains(mut self) -> Self {
        self.policy.allow_subdomains = true;
        self
    }

    /// Accepts this explicit port (by default only URLs without a port are accepted).
    pub fn allow_port(mut self, port: u16) -> Self {
        if !self.policy.allowed_ports.contains(&port) {
            self.policy.allowed_ports.push(port);
        }
        self
    }

    /// Development only: accepts this exact host (`localhost`, `127.0.0.1`, `[::1]`) over
    /// `http` as well as `https`, IP literals included.
    pub fn allow_http_host(mut self, host: &str) -> Self {
        self.policy.allow_http_hosts.push(host.to_ascii_lowercase());
        self
    }

    /// Verifies tokens offline with this key: a link whose signature does not match, whose
    /// key is unknown or that has expired falls back to `hosted-home`. Call it once per key
    /// during a rotation (the key that signs new links first).
    ///
    /// Revocation (the customer's links epoch) cannot be checked offline; Abo checks it when
    /// the framed page opens.
    pub fn verification_key(mut self, key: VerificationKey) -> Result<Self, ConfigError> {
        self.keyring = Some(match self.keyring.take() {
            None => Keyring::new(&key.0),
            Some(ring) => ring.with_retired(&key.0).map_err(|e| match e {
                LinkError::DuplicateKeyId(kid) => ConfigError::DuplicateKeyId(kid),
                _ => ConfigError::VerificationKey,
            })?,
        });
        Ok(self)
    }

    /// The underlying host policy.
    pub fn policy(&self) -> &LinkPolicy {
        &self.policy
    }

    /// Whether tokens are verified offline.
    pub fn verifies_tokens(&self) -> bool {
        self.keyring.is_some()
    }

    /// The iframe `src` for a request: the hosted URL in `crylk` if it passes every rule,
    /// else `fallback_hosted_home` (the customer's `hosted-home` link from the API) with the
    /// reason. `crylk` may be the raw query value or the value the framework decoded: it is
    /// decoded exactly once either way. Expiry is checked against the system clock.
    pub fn resolve_portal_link(
        &self,
        crylk: Option<&str>,
        fallback_hosted_home: &str,
    ) -> PortalLink {
        self.resolve_checked(crylk, fallback_hosted_home, &Expect::now())
    }

    /// [`PortalLinks::resolve_portal_link`] with explicit expectations: the instant to check
    /// expiry at and, when tokens are verified, the Abo customer id (`Customer.Id` from the
    /// API) the link must have been issued for. The customer check stops a genuine link of
    /// another account (say, one an attacker mailed to a victim so that she enters her card
    /// in his account) from being framed for the signed-in user.
    ///
    /// ```
    /// use abo_merchant::{Expect, FallbackReason, PortalLinks, VerificationKey};
    /// use abo_links::{Keyring, LinkClaims, LinkKey, Purpose, signed_hosted_url};
    ///
    /// let secret = [7u8; 32];
    /// let ring = Keyring::new(&LinkKey { kid: 1, secret });
    /// let now = 1_780_000_000;
    /// let url = signed_hosted_url("https://abo.example", &ring,
    ///     &LinkClaims::new(5, 233700, Purpose::PaymentMethod, now, 3600, 0));
    ///
    /// let links = PortalLinks::new("abo.example").verification_key(VerificationKey::new(1, secret))?;
    /// let ok = links.resolve_checked(Some(&url), "home", &Expect::at(now).customer(233700));
    /// assert!(ok.is_from_crylk());
    /// let other = links.resolve_checked(Some(&url), "home", &Expect::at(now).customer(1));
    /// assert_eq!(other.fallback_reason(), Some(&FallbackReason::OtherCustomer));
    /// let late = links.resolve_checked(Some(&url), "home", &Expect::at(now + 3600));
    /// assert_eq!(late.fallback_reason(), Some(&FallbackReason::Unverified(abo_links::LinkError::Expired)));
    /// # Ok::<(), abo_merchant::ConfigError>(())
    /// ```
    pub fn resolve_checked(
        &self,
        crylk: Option<&str>,
        fallback_hosted_home: &str,
        expect: &Expect,
    ) -> PortalLink {
        let fallback = |reason| PortalLink::Fallback {
            src: fallback_hosted_home.to_owned(),
            reason,
        };
        let Some(raw) = crylk else {
            return fallback(FallbackReason::NoCrylk);
        };
        let (src, purpose) = match validate_crylk_value(raw, &self.policy) {
            Ok(ok) => ok,
            Err(reason) => return fallback(FallbackReason::Rejected(reason)),
        };
        let claims = match &self.keyring {
            None => None,
            Some(ring) => {
                // The validated URL ends with the token (no query, no fragment).
                let token = src.rsplit('/').next().unwrap_or_default();
                let claims = match ring.verify(token, expect.now_unix) {
                    Ok(c) => c,
                    Err(e) => return fallback(FallbackReason::Unverified(e)),
                };
                if claims.purpose != purpose {
                    // Signed for another page than the path says: not made by Abo.
                    return fallback(FallbackReason::Unverified(LinkError::Malformed));
                }
                if expect
                    .customer_id
                    .is_some_and(|id| id != claims.customer_id)
                {
                    return fallback(FallbackReason::OtherCustomer);
                }
                Some(claims)
            }
        };
        PortalLink::Crylk {
            src,
            purpose,
            claims,
        }
    }
}

/// What [`PortalLinks::resolve_checked`] expects of a verified token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    /// Unix seconds at which expiry is checked.
    pub now_unix: i64,
    /// The Abo customer id the link must belong to (only checked when tokens are verified).
    pub customer_id: Option<i64>,
}

impl Expect {
    /// Now, by the system clock (the only place the SDK reads it), any customer.
    pub fn now() -> Self {
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Expect::at(now_unix)
    }

    /// At `now_unix`, any customer.
    pub fn at(now_unix: i64) -> Self {
        Expect {
            now_unix,
            customer_id: None,
        }
    }

    /// The link must have been issued for this Abo customer id.
    pub fn customer(mut self, customer_id: i64) -> Self {
        self.customer_id = Some(customer_id);
        self
    }
}

/// The iframe `src` chosen for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortalLink {
    /// The hosted URL carried by `crylk`, rebuilt from its validated parts.
    Crylk {
        /// The URL to frame.
        src: String,
        /// The hosted page it opens.
        purpose: Purpose,
        /// The token's claims, when it was verified offline.
        claims: Option<LinkClaims>,
    },
    /// The customer's `hosted-home`.
    Fallback {
        /// The fallback URL, as given.
        src: String,
        /// Why `crylk` was not used.
        reason: FallbackReason,
    },
}

impl PortalLink {
    /// The iframe `src`.
    pub fn src(&self) -> &str {
        match self {
            PortalLink::Crylk { src, .. } | PortalLink::Fallback { src, .. } => src,
        }
    }

    /// Whether the `src` comes from `crylk`.
    pub fn is_from_crylk(&self) -> bool {
        matches!(self, PortalLink::Crylk { .. })
    }

    /// Why `crylk` was not used, if it was not.
    pub fn fallback_reason(&self) -> Option<&FallbackReason> {
        match self {
            PortalLink::Crylk { .. } => None,
            PortalLink::Fallback { reason, .. } => Some(reason),
        }
    }

    /// The hosted page opened by a `crylk` link.
    pub fn purpose(&self) -> Option<Purpose> {
        match self {
            PortalLink::Crylk { purpose, .. } => Some(*purpose),
            PortalLink::Fallback { .. } => None,
        }
    }
}

/// Why the page frames `hosted-home` instead of the `crylk` link. Its `Display` is meant for
/// the merchant's log; never show it to the customer (it helps an attacker tune a link).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FallbackReason {
    /// The request had no `crylk` parameter: the normal case.
    #[error("no crylk parameter")]
    NoCrylk,
    /// The value is not a hosted Abo URL of the configured host.
    #[error("crylk rejected: {0}")]
    Rejected(RejectReason),
    /// The token failed offline verification (bad signature, unknown key, expired).
    #[error("crylk token not verified: {0}")]
    Unverified(LinkError),
    /// A genuine link, issued for another customer than the signed-in one.
    #[error("crylk link belongs to another customer")]
    OtherCustomer,
}
