//! Signed, expiring, scoped, revocable link tokens.
//!
//! # Format (version 1)
//!
//! A token is the unpadded base64url encoding of `payload || tag`:
//!
//! | field | encoding |
//! |---|---|
//! | version | one byte, `1` |
//! | key id | LEB128 varint (`u16`) |
//! | flags | one byte: bits 0–4 = [`Purpose::code`], bit 5 = `target_id` present, bits 6–7 zero |
//! | business id | zigzag varint (`i64`) |
//! | customer id | zigzag varint (`i64`) |
//! | target id | zigzag varint (`i64`), only when the flag is set |
//! | issued at | zigzag varint of `issued_at − 2026-01-01T00:00:00Z` (wrapping) |
//! | lifetime | zigzag varint of `expires_at − issued_at` (wrapping) |
//! | epoch | LEB128 varint (`u32`) |
//! | tag | first 16 bytes of HMAC-SHA256(key, context ‖ payload) |
//!
//! Why this shape:
//! * **Short.** Varints relative to a recent time origin keep a typical token to 33–37
//!   bytes, i.e. 44–50 characters, small enough for URLs, e-mails and `Links` arrays.
//! * **Signed, not encrypted.** Ids are not secrets (the merchant sees them in the API); what
//!   matters is that nobody can forge or alter a link. 128-bit truncated HMAC tags are the
//!   usual choice for this (as in many AEADs) and leave no practical forgery chance.
//! * **Canonical.** Overlong varints, unknown flag bits, trailing bytes and non-canonical
//!   base64 (stray trailing bits) are rejected, so one set of claims has exactly one token.
//! * **Cheap.** Each key's HMAC state is precomputed once (inner and outer pads hashed,
//!   context absorbed); signing clones that state, hashes ≤ 60 bytes into a stack buffer and
//!   makes a single allocation for the returned `String` (none with [`Keyring::sign_into`]).
//! * **Rotatable.** The key id selects the key; a [`Keyring`] signs with its active key and
//!   still verifies older ones until they are dropped.
//! * **Revocable.** The `epoch` claim is compared with the customer's current links epoch
//!   ([`LinkClaims::check_scope`]); bumping the epoch revokes every earlier link at once.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::Purpose;
use crate::error::LinkError;

/// Lifetime of links sent by e-mail (invoices, dunning, notices): 7 days.
///
/// Customers open notification e-mails days after they arrive (a payment failure notice is
/// often acted upon at the end of the week) and a dead link in an e-mail costs a support
/// ticket. Seven days covers that while still bounding the life of a forwarded or leaked
/// e-mail; the customer's links epoch can revoke them earlier.
pub const DEFAULT_LINK_TTL_SECS: i64 = 7 * 24 * 3600;

/// Lifetime of links returned by the API (`Links` of Customer, Subscription, Invoice): 4 hours.
///
/// The merchant's server fetches them to put into an iframe *now*; ProAbono documents that
/// they expire and must never be persisted. Clients cache them briefly (the PHP library keeps
/// the customer in the session for 20 minutes), and a customer may leave a tab open; four
/// hours covers both while limiting the damage of a link leaked into logs or a `Referer`.
pub const API_LINK_TTL_SECS: i64 = 4 * 3600;

/// Current token format version (first byte of the payload).
pub const TOKEN_VERSION: u8 = 1;

/// Length of the truncated HMAC-SHA256 tag, in bytes.
pub const MAC_LEN: usize = 16;

/// Shortest possible token, in characters (every varint one byte, no target).
pub const MIN_TOKEN_LEN: usize = 32;

/// Longest possible token, in characters (every varint at its maximum width, with target).
pub const MAX_TOKEN_LEN: usize = 102;

/// Time origin of the `issued_at` field (2026-01-01T00:00:00Z); keeps the varint to 4 bytes
/// for the next few years.
const TIME_ORIGIN: i64 = 1_767_225_600;

/// Domain separation: a link key must never produce a tag that is valid for another use of
/// the same secret (webhook signatures, portal hashes). Absorbed once into the precomputed
/// state, so it costs nothing per token.
const MAC_CONTEXT: &[u8] = b"abo-links/token/v1\0";

/// version + kid (u16 varint ≤ 3) + flags + 5 × i64 varint (≤ 10 each) + epoch (≤ 5).
const MAX_PAYLOAD: usize = 1 + 3 + 1 + 10 * 5 + 5;
/// Shortest payload: every field one byte, no target.
const MIN_PAYLOAD: usize = 8;
/// Room for base64 decoding the longest token (the engine wants its own size estimate).
const DECODE_BUF: usize = MAX_TOKEN_LEN.div_ceil(4) * 3;

const FLAG_PURPOSE_MASK: u8 = 0b0001_1111;
const FLAG_HAS_TARGET: u8 = 0b0010_0000;

type HmacSha256 = Hmac<Sha256>;

/// What a link token asserts. All times are unix seconds (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LinkClaims {
    /// The business whose key signed the link; hosted pages must serve only this business.
    pub business_id: i64,
    /// The customer the link acts for.
    pub customer_id: i64,
    /// The hosted page the link opens.
    pub purpose: Purpose,
    /// Subscription, invoice or offer id, per [`Purpose::target_kind`].
    pub target_id: Option<i64>,
    /// When the link was issued.
    pub issued_at: i64,
    /// First second at which the link is no longer valid (exclusive bound).
    pub expires_at: i64,
    /// The customer's links epoch when the link was issued: bumping it revokes every link
    /// issued before.
    pub epoch: u32,
}

impl LinkClaims {
    /// Claims for a link issued at `now` that lives `ttl_secs` seconds, without target.
    ///
    /// ```
    /// use abo_links::{LinkClaims, Purpose, API_LINK_TTL_SECS};
    /// let c = LinkClaims::new(7, 233700, Purpose::Home, 1_780_000_000, API_LINK_TTL_SECS, 0);
    /// assert_eq!(c.expires_at - c.issued_at, API_LINK_TTL_SECS);
    /// let c = c.with_target(3736352);
    /// assert_eq!(c.target_id, Some(3736352));
    /// ```
    pub fn new(
        business_id: i64,
        customer_id: i64,
        purpose: Purpose,
        now: i64,
        ttl_secs: i64,
        epoch: u32,
    ) -> Self {
        LinkClaims {
            business_id,
            customer_id,
            purpose,
            target_id: None,
            issued_at: now,
            expires_at: now.saturating_add(ttl_secs),
            epoch,
        }
    }

    /// The same claims with `target_id` set.
    pub fn with_target(mut self, target_id: i64) -> Self {
        self.target_id = Some(target_id);
        self
    }

    /// Checks what a signature cannot: that the link belongs to the business serving the
    /// request, and that it was issued in the customer's current links epoch.
    ///
    /// Call it after [`verify`] with the customer loaded from `customer_id` within
    /// `business_id`. The epoch must be *equal*: an older epoch means revoked; a newer one
    /// cannot come from us unless the epoch went backwards (a restored backup), and refusing
    /// is the safe answer then too.
    ///
    /// ```
    /// use abo_links::{LinkClaims, LinkError, Purpose};
    /// let c = LinkClaims::new(7, 42, Purpose::Home, 0, 60, 3);
    /// assert_eq!(c.check_scope(7, 3), Ok(()));
    /// assert_eq!(c.check_scope(7, 4), Err(LinkError::Revoked));
    /// assert_eq!(c.check_scope(8, 3), Err(LinkError::WrongBusiness));
    /// ```
    pub fn check_scope(&self, business_id: i64, customer_epoch: u32) -> Result<(), LinkError> {
        if self.business_id != business_id {
            return Err(LinkError::WrongBusiness);
        }
        if self.epoch != customer_epoch {
            return Err(LinkError::Revoked);
        }
        Ok(())
    }
}

/// One link-signing key of a business.
///
/// The secret must come from a CSPRNG (32 random bytes). `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkKey {
    /// Key id written in every token, so verification finds the key after a rotation.
    pub kid: u16,
    /// The HMAC-SHA256 secret.
    pub secret: [u8; 32],
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkKey")
            .field("kid", &self.kid)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A key with its HMAC state precomputed (pads hashed, context absorbed).
#[derive(Clone)]
struct PreparedKey {
    kid: u16,
    mac: HmacSha256,
}

impl PreparedKey {
    fn new(key: &LinkKey) -> Self {
        // HMAC accepts keys of any length; 32 bytes cannot fail.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&key.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(MAC_CONTEXT);
        PreparedKey { kid: key.kid, mac }
    }
}

/// The link keys of one business: one active key that signs, and retired keys that are
/// still accepted for verification during a rotation.
///
/// Rotation: create a new key, build the keyring with it as active and the old one as
/// retired; drop the old key once the longest link lifetime ([`DEFAULT_LINK_TTL_SECS`]) has
/// passed.
#[derive(Clone)]
pub struct Keyring {
    active: PreparedKey,
    retired: Vec<PreparedKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("active_kid", &self.active.kid)
            .field(
                "retired_kids",
                &self.retired.iter().map(|k| k.kid).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Keyring {
    /// A keyring that signs and verifies with `active` only.
    ///
    /// ```
    /// use abo_links::{Keyring, LinkKey};
    /// let ring = Keyring::new(&LinkKey { kid: 1, secret: [7; 32] });
    /// assert_eq!(ring.active_kid(), 1);
    /// ```
    pub fn new(active: &LinkKey) -> Self {
        Keyring {
            active: PreparedKey::new(active),
            retired: Vec::new(),
        }
    }

    /// Adds a retired key, accepted for verification only.
    ///
    /// Fails with [`LinkError::DuplicateKeyId`] when the key id is already in the ring: two
    /// keys under one id would make verification depend on order.
    ///
    /// ```
    /// use abo_links::{Keyring, LinkKey, LinkError};
    /// let old = LinkKey { kid: 1, secret: [1; 32] };
    /// let new = LinkKey { kid: 2, secret: [2; 32] };
    /// let ring = Keyring::new(&new).with_retired(&old)?;
    /// assert_eq!(ring.kids().collect::<Vec<_>>(), [2, 1]);
    /// assert_eq!(ring.with_retired(&old).unwrap_err(), LinkError::DuplicateKeyId(1));
    /// # Ok::<(), LinkError>(())
    /// ```
    pub fn with_retired(mut self, key: &LinkKey) -> Result<Self, LinkError> {
        if self.kids().any(|k| k == key.kid) {
            return Err(LinkError::DuplicateKeyId(key.kid));
        }
        self.retired.push(PreparedKey::new(key));
        Ok(self)
    }

    /// Id of the key that signs new tokens.
    pub fn active_kid(&self) -> u16 {
        self.active.kid
    }

    /// All key ids, active first.
    pub fn kids(&self) -> impl Iterator<Item = u16> + '_ {
        std::iter::once(self.active.kid).chain(self.retired.iter().map(|k| k.kid))
    }

    fn find(&self, kid: u16) -> Option<&PreparedKey> {
        std::iter::once(&self.active)
            .chain(self.retired.iter())
            .find(|k| k.kid == kid)
    }

    /// Signs `claims` with the active key. See [`sign`].
    pub fn sign(&self, claims: &LinkClaims) -> String {
        let mut out = String::with_capacity(MAX_TOKEN_LEN);
        self.sign_into(claims, &mut out);
        out
    }

    /// Appends the token for `claims` to `out`: no allocation when `out` has room, for
    /// callers that build many links into one buffer.
    ///
    /// ```
    /// use abo_links::{Keyring, LinkClaims, LinkKey, Purpose};
    /// let ring = Keyring::new(&LinkKey { kid: 1, secret: [7; 32] });
    /// let mut url = String::from("https://abo.example/portal-auth/");
    /// ring.sign_into(&LinkClaims::new(1, 2, Purpose::Home, 1_780_000_000, 3600, 0), &mut url);
    /// assert!(url.len() > "https://abo.example/portal-auth/".len());
    /// ```
    pub fn sign_into(&self, claims: &LinkClaims, out: &mut String) {
        let mut buf = [0u8; MAX_PAYLOAD + MAC_LEN];
        let n = encode_payload(self.active.kid, claims, &mut buf);
        let mut mac = self.active.mac.clone();
        mac.update(&buf[..n]);
        let tag = mac.finalize().into_bytes();
        buf[n..n + MAC_LEN].copy_from_slice(&tag[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode_string(&buf[..n + MAC_LEN], out);
    }

    /// Verifies a token at time `now`. See [`verify`].
    pub fn verify(&self, token: &str, now: i64) -> Result<LinkClaims, LinkError> {
        let mut buf = [0u8; DECODE_BUF];
        let bytes = decode_token(token, &mut buf)?;
        let (payload, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        let mut r = Reader::new(payload);
        let kid = read_header(&mut r)?;
        let key = self.find(kid).ok_or(LinkError::UnknownKey)?;
        let mut mac = key.mac.clone();
        mac.update(payload);
        // Constant-time comparison of the first 16 bytes of the tag.
        mac.verify_truncated_left(tag)
            .map_err(|_| LinkError::BadSignature)?;
        // Parsed after the tag check: only our own keys' output reaches this parser.
        let claims = read_claims(&mut r)?;
        if now >= claims.expires_at {
            return Err(LinkError::Expired);
        }
        Ok(claims)
    }
}

/// Signs `claims` with the keyring's active key and returns the token (`[A-Za-z0-9_-]`,
/// typically 44–50 characters).
///
/// ```
/// use abo_links::{sign, verify, Keyring, LinkClaims, LinkKey, Purpose, DEFAULT_LINK_TTL_SECS};
/// let ring = Keyring::new(&LinkKey { kid: 1, secret: [7; 32] });
/// let now = 1_780_000_000;
/// let claims = LinkClaims::new(7, 233700, Purpose::InvoicePdf, now, DEFAULT_LINK_TTL_SECS, 0)
///     .with_target(3736352);
/// let token = sign(&ring, &claims);
/// assert!(token.len() < 60);
/// assert_eq!(verify(&ring, &token, now + 60), Ok(claims));
/// ```
pub fn sign(keyring: &Keyring, claims: &LinkClaims) -> String {
    keyring.sign(claims)
}

/// Verifies a token: well-formed, signed by a key of the ring, not expired at `now`.
///
/// Errors, in the order they are checked: [`LinkError::Malformed`] (not a token of ours),
/// [`LinkError::UnknownKey`] (key id not in the ring: rotated out or another business),
/// [`LinkError::BadSignature`] (forged or altered), [`LinkError::Expired`]
/// (`now >= expires_at`). The caller then runs [`LinkClaims::check_scope`].
///
/// ```
/// use abo_links::{sign, verify, Keyring, LinkClaims, LinkError, LinkKey, Purpose};
/// let ring = Keyring::new(&LinkKey { kid: 1, secret: [7; 32] });
/// let token = sign(&ring, &LinkClaims::new(7, 42, Purpose::Home, 1000, 60, 0));
/// assert_eq!(verify(&ring, &token, 1060), Err(LinkError::Expired));
/// assert_eq!(verify(&ring, "not-a-token", 1000), Err(LinkError::Malformed));
/// let other = Keyring::new(&LinkKey { kid: 1, secret: [8; 32] });
/// assert_eq!(verify(&other, &token, 1000), Err(LinkError::BadSignature));
/// ```
pub fn verify(keyring: &Keyring, token: &str, now: i64) -> Result<LinkClaims, LinkError> {
    keyring.verify(token, now)
}

/// The unauthenticated header of a token: enough to find the right keyring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenHeader {
    /// Key id the token claims to be signed with.
    pub kid: u16,
    /// Business the token claims to belong to.
    pub business_id: i64,
}

/// Reads the key id and business id of a token **without verifying it**, so a server that
/// holds many businesses' keyrings can pick the one to verify with. Nothing read here may be
/// trusted before [`verify`] succeeds (and [`LinkClaims::check_scope`] confirms the business).
///
/// ```
/// use abo_links::{peek_header, sign, Keyring, LinkClaims, LinkKey, Purpose};
/// let ring = Keyring::new(&LinkKey { kid: 9, secret: [7; 32] });
/// let token = sign(&ring, &LinkClaims::new(7, 42, Purpose::Home, 1000, 60, 0));
/// let h = peek_header(&token)?;
/// assert_eq!((h.kid, h.business_id), (9, 7));
/// # Ok::<(), abo_links::LinkError>(())
/// ```
pub fn peek_header(token: &str) -> Result<TokenHeader, LinkError> {
    let mut buf = [0u8; DECODE_BUF];
    let bytes = decode_token(token, &mut buf)?;
    let mut r = Reader::new(&bytes[..bytes.len() - MAC_LEN]);
    let kid = read_header(&mut r)?;
    let _flags = r.byte()?;
    let business_id = r.i64()?;
    Ok(TokenHeader { kid, business_id })
}

/// Base64url-decodes a token into `buf`, checking the character set and length bounds
/// first so hostile input costs nothing.
fn decode_token<'b>(token: &str, buf: &'b mut [u8; DECODE_BUF]) -> Result<&'b [u8], LinkError> {
    if !crate::hosted::is_well_formed_token(token) {
        return Err(LinkError::Malformed);
    }
    // The engine rejects non-canonical trailing bits, so each byte string has one token.
    let n = URL_SAFE_NO_PAD
        .decode_slice(token.as_bytes(), buf)
        .map_err(|_| LinkError::Malformed)?;
    if !(MIN_PAYLOAD + MAC_LEN..=MAX_PAYLOAD + MAC_LEN).contains(&n) {
        return Err(LinkError::Malformed);
    }
    Ok(&buf[..n])
}

fn read_header(r: &mut Reader<'_>) -> Result<u16, LinkError> {
    if r.byte()? != TOKEN_VERSION {
        return Err(LinkError::Malformed);
    }
    u16::try_from(r.varint()?).map_err(|_| LinkError::Malformed)
}

fn read_claims(r: &mut Reader<'_>) -> Result<LinkClaims, LinkError> {
    let flags = r.byte()?;
    if flags & !(FLAG_PURPOSE_MASK | FLAG_HAS_TARGET) != 0 {
        return Err(LinkError::Malformed);
    }
    let purpose = Purpose::from_code(flags & FLAG_PURPOSE_MASK).ok_or(LinkError::Malformed)?;
    let business_id = r.i64()?;
    let customer_id = r.i64()?;
    let target_id = if flags & FLAG_HAS_TARGET != 0 {
        Some(r.i64()?)
    } else {
        None
    };
    let issued_at = r.i64()?.wrapping_add(TIME_ORIGIN);
    let expires_at = issued_at.wrapping_add(r.i64()?);
    let epoch = u32::try_from(r.varint()?).map_err(|_| LinkError::Malformed)?;
    if !r.is_empty() {
        return Err(LinkError::Malformed);
    }
    Ok(LinkClaims {
        business_id,
        customer_id,
        purpose,
        target_id,
        issued_at,
        expires_at,
        epoch,
    })
}

/// Writes the payload into `buf`, returns its length. Wrapping arithmetic makes every pair
/// of `i64` times round-trip exactly, however absurd.
fn encode_payload(kid: u16, c: &LinkClaims, buf: &mut [u8; MAX_PAYLOAD + MAC_LEN]) -> usize {
    let mut w = Writer { buf, pos: 0 };
    w.byte(TOKEN_VERSION);
    w.varint(u64::from(kid));
    let mut flags = c.purpose.code();
    if c.target_id.is_some() {
        flags |= FLAG_HAS_TARGET;
    }
    w.byte(flags);
    w.i64(c.business_id);
    w.i64(c.customer_id);
    if let Some(t) = c.target_id {
        w.i64(t);
    }
    w.i64(c.issued_at.wrapping_sub(TIME_ORIGIN));
    w.i64(c.expires_at.wrapping_sub(c.issued_at));
    w.varint(u64::from(c.epoch));
    w.pos
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn byte(&mut self, b: u8) {
        self.buf[self.pos] = b;
        self.pos += 1;
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.byte((v as u8) | 0x80);
            v >>= 7;
        }
        self.byte(v as u8);
    }

    fn i64(&mut self, v: i64) {
        self.varint(zigzag(v));
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    fn is_empty(&self) -> bool {
        self.pos == self.bytes.len()
    }

    fn byte(&mut self) -> Result<u8, LinkError> {
        let b = *self.bytes.get(self.pos).ok_or(LinkError::Malformed)?;
        self.pos += 1;
        Ok(b)
    }

    /// LEB128, canonical only: no overlong encodings, no bits beyond 64.
    fn varint(&mut self) -> Result<u64, LinkError> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.byte()?;
            if i == 9 && b > 1 {
                return Err(LinkError::Malformed);
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(LinkError::Malformed);
                }
                return Ok(v);
            }
        }
        Err(LinkError::Malformed)
    }

    fn i64(&mut self) -> Result<i64, LinkError> {
        self.varint().map(unzigzag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ring() -> Keyring {
        Keyring::new(&LinkKey {
            kid: 1,
            secret: [0x42; 32],
        })
    }

    fn claims() -> LinkClaims {
        LinkClaims::new(
            7,
            233_700,
            Purpose::Charge,
            1_780_000_000,
            DEFAULT_LINK_TTL_SECS,
            2,
        )
        .with_target(3_736_352)
    }

    #[test]
    fn round_trip_and_size() {
        let t = ring().sign(&claims());
        assert!(t.len() < 60, "{} chars: {t}", t.len());
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(ring().verify(&t, 1_780_000_000), Ok(claims()));
    }

    #[test]
    fn bounds_are_the_real_extremes() {
        let r = Keyring::new(&LinkKey {
            kid: 0,
            secret: [1; 32],
        });
        let small = LinkClaims {
            business_id: 0,
            customer_id: 0,
            purpose: Purpose::Home,
            target_id: None,
            issued_at: TIME_ORIGIN,
            expires_at: TIME_ORIGIN,
            epoch: 0,
        };
        assert_eq!(r.sign(&small).len(), MIN_TOKEN_LEN);
        let r = Keyring::new(&LinkKey {
            kid: u16::MAX,
            secret: [1; 32],
        });
        let big = LinkClaims {
            business_id: i64::MIN,
            customer_id: i64::MIN,
            purpose: Purpose::Terminate,
            target_id: Some(i64::MIN),
            issued_at: TIME_ORIGIN.wrapping_add(i64::MIN),
            expires_at: TIME_ORIGIN.wrapping_add(i64::MIN).wrapping_add(i64::MIN),
            epoch: u32::MAX,
        };
        let t = r.sign(&big);
        assert_eq!(t.len(), MAX_TOKEN_LEN);
        assert_eq!(r.verify(&t, big.expires_at - 1), Ok(big));
    }

    #[test]
    fn expiry_is_exclusive() {
        let c = claims();
        let t = ring().sign(&c);
        assert!(ring().verify(&t, c.expires_at - 1).is_ok());
        assert_eq!(ring().verify(&t, c.expires_at), Err(LinkError::Expired));
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_until_dropped() {
        let old = LinkKey {
            kid: 1,
            secret: [1; 32],
        };
        let new = LinkKey {
            kid: 2,
            secret: [2; 32],
        };
        let before = Keyring::new(&old);
        let t_old = before.sign(&claims());
        let during = Keyring::new(&new).with_retired(&old).unwrap();
        let t_new = during.sign(&claims());
        assert_eq!(peek_header(&t_new).unwrap().kid, 2);
        assert!(during.verify(&t_old, 1_780_000_000).is_ok());
        assert!(during.verify(&t_new, 1_780_000_000).is_ok());
        let after = Keyring::new(&new);
        assert_eq!(
            after.verify(&t_old, 1_780_000_000),
            Err(LinkError::UnknownKey)
        );
        // A different secret under the same kid is a bad signature, not an unknown key.
        let impostor = Keyring::new(&LinkKey {
            kid: 2,
            secret: [3; 32],
        });
        assert_eq!(
            impostor.verify(&t_new, 1_780_000_000),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn every_bit_flip_is_rejected() {
        let t = ring().sign(&claims());
        let mut bytes = URL_SAFE_NO_PAD.decode(&t).unwrap();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                bytes[i] ^= 1 << bit;
                let forged = URL_SAFE_NO_PAD.encode(&bytes);
                let r = ring().verify(&forged, 1_780_000_000);
                assert!(
                    matches!(
                        r,
                        Err(LinkError::BadSignature | LinkError::Malformed | LinkError::UnknownKey)
                    ),
                    "byte {i} bit {bit}: {r:?}"
                );
                bytes[i] ^= 1 << bit;
            }
        }
    }

    #[test]
    fn non_canonical_base64_and_truncation_are_malformed() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        // Try targets until the token length leaves unused low bits in its last character
        // (length % 4 of 2 or 3); flipping bit 0 of that character keeps the decoded bytes.
        let t = (0..)
            .map(|i| ring().sign(&claims().with_target(i)))
            .find(|t| t.len() % 4 != 0)
            .unwrap();
        let last = t.as_bytes()[t.len() - 1];
        let idx = alphabet.iter().position(|&c| c == last).unwrap();
        let mut variant = t[..t.len() - 1].to_owned();
        variant.push(alphabet[idx ^ 1] as char);
        assert!(
            URL_SAFE_NO_PAD.decode(&variant).is_err(),
            "the engine must refuse non-canonical trailing bits"
        );
        assert_eq!(
            ring().verify(&variant, 1_780_000_000),
            Err(LinkError::Malformed)
        );
        for cut in [1, 2, 3, 10] {
            let short = &t[..t.len() - cut];
            assert!(ring().verify(short, 1_780_000_000).is_err());
        }
        let mut long = t.clone();
        long.push('A');
        assert!(ring().verify(&long, 1_780_000_000).is_err());
    }

    #[test]
    fn scope_checks() {
        let c = claims();
        assert_eq!(c.check_scope(7, 2), Ok(()));
        assert_eq!(c.check_scope(7, 3), Err(LinkError::Revoked));
        assert_eq!(c.check_scope(7, 1), Err(LinkError::Revoked));
        assert_eq!(c.check_scope(8, 2), Err(LinkError::WrongBusiness));
    }

    #[test]
    fn debug_does_not_leak_secrets() {
        let k = LinkKey {
            kid: 1,
            secret: [0xAB; 32],
        };
        let s = format!("{k:?} {:?}", Keyring::new(&k));
        assert!(!s.contains("171"), "{s}");
        assert!(s.contains("redacted"));
    }

    #[test]
    fn overlong_and_overflowing_varints_are_rejected() {
        let mut r = Reader::new(&[0x80, 0x00]);
        assert_eq!(r.varint(), Err(LinkError::Malformed));
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]);
        assert_eq!(r.varint(), Err(LinkError::Malformed));
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(r.varint(), Ok(u64::MAX));
        let mut r = Reader::new(&[0x80]);
        assert_eq!(r.varint(), Err(LinkError::Malformed));
    }

    fn arb_claims() -> impl Strategy<Value = LinkClaims> {
        (
            any::<i64>(),
            any::<i64>(),
            0u8..16,
            proptest::option::of(any::<i64>()),
            any::<i64>(),
            any::<i64>(),
            any::<u32>(),
        )
            .prop_map(|(b, c, p, t, i, e, ep)| LinkClaims {
                business_id: b,
                customer_id: c,
                purpose: Purpose::from_code(p).unwrap(),
                target_id: t,
                issued_at: i,
                expires_at: e,
                epoch: ep,
            })
    }

    proptest! {
        #[test]
        fn any_claims_round_trip(c in arb_claims(), kid in any::<u16>(), secret in any::<[u8; 32]>()) {
            let r = Keyring::new(&LinkKey { kid, secret });
            let t = r.sign(&c);
            prop_assert!((MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&t.len()));
            prop_assert!(crate::hosted::is_well_formed_token(&t));
            let now = c.expires_at.saturating_sub(1);
            if now < c.expires_at {
                prop_assert_eq!(r.verify(&t, now), Ok(c));
            }
            prop_assert_eq!(r.verify(&t, c.expires_at), Err(LinkError::Expired));
            let h = peek_header(&t).unwrap();
            prop_assert_eq!((h.kid, h.business_id), (kid, c.business_id));
        }

        #[test]
        fn random_strings_never_verify(s in "\\PC{0,120}") {
            prop_assert!(ring().verify(&s, 0).is_err());
            let _ = peek_header(&s);
        }

        #[test]
        fn random_token_shaped_strings_never_verify(s in "[A-Za-z0-9_-]{32,102}") {
            prop_assert!(ring().verify(&s, 0).is_err());
        }
    }
}
