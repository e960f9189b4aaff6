//! The crylk rewrite (spec §4): when a merchant configured integration URLs, links in
//! e-mails and back-office/API responses point to the merchant's page with the hosted URL
//! in a `crylk` query parameter, and the merchant frames it after validation
//! ([`crate::resolve_portal_link`]).
//!
//! Encoding follows RFC 3986: every byte outside the unreserved set `A-Z a-z 0-9 - _ . ~` is
//! percent-encoded with upper-case hex (ProAbono's .NET encoder used lower case; decoders
//! accept both). Encoding `+` matters: form decoders (PHP `$_GET`, `application/x-www-form-
//! urlencoded`) turn a raw `+` into a space.

use crate::LinkError;
use crate::purpose::{LinkKind, Purpose};

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Whether `b` is an RFC 3986 unreserved byte, the only bytes left as they are.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Appends `s` to `out`, percent-encoding every byte that is not unreserved.
///
/// ```
/// let mut out = String::new();
/// abo_links::percent_encode_into("a b/c?d=é", &mut out);
/// assert_eq!(out, "a%20b%2Fc%3Fd%3D%C3%A9");
/// ```
pub fn percent_encode_into(s: &str, out: &mut String) {
    for &b in s.as_bytes() {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX_UPPER[usize::from(b >> 4)] as char);
            out.push(HEX_UPPER[usize::from(b & 0xf)] as char);
        }
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `s` exactly once.
///
/// `+` is kept as a literal `+` (RFC 3986 decoding, not form decoding): the rewrite never
/// produces a raw `+`, so one in the input was not made by us and must not silently become a
/// space. Errors: [`LinkError::InvalidPercentEncoding`] for `%` not followed by two hex
/// digits, [`LinkError::NotUtf8`] when the decoded bytes are not UTF-8.
///
/// ```
/// use abo_links::{percent_decode, LinkError};
/// assert_eq!(percent_decode("a%2Fb%252F").unwrap(), "a/b%2F"); // once, not twice
/// assert_eq!(percent_decode("%zz"), Err(LinkError::InvalidPercentEncoding));
/// assert_eq!(percent_decode("%C3"), Err(LinkError::NotUtf8));
/// ```
pub fn percent_decode(s: &str) -> Result<String, LinkError> {
    let bytes = s.as_bytes();
    if !bytes.contains(&b'%') {
        return Ok(s.to_owned());
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex_val);
            let lo = bytes.get(i + 2).copied().and_then(hex_val);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                _ => return Err(LinkError::InvalidPercentEncoding),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| LinkError::NotUtf8)
}

/// Rewrites a hosted URL into the merchant's integration page:
/// `{merchant_url}?crylk={percent-encoded hosted_url}`, with `&` instead of `?` when the
/// merchant URL already has a query, and the merchant URL's `#fragment` kept last.
///
/// The merchant URL is expected to have been checked by
/// [`crate::validate_integrated_url`] when the merchant configured it.
///
/// ```
/// use abo_links::crylk_rewrite;
/// let hosted = "https://abo.example/subscribe-offer/AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2";
/// assert_eq!(
///     crylk_rewrite("https://mon-app.com/Subscriptions", hosted),
///     "https://mon-app.com/Subscriptions?crylk=https%3A%2F%2Fabo.example%2Fsubscribe-offer%2FAQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2"
/// );
/// assert_eq!(
///     crylk_rewrite("https://m.example/app?tab=billing#top", "https://abo.example/offers/x"),
///     "https://m.example/app?tab=billing&crylk=https%3A%2F%2Fabo.example%2Foffers%2Fx#top"
/// );
/// ```
pub fn crylk_rewrite(merchant_url: &str, hosted_url: &str) -> String {
    let (before, fragment) = match merchant_url.find('#') {
        Some(i) => merchant_url.split_at(i),
        None => (merchant_url, ""),
    };
    let mut out = String::with_capacity(before.len() + 7 + hosted_url.len() * 2 + fragment.len());
    out.push_str(before);
    match before.find('?') {
        // `?` or `...&` already ends the URL: adding a separator would make an empty pair.
        Some(_) if before.ends_with(['?', '&']) => {}
        Some(_) => out.push('&'),
        None => out.push('?'),
    }
    out.push_str("crylk=");
    percent_encode_into(hosted_url, &mut out);
    out.push_str(fragment);
    out
}

/// Decodes a `crylk` value once. Same as [`percent_decode`]; named for the call site.
///
/// ```
/// assert_eq!(
///     abo_links::crylk_decode("https%3A%2F%2Fabo.example%2Foffers%2Fx").unwrap(),
///     "https://abo.example/offers/x"
/// );
/// ```
pub fn crylk_decode(value: &str) -> Result<String, LinkError> {
    percent_decode(value)
}

/// The raw (still encoded) value of the first `crylk` parameter of a query string (without
/// the leading `?`), for merchants that read the raw query.
///
/// ```
/// assert_eq!(abo_links::crylk_from_query("a=1&crylk=x%2Fy&b"), Some("x%2Fy"));
/// assert_eq!(abo_links::crylk_from_query("xcrylk=1"), None);
/// ```
pub fn crylk_from_query(query: &str) -> Option<&str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("crylk="))
}

/// The raw `crylk` value of a full URL: its query is what lies between the first `?` and
/// the first `#`.
///
/// ```
/// let url = abo_links::crylk_rewrite("https://m.example/p?x=1#f", "https://abo.example/offers/t");
/// assert_eq!(abo_links::crylk_from_url(&url), Some("https%3A%2F%2Fabo.example%2Foffers%2Ft"));
/// ```
pub fn crylk_from_url(url: &str) -> Option<&str> {
    let url = url.split('#').next().unwrap_or(url);
    let (_, query) = url.split_once('?')?;
    crylk_from_query(query)
}

/// The link to publish for `hosted_url`: rewritten to the merchant's integrated *form* URL
/// for workflow links, to the integrated *portal* URL for portal links, or the hosted URL
/// itself when the matching URL is not configured.
///
/// ```
/// use abo_links::{integrated_link, Purpose};
/// let form = Some("https://m.example/subscribe");
/// let portal = None;
/// let pay = integrated_link(Purpose::Charge, form, portal, "https://abo.example/pay-invoice/t");
/// assert!(pay.starts_with("https://m.example/subscribe?crylk="));
/// let pdf = integrated_link(Purpose::InvoicePdf, form, portal, "https://abo.example/portal-inv-pdf/t");
/// assert_eq!(pdf, "https://abo.example/portal-inv-pdf/t");
/// ```
pub fn integrated_link(
    purpose: Purpose,
    integrated_form: Option<&str>,
    integrated_portal: Option<&str>,
    hosted_url: &str,
) -> String {
    let merchant = match purpose.kind() {
        LinkKind::Workflow => integrated_form,
        LinkKind::Portal => integrated_portal,
    };
    match merchant {
        Some(m) => crylk_rewrite(m, hosted_url),
        None => hosted_url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_all_reserved_bytes() {
        let mut out = String::new();
        percent_encode_into(":/?&=#%+ ~._-", &mut out);
        assert_eq!(out, "%3A%2F%3F%26%3D%23%25%2B%20~._-");
    }

    #[test]
    fn spec_example_decodes() {
        // ProAbono's documented example uses lower-case escapes.
        let v = "https%3a%2f%2fmon-app.via.proabono.com%2fsubscribe-offer%2f0p9i35O1V9_JJRfC0nIeE96ot9e1LcN349";
        assert_eq!(
            crylk_decode(v).unwrap(),
            "https://mon-app.via.proabono.com/subscribe-offer/0p9i35O1V9_JJRfC0nIeE96ot9e1LcN349"
        );
    }

    #[test]
    fn separators() {
        assert_eq!(crylk_rewrite("https://m/p?", "h"), "https://m/p?crylk=h");
        assert_eq!(
            crylk_rewrite("https://m/p?a=1&", "h"),
            "https://m/p?a=1&crylk=h"
        );
        assert_eq!(crylk_rewrite("https://m/p#", "h"), "https://m/p?crylk=h#");
        assert_eq!(
            crylk_rewrite("https://m/p#a?b", "h"),
            "https://m/p?crylk=h#a?b"
        );
    }

    #[test]
    fn decode_errors() {
        assert_eq!(percent_decode("%"), Err(LinkError::InvalidPercentEncoding));
        assert_eq!(percent_decode("%4"), Err(LinkError::InvalidPercentEncoding));
        assert_eq!(
            percent_decode("%g1"),
            Err(LinkError::InvalidPercentEncoding)
        );
        assert_eq!(percent_decode("%ff"), Err(LinkError::NotUtf8));
        assert_eq!(percent_decode("a+b").unwrap(), "a+b");
        assert_eq!(percent_decode("%E2%82%AC").unwrap(), "€");
    }
}
