//! The strict crylk validator merchants run before framing a `crylk` URL (spec §4).
//!
//! ProAbono tells merchants to check that the host "ends with `proabono.com`", which also
//! accepts `evilproabono.com`, `proabono.com.evil.net` (if done on the whole URL) and, with
//! lenient parsers, `https://proabono.com@evil.net` or `https:\\evil.net`. An attacker could
//! then mail a merchant's customers a link to the merchant's own page that frames a phishing
//! page. This validator accepts exactly the URLs [`crate::hosted_url`] produces for the
//! configured host, and nothing else.
//!
//! # Why a hand-written parser
//!
//! General URL libraries (WHATWG `url`, browsers) normalise: they turn `\` into `/`, drop
//! tabs and newlines, decode `%2e%2e`, map full-width and IDN hosts to punycode, read
//! `0x7f.1` as `127.0.0.1`. Validating the normalised URL and then framing the *raw* string
//! (or the reverse) is the classic bypass. Here the genuine shape is tiny
//! (`https://host[:port]/prefix/token`), so the validator checks the raw decoded string
//! byte by byte against that shape, and the accepted `src` is rebuilt from the checked
//! parts, so nothing unparsed reaches the iframe.
//!
//! # Decisions
//!
//! * Decode **exactly once**. A genuine hosted URL contains no `%`, so a `%` left after one
//!   decode (double encoding) is rejected, never decoded again. Since decoding a genuine URL
//!   is a no-op, merchants may pass either the raw query value or the value their framework
//!   already decoded.
//! * Scheme must be exactly lower-case `https` (or `http` for a dev host in
//!   `allow_http_hosts`); `hosted_url` never writes anything else.
//! * Host is compared case-insensitively, ASCII only: any non-ASCII character (IDN,
//!   homographs, full-width dots) is rejected; punycode (`xn--`) labels are only accepted as
//!   part of the configured host itself; no trailing dot; IP literals (and the numeric
//!   forms browsers read as IPv4) only when listed in `allow_http_hosts`.
//! * Port: none, or one listed in `allowed_ports`. An explicit `:443` is rejected by default
//!   because `hosted_url` never writes it; list it if a proxy adds it.
//! * Path: one hosted prefix plus a well-formed token, nothing more; no query, no fragment.

use serde::{Deserialize, Serialize};

use crate::Purpose;
use crate::crylk::percent_decode;
use crate::error::{LinkError, UrlProblem};
use crate::hosted::parse_hosted_path;
use crate::integrated::{
    HostKind, MAX_URL_LEN, classify_host, is_url_byte, parse_port, split_authority,
    split_host_port, validate_integrated_url,
};

/// What the merchant accepts as a hosted Abo URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPolicy {
    /// The Abo host serving hosted pages, e.g. `abo.example` (ASCII, punycode for IDN).
    pub abo_host: String,
    /// Also accept `*.abo_host` (at a dot boundary), for per-segment hosts such as
    /// `demo-eur.abo.example`.
    pub allow_subdomains: bool,
    /// Explicit ports accepted; empty means only URLs without a port (the scheme's default).
    pub allowed_ports: Vec<u16>,
    /// Development only: exact hosts (e.g. `127.0.0.1`, `localhost`, `[::1]`) accepted over
    /// `http` as well as `https`, IP literals included.
    pub allow_http_hosts: Vec<String>,
}

impl LinkPolicy {
    /// Production policy for one host: `https` only, no port, no subdomain.
    ///
    /// ```
    /// let p = abo_links::LinkPolicy::new("Abo.Example");
    /// assert_eq!(p.abo_host, "abo.example");
    /// ```
    pub fn new(abo_host: impl Into<String>) -> Self {
        LinkPolicy {
            abo_host: abo_host.into().to_ascii_lowercase(),
            allow_subdomains: false,
            allowed_ports: Vec::new(),
            allow_http_hosts: Vec::new(),
        }
    }

    /// The policy that accepts exactly the URLs [`crate::hosted_url`] builds from `base`:
    /// its host, its explicit port if any, and, for `http` (loopback only) or an IP host,
    /// that host in `allow_http_hosts`.
    ///
    /// Errors: [`LinkError::InvalidUrl`], with [`UrlProblem::NotABase`] when `base` has a
    /// path other than `/`, a query or a fragment.
    ///
    /// ```
    /// use abo_links::{LinkPolicy, resolve_portal_link, hosted_url, Purpose};
    /// let base = "http://127.0.0.1:8080";
    /// let policy = LinkPolicy::for_base_url(base)?;
    /// assert_eq!(policy.allowed_ports, [8080]);
    /// let url = hosted_url(base, Purpose::Home, "AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2");
    /// assert!(resolve_portal_link(Some(&url), "fallback", &policy).accepted);
    /// # Ok::<(), abo_links::LinkError>(())
    /// ```
    pub fn for_base_url(base: &str) -> Result<Self, LinkError> {
        let u = validate_integrated_url(base)?;
        let after = &base[base.find("//").map_or(0, |i| i + 2)..];
        let (_, rest) = split_authority(after);
        if !(rest.is_empty() || rest == "/") {
            return Err(LinkError::InvalidUrl(UrlProblem::NotABase));
        }
        let is_ip = !matches!(classify_host(u.host()), HostKind::Name);
        Ok(LinkPolicy {
            abo_host: u.host().to_owned(),
            allow_subdomains: false,
            allowed_ports: u.port().into_iter().collect(),
            allow_http_hosts: if !u.is_https() || is_ip {
                vec![u.host().to_owned()]
            } else {
                Vec::new()
            },
        })
    }

    /// Whether `host` (as written in the URL) is one of the dev hosts.
    fn is_dev_host(&self, host: &str) -> bool {
        self.allow_http_hosts.iter().any(|h| {
            let h = h.as_str();
            // Accept `::1` in the configuration for `[::1]` in the URL.
            if h.contains(':') && !h.starts_with('[') {
                host.strip_prefix('[')
                    .and_then(|x| x.strip_suffix(']'))
                    .is_some_and(|inner| inner.eq_ignore_ascii_case(h))
            } else {
                host.eq_ignore_ascii_case(h)
            }
        })
    }
}

/// Why a `crylk` value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "kebab-case")]
pub enum RejectReason {
    /// Present but empty.
    #[error("empty")]
    Empty,
    /// Longer than [`MAX_URL_LEN`] before or after decoding.
    #[error("too long")]
    TooLong,
    /// A `%` not followed by two hex digits, or decoded bytes that are not UTF-8.
    #[error("invalid percent-encoding")]
    InvalidEncoding,
    /// A `%` left after one decode: double encoding.
    #[error("double percent-encoding")]
    DoubleEncoded,
    /// Control character, whitespace, backslash or another character URLs exclude.
    #[error("forbidden character")]
    ForbiddenChar,
    /// A non-ASCII character (IDN, homograph, full-width form).
    #[error("non-ASCII character")]
    NonAscii,
    /// Not `https://` (or `http://` for an allowed dev host).
    #[error("scheme not allowed")]
    Scheme,
    /// User-info (`@`) in the authority.
    #[error("user-info not allowed")]
    UserInfo,
    /// A host that is not the Abo host (or an allowed subdomain), or malformed.
    #[error("host not allowed")]
    Host,
    /// A punycode label outside the configured host.
    #[error("internationalised host not allowed")]
    Idn,
    /// An IP literal or numeric host not listed as a dev host.
    #[error("IP address host not allowed")]
    IpLiteral,
    /// An explicit port that is not allowed, or a malformed one.
    #[error("port not allowed")]
    Port,
    /// Not a hosted page path (unknown prefix, extra segments, `..`, `//`).
    #[error("not a hosted page path")]
    Path,
    /// A hosted prefix followed by something that is not a token.
    #[error("malformed token")]
    Token,
    /// A query string.
    #[error("query not allowed")]
    Query,
    /// A fragment.
    #[error("fragment not allowed")]
    Fragment,
}

/// What to put in the iframe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The iframe `src`: the validated hosted URL (rebuilt from its checked parts, host
    /// lower-cased), or the fallback.
    pub src: String,
    /// Whether `src` comes from the `crylk` value.
    pub accepted: bool,
    /// Why the `crylk` value was refused; `None` when accepted or absent.
    pub reason: Option<RejectReason>,
}

/// Chooses the iframe `src` from an optional `crylk` value: the hosted URL it carries if it
/// passes every rule of the module documentation, otherwise `fallback_hosted_home` (the
/// customer's `hosted-home` link from the API).
///
/// `crylk` is the raw query value (percent-encoded) or the value the framework decoded;
/// both work (see the module documentation).
///
/// ```
/// use abo_links::{resolve_portal_link, LinkPolicy, RejectReason};
/// let policy = LinkPolicy::new("abo.example");
/// let home = "https://abo.example/portal-auth/HOME";
///
/// let ok = resolve_portal_link(
///     Some("https%3A%2F%2Fabo.example%2Fsubscribe-offer%2FAQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2"),
///     home,
///     &policy,
/// );
/// assert!(ok.accepted);
/// assert_eq!(ok.src, "https://abo.example/subscribe-offer/AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2");
///
/// let evil = resolve_portal_link(
///     Some("https%3A%2F%2Fevilabo.example%2Fportal-auth%2FAQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2"),
///     home,
///     &policy,
/// );
/// assert_eq!((evil.src.as_str(), evil.accepted, evil.reason), (home, false, Some(RejectReason::Host)));
///
/// let none = resolve_portal_link(None, home, &policy);
/// assert_eq!((none.accepted, none.reason), (false, None));
/// ```
pub fn resolve_portal_link(
    crylk: Option<&str>,
    fallback_hosted_home: &str,
    policy: &LinkPolicy,
) -> Resolution {
    let Some(raw) = crylk else {
        return Resolution {
            src: fallback_hosted_home.to_owned(),
            accepted: false,
            reason: None,
        };
    };
    match validate_crylk(raw, policy) {
        Ok(src) => Resolution {
            src,
            accepted: true,
            reason: None,
        },
        Err(reason) => Resolution {
            src: fallback_hosted_home.to_owned(),
            accepted: false,
            reason: Some(reason),
        },
    }
}

/// Validates one `crylk` value and returns the canonical hosted URL and its purpose.
///
/// The same rules as [`resolve_portal_link`], for callers that want the purpose or to
/// handle the error themselves.
///
/// ```
/// use abo_links::{validate_crylk_value, LinkPolicy, Purpose, RejectReason};
/// let p = LinkPolicy::new("abo.example");
/// let (url, purpose) = validate_crylk_value(
///     "https://ABO.example/portal-inv-pdf/AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2", &p)?;
/// assert_eq!(purpose, Purpose::InvoicePdf);
/// assert!(url.starts_with("https://abo.example/"));
/// assert_eq!(
///     validate_crylk_value("https://abo.example@evil.com/portal-auth/x", &p),
///     Err(RejectReason::UserInfo)
/// );
/// # Ok::<(), RejectReason>(())
/// ```
pub fn validate_crylk_value(
    raw: &str,
    policy: &LinkPolicy,
) -> Result<(String, Purpose), RejectReason> {
    if raw.is_empty() {
        return Err(RejectReason::Empty);
    }
    if raw.len() > MAX_URL_LEN {
        return Err(RejectReason::TooLong);
    }
    // The raw value is checked too: a space or CR/LF there means the value was not a
    // percent-encoded URL, whatever decoding would make of it.
    check_chars(raw)?;
    let decoded = percent_decode(raw).map_err(|_| RejectReason::InvalidEncoding)?;
    check_chars(&decoded)?;
    if decoded.contains('%') {
        return Err(RejectReason::DoubleEncoded);
    }
    let s = decoded.as_str();

    let (https, after) = if let Some(a) = s.strip_prefix("https://") {
        (true, a)
    } else if let Some(a) = s.strip_prefix("http://") {
        (false, a)
    } else {
        return Err(RejectReason::Scheme);
    };

    let (authority, rest) = split_authority(after);
    if authority.contains('@') {
        return Err(RejectReason::UserInfo);
    }
    let (host, port) = split_host_port(authority).ok_or(RejectReason::Host)?;
    let port = match port {
        None => None,
        Some(p) => {
            let n = parse_port(p).ok_or(RejectReason::Port)?;
            if !policy.allowed_ports.contains(&n) {
                return Err(RejectReason::Port);
            }
            Some(n)
        }
    };
    check_host(host, https, policy)?;

    // Query or fragment, whichever starts first, is refused: hosted URLs have neither.
    if let Some(i) = rest.find(['?', '#']) {
        return Err(if rest.as_bytes()[i] == b'?' {
            RejectReason::Query
        } else {
            RejectReason::Fragment
        });
    }
    if rest.contains("//") || rest.split('/').any(|seg| seg == "." || seg == "..") {
        return Err(RejectReason::Path);
    }
    let Some((purpose, token)) = parse_hosted_path(rest) else {
        let known_prefix = rest
            .strip_prefix('/')
            .and_then(|r| r.find('/').map(|i| &rest[..i + 2]))
            .and_then(Purpose::from_path_prefix)
            .is_some();
        return Err(if known_prefix {
            RejectReason::Token
        } else {
            RejectReason::Path
        });
    };

    let scheme = if https { "https" } else { "http" };
    let mut src = String::with_capacity(s.len());
    src.push_str(scheme);
    src.push_str("://");
    src.push_str(&host.to_ascii_lowercase());
    if let Some(p) = port {
        src.push(':');
        src.push_str(&p.to_string());
    }
    src.push_str(purpose.path_prefix());
    src.push_str(token);
    Ok((src, purpose))
}

fn validate_crylk(raw: &str, policy: &LinkPolicy) -> Result<String, RejectReason> {
    validate_crylk_value(raw, policy).map(|(src, _)| src)
}

/// Non-ASCII first (so IDN and homographs get their own reason), then anything a URL may
/// not contain as typed.
fn check_chars(s: &str) -> Result<(), RejectReason> {
    if !s.is_ascii() {
        return Err(RejectReason::NonAscii);
    }
    if !s.bytes().all(is_url_byte) {
        return Err(RejectReason::ForbiddenChar);
    }
    Ok(())
}

fn check_host(host: &str, https: bool, policy: &LinkPolicy) -> Result<(), RejectReason> {
    if policy.is_dev_host(host) {
        return Ok(());
    }
    if !https {
        return Err(RejectReason::Scheme);
    }
    let lower = host.to_ascii_lowercase();
    match classify_host(&lower) {
        HostKind::Name => {}
        HostKind::Ipv4(_) | HostKind::Ipv6(_) => return Err(RejectReason::IpLiteral),
        HostKind::Invalid => {
            // Name the numeric forms browsers read as IPv4 (`2130706433`, `0x7f.1`).
            let last = lower.rsplit('.').next().unwrap_or(&lower);
            return Err(
                if lower.starts_with('[') || crate::integrated::is_numeric_label(last) {
                    RejectReason::IpLiteral
                } else {
                    RejectReason::Host
                },
            );
        }
    }
    let abo = policy.abo_host.as_str();
    if lower.eq_ignore_ascii_case(abo) {
        return Ok(());
    }
    let sub_prefix = (policy.allow_subdomains
        && !abo.is_empty()
        && lower.len() > abo.len() + 1
        && lower[lower.len() - abo.len()..].eq_ignore_ascii_case(abo))
    .then(|| &lower[..lower.len() - abo.len()])
    .and_then(|p| p.strip_suffix('.'));
    let is_punycode = |l: &str| l.starts_with("xn--");
    match sub_prefix {
        Some(p) if p.split('.').any(is_punycode) => Err(RejectReason::Idn),
        Some(_) => Ok(()),
        None if lower.split('.').any(is_punycode) => Err(RejectReason::Idn),
        None => Err(RejectReason::Host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "AQEJDsq6G4TwDoC4BoS6FwKz1L7cTd2xYXRxXHFt4Jm2";

    #[test]
    fn subdomains_at_dot_boundary_only() {
        let mut p = LinkPolicy::new("abo.example");
        p.allow_subdomains = true;
        let ok = format!("https://demo-eur.abo.example/portal-auth/{T}");
        assert!(validate_crylk_value(&ok, &p).is_ok());
        for bad in [
            "evilabo.example",
            "xn--80a.abo.example",
            ".abo.example",
            "abo.example.evil",
        ] {
            let url = format!("https://{bad}/portal-auth/{T}");
            assert!(validate_crylk_value(&url, &p).is_err(), "{bad}");
        }
        p.allow_subdomains = false;
        assert_eq!(validate_crylk_value(&ok, &p), Err(RejectReason::Host));
    }

    #[test]
    fn dev_hosts() {
        let mut p = LinkPolicy::new("abo.example");
        p.allow_http_hosts = vec!["127.0.0.1".into(), "::1".into(), "localhost".into()];
        p.allowed_ports = vec![8080];
        for host in [
            "127.0.0.1:8080",
            "[::1]:8080",
            "localhost:8080",
            "LOCALHOST",
        ] {
            let url = format!("http://{host}/offers/{T}");
            assert!(validate_crylk_value(&url, &p).is_ok(), "{host}");
        }
        assert_eq!(
            validate_crylk_value(&format!("http://127.0.0.2/offers/{T}"), &p),
            Err(RejectReason::Scheme)
        );
        assert_eq!(
            validate_crylk_value(&format!("https://127.0.0.2/offers/{T}"), &p),
            Err(RejectReason::IpLiteral)
        );
        assert_eq!(
            validate_crylk_value(&format!("http://127.0.0.1:8081/offers/{T}"), &p),
            Err(RejectReason::Port)
        );
    }

    #[test]
    fn for_base_url_shapes() {
        let p = LinkPolicy::for_base_url("https://abo.example/").unwrap();
        assert_eq!(p, LinkPolicy::new("abo.example"));
        assert_eq!(
            LinkPolicy::for_base_url("https://abo.example/app"),
            Err(LinkError::InvalidUrl(UrlProblem::NotABase))
        );
        assert!(LinkPolicy::for_base_url("http://abo.example").is_err());
        let p = LinkPolicy::for_base_url("http://[::1]:9000").unwrap();
        assert_eq!(p.allow_http_hosts, ["[::1]"]);
    }
}
