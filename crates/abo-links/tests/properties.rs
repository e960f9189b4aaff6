//! Property tests of the crylk rewrite and the strict validator.

use abo_links::{
    Keyring, LinkClaims, LinkKey, LinkPolicy, Purpose, crylk_decode, crylk_rewrite, hosted_url,
    parse_hosted_path, peek_header, percent_encode_into, resolve_portal_link,
    validate_integrated_url, verify,
};
use proptest::prelude::*;

const HOME: &str = "https://abo.example/portal-auth/FALLBACK";

fn encode(s: &str) -> String {
    let mut out = String::new();
    percent_encode_into(s, &mut out);
    out
}

/// Independent extraction of the `crylk` parameter: the query is what lies between the
/// first `?` and the first `#`; pairs are split on `&`, keys on the first `=`.
fn extract_crylk(url: &str) -> Option<String> {
    let before_fragment = url.split('#').next()?;
    let (_, query) = before_fragment.split_once('?')?;
    let mut found = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "crylk" {
            assert!(found.is_none(), "two crylk parameters in {url}");
            found = Some(value.to_owned());
        }
    }
    found
}

fn purpose() -> impl Strategy<Value = Purpose> {
    (0u8..16).prop_map(|c| Purpose::from_code(c).unwrap())
}

/// Realistic hosted URLs plus hostile characters: random tokens, ports, queries with
/// unicode, `%`, `+`, `&`, `=`, `#`.
fn hosted() -> impl Strategy<Value = String> {
    let realistic = (
        prop_oneof![Just("https"), Just("http")],
        prop_oneof![
            Just("abo.example".to_owned()),
            "[a-z]{1,10}\\.abo\\.example",
            Just("127.0.0.1".to_owned()),
            Just("[::1]".to_owned()),
        ],
        proptest::option::of(1u16..),
        purpose(),
        "[A-Za-z0-9_-]{0,110}",
        proptest::option::of("[a-z&=+%#?/ éü€😀]{0,30}"),
    )
        .prop_map(|(scheme, host, port, p, token, query)| {
            let mut u = hosted_url(&format!("{scheme}://{host}"), p, &token);
            if let Some(port) = port {
                u = u.replacen(&host, &format!("{host}:{port}"), 1);
            }
            if let Some(q) = query {
                u.push('?');
                u.push_str(&q);
            }
            u
        });
    prop_oneof![realistic, any::<String>(), "\\PC{0,80}"]
}

/// Merchant URLs with or without a query (never already holding `crylk`) and fragment.
fn merchant() -> impl Strategy<Value = (String, String)> {
    (
        "https://[a-z]{1,10}\\.example(:[0-9]{2,5})?(/[A-Za-z0-9._~%-]{0,12}){0,3}",
        proptest::option::of(proptest::collection::vec(
            ("[a-bd-z][a-z0-9]{0,6}", "[A-Za-z0-9%._~+-]{0,8}"),
            0..4,
        )),
        proptest::option::of("\\PC{0,20}"),
    )
        .prop_map(|(base, query, fragment)| {
            let mut url = base;
            if let Some(pairs) = query {
                url.push('?');
                let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                url.push_str(&q.join("&"));
            }
            let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            url.push_str(&fragment);
            (url, fragment)
        })
}

fn ring() -> Keyring {
    Keyring::new(&LinkKey {
        kid: 4,
        secret: [0x5a; 32],
    })
}

fn claims() -> impl Strategy<Value = LinkClaims> {
    (
        1i64..10_000_000,
        1i64..100_000_000,
        purpose(),
        proptest::option::of(1i64..100_000_000),
        1_700_000_000i64..1_900_000_000,
        1i64..30 * 86_400,
        0u32..1000,
    )
        .prop_map(|(b, c, p, t, now, ttl, epoch)| {
            let mut cl = LinkClaims::new(b, c, p, now, ttl, epoch);
            cl.target_id = t;
            cl
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn crylk_round_trips(h in hosted(), (m, fragment) in merchant()) {
        let rewritten = crylk_rewrite(&m, &h);
        let value = extract_crylk(&rewritten).expect("crylk parameter present");
        prop_assert!(value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)));
        prop_assert_eq!(crylk_decode(&value).unwrap(), h.clone());
        prop_assert!(rewritten.ends_with(&fragment));
        // Removing the parameter gives back the merchant URL.
        let before = &rewritten[..rewritten.len() - fragment.len()];
        let stripped = before.strip_suffix(&format!("crylk={value}")).unwrap();
        let stripped = stripped.strip_suffix(['?', '&']).unwrap_or(stripped);
        let m_before = &m[..m.len() - fragment.len()];
        prop_assert_eq!(stripped, m_before.strip_suffix(['?', '&']).unwrap_or(m_before));
    }

    #[test]
    fn random_strings_never_panic(s in prop_oneof![
        any::<String>(),
        "\\PC{0,200}",
        "(https?|HTTPS|//)?(:|/|\\\\|@|%|\\.|[a-z0-9]|abo|example|portal-auth|\\[|\\]|:[0-9]{1,6}|#|\\?|%2[5fF]|%[0-9a-fA-F]{2}){0,40}",
    ]) {
        let policy = LinkPolicy::new("abo.example");
        let r = resolve_portal_link(Some(&s), HOME, &policy);
        if r.accepted {
            // Whatever got through is exactly a hosted URL of the policy host.
            let path = r.src.strip_prefix("https://abo.example").unwrap();
            prop_assert!(parse_hosted_path(path).is_some());
        } else {
            prop_assert_eq!(r.src, HOME);
        }
        let _ = validate_integrated_url(&s);
        let _ = crylk_decode(&s);
        let _ = parse_hosted_path(&s);
        let _ = peek_header(&s);
        prop_assert!(verify(&ring(), &s, 0).is_err());
    }

    #[test]
    fn every_hosted_url_is_accepted(c in claims(), sub in proptest::option::of("[a-z][a-z0-9-]{0,8}[a-z0-9]")) {
        let mut policy = LinkPolicy::new("abo.example");
        policy.allow_subdomains = sub.is_some();
        let base = match &sub {
            Some(s) => format!("https://{s}.abo.example"),
            None => "https://abo.example".to_owned(),
        };
        let token = ring().sign(&c);
        let url = hosted_url(&base, c.purpose, &token);
        for value in [url.clone(), encode(&url)] {
            let r = resolve_portal_link(Some(&value), HOME, &policy);
            prop_assert!(r.accepted, "{} → {:?}", value, r.reason);
            prop_assert_eq!(&r.src, &url);
        }
        // And the token inside verifies to the same claims.
        let (p, t) = parse_hosted_path(&url[base.len()..]).unwrap();
        prop_assert_eq!(p, c.purpose);
        prop_assert_eq!(verify(&ring(), t, c.issued_at), Ok(c));
    }

    #[test]
    fn inserting_any_char_into_the_host_is_rejected(
        pos in 0usize..=11,
        ch in any::<char>(),
        sub in any::<bool>(),
        encoded in any::<bool>(),
        p in purpose(),
    ) {
        let mut policy = LinkPolicy::new("abo.example");
        policy.allow_subdomains = sub;
        let token = ring().sign(&LinkClaims::new(1, 2, p, 1_780_000_000, 3600, 0));
        let mut host = "abo.example".to_owned();
        host.insert(pos, ch);
        let url = format!("https://{host}{}{token}", p.path_prefix());
        let value = if encoded { encode(&url) } else { url };
        let r = resolve_portal_link(Some(&value), HOME, &policy);
        prop_assert!(!r.accepted, "{} accepted", value);
        prop_assert_eq!(r.src, HOME);
    }

    #[test]
    fn replacing_a_host_char_other_than_by_case_is_rejected(
        pos in 0usize..11,
        ch in any::<char>(),
        sub in any::<bool>(),
    ) {
        let orig = "abo.example".as_bytes()[pos] as char;
        prop_assume!(!ch.eq_ignore_ascii_case(&orig));
        let mut policy = LinkPolicy::new("abo.example");
        policy.allow_subdomains = sub;
        let token = ring().sign(&LinkClaims::new(1, 2, Purpose::Home, 1_780_000_000, 3600, 0));
        let mut host: Vec<char> = "abo.example".chars().collect();
        host[pos] = ch;
        let host: String = host.into_iter().collect();
        let url = format!("https://{host}/portal-auth/{token}");
        prop_assert!(!resolve_portal_link(Some(&url), HOME, &policy).accepted, "{}", url);
    }

    #[test]
    fn encoding_twice_is_always_rejected(c in claims()) {
        let policy = LinkPolicy::new("abo.example");
        let url = hosted_url("https://abo.example", c.purpose, &ring().sign(&c));
        let twice = encode(&encode(&url));
        prop_assert!(!resolve_portal_link(Some(&twice), HOME, &policy).accepted);
    }
}
