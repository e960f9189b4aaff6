//! `DirectDebitDummy` through the `PaymentGateway` trait: asynchronous
//! settlement, each magic IBAN, validation, idempotency, refunds, disputes.

mod common;

use abo_core::{Currency, Money};
use abo_gateway::{
    CHARGEBACK_DAYS, ChargeContext, ChargeId, ChargeOutcome, DirectDebitDetails, DirectDebitDummy,
    DisputeReason, FailureReason, GatewayError, GatewayPermission, PaymentDetails, PaymentGateway,
    Registration, StatePermission, TEST_IBANS, TypeGateway, TypePayment,
};
use common::{at, card, eur, now, request, run, sepa};
use jiff::Timestamp;

use ChargeContext::Renewal;

fn mandate(gateway: &DirectDebitDummy, iban: &str) -> GatewayPermission {
    match run(gateway.register_permission("cust-1", &sepa(iban), now())).unwrap() {
        Registration::Enabled(permission) => permission,
        other => panic!("SEPA never asks for 3-D Secure: {other:?}"),
    }
}

/// Debits €19.00 at `now()` (a Monday): pending until Thursday same time.
fn debit(gateway: &DirectDebitDummy, permission: &GatewayPermission, key: &str) -> ChargeId {
    let receipt = run(gateway.charge(&request(&permission.id, 1900, Renewal, key), now())).unwrap();
    assert_eq!(
        receipt.outcome,
        ChargeOutcome::Pending {
            settles_at: settles_at()
        }
    );
    receipt.charge_id
}

fn settles_at() -> Timestamp {
    at("2026-03-05T10:00:00Z")
}

fn just_before() -> Timestamp {
    at("2026-03-05T09:59:59.999999Z")
}

#[test]
fn registration_stores_a_mandate() {
    let gateway = DirectDebitDummy::new();
    let permission = mandate(&gateway, "de89 3704 0044 0532 0130 00");
    assert_eq!(permission.state, StatePermission::Enabled);
    assert_eq!(permission.type_payment, TypePayment::DirectDebit);
    assert_eq!(permission.type_gateway, TypeGateway::DirectDebitDummy);
    assert_eq!(permission.name_display, "DE89 **** **** **** **30 00");
    assert_eq!(permission.country.as_deref(), Some("DE"));
    assert_eq!(permission.date_expiration, None);
    let reference = permission.mandate_reference.clone().unwrap();
    assert!(
        reference.starts_with("ABO-") && reference.len() <= 35,
        "{reference}"
    );
    // Deterministic: a fresh gateway given the same inputs issues the same.
    let again = mandate(&DirectDebitDummy::new(), "DE89370400440532013000");
    assert_eq!(again.mandate_reference, Some(reference.clone()));
    assert_eq!(again.id, permission.id);
    // Unique: the next mandate of the same customer and IBAN differs.
    let second = mandate(&gateway, "DE89370400440532013000");
    assert_ne!(second.mandate_reference, Some(reference));
}

#[test]
fn a_debit_is_pending_until_three_business_days_then_succeeds() {
    let gateway = DirectDebitDummy::new();
    let permission = mandate(&gateway, "DE89 3704 0044 0532 0130 00");
    let id = debit(&gateway, &permission, "invoice:1:attempt:1");
    for early in [now(), at("2026-03-04T23:00:00Z"), just_before()] {
        assert_eq!(
            run(gateway.poll(&id, early)).unwrap(),
            ChargeOutcome::Pending {
                settles_at: settles_at()
            }
        );
    }
    assert!(matches!(
        run(gateway.refund(&id, eur(100), just_before())),
        Err(GatewayError::NotRefundable { .. })
    ));
    assert_eq!(
        run(gateway.poll(&id, settles_at())).unwrap(),
        ChargeOutcome::Succeeded
    );
    // Settled stays settled, even asked with an earlier instant.
    assert_eq!(
        run(gateway.poll(&id, now())).unwrap(),
        ChargeOutcome::Succeeded
    );
    assert_eq!(
        run(gateway.poll(&id, at("2027-01-01T00:00:00Z"))).unwrap(),
        ChargeOutcome::Succeeded
    );
    assert_eq!(
        run(gateway.get_charge(&id)).unwrap().outcome,
        ChargeOutcome::Succeeded
    );
}

#[test]
fn a_friday_debit_settles_on_wednesday() {
    let gateway = DirectDebitDummy::new();
    let permission = mandate(&gateway, "FR76 3000 6000 0112 3456 7890 189");
    let friday = at("2026-03-06T16:30:00Z");
    let receipt = run(gateway.charge(&request(&permission.id, 500, Renewal, "k"), friday)).unwrap();
    let wednesday = at("2026-03-11T16:30:00Z");
    assert_eq!(
        receipt.outcome,
        ChargeOutcome::Pending {
            settles_at: wednesday
        }
    );
    assert_eq!(
        run(gateway.poll(&receipt.charge_id, at("2026-03-10T16:30:00Z"))).unwrap(),
        ChargeOutcome::Pending {
            settles_at: wednesday
        }
    );
    assert_eq!(
        run(gateway.poll(&receipt.charge_id, wednesday)).unwrap(),
        ChargeOutcome::Succeeded
    );
}

#[test]
fn each_magic_iban() {
    use abo_gateway::DebitBehaviour::*;
    for test in TEST_IBANS {
        let gateway = DirectDebitDummy::new();
        let permission = mandate(&gateway, test.iban);
        let id = debit(&gateway, &permission, "k");
        assert!(matches!(
            run(gateway.poll(&id, just_before())).unwrap(),
            ChargeOutcome::Pending { .. }
        ));
        let settled = run(gateway.poll(&id, settles_at())).unwrap();
        let expected = match test.behaviour {
            Succeed | ChargedBack => ChargeOutcome::Succeeded,
            InsufficientFunds => ChargeOutcome::Failed {
                reason: FailureReason::InsufficientFunds,
                retryable: true,
            },
            MandateRevoked => ChargeOutcome::Failed {
                reason: FailureReason::MandateRevoked,
                retryable: false,
            },
        };
        assert_eq!(settled, expected, "{}", test.iban);
        let state = run(gateway.permission(&permission.id)).unwrap().state;
        let expected_state = if test.behaviour == MandateRevoked {
            StatePermission::Disabled
        } else {
            StatePermission::Enabled
        };
        assert_eq!(state, expected_state, "{}", test.iban);
        let much_later = at("2026-06-01T00:00:00Z");
        let final_outcome = run(gateway.poll(&id, much_later)).unwrap();
        if test.behaviour == ChargedBack {
            assert!(
                matches!(final_outcome, ChargeOutcome::Disputed { .. }),
                "{}",
                test.iban
            );
        } else {
            assert_eq!(final_outcome, expected, "{}", test.iban);
        }
    }
}

#[test]
fn insufficient_funds_can_be_retried_revoked_mandates_cannot() {
    let gateway = DirectDebitDummy::new();
    let poor = mandate(&gateway, "DE97 5001 0517 0000 0000 01");
    let id = debit(&gateway, &poor, "invoice:1:attempt:1");
    run(gateway.poll(&id, settles_at())).unwrap();
    // The retry is a new attempt with a new key; the mandate is still usable.
    assert!(
        run(gateway.charge(
            &request(&poor.id, 1900, Renewal, "invoice:1:attempt:2"),
            settles_at()
        ))
        .is_ok()
    );

    let revoked = mandate(&gateway, "DE70 5001 0517 0000 0000 02");
    let id = debit(&gateway, &revoked, "invoice:2:attempt:1");
    assert_eq!(
        run(gateway.poll(&id, settles_at())).unwrap(),
        ChargeOutcome::Failed {
            reason: FailureReason::MandateRevoked,
            retryable: false
        }
    );
    assert!(matches!(
        run(gateway.charge(
            &request(&revoked.id, 1900, Renewal, "invoice:2:attempt:2"),
            settles_at()
        )),
        Err(GatewayError::PermissionNotUsable {
            state: StatePermission::Disabled,
            ..
        })
    ));
}

#[test]
fn the_charged_back_iban_is_disputed_seven_days_after_settling() {
    let gateway = DirectDebitDummy::new();
    let permission = mandate(&gateway, "DE43 5001 0517 0000 0000 03");
    let id = debit(&gateway, &permission, "k");
    assert_eq!(
        run(gateway.poll(&id, settles_at())).unwrap(),
        ChargeOutcome::Succeeded
    );
    assert_eq!(CHARGEBACK_DAYS, 7);
    let chargeback = at("2026-03-12T10:00:00Z");
    assert_eq!(
        run(gateway.poll(&id, at("2026-03-12T09:59:59Z"))).unwrap(),
        ChargeOutcome::Succeeded
    );
    let disputed = ChargeOutcome::Disputed {
        reason: DisputeReason::DebtorRefund,
        disputed_at: chargeback,
    };
    assert_eq!(run(gateway.poll(&id, chargeback)).unwrap(), disputed);
    // Polled only much later, it still reports when the chargeback happened,
    // and settles on the way.
    let other = debit(&gateway, &permission, "k2");
    assert_eq!(
        run(gateway.poll(&other, at("2026-05-01T00:00:00Z"))).unwrap(),
        disputed
    );
    // A partial refund before the chargeback does not prevent it; a full one does.
    let partly = debit(&gateway, &permission, "k3");
    run(gateway.refund(&partly, eur(100), settles_at())).unwrap();
    assert!(matches!(
        run(gateway.poll(&partly, chargeback)).unwrap(),
        ChargeOutcome::Disputed { .. }
    ));
    let fully = debit(&gateway, &permission, "k4");
    run(gateway.refund(&fully, eur(1900), settles_at())).unwrap();
    assert_eq!(
        run(gateway.poll(&fully, chargeback)).unwrap(),
        ChargeOutcome::Succeeded
    );
}

#[test]
fn dispute_hook_and_refunds_on_debits() {
    let gateway = DirectDebitDummy::new();
    let permission = mandate(&gateway, "DE89 3704 0044 0532 0130 00");
    let id = debit(&gateway, &permission, "k");
    assert!(matches!(
        run(gateway.dispute(&id, DisputeReason::DebtorRefund, just_before())),
        Err(GatewayError::NotDisputable { .. })
    ));
    // Refunding after settlement works without an explicit poll first.
    let refund = run(gateway.refund(&id, eur(1900), settles_at())).unwrap();
    assert_eq!(refund.refunded_total, eur(1900));
    assert_eq!(
        run(gateway.refund(&id, eur(1), settles_at())),
        Err(GatewayError::RefundExceedsCharge {
            requested: 1,
            remaining: 0
        })
    );
    let second = debit(&gateway, &permission, "k2");
    let when = at("2026-04-01T00:00:00Z");
    assert_eq!(
        run(gateway.dispute(&second, DisputeReason::DebtorRefund, when)).unwrap(),
        ChargeOutcome::Disputed {
            reason: DisputeReason::DebtorRefund,
            disputed_at: when
        }
    );
    assert_eq!(
        run(gateway.complete_authentication(&second, true, when)),
        Err(GatewayError::NotAwaitingAuthentication(second))
    );
}

#[test]
fn idempotent_debits() {
    let gateway = DirectDebitDummy::new();
    let permission = mandate(&gateway, "DE89 3704 0044 0532 0130 00");
    let req = request(&permission.id, 1900, Renewal, "invoice:3:attempt:1");
    let first = run(gateway.charge(&req, now())).unwrap();
    // Replayed after settlement: the first answer, the same charge.
    let replay = run(gateway.charge(&req, at("2026-03-10T00:00:00Z"))).unwrap();
    assert_eq!(replay, first);
    run(gateway.refund(&first.charge_id, eur(1900), settles_at())).unwrap();
    assert_eq!(
        run(gateway.refund(&first.charge_id, eur(1), settles_at())),
        Err(GatewayError::RefundExceedsCharge {
            requested: 1,
            remaining: 0
        })
    );
    assert_eq!(
        run(gateway.charge(
            &request(
                &permission.id,
                1900,
                ChargeContext::Registration,
                "invoice:3:attempt:1"
            ),
            now()
        )),
        Err(GatewayError::IdempotencyConflict(
            "invoice:3:attempt:1".into()
        ))
    );
}

#[test]
fn only_euros() {
    let gateway = DirectDebitDummy::new();
    let permission = mandate(&gateway, "DE89 3704 0044 0532 0130 00");
    let mut req = request(&permission.id, 1900, Renewal, "k");
    req.amount = Money::new(1900, Currency::CHF);
    assert_eq!(
        run(gateway.charge(&req, now())),
        Err(GatewayError::UnsupportedCurrency {
            gateway: TypeGateway::DirectDebitDummy,
            currency: Currency::CHF
        })
    );
}

#[test]
fn registration_errors() {
    let gateway = DirectDebitDummy::new();
    let register = |iban: &str, holder: &str, accepted: bool| {
        run(gateway.register_permission(
            "cust-1",
            &PaymentDetails::DirectDebit(DirectDebitDetails {
                iban: iban.into(),
                holder_name: holder.into(),
                mandate_accepted: accepted,
            }),
            now(),
        ))
    };
    let good = "DE89 3704 0044 0532 0130 00";
    assert_eq!(
        register("DE88 3704 0044 0532 0130 00", "J", true),
        Err(GatewayError::IbanChecksum)
    );
    assert_eq!(
        register("FR76 3000 6000 0112 3456 7890 188", "J", true),
        Err(GatewayError::IbanChecksum)
    );
    assert_eq!(
        register("DE89 3704 0044 0530 2130 00", "J", true),
        Err(GatewayError::IbanChecksum)
    );
    assert!(matches!(
        register("DE89 3704 0044 0532 0130 0", "J", true),
        Err(GatewayError::IbanLength { .. })
    ));
    assert_eq!(
        register("BR15 0000 0000 0000 1093 2840 814 P2", "J", true),
        Err(GatewayError::IbanCountryNotSepa("BR".into()))
    );
    assert!(matches!(
        register("DE89/3704", "J", true),
        Err(GatewayError::InvalidIban(_))
    ));
    assert_eq!(
        register(good, "  ", true),
        Err(GatewayError::MissingHolderName)
    );
    assert_eq!(
        register(good, "J", false),
        Err(GatewayError::MandateNotAccepted)
    );
    assert_eq!(
        run(gateway.register_permission("cust-1", &card("4242424242424242"), now())),
        Err(GatewayError::WrongPaymentType {
            gateway: TypeGateway::DirectDebitDummy,
            payment: TypePayment::Card
        })
    );
    assert!(register(good, "J", true).is_ok());
    assert_eq!(run(gateway.failed_registrations("cust-1")), 0);
}

#[test]
fn a_cancelled_mandate_cannot_be_debited() {
    let gateway = DirectDebitDummy::new();
    let permission = mandate(&gateway, "DE89 3704 0044 0532 0130 00");
    run(gateway.disable_permission(&permission.id, now())).unwrap();
    assert!(matches!(
        run(gateway.charge(&request(&permission.id, 1900, Renewal, "k"), now())),
        Err(GatewayError::PermissionNotUsable { .. })
    ));
}
