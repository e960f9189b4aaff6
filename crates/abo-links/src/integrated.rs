//! Validation of the merchant's integration URLs ("URL of the integrated form" and "URL of
//! the integrated portal", spec §4), and the small URL-splitting helpers the strict crylk
//! validator shares.
//!
//! Hand-written rather than `url::Url`: the WHATWG parser *repairs* input (backslashes become
//! slashes, tabs and newlines vanish, `0x7f.1` becomes `127.0.0.1`, IDN becomes punycode),
//! and a configuration check should refuse what a browser would silently rewrite instead of
//! storing something other than what the merchant typed.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{LinkError, UrlProblem};

/// Longest URL accepted anywhere in this crate (integration URLs and crylk values).
pub const MAX_URL_LEN: usize = 2048;

/// A validated merchant integration URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegratedUrl {
    url: String,
    origin: String,
    host: String,
    port: Option<u16>,
    https: bool,
}

impl IntegratedUrl {
    /// The URL exactly as configured (already validated).
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// `scheme://host[:port]`, lower-case, default port omitted: the form a CSP
    /// `frame-ancestors` source expects, so the hosted pages can be framed by this merchant.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The host, lower-case; IPv6 literals keep their brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The explicit port, if one was given (even the default one).
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.https
    }
}

impl std::fmt::Display for IntegratedUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// Validates a merchant integration URL: absolute `https://` (or `http://` for loopback
/// hosts only: `127.0.0.0/8`, `::1`, `localhost`), no user-info, a plain ASCII host name or
/// IP address, a well-formed port, well-formed `%` escapes; path, query and fragment are
/// otherwise free. Scheme and host are case-insensitive.
///
/// Errors: [`LinkError::InvalidUrl`] with the [`UrlProblem`].
///
/// ```
/// use abo_links::{validate_integrated_url, LinkError, UrlProblem};
/// let u = validate_integrated_url("https://Shop.Example:8443/billing?tab=1#x")?;
/// assert_eq!(u.origin(), "https://shop.example:8443");
/// assert_eq!(validate_integrated_url("http://127.0.0.1:3000/billing")?.origin(), "http://127.0.0.1:3000");
/// assert_eq!(
///     validate_integrated_url("http://shop.example/billing"),
///     Err(LinkError::InvalidUrl(UrlProblem::InsecureHttp))
/// );
/// assert_eq!(
///     validate_integrated_url("https://user:pw@shop.example/"),
///     Err(LinkError::InvalidUrl(UrlProblem::UserInfo))
/// );
/// # Ok::<(), LinkError>(())
/// ```
pub fn validate_integrated_url(s: &str) -> Result<IntegratedUrl, LinkError> {
    check_integrated(s).map_err(LinkError::InvalidUrl)
}

fn check_integrated(s: &str) -> Result<IntegratedUrl, UrlProblem> {
    if s.is_empty() || s.len() > MAX_URL_LEN {
        return Err(UrlProblem::Length);
    }
    if !s.bytes().all(is_url_byte) {
        return Err(UrlProblem::ForbiddenChar);
    }
    let (scheme, after) = s.split_once(':').ok_or(UrlProblem::Scheme)?;
    let https = if scheme.eq_ignore_ascii_case("https") {
        true
    } else if scheme.eq_ignore_ascii_case("http") {
        false
    } else {
        return Err(UrlProblem::Scheme);
    };
    let after = after.strip_prefix("//").ok_or(UrlProblem::Scheme)?;
    let (authority, rest) = split_authority(after);
    if authority.contains('@') {
        return Err(UrlProblem::UserInfo);
    }
    let (host, port) = split_host_port(authority).ok_or(UrlProblem::Host)?;
    let port = match port {
        None => None,
        Some(p) => Some(parse_port(p).ok_or(UrlProblem::Port)?),
    };
    let host = host.to_ascii_lowercase();
    let loopback = match classify_host(&host) {
        HostKind::Ipv6(ip) => ip.is_loopback(),
        HostKind::Ipv4(ip) => ip.is_loopback(),
        HostKind::Name => host == "localhost",
        HostKind::Invalid => return Err(UrlProblem::Host),
    };
    if !https && !loopback {
        return Err(UrlProblem::InsecureHttp);
    }
    if !escapes_well_formed(rest) {
        return Err(UrlProblem::PercentEncoding);
    }
    let scheme = if https { "https" } else { "http" };
    let default_port = if https { 443 } else { 80 };
    let origin = match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    };
    Ok(IntegratedUrl {
        url: s.to_owned(),
        origin,
        host,
        port,
        https,
    })
}

/// Printable ASCII that may appear in a URL as typed: no controls, spaces, backslashes, and
/// none of the characters RFC 3986 excludes (`"<>^`{|}`), which browsers would re-encode.
pub(crate) fn is_url_byte(b: u8) -> bool {
    (0x21..0x7f).contains(&b)
        && !matches!(
            b,
            b'\\' | b'"' | b'<' | b'>' | b'^' | b'`' | b'{' | b'|' | b'}'
        )
}

/// Splits `authority` from the rest (`/path`, `?query` or `#fragment`).
pub(crate) fn split_authority(after_slashes: &str) -> (&str, &str) {
    let end = after_slashes
        .find(['/', '?', '#'])
        .unwrap_or(after_slashes.len());
    after_slashes.split_at(end)
}

/// `host[:port]` or `[v6][:port]`; `None` when the shape is wrong (empty host, several
/// colons outside brackets, junk after `]`).
pub(crate) fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, after) = authority.split_at(close + 1);
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            None => (authority, None),
            Some((h, p)) => (h, Some(p)),
        }
    };
    (!host.is_empty()).then_some((host, port))
}

/// A port written canonically: 1–5 digits, no leading zero, 1..=65535.
pub(crate) fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || p.starts_with('0') || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse::<u16>().ok().filter(|&n| n != 0)
}

/// What a (lower-cased) host string is.
pub(crate) enum HostKind {
    /// A DNS name: dot-separated LDH labels, no empty label (so no trailing dot), last label
    /// not numeric.
    Name,
    /// A canonical dotted-quad IPv4 address.
    Ipv4(Ipv4Addr),
    /// A bracketed IPv6 address.
    Ipv6(Ipv6Addr),
    /// Anything else, including the numeric forms browsers read as IPv4 (`2130706433`,
    /// `0x7f.1`, `127.1`, `0177.0.0.1`): ambiguous, so refused.
    Invalid,
}

pub(crate) fn classify_host(host: &str) -> HostKind {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return match inner.parse::<Ipv6Addr>() {
            Ok(ip) => HostKind::Ipv6(ip),
            Err(_) => HostKind::Invalid,
        };
    }
    if host.len() > 253 {
        return HostKind::Invalid;
    }
    let labels_ok = host.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if !labels_ok {
        return HostKind::Invalid;
    }
    let last = host.rsplit('.').next().unwrap_or(host);
    if is_numeric_label(last) {
        // std's parser accepts only the canonical dotted quad (no octal, hex or short forms).
        return match host.parse::<Ipv4Addr>() {
            Ok(ip) => HostKind::Ipv4(ip),
            Err(_) => HostKind::Invalid,
        };
    }
    HostKind::Name
}

/// The WHATWG rule: a host whose last label is a decimal or `0x` hex number is an IPv4
/// address, however it is written.
pub(crate) fn is_numeric_label(label: &str) -> bool {
    let lower = label.to_ascii_lowercase();
    match lower.strip_prefix("0x") {
        Some(hex) => hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// Every `%` is followed by two hex digits.
fn escapes_well_formed(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let ok = b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(s: &str) -> UrlProblem {
        match validate_integrated_url(s) {
            Err(LinkError::InvalidUrl(p)) => p,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn accepted() {
        for (url, origin) in [
            ("https://mon-app.com/Subscriptions", "https://mon-app.com"),
            ("HTTPS://Mon-App.com/Subscriptions", "https://mon-app.com"),
            ("https://mon-app.com:443/x", "https://mon-app.com"),
            ("https://mon-app.com:8443", "https://mon-app.com:8443"),
            ("https://mon-app.com?x=1", "https://mon-app.com"),
            ("https://mon-app.com#billing", "https://mon-app.com"),
            ("http://localhost:3000/billing", "http://localhost:3000"),
            ("http://127.0.0.1/billing", "http://127.0.0.1"),
            ("http://127.8.9.10:80/b", "http://127.8.9.10"),
            ("http://[::1]:8080/b", "http://[::1]:8080"),
            ("https://[2001:db8::1]/b", "https://[2001:db8::1]"),
            ("https://203.0.113.9/b", "https://203.0.113.9"),
            (
                "https://xn--bcher-kva.example/b%C3%BC",
                "https://xn--bcher-kva.example",
            ),
        ] {
            let u = validate_integrated_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(u.origin(), origin, "{url}");
            assert_eq!(u.as_str(), url);
        }
    }

    #[test]
    fn refused() {
        use UrlProblem::*;
        for (url, p) in [
            ("", Length),
            ("mon-app.com/x", Scheme),
            ("//mon-app.com/x", Scheme),
            ("ftp://mon-app.com/", Scheme),
            ("javascript://mon-app.com/%0aalert(1)", Scheme),
            ("https:mon-app.com", Scheme),
            ("https:/mon-app.com", Scheme),
            ("http://mon-app.com/", InsecureHttp),
            ("http://localhost.evil.com/", InsecureHttp),
            ("http://128.0.0.1/", InsecureHttp),
            ("http://[::2]/", InsecureHttp),
            ("https://a@mon-app.com/", UserInfo),
            ("https://mon-app.com@evil.com/", UserInfo),
            ("https://mon-app.com\\@evil.com/", ForbiddenChar),
            ("https://mon app.com/", ForbiddenChar),
            ("https://mon-app.com/\n", ForbiddenChar),
            ("https://bücher.example/", ForbiddenChar),
            ("https://mon-app.com./", Host),
            ("https://.mon-app.com/", Host),
            ("https:///x", Host),
            ("https://-x.com/", Host),
            ("https://a_b.com/", Host),
            ("http://2130706433/", Host),
            ("http://0x7f.1/", Host),
            ("http://127.1/", Host),
            ("http://0177.0.0.1/", Host),
            ("https://[::1/", Host),
            ("https://[::1]x/", Host),
            ("https://a.com:/", Port),
            ("https://a.com:0/", Port),
            ("https://a.com:0443/", Port),
            ("https://a.com:65536/", Port),
            ("https://a.com:1:2/", Port),
            ("https://a.com/%zz", PercentEncoding),
            ("https://a.com/%", PercentEncoding),
        ] {
            assert_eq!(problem(url), p, "{url}");
        }
        let long = format!("https://a.com/{}", "x".repeat(MAX_URL_LEN));
        assert_eq!(problem(&long), Length);
    }
}
