//! The SSRF guard: a webhook URL is chosen by the merchant, so Abo must not
//! be made to POST to its own network (a database admin page, the cloud
//! metadata service at 169.254.169.254, another tenant's internal service).
//!
//! Checked twice: at registration ([`TargetPolicy::check_registration`]:
//! scheme, literal addresses, and whatever the host resolves to then), and at
//! every delivery, since DNS may change after registration: the webhook
//! client resolves names through [`GuardedResolver`], which checks every
//! address a name resolves to and hands only checked addresses to the
//! connector, so the request goes to exactly the address that was checked.
//!
//! The operator may allow loopback and private targets (development, tests:
//! `webhooks_allow_private`) and plain http (`webhooks_allow_http`); link-local
//! (cloud metadata), unspecified, multicast and broadcast addresses are never
//! allowed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Where webhooks may be sent. The default is the production one: public
/// addresses over https only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Loopback, private (RFC 1918), shared (CGNAT) and unique-local targets
    /// are accepted: development and tests with a local receiver.
    pub allow_private: bool,
    /// `http://` URLs are accepted (else https only).
    pub allow_http: bool,
}

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Loopback,
    Private,
    /// 100.64.0.0/10, carrier-grade NAT.
    Shared,
    /// fc00::/7.
    UniqueLocal,
    /// 169.254.0.0/16 (cloud metadata) and fe80::/10.
    LinkLocal,
    /// 0.0.0.0/8 and `::`.
    Unspecified,
    Multicast,
    /// 240.0.0.0/4 and the broadcast address.
    Reserved,
}

impl AddressClass {
    fn describe(self) -> &'static str {
        match self {
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private address",
            AddressClass::Shared => "a shared (carrier-grade NAT) address",
            AddressClass::UniqueLocal => "a unique-local address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Reserved => "a reserved address",
        }
    }

    /// Whether `webhooks_allow_private` lets webhooks reach this class. Link-local
    /// (the metadata service) and non-unicast addresses are never reachable.
    fn allowed_as_private(self) -> bool {
        matches!(
            self,
            AddressClass::Loopback
                | AddressClass::Private
                | AddressClass::Shared
                | AddressClass::UniqueLocal
        )
    }
}

/// The class of a non-public address, `None` for a public one. IPv4-mapped
/// (`::ffff:a.b.c.d`) and NAT64 (`64:ff9b::a.b.c.d`) IPv6 addresses are
/// judged by the IPv4 address they carry.
pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    let [a, b, ..] = ip.octets();
    Some(match (a, b) {
        (0, _) => AddressClass::Unspecified,
        (127, _) => AddressClass::Loopback,
        (10, _) | (192, 168) => AddressClass::Private,
        (172, 16..=31) => AddressClass::Private,
        (100, 64..=127) => AddressClass::Shared,
        (169, 254) => AddressClass::LinkLocal,
        (224..=239, _) => AddressClass::Multicast,
        (240..=255, _) => AddressClass::Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 well-known prefix: the IPv4 address is the last 32 bits.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        return classify_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    Some(match segments[0] {
        _ if ip.is_unspecified() => AddressClass::Unspecified,
        _ if ip.is_loopback() => AddressClass::Loopback,
        s if s & 0xfe00 == 0xfc00 => AddressClass::UniqueLocal,
        s if s & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
        s if s & 0xff00 == 0xff00 => AddressClass::Multicast,
        _ => return None,
    })
}

/// How long registration waits for DNS before leaving the check to delivery.
const REGISTRATION_LOOKUP: Duration = Duration::from_secs(5);

impl TargetPolicy {
    /// Development and tests: loopback/private targets and plain http allowed.
    pub fn permissive() -> TargetPolicy {
        TargetPolicy {
            allow_private: true,
            allow_http: true,
        }
    }

    /// Refuses `ip` unless public (or private and allowed). The message
    /// names the address and its class, never the URL (it may hold a token).
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        match classify(ip) {
            None => Ok(()),
            Some(class) if self.allow_private && class.allowed_as_private() => Ok(()),
            Some(class) => Err(format!(
                "refused: the webhook host is {ip}, {}; webhooks are only sent to public addresses",
                class.describe()
            )),
        }
    }

    /// What can be checked without DNS: the scheme (https, or http when
    /// allowed) and a literal address. Returns the parsed URL.
    pub fn check_url(&self, url: &str) -> Result<reqwest::Url, String> {
        let parsed = reqwest::Url::parse(url.trim())
            .map_err(|_| "Url must be an absolute http(s) URL".to_owned())?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err("Url must use https".into()),
            _ => return Err("Url must be an absolute http(s) URL".into()),
        }
        match parsed.host() {
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip))?,
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip))?,
            Some(url::Host::Domain(_)) => {}
            None => return Err("Url must be an absolute http(s) URL".into()),
        }
        Ok(parsed)
    }

    /// Registration: [`TargetPolicy::check_url`], then every address the
    /// host resolves to now. A name that does not resolve yet is accepted:
    /// every delivery resolves and checks again.
    pub async fn check_registration(&self, url: &str) -> Result<(), String> {
        let parsed = self.check_url(url)?;
        if let Some(url::Host::Domain(name)) = parsed.host() {
            let lookup = tokio::net::lookup_host((name, 0));
            if let Ok(Ok(addrs)) = tokio::time::timeout(REGISTRATION_LOOKUP, lookup).await {
                for addr in addrs {
                    self.check_ip(addr.ip())?;
                }
            }
        }
        Ok(())
    }

    /// Resolves `name` and checks every address: one refused address refuses
    /// the name (a rebinding attacker answers with a mix).
    pub async fn resolve(&self, name: &str) -> Result<Vec<SocketAddr>, ResolveError> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name, 0))
            .await
            .map_err(|_| ResolveError::Lookup)?
            .collect();
        if addrs.is_empty() {
            return Err(ResolveError::Lookup);
        }
        for addr in &addrs {
            self.check_ip(addr.ip()).map_err(ResolveError::Refused)?;
        }
        Ok(addrs)
    }
}

/// Why [`TargetPolicy::resolve`] gave no address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("the webhook host does not resolve")]
    Lookup,
    #[error("{0}")]
    Refused(String),
}

/// reqwest's resolver for the webhook client: [`TargetPolicy::resolve`].
/// reqwest connects only to the addresses returned here.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver(pub TargetPolicy);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = policy.resolve(&name).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Option<AddressClass> {
        classify(s.parse().unwrap())
    }

    #[test]
    fn every_internal_class_is_recognised() {
        use AddressClass::*;
        let cases = [
            ("127.0.0.1", Some(Loopback)),
            ("127.255.0.9", Some(Loopback)),
            ("10.1.2.3", Some(Private)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("192.168.1.1", Some(Private)),
            ("169.254.169.254", Some(LinkLocal)),
            ("100.64.0.1", Some(Shared)),
            ("100.127.255.255", Some(Shared)),
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(Unspecified)),
            ("224.0.0.1", Some(Multicast)),
            ("255.255.255.255", Some(Reserved)),
            ("::1", Some(Loopback)),
            ("::", Some(Unspecified)),
            ("fc00::1", Some(UniqueLocal)),
            ("fd12:3456::1", Some(UniqueLocal)),
            ("fe80::1", Some(LinkLocal)),
            ("ff02::1", Some(Multicast)),
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("::ffff:10.0.0.1", Some(Private)),
            ("64:ff9b::a00:1", Some(Private)),
            // Public ones, including the neighbours of each range.
            ("8.8.8.8", None),
            ("172.15.255.255", None),
            ("172.32.0.0", None),
            ("100.63.255.255", None),
            ("100.128.0.0", None),
            ("169.253.0.1", None),
            ("2001:db8::1", None),
            ("2606:4700::1111", None),
            ("::ffff:8.8.8.8", None),
        ];
        for (ip, expected) in cases {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn allowing_private_targets_never_opens_metadata_or_multicast() {
        let dev = TargetPolicy::permissive();
        for ok in ["127.0.0.1", "::1", "10.0.0.1", "100.64.0.1", "fd00::1"] {
            assert!(dev.check_ip(ok.parse().unwrap()).is_ok(), "{ok}");
        }
        for refused in [
            "169.254.169.254",
            "fe80::1",
            "0.0.0.0",
            "224.0.0.1",
            "ff02::1",
        ] {
            assert!(dev.check_ip(refused.parse().unwrap()).is_err(), "{refused}");
        }
        let strict = TargetPolicy::default();
        let error = strict.check_ip("10.0.0.1".parse().unwrap()).unwrap_err();
        assert!(error.contains("10.0.0.1, a private address"), "{error}");
    }

    #[test]
    fn schemes_and_literal_hosts_are_checked_without_dns() {
        let strict = TargetPolicy::default();
        assert!(strict.check_url("https://hooks.example.com/x").is_ok());
        assert_eq!(
            strict.check_url("http://hooks.example.com/x").unwrap_err(),
            "Url must use https"
        );
        for bad in [
            "ftp://example.com/x",
            "file:///etc/passwd",
            "gopher://a/b",
            "nope",
        ] {
            assert!(strict.check_url(bad).is_err(), "{bad}");
        }
        for internal in [
            "https://127.0.0.1/x",
            "https://[::1]:8443/x",
            "https://[::ffff:7f00:1]/x",
            "https://169.254.169.254/latest/meta-data",
            "https://0.0.0.0/",
            "https://[fe80::1]/",
        ] {
            assert!(strict.check_url(internal).is_err(), "{internal}");
        }
        let http_ok = TargetPolicy {
            allow_private: false,
            allow_http: true,
        };
        assert!(http_ok.check_url("http://hooks.example.com/x").is_ok());
        assert!(http_ok.check_url("http://10.0.0.1/x").is_err());
    }
}
