//! Property tests: card numbers and IBANs from arbitrary input never panic,
//! and only checksummed ones get through.

mod common;

use abo_gateway::{
    CardDummy, ChargeContext, ChargeOutcome, GatewayError, Iban, PaymentGateway, iban_mod97,
    luhn_valid, next_retry, parse_card_number,
};
use common::{at, card, request, run};
use proptest::prelude::*;

/// The Luhn check digit that completes `payload`.
fn luhn_complete(payload: &str) -> String {
    (0..10)
        .map(|d| format!("{payload}{d}"))
        .find(|candidate| luhn_valid(candidate))
        .unwrap()
}

proptest! {
    #[test]
    fn random_digit_strings_never_panic_and_non_luhn_is_refused(digits in "[0-9]{0,25}") {
        let result = parse_card_number(&digits);
        if (12..=19).contains(&digits.len()) {
            prop_assert_eq!(result.is_ok(), luhn_valid(&digits));
            if !luhn_valid(&digits) {
                prop_assert_eq!(result, Err(GatewayError::LuhnCheckFailed));
            }
        } else {
            prop_assert_eq!(result, Err(GatewayError::InvalidCardNumber));
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,40}") {
        let _ = parse_card_number(&text);
        let _ = Iban::parse(&text);
        let _ = abo_gateway::CardExpiry::parse(&text);
    }

    #[test]
    fn a_wrong_check_digit_is_always_refused(payload in "[0-9]{15}", bump in 1u8..10) {
        let good = luhn_complete(&payload);
        prop_assert!(parse_card_number(&good).is_ok());
        let last = good.as_bytes()[15] - b'0';
        let bad = format!("{payload}{}", (last + bump) % 10);
        prop_assert_eq!(parse_card_number(&bad), Err(GatewayError::LuhnCheckFailed));
    }

    #[test]
    fn a_non_luhn_card_is_never_registered(digits in "[0-9]{16}") {
        prop_assume!(!luhn_valid(&digits));
        let gateway = CardDummy::new();
        let result = run(gateway.register_permission("c", &card(&digits), at("2026-01-01T00:00:00Z")));
        prop_assert_eq!(result, Err(GatewayError::LuhnCheckFailed));
    }

    #[test]
    fn any_valid_card_charges_once_per_key(payload in "4[0-9]{14}", repeats in 1usize..4) {
        let number = luhn_complete(&payload);
        prop_assume!(!abo_gateway::TEST_CARDS.iter().any(|c| c.number.replace(' ', "") == number));
        let gateway = CardDummy::new();
        let now = at("2026-01-01T00:00:00Z");
        let permission = run(gateway.register_permission("c", &card(&number), now)).unwrap();
        let req = request(&permission.permission().id, 1000, ChargeContext::Renewal, "k");
        let first = run(gateway.charge(&req, now)).unwrap();
        prop_assert_eq!(&first.outcome, &ChargeOutcome::Succeeded);
        for _ in 0..repeats {
            prop_assert_eq!(&run(gateway.charge(&req, now)).unwrap(), &first);
        }
        prop_assert!(run(gateway.refund(&first.charge_id, common::eur(1001), now)).is_err());
        prop_assert!(run(gateway.refund(&first.charge_id, common::eur(1000), now)).is_ok());
    }

    #[test]
    fn random_ibans_never_panic_and_checksums_decide(bban in "[0-9]{18}", check in 0u8..100) {
        let iban = format!("DE{check:02}{bban}");
        let parsed = Iban::parse(&iban);
        let valid = (2..=98).contains(&check) && iban_mod97(&iban) == Some(1);
        prop_assert_eq!(parsed.is_ok(), valid);
        if !valid {
            prop_assert_eq!(parsed, Err(GatewayError::IbanChecksum));
        }
    }

    #[test]
    fn retries_always_move_forward(attempt in 0u32..10, micros in 0i64..4_000_000_000_000_000) {
        let last = jiff::Timestamp::from_microsecond(micros).unwrap();
        match next_retry(attempt, last) {
            Some(next) => prop_assert!(next > last && (1..=3).contains(&attempt)),
            None => prop_assert!(attempt == 0 || attempt > 3),
        }
    }
}
