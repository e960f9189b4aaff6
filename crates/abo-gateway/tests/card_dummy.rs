//! `CardDummy` through the `PaymentGateway` trait: every documented test
//! card at registration and at renewal, validation errors, idempotency,
//! 3-D Secure, refunds and disputes.

mod common;

use abo_core::{Currency, Money};
use abo_gateway::{
    CardDetails, CardDummy, ChargeContext, ChargeId, ChargeOutcome, DisputeReason, FailureReason,
    GatewayError, GatewayPermission, PaymentGateway, Registration, StatePermission, TEST_CARDS,
    TypeGateway, TypePayment,
};
use common::{at, card, eur, now, request, run, sepa};
use jiff::civil::date;

use ChargeContext::{Registration as AtRegistration, Renewal};

fn register(
    gateway: &CardDummy,
    customer: &str,
    number: &str,
) -> Result<Registration, GatewayError> {
    run(gateway.register_permission(customer, &card(number), now()))
}

/// Registers `number` for `cust-1`, passing 3-D Secure if asked; panics on
/// a decline.
fn enabled(gateway: &CardDummy, number: &str) -> GatewayPermission {
    match register(gateway, "cust-1", number).unwrap() {
        Registration::Enabled(permission) => permission,
        Registration::RequiresAction {
            permission,
            verification_id,
            ..
        } => {
            let outcome =
                run(gateway.complete_authentication(&verification_id, true, now())).unwrap();
            assert_eq!(outcome, ChargeOutcome::Succeeded);
            let permission = run(gateway.permission(&permission.id)).unwrap();
            assert_eq!(permission.state, StatePermission::Enabled);
            permission
        }
    }
}

fn renewal(
    gateway: &CardDummy,
    permission: &GatewayPermission,
    key: &str,
) -> (ChargeId, ChargeOutcome) {
    let receipt = run(gateway.charge(&request(&permission.id, 1900, Renewal, key), now())).unwrap();
    (receipt.charge_id, receipt.outcome)
}

fn requires_action(outcome: &ChargeOutcome) -> bool {
    matches!(outcome, ChargeOutcome::RequiresAction { .. })
}

#[test]
fn card_4200_4600_3700_3700_asks_3ds_at_registration_then_renews_without() {
    let gateway = CardDummy::new();
    let Registration::RequiresAction {
        permission,
        verification_id,
        challenge_url_hint,
    } = register(&gateway, "cust-1", "4200 4600 3700 3700").unwrap()
    else {
        panic!("3-D Secure expected at registration");
    };
    assert_eq!(permission.state, StatePermission::PendingAuthentication);
    assert_eq!(
        challenge_url_hint,
        format!("/sandbox/3ds/{verification_id}")
    );
    // Not chargeable before 3-D Secure.
    assert!(matches!(
        run(gateway.charge(&request(&permission.id, 100, Renewal, "k0"), now())),
        Err(GatewayError::PermissionNotUsable {
            state: StatePermission::PendingAuthentication,
            ..
        })
    ));
    assert_eq!(
        run(gateway.complete_authentication(&verification_id, true, now())).unwrap(),
        ChargeOutcome::Succeeded
    );
    let permission = run(gateway.permission(&permission.id)).unwrap();
    assert_eq!(permission.state, StatePermission::Enabled);
    // An on-session charge at registration asks for 3-D Secure, then is ok.
    let first =
        run(gateway.charge(&request(&permission.id, 1900, AtRegistration, "k1"), now())).unwrap();
    assert!(requires_action(&first.outcome));
    assert_eq!(
        run(gateway.complete_authentication(&first.charge_id, true, now())).unwrap(),
        ChargeOutcome::Succeeded
    );
    // Renewals succeed without the customer.
    assert_eq!(
        renewal(&gateway, &permission, "k2").1,
        ChargeOutcome::Succeeded
    );
    assert_eq!(
        renewal(&gateway, &permission, "k3").1,
        ChargeOutcome::Succeeded
    );
    assert_eq!(run(gateway.failed_registrations("cust-1")), 0);
}

#[test]
fn card_4200_4600_3700_4609_asks_3ds_again_at_renewal() {
    let gateway = CardDummy::new();
    let permission = enabled(&gateway, "4200460037004609");
    assert_eq!(permission.state, StatePermission::Enabled);
    let (charge, outcome) = renewal(&gateway, &permission, "renew-1");
    assert_eq!(
        outcome,
        ChargeOutcome::RequiresAction {
            challenge_url_hint: format!("/sandbox/3ds/{charge}")
        }
    );
    assert_eq!(
        run(gateway.poll(&charge, at("2026-04-01T00:00:00Z"))).unwrap(),
        outcome,
        "waiting for the customer does not resolve by itself"
    );
    assert_eq!(
        run(gateway.complete_authentication(&charge, true, now())).unwrap(),
        ChargeOutcome::Succeeded
    );
    assert_eq!(
        run(gateway.poll(&charge, now())).unwrap(),
        ChargeOutcome::Succeeded
    );
    // Next renewal asks again; this time the customer fails it.
    let (charge, outcome) = renewal(&gateway, &permission, "renew-2");
    assert!(requires_action(&outcome));
    assert_eq!(
        run(gateway.complete_authentication(&charge, false, now())).unwrap(),
        ChargeOutcome::Failed {
            reason: FailureReason::AuthenticationFailed,
            retryable: false
        }
    );
    // Completing twice is refused.
    assert_eq!(
        run(gateway.complete_authentication(&charge, true, now())),
        Err(GatewayError::NotAwaitingAuthentication(charge))
    );
}

#[test]
fn card_4200_4600_3702_5901_has_insufficient_funds_at_renewal() {
    let gateway = CardDummy::new();
    let Registration::Enabled(permission) =
        register(&gateway, "cust-1", "4200 4600 3702 5901").unwrap()
    else {
        panic!("no 3-D Secure at registration");
    };
    let first = run(gateway.charge(
        &request(&permission.id, 1900, AtRegistration, "first"),
        now(),
    ))
    .unwrap();
    assert_eq!(first.outcome, ChargeOutcome::Succeeded);
    assert_eq!(
        renewal(&gateway, &permission, "renew").1,
        ChargeOutcome::Failed {
            reason: FailureReason::InsufficientFunds,
            retryable: true
        }
    );
    // The card stays usable: dunning retries it.
    assert_eq!(
        run(gateway.permission(&permission.id)).unwrap().state,
        StatePermission::Enabled
    );
}

#[test]
fn card_4200_4600_3705_4208_is_rejected_at_renewal() {
    let gateway = CardDummy::new();
    let Registration::Enabled(permission) =
        register(&gateway, "cust-1", "4200 4600 3705 4208").unwrap()
    else {
        panic!("no 3-D Secure at registration");
    };
    let first = run(gateway.charge(
        &request(&permission.id, 1900, AtRegistration, "first"),
        now(),
    ))
    .unwrap();
    assert_eq!(first.outcome, ChargeOutcome::Succeeded);
    assert_eq!(
        renewal(&gateway, &permission, "renew").1,
        ChargeOutcome::Failed {
            reason: FailureReason::Rejected,
            retryable: false
        }
    );
}

#[test]
fn card_4202_5602_5602_5603_has_insufficient_funds_at_registration() {
    let gateway = CardDummy::new();
    assert_eq!(
        register(&gateway, "cust-1", "4202 5602 5602 5603"),
        Err(GatewayError::RegistrationDeclined {
            reason: FailureReason::InsufficientFunds
        })
    );
    assert_eq!(run(gateway.failed_registrations("cust-1")), 1);
}

#[test]
fn card_4205_4202_5602_5607_is_rejected_at_registration_and_feeds_the_grey_list() {
    let gateway = CardDummy::new();
    for expected in 1..=3 {
        assert_eq!(
            register(&gateway, "fraudster", "4205 4202 5602 5607"),
            Err(GatewayError::RegistrationDeclined {
                reason: FailureReason::Rejected
            })
        );
        assert_eq!(run(gateway.failed_registrations("fraudster")), expected);
    }
    // Per customer; validation errors do not count.
    assert_eq!(run(gateway.failed_registrations("someone-else")), 0);
    assert!(register(&gateway, "someone-else", "4205 4202 5602 5608").is_err());
    assert_eq!(run(gateway.failed_registrations("someone-else")), 0);
    // A failed 3-D Secure at registration counts and disables the card.
    let Registration::RequiresAction {
        permission,
        verification_id,
        ..
    } = register(&gateway, "someone-else", "4200 4600 3700 3700").unwrap()
    else {
        panic!("3-D Secure expected");
    };
    assert_eq!(
        run(gateway.complete_authentication(&verification_id, false, now())).unwrap(),
        ChargeOutcome::Failed {
            reason: FailureReason::AuthenticationFailed,
            retryable: false
        }
    );
    assert_eq!(run(gateway.failed_registrations("someone-else")), 1);
    assert_eq!(
        run(gateway.permission(&permission.id)).unwrap().state,
        StatePermission::Disabled
    );
}

#[test]
fn card_4242_always_succeeds_without_3ds() {
    let gateway = CardDummy::new();
    let Registration::Enabled(permission) =
        register(&gateway, "cust-1", "4242 4242 4242 4242").unwrap()
    else {
        panic!("no 3-D Secure expected");
    };
    assert_eq!(permission.name_display, "****-****-****-4242");
    assert_eq!(permission.type_payment, TypePayment::Card);
    assert_eq!(permission.type_gateway, TypeGateway::CardDummy);
    assert_eq!(permission.country.as_deref(), Some("FR"));
    assert_eq!(permission.date_expiration, Some(date(2028, 12, 31)));
    assert_eq!(permission.customer, "cust-1");
    for (i, context) in [AtRegistration, Renewal, Renewal].into_iter().enumerate() {
        let receipt = run(gateway.charge(
            &request(&permission.id, 500, context, &format!("k{i}")),
            now(),
        ))
        .unwrap();
        assert_eq!(receipt.outcome, ChargeOutcome::Succeeded);
    }
}

#[test]
fn every_documented_card_behaves_as_its_table_row() {
    use abo_gateway::CardBehaviour::*;
    for test in TEST_CARDS {
        let gateway = CardDummy::new();
        let registration = register(&gateway, "cust-1", test.number);
        let permission = match (test.at_registration, registration) {
            (Succeed, Ok(Registration::Enabled(p))) => p,
            (
                Authenticate,
                Ok(Registration::RequiresAction {
                    verification_id,
                    permission,
                    ..
                }),
            ) => {
                run(gateway.complete_authentication(&verification_id, true, now())).unwrap();
                permission
            }
            (
                InsufficientFunds,
                Err(GatewayError::RegistrationDeclined {
                    reason: FailureReason::InsufficientFunds,
                }),
            )
            | (
                Reject,
                Err(GatewayError::RegistrationDeclined {
                    reason: FailureReason::Rejected,
                }),
            ) => continue,
            (expected, got) => panic!("{}: expected {expected:?}, got {got:?}", test.number),
        };
        let (_, outcome) = renewal(&gateway, &permission, "renewal");
        let ok = match test.at_renewal {
            Succeed => outcome == ChargeOutcome::Succeeded,
            Authenticate => requires_action(&outcome),
            InsufficientFunds => matches!(
                outcome,
                ChargeOutcome::Failed {
                    reason: FailureReason::InsufficientFunds,
                    ..
                }
            ),
            Reject => matches!(
                outcome,
                ChargeOutcome::Failed {
                    reason: FailureReason::Rejected,
                    ..
                }
            ),
        };
        assert!(ok, "{} at renewal: {outcome:?}", test.number);
    }
}

#[test]
fn any_other_luhn_valid_number_succeeds() {
    let gateway = CardDummy::new();
    let permission = enabled(&gateway, "5555 5555 5555 4444");
    assert_eq!(
        renewal(&gateway, &permission, "k").1,
        ChargeOutcome::Succeeded
    );
    let debit = enabled(&gateway, "4000 0566 5566 5556");
    assert_eq!(debit.name_display, "****-****-****-5556");
}

#[test]
fn validation_errors() {
    let gateway = CardDummy::new();
    let with = |number: &str, expiry: &str, cvc: &str, country: Option<&str>| {
        run(gateway.register_permission(
            "cust-1",
            &abo_gateway::PaymentDetails::Card(CardDetails {
                number: number.into(),
                expiry: expiry.into(),
                cvc: cvc.into(),
                country: country.map(Into::into),
            }),
            now(),
        ))
    };
    let ok = "4242 4242 4242 4242";
    assert_eq!(
        with("4242 4242 4242 4243", "12/28", "123", None),
        Err(GatewayError::LuhnCheckFailed)
    );
    assert_eq!(
        with("4242 4242 abcd 4242", "12/28", "123", None),
        Err(GatewayError::InvalidCardNumber)
    );
    assert_eq!(
        with("4242", "12/28", "123", None),
        Err(GatewayError::InvalidCardNumber)
    );
    assert_eq!(
        with(ok, "13/28", "123", None),
        Err(GatewayError::InvalidExpiry)
    );
    assert_eq!(
        with(ok, "1228", "123", None),
        Err(GatewayError::InvalidExpiry)
    );
    // now is 2026-03-02: 02/26 is over, 03/26 still good.
    assert_eq!(
        with(ok, "02/26", "123", None),
        Err(GatewayError::CardExpired {
            month: 2,
            year: 2026
        })
    );
    assert!(with(ok, "03/26", "123", None).is_ok());
    assert_eq!(with(ok, "12/28", "12", None), Err(GatewayError::InvalidCvc));
    assert_eq!(
        with(ok, "12/28", "1234", None),
        Err(GatewayError::InvalidCvc)
    );
    assert_eq!(
        with(ok, "12/28", "12a", None),
        Err(GatewayError::InvalidCvc)
    );
    assert_eq!(
        with(ok, "12/28", "123", Some("FRA")),
        Err(GatewayError::InvalidCountry)
    );
    assert_eq!(
        run(gateway.register_permission("cust-1", &sepa("DE89370400440532013000"), now())),
        Err(GatewayError::WrongPaymentType {
            gateway: TypeGateway::CardDummy,
            payment: TypePayment::DirectDebit
        })
    );
}

#[test]
fn a_card_past_its_expiry_month_fails_as_expired() {
    let gateway = CardDummy::new();
    let details = abo_gateway::PaymentDetails::Card(CardDetails {
        number: "4242424242424242".into(),
        expiry: "03/26".into(),
        cvc: "123".into(),
        country: None,
    });
    let Registration::Enabled(permission) =
        run(gateway.register_permission("c", &details, now())).unwrap()
    else {
        panic!()
    };
    let last_day = at("2026-03-31T23:59:59Z");
    let receipt =
        run(gateway.charge(&request(&permission.id, 100, Renewal, "march"), last_day)).unwrap();
    assert_eq!(receipt.outcome, ChargeOutcome::Succeeded);
    let april = at("2026-04-01T00:00:00Z");
    let receipt =
        run(gateway.charge(&request(&permission.id, 100, Renewal, "april"), april)).unwrap();
    assert_eq!(
        receipt.outcome,
        ChargeOutcome::Failed {
            reason: FailureReason::Expired,
            retryable: false
        }
    );
    assert_eq!(
        run(gateway.permission(&permission.id)).unwrap().state,
        StatePermission::Expired
    );
}

#[test]
fn the_same_idempotency_key_never_charges_twice() {
    let gateway = CardDummy::new();
    let permission = enabled(&gateway, "4242 4242 4242 4242");
    let req = request(&permission.id, 1900, Renewal, "invoice:7:attempt:1");
    let first = run(gateway.charge(&req, now())).unwrap();
    let again = run(gateway.charge(&req, at("2026-03-03T00:00:00Z"))).unwrap();
    assert_eq!(first, again);
    // Refunds see one charge of 19.00, not two.
    assert_eq!(
        run(gateway.refund(&first.charge_id, eur(1901), now())),
        Err(GatewayError::RefundExceedsCharge {
            requested: 1901,
            remaining: 1900
        })
    );
    // Same key, another amount: a conflict, nothing charged.
    assert_eq!(
        run(gateway.charge(
            &request(&permission.id, 2000, Renewal, "invoice:7:attempt:1"),
            now()
        )),
        Err(GatewayError::IdempotencyConflict(
            "invoice:7:attempt:1".into()
        ))
    );
    // A new key is a new charge.
    let other = run(gateway.charge(
        &request(&permission.id, 1900, Renewal, "invoice:7:attempt:2"),
        now(),
    ))
    .unwrap();
    assert_ne!(other.charge_id, first.charge_id);
    // A replay of a declined charge is the same decline, not a new attempt.
    let poor = enabled(&gateway, "4200 4600 3702 5901");
    let req = request(&poor.id, 1900, Renewal, "invoice:8:attempt:1");
    let declined = run(gateway.charge(&req, now())).unwrap();
    assert_eq!(run(gateway.charge(&req, now())).unwrap(), declined);
    // A replay of a 3-D Secure charge returns the same charge.
    let sca = enabled(&gateway, "4200 4600 3700 4609");
    let req = request(&sca.id, 1900, Renewal, "invoice:9:attempt:1");
    let pending = run(gateway.charge(&req, now())).unwrap();
    run(gateway.complete_authentication(&pending.charge_id, true, now())).unwrap();
    let replay = run(gateway.charge(&req, now())).unwrap();
    assert_eq!(replay.charge_id, pending.charge_id);
    assert_eq!(
        run(gateway.poll(&replay.charge_id, now())).unwrap(),
        ChargeOutcome::Succeeded
    );
}

#[test]
fn charge_validation() {
    let gateway = CardDummy::new();
    let permission = enabled(&gateway, "4242 4242 4242 4242");
    assert_eq!(
        run(gateway.charge(&request(&permission.id, 0, Renewal, "zero"), now())),
        Err(GatewayError::InvalidAmount)
    );
    assert_eq!(
        run(gateway.charge(&request(&permission.id, -5, Renewal, "neg"), now())),
        Err(GatewayError::InvalidAmount)
    );
    assert_eq!(
        run(gateway.charge(&request(&permission.id, 5, Renewal, ""), now())),
        Err(GatewayError::InvalidIdempotencyKey)
    );
    assert_eq!(
        run(gateway.charge(
            &request(&permission.id, 5, Renewal, &"k".repeat(256)),
            now()
        )),
        Err(GatewayError::InvalidIdempotencyKey)
    );
    let unknown = abo_gateway::PermissionId::from("cd_pm_999999");
    assert_eq!(
        run(gateway.charge(&request(&unknown, 5, Renewal, "u"), now())),
        Err(GatewayError::UnknownPermission(unknown))
    );
    // The key refused for a zero amount is free for the corrected request.
    assert!(run(gateway.charge(&request(&permission.id, 5, Renewal, "zero"), now())).is_ok());
    // A removed card cannot be charged.
    let disabled = run(gateway.disable_permission(&permission.id, now())).unwrap();
    assert_eq!(disabled.state, StatePermission::Disabled);
    assert!(matches!(
        run(gateway.charge(&request(&permission.id, 5, Renewal, "after"), now())),
        Err(GatewayError::PermissionNotUsable {
            state: StatePermission::Disabled,
            ..
        })
    ));
    assert_eq!(
        run(gateway.poll(&ChargeId::from("nope"), now())),
        Err(GatewayError::UnknownCharge(ChargeId::from("nope")))
    );
}

#[test]
fn refunds_never_exceed_the_charge() {
    let gateway = CardDummy::new();
    let permission = enabled(&gateway, "4242 4242 4242 4242");
    let receipt = run(gateway.charge(&request(&permission.id, 1000, Renewal, "k"), now())).unwrap();
    let id = receipt.charge_id;
    let first = run(gateway.refund(&id, eur(400), now())).unwrap();
    assert_eq!((first.amount, first.refunded_total), (eur(400), eur(400)));
    assert_eq!(
        run(gateway.refund(&id, eur(601), now())),
        Err(GatewayError::RefundExceedsCharge {
            requested: 601,
            remaining: 600
        })
    );
    assert_eq!(
        run(gateway.refund(&id, eur(0), now())),
        Err(GatewayError::InvalidAmount)
    );
    assert_eq!(
        run(gateway.refund(&id, Money::new(100, Currency::USD), now())),
        Err(GatewayError::CurrencyMismatch {
            expected: Currency::EUR,
            got: Currency::USD
        })
    );
    let second = run(gateway.refund(&id, eur(600), now())).unwrap();
    assert_eq!(second.refunded_total, eur(1000));
    assert_ne!(first.id, second.id);
    assert_eq!(
        run(gateway.refund(&id, eur(1), now())),
        Err(GatewayError::RefundExceedsCharge {
            requested: 1,
            remaining: 0
        })
    );
    assert_eq!(run(gateway.get_charge(&id)).unwrap().refunded, eur(1000));
    // A fully refunded charge cannot be disputed.
    assert!(matches!(
        run(gateway.dispute(&id, DisputeReason::Fraudulent, now())),
        Err(GatewayError::NotDisputable { .. })
    ));
    // Declined and unauthenticated charges have nothing to refund.
    let poor = enabled(&gateway, "4200 4600 3702 5901");
    let declined = renewal(&gateway, &poor, "declined").0;
    assert!(matches!(
        run(gateway.refund(&declined, eur(1), now())),
        Err(GatewayError::NotRefundable { .. })
    ));
    let sca = enabled(&gateway, "4200 4600 3700 4609");
    let waiting = renewal(&gateway, &sca, "waiting").0;
    assert!(matches!(
        run(gateway.refund(&waiting, eur(1), now())),
        Err(GatewayError::NotRefundable { .. })
    ));
}

#[test]
fn dispute_hook() {
    let gateway = CardDummy::new();
    let permission = enabled(&gateway, "4242 4242 4242 4242");
    let (id, _) = renewal(&gateway, &permission, "k");
    run(gateway.refund(&id, eur(100), now())).unwrap();
    let later = at("2026-03-20T12:00:00Z");
    assert_eq!(
        run(gateway.dispute(&id, DisputeReason::Fraudulent, later)).unwrap(),
        ChargeOutcome::Disputed {
            reason: DisputeReason::Fraudulent,
            disputed_at: later
        }
    );
    assert_eq!(
        run(gateway.poll(&id, later)).unwrap(),
        ChargeOutcome::Disputed {
            reason: DisputeReason::Fraudulent,
            disputed_at: later
        }
    );
    assert!(matches!(
        run(gateway.dispute(&id, DisputeReason::General, later)),
        Err(GatewayError::NotDisputable { .. })
    ));
    assert!(matches!(
        run(gateway.refund(&id, eur(1), later)),
        Err(GatewayError::NotRefundable { .. })
    ));
}

#[test]
fn ids_are_deterministic() {
    let ids = || {
        let gateway = CardDummy::new();
        let permission = enabled(&gateway, "4242 4242 4242 4242");
        let (charge, _) = renewal(&gateway, &permission, "k");
        (permission.id, charge)
    };
    assert_eq!(ids(), ids());
    assert_eq!(ids().0.as_str(), "cd_pm_000001");
}

#[test]
fn the_gateway_is_usable_as_a_trait_object() {
    let gateways: Vec<Box<dyn PaymentGateway>> = vec![
        Box::new(CardDummy::new()),
        Box::new(abo_gateway::DirectDebitDummy::new()),
    ];
    let kinds: Vec<_> = gateways.iter().map(|g| g.type_gateway()).collect();
    assert_eq!(
        kinds,
        [TypeGateway::CardDummy, TypeGateway::DirectDebitDummy]
    );
    let permission =
        run(gateways[0].register_permission("c", &card("4242424242424242"), now())).unwrap();
    let json = serde_json::to_value(permission.permission()).unwrap();
    assert_eq!(json["state"], "Enabled");
    assert_eq!(json["type_gateway"], "CardDummy");
    assert_eq!(json["date_expiration"], "2028-12-31");
}

#[test]
fn a_refund_key_refunds_once() {
    let gateway = CardDummy::new();
    let permission = enabled(&gateway, "4242 4242 4242 4242");
    let charge = run(gateway.charge(
        &request(&permission.id, 1900, Renewal, "invoice:9:attempt:1"),
        now(),
    ))
    .unwrap()
    .charge_id;
    let first = run(gateway.refund_once(&charge, eur(1000), "refund:1", now())).unwrap();
    // A retry after a crash gets the first refund back, not a second one.
    let again = run(gateway.refund_once(&charge, eur(1000), "refund:1", now())).unwrap();
    assert_eq!(first, again);
    assert_eq!(
        run(gateway.get_charge(&charge)).unwrap().refunded,
        eur(1000)
    );
    // The same key for another amount is refused and refunds nothing.
    assert_eq!(
        run(gateway.refund_once(&charge, eur(900), "refund:1", now())),
        Err(GatewayError::IdempotencyConflict("refund:1".into()))
    );
    // Another key: another refund, still never more than the charge.
    assert!(run(gateway.refund_once(&charge, eur(901), "refund:2", now())).is_err());
    let second = run(gateway.refund_once(&charge, eur(900), "refund:2", now())).unwrap();
    assert_eq!(second.refunded_total, eur(1900));
}
