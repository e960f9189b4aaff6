//! # abo-links
//!
//! Links into Abo's hosted pages (customer portal and workflows), shared by the server and
//! the merchant SDK, so it stays small: HMAC-SHA256, base64 and serde, no URL library.
//!
//! * [`token`]: signed, expiring, scoped, revocable link tokens ([`sign`], [`verify`],
//!   [`LinkClaims::check_scope`]) with key rotation ([`Keyring`]).
//! * [`purpose`]: the hosted pages ([`Purpose`]), their paths and their
//!   [`LinkKind`] (portal or workflow).
//! * [`hosted`]: absolute hosted URLs ([`hosted_url`], [`parse_hosted_path`]).
//! * [`crylk`]: the rewrite of hosted URLs into the merchant's integration pages
//!   ([`crylk_rewrite`], [`integrated_link`]).
//! * [`integrated`]: validation of the merchant's integration URLs
//!   ([`validate_integrated_url`]).
//! * [`resolve`]: the strict validator merchants run on `crylk` values
//!   ([`resolve_portal_link`]).
//!
//! End to end:
//!
//! ```
//! use abo_links::*;
//!
//! // Server: sign a link to pay invoice 3736352 and publish it through the merchant's form URL.
//! let ring = Keyring::new(&LinkKey { kid: 1, secret: [42; 32] });
//! let now = 1_780_000_000;
//! let claims = LinkClaims::new(7, 233700, Purpose::Charge, now, DEFAULT_LINK_TTL_SECS, 0)
//!     .with_target(3736352);
//! let hosted = signed_hosted_url("https://abo.example", &ring, &claims);
//! let form = validate_integrated_url("https://mon-app.com/Subscriptions")?;
//! let link = integrated_link(claims.purpose, Some(form.as_str()), None, &hosted);
//!
//! // Merchant: validate the crylk value before framing it.
//! let crylk = crylk_from_url(&link);
//! let policy = LinkPolicy::new("abo.example");
//! let r = resolve_portal_link(crylk, "https://abo.example/portal-auth/HOME", &policy);
//! assert!(r.accepted);
//! assert_eq!(r.src, hosted);
//!
//! // Server again: the hosted page verifies the token it receives.
//! let (purpose, token) = parse_hosted_path(r.src.strip_prefix("https://abo.example").unwrap()).unwrap();
//! let verified = verify(&ring, token, now + 3600)?;
//! verified.check_scope(7, 0)?;
//! assert_eq!((purpose, verified.target_id), (Purpose::Charge, Some(3736352)));
//! # Ok::<(), LinkError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod crylk;
mod error;
pub mod hosted;
pub mod integrated;
pub mod purpose;
pub mod resolve;
pub mod token;

pub use crylk::{
    crylk_decode, crylk_from_query, crylk_from_url, crylk_rewrite, integrated_link, percent_decode,
    percent_encode_into,
};
pub use error::{LinkError, UrlProblem};
pub use hosted::{hosted_url, is_well_formed_token, parse_hosted_path, signed_hosted_url};
pub use integrated::{IntegratedUrl, MAX_URL_LEN, validate_integrated_url};
pub use purpose::{LinkKind, Purpose, TargetKind};
pub use resolve::{
    LinkPolicy, RejectReason, Resolution, resolve_portal_link, validate_crylk_value,
};
pub use token::{
    API_LINK_TTL_SECS, DEFAULT_LINK_TTL_SECS, Keyring, LinkClaims, LinkKey, MAC_LEN, MAX_TOKEN_LEN,
    MIN_TOKEN_LEN, TOKEN_VERSION, TokenHeader, peek_header, sign, verify,
};
