//! Absolute hosted-page URLs: `{base}{purpose path prefix}{token}`, and back.
//!
//! Hosted URLs never carry a query or a fragment: everything is in the signed token, which
//! lets the strict crylk validator accept exactly one shape.

use crate::Purpose;
use crate::token::{Keyring, LinkClaims, MAX_TOKEN_LEN, MIN_TOKEN_LEN};

/// Whether `token` has the shape of a link token: `[A-Za-z0-9_-]{MIN_TOKEN_LEN..=MAX_TOKEN_LEN}`
/// and a length that unpadded base64 can have (never `4k + 1`).
///
/// A shape check only; [`crate::verify`] decides whether it is genuine.
///
/// ```
/// use abo_links::is_well_formed_token;
/// assert!(is_well_formed_token("AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2"));
/// assert!(!is_well_formed_token("short"));
/// assert!(!is_well_formed_token("AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm+"));
/// ```
pub fn is_well_formed_token(token: &str) -> bool {
    (MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&token.len())
        && token.len() % 4 != 1
        && token.bytes().all(is_token_byte)
}

/// The token alphabet: unpadded base64url.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Builds the absolute hosted URL for `purpose` and `token` under `base`
/// (scheme, host and optional port, e.g. `https://abo.example` or `http://127.0.0.1:8080`;
/// trailing slashes are ignored).
///
/// ```
/// use abo_links::{hosted_url, Purpose};
/// assert_eq!(
///     hosted_url("https://abo.example/", Purpose::Home, "TOKEN"),
///     "https://abo.example/portal-auth/TOKEN"
/// );
/// ```
pub fn hosted_url(base: &str, purpose: Purpose, token: &str) -> String {
    let base = base.trim_end_matches('/');
    let prefix = purpose.path_prefix();
    let mut url = String::with_capacity(base.len() + prefix.len() + token.len());
    url.push_str(base);
    url.push_str(prefix);
    url.push_str(token);
    url
}

/// Signs `claims` and builds its hosted URL in one buffer (one allocation).
///
/// ```
/// use abo_links::{signed_hosted_url, parse_hosted_path, Keyring, LinkClaims, LinkKey, Purpose};
/// let ring = Keyring::new(&LinkKey { kid: 1, secret: [7; 32] });
/// let c = LinkClaims::new(7, 42, Purpose::Subscribe, 1_780_000_000, 3600, 0).with_target(5);
/// let url = signed_hosted_url("https://abo.example", &ring, &c);
/// let path = url.strip_prefix("https://abo.example").unwrap();
/// let (purpose, token) = parse_hosted_path(path).unwrap();
/// assert_eq!(purpose, Purpose::Subscribe);
/// assert_eq!(ring.verify(token, 1_780_000_000), Ok(c));
/// ```
pub fn signed_hosted_url(base: &str, keyring: &Keyring, claims: &LinkClaims) -> String {
    let base = base.trim_end_matches('/');
    let prefix = claims.purpose.path_prefix();
    let mut url = String::with_capacity(base.len() + prefix.len() + MAX_TOKEN_LEN);
    url.push_str(base);
    url.push_str(prefix);
    keyring.sign_into(claims, &mut url);
    url
}

/// Splits a hosted path (`/portal-auth/{token}`) into its purpose and token.
///
/// Strict: the path must be exactly one known prefix followed by a well-formed token, with
/// no trailing slash, extra segment, query or fragment. The token is not verified.
///
/// ```
/// use abo_links::{parse_hosted_path, Purpose};
/// let token = "AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2";
/// assert_eq!(
///     parse_hosted_path(&format!("/portal-inv-pdf/{token}")),
///     Some((Purpose::InvoicePdf, token))
/// );
/// assert_eq!(parse_hosted_path(&format!("/portal-inv-pdf/{token}/")), None);
/// assert_eq!(parse_hosted_path(&format!("/admin/{token}")), None);
/// ```
pub fn parse_hosted_path(path: &str) -> Option<(Purpose, &str)> {
    let rest = path.strip_prefix('/')?;
    let slash = rest.find('/')?;
    let purpose = Purpose::from_path_prefix(&path[..slash + 2])?;
    let token = &rest[slash + 1..];
    is_well_formed_token(token).then_some((purpose, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2";

    #[test]
    fn every_purpose_round_trips() {
        for p in Purpose::ALL {
            let url = hosted_url("http://127.0.0.1:8080", p, T);
            let path = url.strip_prefix("http://127.0.0.1:8080").unwrap();
            assert_eq!(parse_hosted_path(path), Some((p, T)));
        }
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "",
            "/",
            "//portal-auth/AAAA",
            "/portal-auth/",
            "/portal-auth",
            "portal-auth/AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2",
            "/portal-auth//AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2",
            "/portal-auth/AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2?x=1",
            "/portal-auth/AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2#f",
            "/portal-auth/../AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2",
            "/PORTAL-AUTH/AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2",
            "/portal-auth/AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2/x",
            "/portal-auth/AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2=",
            "/portal-auth/AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2X",
        ] {
            assert_eq!(parse_hosted_path(bad), None, "{bad}");
        }
    }
}
