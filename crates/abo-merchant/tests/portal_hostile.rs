//! `PortalLinks::resolve_portal_link` against hostile `crylk` values: every one must leave
//! the iframe on the customer's `hosted-home`, with a reason for the log.
//!
//! Each attack is the URL an attacker wants framed (`Plain`: tried as given *and*
//! percent-encoded once, the way a genuine crylk arrives) or an exact raw query value
//! (`Raw`: attacks on the encoding itself). `{T}` stands for a genuine token of the business,
//! so only the part under attack is wrong; `{LONG}` for an oversized filler.

use abo_links::{Keyring, LinkClaims, LinkKey, Purpose, percent_encode_into, sign};
use abo_merchant::{FallbackReason, PortalLinks, RejectReason, RejectReason::*};

const HOME: &str = "https://abo.example/portal-auth/HOME-FROM-THE-API";

#[derive(Clone, Copy)]
enum Input {
    Plain(&'static str),
    Raw(&'static str),
}
use Input::*;

const ATTACKS: &[(&str, Input, RejectReason)] = &[
    // --- look-alike and suffix hosts (what "ends with" checks accept) ---
    (
        "hyphenated look-alike",
        Plain("https://evil-abo.example/portal-auth/{T}"),
        Host,
    ),
    (
        "glued prefix",
        Plain("https://evilabo.example/portal-auth/{T}"),
        Host,
    ),
    (
        "abo host as left labels",
        Plain("https://abo.example.evil.com/portal-auth/{T}"),
        Host,
    ),
    (
        "abo host glued to a suffix",
        Plain("https://abo.example-evil.com/portal-auth/{T}"),
        Host,
    ),
    (
        "dot replaced by hyphen",
        Plain("https://abo-example.com/portal-auth/{T}"),
        Host,
    ),
    (
        "digit for letter",
        Plain("https://abo.examp1e/portal-auth/{T}"),
        Host,
    ),
    (
        "subdomain not enabled",
        Plain("https://eur.abo.example/portal-auth/{T}"),
        Host,
    ),
    (
        "suffix without dot",
        Plain("https://abo.exampleevil/portal-auth/{T}"),
        Host,
    ),
    (
        "one letter more",
        Plain("https://xabo.example/portal-auth/{T}"),
        Host,
    ),
    (
        "abo host repeated around evil",
        Plain("https://abo.example.evil.abo.example.com/portal-auth/{T}"),
        Host,
    ),
    // --- the abo host in a label, the path, the query or the fragment ---
    (
        "abo host in the path",
        Plain("https://evil.com/abo.example/portal-auth/{T}"),
        Host,
    ),
    (
        "abo host in the query",
        Plain("https://evil.com/portal-auth/{T}?h=abo.example"),
        Host,
    ),
    (
        "abo host in the fragment",
        Plain("https://evil.com/portal-auth/{T}#abo.example"),
        Host,
    ),
    (
        "whole abo url in the query",
        Plain("https://evil.com?u=https://abo.example/portal-auth/{T}"),
        Host,
    ),
    (
        "abo host as a label",
        Plain("https://abo.example.attacker.net/portal-auth/{T}"),
        Host,
    ),
    // --- user-info ---
    (
        "user-info with abo host",
        Plain("https://abo.example@evil.com/portal-auth/{T}"),
        UserInfo,
    ),
    (
        "user and password",
        Plain("https://user:pass@abo.example/portal-auth/{T}"),
        UserInfo,
    ),
    (
        "user-info with port",
        Plain("https://abo.example:443@evil.com/portal-auth/{T}"),
        UserInfo,
    ),
    (
        "encoded @ decoded once",
        Raw("https://abo.example%40evil.com/portal-auth/{T}"),
        UserInfo,
    ),
    (
        "empty user-info",
        Plain("https://@abo.example/portal-auth/{T}"),
        UserInfo,
    ),
    // --- backslashes and mixed slashes ---
    (
        "backslashes only",
        Plain("https:\\\\evil.com\\portal-auth\\{T}"),
        ForbiddenChar,
    ),
    (
        "slash then backslash",
        Plain("https:/\\evil.com/portal-auth/{T}"),
        ForbiddenChar,
    ),
    (
        "backslash before @",
        Plain("https://evil.com\\@abo.example/portal-auth/{T}"),
        ForbiddenChar,
    ),
    (
        "backslash in path",
        Plain("https://abo.example\\portal-auth/{T}"),
        ForbiddenChar,
    ),
    (
        "triple slash",
        Plain("https:///abo.example/portal-auth/{T}"),
        Host,
    ),
    (
        "single slash",
        Plain("https:/abo.example/portal-auth/{T}"),
        Scheme,
    ),
    (
        "no slash",
        Plain("https:abo.example/portal-auth/{T}"),
        Scheme,
    ),
    // --- protocol-relative and scheme-less ---
    (
        "protocol-relative evil",
        Plain("//evil.com/portal-auth/{T}"),
        Scheme,
    ),
    (
        "protocol-relative abo",
        Plain("//abo.example/portal-auth/{T}"),
        Scheme,
    ),
    (
        "scheme-less abo",
        Plain("abo.example/portal-auth/{T}"),
        Scheme,
    ),
    ("path only", Plain("/portal-auth/{T}"), Scheme),
    ("bare evil host", Plain("evil.com"), Scheme),
    // --- other schemes ---
    (
        "javascript",
        Plain("javascript:alert(1)//https://abo.example/portal-auth/{T}"),
        Scheme,
    ),
    (
        "javascript mixed case",
        Plain("JavaScript:alert(document.cookie)"),
        Scheme,
    ),
    (
        "data html",
        Plain("data:text/html,<script>alert(1)</script>"),
        ForbiddenChar,
    ),
    (
        "data base64",
        Plain("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),
        Scheme,
    ),
    ("file", Plain("file:///etc/passwd"), Scheme),
    ("vbscript", Plain("vbscript:msgbox(1)"), Scheme),
    (
        "upper-case https",
        Plain("HTTPS://abo.example/portal-auth/{T}"),
        Scheme,
    ),
    ("ftp", Plain("ftp://abo.example/portal-auth/{T}"), Scheme),
    (
        "clear-text http",
        Plain("http://abo.example/portal-auth/{T}"),
        Scheme,
    ),
    (
        "websocket",
        Plain("wss://abo.example/portal-auth/{T}"),
        Scheme,
    ),
    // --- double and invalid percent-encoding ---
    (
        "double-encoded url",
        Raw("https%253A%252F%252Fevil.com%252Fportal-auth%252F{T}"),
        DoubleEncoded,
    ),
    (
        "double-encoded @",
        Raw("https%3A%2F%2Fabo.example%2540evil.com%2Fportal-auth%2F{T}"),
        DoubleEncoded,
    ),
    (
        "double-encoded dots",
        Raw("https%3A%2F%2Fabo.example%2F%252e%252e%2Fportal-auth%2F{T}"),
        DoubleEncoded,
    ),
    ("lone percent", Raw("%"), InvalidEncoding),
    (
        "truncated escape",
        Raw("https%3A%2F%2Fabo.example%2Fportal-auth%2F{T}%4"),
        InvalidEncoding,
    ),
    (
        "non-hex escape",
        Raw("https%3A%2F%2Fabo.example%2Fportal-auth%2F{T}%zz"),
        InvalidEncoding,
    ),
    (
        "invalid utf-8",
        Raw("https%3A%2F%2Fabo.example%2Fportal-auth%2F{T}%C3"),
        InvalidEncoding,
    ),
    (
        "overlong utf-8 slash",
        Raw("https%3A%2F%2Fabo.example%C0%AFportal-auth%2F{T}"),
        InvalidEncoding,
    ),
    (
        "encoded dot-dot",
        Raw("https%3A%2F%2Fabo.example%2Fportal-auth%2F%2E%2E%2Fadmin%2F{T}"),
        Path,
    ),
    // --- IDN and homographs ---
    (
        "cyrillic a",
        Plain("https://\u{0430}bo.example/portal-auth/{T}"),
        NonAscii,
    ),
    (
        "cyrillic in tld",
        Plain("https://abo.ex\u{0430}mple/portal-auth/{T}"),
        NonAscii,
    ),
    (
        "punycode look-alike",
        Plain("https://xn--bo-8kc.example/portal-auth/{T}"),
        Idn,
    ),
    (
        "punycode suffix host",
        Plain("https://abo.xn--80ak6aa92e.com/portal-auth/{T}"),
        Idn,
    ),
    (
        "ideographic full stop",
        Plain("https://abo.example\u{3002}evil.com/portal-auth/{T}"),
        NonAscii,
    ),
    (
        "full-width letters",
        Plain("https://\u{ff41}\u{ff42}\u{ff4f}.example/portal-auth/{T}"),
        NonAscii,
    ),
    (
        "right-to-left override",
        Plain("https://abo.example/portal-auth/{T}\u{202e}"),
        NonAscii,
    ),
    (
        "zero-width space",
        Plain("https://abo\u{200b}.example/portal-auth/{T}"),
        NonAscii,
    ),
    // --- IP literals ---
    (
        "loopback v4",
        Plain("https://127.0.0.1/portal-auth/{T}"),
        IpLiteral,
    ),
    (
        "private v4",
        Plain("https://10.0.0.1/portal-auth/{T}"),
        IpLiteral,
    ),
    (
        "loopback v6",
        Plain("https://[::1]/portal-auth/{T}"),
        IpLiteral,
    ),
    (
        "mapped v6",
        Plain("https://[::ffff:127.0.0.1]/portal-auth/{T}"),
        IpLiteral,
    ),
    (
        "decimal v4",
        Plain("https://2130706433/portal-auth/{T}"),
        IpLiteral,
    ),
    ("hex v4", Plain("https://0x7f.1/portal-auth/{T}"), IpLiteral),
    (
        "octal v4",
        Plain("https://017700000001/portal-auth/{T}"),
        IpLiteral,
    ),
    // --- trailing and stray dots ---
    (
        "trailing dot",
        Plain("https://abo.example./portal-auth/{T}"),
        Host,
    ),
    (
        "two trailing dots",
        Plain("https://abo.example../portal-auth/{T}"),
        Host,
    ),
    (
        "leading dot",
        Plain("https://.abo.example/portal-auth/{T}"),
        Host,
    ),
    (
        "empty label",
        Plain("https://abo..example/portal-auth/{T}"),
        Host,
    ),
    // --- ports ---
    (
        "unexpected port",
        Plain("https://abo.example:8443/portal-auth/{T}"),
        Port,
    ),
    (
        "explicit default port",
        Plain("https://abo.example:443/portal-auth/{T}"),
        Port,
    ),
    (
        "empty port",
        Plain("https://abo.example:/portal-auth/{T}"),
        Port,
    ),
    (
        "port zero",
        Plain("https://abo.example:0/portal-auth/{T}"),
        Port,
    ),
    (
        "port overflow",
        Plain("https://abo.example:99999/portal-auth/{T}"),
        Port,
    ),
    (
        "port with letters",
        Plain("https://abo.example:80abc/portal-auth/{T}"),
        Port,
    ),
    (
        "signed port",
        Plain("https://abo.example:+443/portal-auth/{T}"),
        Port,
    ),
    // --- CR, LF, NUL, tabs, spaces ---
    (
        "raw CRLF header injection",
        Raw("https://abo.example/portal-auth/{T}\r\nSet-Cookie: a=b"),
        ForbiddenChar,
    ),
    (
        "encoded CRLF",
        Raw("https%3A%2F%2Fabo.example%2Fportal-auth%2F{T}%0D%0ALocation%3A%20evil"),
        ForbiddenChar,
    ),
    (
        "encoded NUL in host",
        Raw("https%3A%2F%2Fabo.example%00.evil.com%2Fportal-auth%2F{T}"),
        ForbiddenChar,
    ),
    (
        "raw NUL",
        Raw("https://abo.example\0/portal-auth/{T}"),
        ForbiddenChar,
    ),
    (
        "encoded tab",
        Raw("https://abo.example%09/portal-auth/{T}"),
        ForbiddenChar,
    ),
    (
        "leading space",
        Raw(" https://abo.example/portal-auth/{T}"),
        ForbiddenChar,
    ),
    (
        "trailing space",
        Raw("https://abo.example/portal-auth/{T} "),
        ForbiddenChar,
    ),
    (
        "encoded LF only",
        Raw("https%3A%2F%2Fabo.example%2Fportal-auth%2F{T}%0A"),
        ForbiddenChar,
    ),
    // --- oversized ---
    (
        "oversized path",
        Plain("https://abo.example/portal-auth/{T}{LONG}"),
        TooLong,
    ),
    (
        "oversized raw",
        Raw("https%3A%2F%2Fabo.example%2Fportal-auth%2F{LONG}"),
        TooLong,
    ),
    // --- paths, tokens, query, fragment ---
    (
        "not a hosted page",
        Plain("https://abo.example/admin/{T}"),
        Path,
    ),
    (
        "upper-case prefix",
        Plain("https://abo.example/PORTAL-AUTH/{T}"),
        Path,
    ),
    (
        "extra segment",
        Plain("https://abo.example/portal-auth/{T}/x"),
        Token,
    ),
    (
        "dot-dot",
        Plain("https://abo.example/portal-auth/../admin/{T}"),
        Path,
    ),
    (
        "double slash path",
        Plain("https://abo.example//evil.com/portal-auth/{T}"),
        Path,
    ),
    ("no path", Plain("https://abo.example"), Path),
    ("root path", Plain("https://abo.example/"), Path),
    (
        "short token",
        Plain("https://abo.example/portal-auth/short"),
        Token,
    ),
    (
        "padded token",
        Plain("https://abo.example/portal-auth/{T}="),
        Token,
    ),
    (
        "query",
        Plain("https://abo.example/portal-auth/{T}?next=https://evil.com"),
        Query,
    ),
    (
        "fragment",
        Plain("https://abo.example/portal-auth/{T}#x"),
        Fragment,
    ),
    ("empty value", Raw(""), Empty),
];

fn token() -> String {
    let ring = Keyring::new(&LinkKey {
        kid: 1,
        secret: [3; 32],
    });
    sign(
        &ring,
        &LinkClaims::new(7, 233_700, Purpose::Home, 1_780_000_000, 3600, 0),
    )
}

fn fill(template: &str, token: &str) -> String {
    template
        .replace("{T}", token)
        .replace("{LONG}", &"a".repeat(3000))
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    percent_encode_into(s, &mut out);
    out
}

#[test]
fn every_attack_falls_back_with_its_reason() {
    assert!(ATTACKS.len() >= 60, "only {} attacks", ATTACKS.len());
    let links = PortalLinks::new("abo.example");
    let token = token();
    let mut failures = Vec::new();
    let mut tried = 0;
    for (name, input, expected) in ATTACKS {
        let values = match input {
            Plain(t) => {
                let url = fill(t, &token);
                vec![url.clone(), encode(&url)]
            }
            Raw(t) => vec![fill(t, &token)],
        };
        for value in values {
            tried += 1;
            let link = links.resolve_portal_link(Some(&value), HOME);
            let ok = !link.is_from_crylk()
                && link.src() == HOME
                && link.fallback_reason() == Some(&FallbackReason::Rejected(*expected));
            if !ok {
                failures.push(format!(
                    "{name}: {value:?} gave src={:?} reason={:?}, expected {expected:?}",
                    link.src(),
                    link.fallback_reason()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {tried} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The attacks stay rejected under the most permissive configuration a merchant may use:
/// subdomains, an extra port and a development http host. (The reasons may differ: an
/// allowed port moves the failure further along.)
#[test]
fn permissive_configuration_still_rejects_every_attack() {
    let links = PortalLinks::new("abo.example")
        .allow_subdomains()
        .allow_port(8443)
        .allow_http_host("localhost");
    let token = token();
    for (name, input, _) in ATTACKS {
        let value = match input {
            Plain(t) | Raw(t) => fill(t, &token),
        };
        // Under this configuration these are genuine, not attacks.
        if ["subdomain not enabled", "unexpected port"].contains(name) {
            assert!(
                links
                    .resolve_portal_link(Some(&value), HOME)
                    .is_from_crylk(),
                "{name}"
            );
            continue;
        }
        let link = links.resolve_portal_link(Some(&value), HOME);
        assert_eq!(link.src(), HOME, "{name}: {value:?}");
        assert!(
            matches!(link.fallback_reason(), Some(FallbackReason::Rejected(_))),
            "{name}"
        );
    }
}

#[test]
fn a_fallback_never_leaks_the_crylk_value_into_src() {
    let links = PortalLinks::new("abo.example");
    let link = links.resolve_portal_link(Some("javascript:alert(1)"), HOME);
    assert_eq!(link.src(), HOME);
    let html = abo_merchant::IframeSnippet::new(link.src()).to_html();
    assert!(!html.contains("javascript"));
}
