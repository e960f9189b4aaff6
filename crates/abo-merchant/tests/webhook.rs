//! The webhook verifier on both signatures of the contract: valid, tampered body, wrong
//! secret, stale or future timestamp, rotated secrets, malformed headers.

use abo_merchant::webhook::{
    SignatureScheme, WebhookError, WebhookVerifier, abo_signature_header, proabono_signature,
};
use http::HeaderMap;

const SECRET: &[u8] = b"whsec_4f7a0c2e9b";
const BODY: &[u8] = br#"{"Id":"evt_01J","IdBusiness":42,"TypeTrigger":"InvoiceDebitPaid","DateTrigger":"2026-11-30T09:00:00.00Z"}"#;
const T: i64 = 1_780_000_000;
const KEY: &str = "k3Yq9ZtVbN0mX2wR7pL5sD8fG1hJ4cA6";

fn headers(abo: Option<String>, proabono: Option<(&str, String)>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-type", "application/json".parse().unwrap());
    h.insert("abo-event-id", "evt_01J".parse().unwrap());
    if let Some(v) = abo {
        h.insert("abo-signature", v.parse().unwrap());
    }
    if let Some((key, sig)) = proabono {
        h.insert("x-proabono-key", key.parse().unwrap());
        h.insert("x-proabono-signature", sig.parse().unwrap());
    }
    h
}

fn genuine() -> HeaderMap {
    headers(
        Some(abo_signature_header(&[SECRET], T, BODY)),
        Some((KEY, proabono_signature(KEY, SECRET))),
    )
}

#[test]
fn a_genuine_delivery_verifies() {
    let v = WebhookVerifier::new(SECRET);
    let ok = v.verify_at(&genuine(), BODY, T + 3).unwrap();
    assert_eq!(ok.scheme, SignatureScheme::Abo);
    assert_eq!(ok.event_id.as_deref(), Some("evt_01J"));
    assert_eq!(ok.timestamp, Some(T));
}

#[test]
fn the_signature_value_matches_an_independent_computation() {
    // HMAC-SHA256("whsec_4f7a0c2e9b", "1780000000.{}") and SHA-256(key ‖ secret), computed
    // here with the primitives directly, not with the SDK's helpers.
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::{Digest, Sha256};
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET).unwrap();
    mac.update(b"1780000000.{}");
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let h = headers(Some(format!("t={T},v1={hex}")), None);
    assert!(WebhookVerifier::new(SECRET).verify_at(&h, b"{}", T).is_ok());

    use base64::Engine as _;
    let mut d = Sha256::new();
    d.update(KEY.as_bytes());
    d.update(SECRET);
    let sig = base64::engine::general_purpose::STANDARD.encode(d.finalize());
    assert!(
        WebhookVerifier::new(SECRET)
            .verify_proabono_signature(KEY, &sig)
            .is_ok()
    );
}

#[test]
fn a_tampered_body_is_refused() {
    let v = WebhookVerifier::new(SECRET);
    let tampered = String::from_utf8(BODY.to_vec())
        .unwrap()
        .replace("InvoiceDebitPaid", "InvoiceDebitRefunded");
    assert_eq!(
        v.verify_at(&genuine(), tampered.as_bytes(), T),
        Err(WebhookError::BadSignature)
    );
    // One byte appended (a trailing newline added by a proxy) is a different body too.
    let mut longer = BODY.to_vec();
    longer.push(b'\n');
    assert_eq!(
        v.verify_at(&genuine(), &longer, T),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn a_wrong_secret_is_refused_on_both_signatures() {
    let v = WebhookVerifier::new(b"whsec_other");
    assert_eq!(
        v.verify_at(&genuine(), BODY, T),
        Err(WebhookError::BadSignature)
    );
    let only_abo = headers(Some(abo_signature_header(&[SECRET], T, BODY)), None);
    assert_eq!(
        v.verify_at(&only_abo, BODY, T),
        Err(WebhookError::BadSignature)
    );
    let only_pa = headers(None, Some((KEY, proabono_signature(KEY, SECRET))));
    assert_eq!(
        v.accept_proabono_signature_alone()
            .verify_at(&only_pa, BODY, T),
        Err(WebhookError::BadProAbonoSignature)
    );
}

#[test]
fn stale_and_future_timestamps_are_refused() {
    let v = WebhookVerifier::new(SECRET);
    assert!(v.verify_at(&genuine(), BODY, T + 300).is_ok());
    assert_eq!(
        v.verify_at(&genuine(), BODY, T + 301),
        Err(WebhookError::Stale { age_secs: 301 })
    );
    assert_eq!(
        v.verify_at(&genuine(), BODY, T - 301),
        Err(WebhookError::Stale { age_secs: -301 })
    );
    // A replay with a fresh `t` but the old signature does not match.
    let old = abo_signature_header(&[SECRET], T, BODY);
    let sig = old.split_once(",v1=").unwrap().1;
    let replay = headers(Some(format!("t={},v1={sig}", T + 3600)), None);
    assert_eq!(
        v.verify_at(&replay, BODY, T + 3600),
        Err(WebhookError::BadSignature)
    );
    // A custom tolerance.
    let strict = WebhookVerifier::new(SECRET).tolerance_secs(10);
    assert!(matches!(
        strict.verify_at(&genuine(), BODY, T + 11),
        Err(WebhookError::Stale { .. })
    ));
}

#[test]
fn rotated_secrets_on_either_side() {
    let old: &[u8] = b"whsec_old";
    let new: &[u8] = b"whsec_new";
    // Abo signs with both secrets during a rotation; a merchant still on the old one verifies.
    let both = headers(Some(abo_signature_header(&[new, old], T, BODY)), None);
    assert!(WebhookVerifier::new(old).verify_at(&both, BODY, T).is_ok());
    assert!(WebhookVerifier::new(new).verify_at(&both, BODY, T).is_ok());
    // The merchant configured both while Abo signs with the new one only.
    let new_only = headers(Some(abo_signature_header(&[new], T, BODY)), None);
    let merchant = WebhookVerifier::new(old).with_secret(new);
    assert!(merchant.verify_at(&new_only, BODY, T).is_ok());
    let pa = headers(
        Some(abo_signature_header(&[new], T, BODY)),
        Some((KEY, proabono_signature(KEY, new))),
    );
    assert!(merchant.verify_at(&pa, BODY, T).is_ok());
    // A third secret matches nothing.
    assert_eq!(
        WebhookVerifier::new(b"whsec_third").verify_at(&both, BODY, T),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn the_proabono_signature_alone_only_when_asked() {
    let h = headers(None, Some((KEY, proabono_signature(KEY, SECRET))));
    assert_eq!(
        WebhookVerifier::new(SECRET).verify_at(&h, BODY, T),
        Err(WebhookError::MissingSignature)
    );
    let legacy = WebhookVerifier::new(SECRET).accept_proabono_signature_alone();
    let ok = legacy.verify_at(&h, BODY, T).unwrap();
    assert_eq!(ok.scheme, SignatureScheme::ProAbono);
    // Even then, a wrong ProAbono signature is refused, and no signature at all too.
    let wrong = headers(None, Some((KEY, proabono_signature("other-key", SECRET))));
    assert_eq!(
        legacy.verify_at(&wrong, BODY, T),
        Err(WebhookError::BadProAbonoSignature)
    );
    assert_eq!(
        legacy.verify_at(&headers(None, None), BODY, T),
        Err(WebhookError::MissingSignature)
    );
}

#[test]
fn malformed_headers_are_refused() {
    let v = WebhookVerifier::new(SECRET);
    let good = abo_signature_header(&[SECRET], T, BODY);
    let sig = good.split_once(",v1=").unwrap().1.to_string();
    for bad in [
        String::new(),
        format!("v1={sig}"),
        format!("t={T}"),
        format!("t=,v1={sig}"),
        format!("t=-{T},v1={sig}"),
        format!("t={T}x,v1={sig}"),
        format!("t={T},t={T},v1={sig}"),
        format!("t={T},v1={}", &sig[..62]),
        format!("t={T},v1={}zz", &sig[..62]),
        format!("t={T};v1={sig}"),
        format!("t={T},v1"),
    ] {
        let h = headers(Some(bad.clone()), None);
        assert!(
            matches!(v.verify_at(&h, BODY, T), Err(WebhookError::Malformed(_))),
            "{bad:?}"
        );
    }
    // Unknown schemes are ignored, upper-case hex accepted, spaces tolerated.
    let h = headers(
        Some(format!("t={T}, v0=abc, v1={}", sig.to_uppercase())),
        None,
    );
    assert!(v.verify_at(&h, BODY, T).is_ok());
    // Half of the ProAbono pair.
    let mut h = headers(Some(good), None);
    h.insert("x-proabono-key", KEY.parse().unwrap());
    assert!(matches!(
        v.verify_at(&h, BODY, T),
        Err(WebhookError::Malformed(_))
    ));
    assert!(matches!(
        v.verify_proabono_signature(KEY, "not base64!"),
        Err(WebhookError::Malformed(_))
    ));
}

/// Interoperability with the real sender (`abo_webhooks::sign`, what Abo's deliveries carry),
/// including a rotation: Abo signs with the new and the old secret, and computes the
/// ProAbono signature with the new one only.
#[test]
fn deliveries_signed_by_abo_verify() {
    let old = "whsec_old_secret";
    let new = "whsec_new_secret";
    let to_map = |pairs: Vec<(&'static str, String)>| {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(name, value.parse().unwrap());
        }
        h
    };
    let steady = to_map(abo_webhooks::sign::headers("evt_9", &[old], T, BODY));
    let ok = WebhookVerifier::new(old)
        .verify_at(&steady, BODY, T)
        .unwrap();
    assert_eq!(ok.event_id.as_deref(), Some("evt_9"));
    assert!(
        WebhookVerifier::new(old)
            .accept_proabono_signature_alone()
            .verify_at(&steady, BODY, T)
            .is_ok()
    );
    let rotating = to_map(abo_webhooks::sign::headers("evt_9", &[new, old], T, BODY));
    for merchant in [
        WebhookVerifier::new(old),
        WebhookVerifier::new(new),
        WebhookVerifier::new(old).with_secret(new),
    ] {
        assert!(
            merchant.verify_at(&rotating, BODY, T).is_ok(),
            "{merchant:?}"
        );
    }
    assert_eq!(
        WebhookVerifier::new("whsec_other").verify_at(&rotating, BODY, T),
        Err(WebhookError::BadSignature)
    );
    // The sender's ProAbono signature matches the SDK's own computation.
    let key = steady["x-proabono-key"].to_str().unwrap();
    assert_eq!(
        steady["x-proabono-signature"].to_str().unwrap(),
        proabono_signature(key, old.as_bytes())
    );
}
