//! Genuine links of every hosted page kind are framed, through every way a merchant may
//! receive them, and offline verification accepts them and refuses forgeries.

use abo_links::{
    Keyring, LinkClaims, LinkError, LinkKey, Purpose, crylk_from_url, integrated_link,
    percent_decode, signed_hosted_url,
};
use abo_merchant::{Expect, FallbackReason, PortalLink, PortalLinks, VerificationKey};

const HOME: &str = "https://abo.example/portal-auth/HOME";
const NOW: i64 = 1_780_000_000;
const SECRET: [u8; 32] = [42; 32];

fn ring() -> Keyring {
    Keyring::new(&LinkKey {
        kid: 4,
        secret: SECRET,
    })
}

fn claims(purpose: Purpose) -> LinkClaims {
    let c = LinkClaims::new(7, 233_700, purpose, NOW, 7 * 24 * 3600, 2);
    if purpose.target_kind().is_some() {
        c.with_target(3_736_352)
    } else {
        c
    }
}

#[test]
fn every_hosted_page_kind_is_framed() {
    let links = PortalLinks::new("abo.example");
    for purpose in Purpose::ALL {
        let hosted = signed_hosted_url("https://abo.example", &ring(), &claims(purpose));
        // What the e-mail link looks like once Abo rewrote it to the merchant's page.
        let mail = integrated_link(
            purpose,
            Some("https://shop.example/subscription"),
            Some("https://shop.example/subscription?tab=billing"),
            &hosted,
        );
        let raw = crylk_from_url(&mail).expect("rewritten links carry crylk");
        let decoded = percent_decode(raw).unwrap();
        // Raw query value, framework-decoded value, and the hosted URL itself.
        for value in [raw, decoded.as_str(), hosted.as_str()] {
            let link = links.resolve_portal_link(Some(value), HOME);
            assert_eq!(
                link,
                PortalLink::Crylk {
                    src: hosted.clone(),
                    purpose,
                    claims: None
                },
                "{purpose:?} via {value}"
            );
        }
    }
}

#[test]
fn verified_links_of_every_kind_carry_their_claims() {
    let links = PortalLinks::new("abo.example")
        .verification_key(VerificationKey::new(4, SECRET))
        .unwrap();
    assert!(links.verifies_tokens());
    for purpose in Purpose::ALL {
        let c = claims(purpose);
        let hosted = signed_hosted_url("https://abo.example", &ring(), &c);
        let link =
            links.resolve_checked(Some(&hosted), HOME, &Expect::at(NOW + 60).customer(233_700));
        assert_eq!(
            link,
            PortalLink::Crylk {
                src: hosted.clone(),
                purpose,
                claims: Some(c)
            }
        );
    }
}

#[test]
fn offline_verification_refuses_forged_expired_and_foreign_links() {
    let links = PortalLinks::new("abo.example")
        .verification_key(VerificationKey::new(4, SECRET))
        .unwrap();
    let at = Expect::at(NOW + 60);
    let reason = |url: &str, expect: &Expect| {
        let link = links.resolve_checked(Some(url), HOME, expect);
        assert_eq!(link.src(), HOME);
        *link.fallback_reason().unwrap()
    };

    // Signed with another secret under the same key id: forged.
    let forged_ring = Keyring::new(&LinkKey {
        kid: 4,
        secret: [1; 32],
    });
    let forged = signed_hosted_url(
        "https://abo.example",
        &forged_ring,
        &claims(Purpose::Charge),
    );
    assert_eq!(
        reason(&forged, &at),
        FallbackReason::Unverified(LinkError::BadSignature)
    );

    // A key id the merchant does not know (another business, or rotated out).
    let other_kid = Keyring::new(&LinkKey {
        kid: 9,
        secret: SECRET,
    });
    let unknown = signed_hosted_url("https://abo.example", &other_kid, &claims(Purpose::Home));
    assert_eq!(
        reason(&unknown, &at),
        FallbackReason::Unverified(LinkError::UnknownKey)
    );

    // Expired: checked at the first second past its lifetime.
    let c = claims(Purpose::PaymentMethod);
    let url = signed_hosted_url("https://abo.example", &ring(), &c);
    assert_eq!(
        reason(&url, &Expect::at(c.expires_at)),
        FallbackReason::Unverified(LinkError::Expired)
    );

    // A genuine link of another customer.
    assert_eq!(reason(&url, &at.customer(1)), FallbackReason::OtherCustomer);

    // A genuine token moved under another page's path (a home token on /pay-invoice/).
    let home = signed_hosted_url("https://abo.example", &ring(), &claims(Purpose::Home));
    let moved = home.replace("/portal-auth/", "/pay-invoice/");
    assert_eq!(
        reason(&moved, &at),
        FallbackReason::Unverified(LinkError::Malformed)
    );

    // A flipped character in the token.
    let mut tampered = url.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert!(matches!(
        reason(&tampered, &at),
        FallbackReason::Unverified(_)
    ));
}

#[test]
fn rotation_accepts_old_and_new_keys() {
    let old = LinkKey {
        kid: 4,
        secret: SECRET,
    };
    let new = LinkKey {
        kid: 5,
        secret: [77; 32],
    };
    let links = PortalLinks::new("abo.example")
        .verification_key(VerificationKey::new(new.kid, new.secret))
        .unwrap()
        .verification_key(VerificationKey::new(old.kid, old.secret))
        .unwrap();
    for key in [&old, &new] {
        let url = signed_hosted_url(
            "https://abo.example",
            &Keyring::new(key),
            &claims(Purpose::Home),
        );
        assert!(
            links
                .resolve_checked(Some(&url), HOME, &Expect::at(NOW))
                .is_from_crylk()
        );
    }
    let dup = PortalLinks::new("abo.example")
        .verification_key(VerificationKey::new(4, SECRET))
        .unwrap()
        .verification_key(VerificationKey::new(4, [0; 32]));
    assert!(dup.is_err());
}

#[test]
fn subdomains_ports_and_dev_hosts_when_configured() {
    let links = PortalLinks::new("abo.example")
        .allow_subdomains()
        .allow_port(8443)
        .allow_http_host("127.0.0.1");
    for base in [
        "https://eur.abo.example",
        "https://abo.example:8443",
        "http://127.0.0.1:8443",
    ] {
        let url = signed_hosted_url(base, &ring(), &claims(Purpose::Charge));
        assert!(
            links.resolve_portal_link(Some(&url), HOME).is_from_crylk(),
            "{base}"
        );
    }
    // The dev host does not open clear text for the real host.
    let url = signed_hosted_url("http://abo.example", &ring(), &claims(Purpose::Charge));
    assert!(!links.resolve_portal_link(Some(&url), HOME).is_from_crylk());
}

#[test]
fn absent_crylk_is_the_normal_case() {
    let links = PortalLinks::new("abo.example");
    let link = links.resolve_portal_link(None, HOME);
    assert_eq!(link.src(), HOME);
    assert_eq!(link.fallback_reason(), Some(&FallbackReason::NoCrylk));
    assert_eq!(link.purpose(), None);
}

#[test]
fn verification_keys_parse_from_configuration_text() {
    let hex: String = SECRET.iter().map(|b| format!("{b:02x}")).collect();
    let key = VerificationKey::parse(&format!("4:{hex}")).unwrap();
    assert_eq!(key, VerificationKey::new(4, SECRET));
    assert!(!format!("{key:?}").contains(&hex[..8]));
    for bad in [
        "",
        "4",
        "4:",
        "x:00",
        "70000:00",
        &format!("4:{}", &hex[1..]),
        &format!("4:{hex}00"),
    ] {
        assert!(VerificationKey::parse(bad).is_err(), "{bad}");
    }
}
