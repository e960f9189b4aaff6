//! `CardDummy`: the sandbox card gateway, driven by test card numbers.
//!
//! Only the card network is simulated; validation (Luhn, expiry, CVC),
//! idempotency, 3-D Secure round trips, refunds and disputes behave as with a
//! real PSP. What a card does depends on its number and on the
//! [`ChargeContext`] of the charge:
//!
//! | number                | at registration             | at renewal          |
//! |-----------------------|-----------------------------|---------------------|
//! | `4200 4600 3700 3700` | 3-D Secure, then ok         | ok                  |
//! | `4200 4600 3700 4609` | 3-D Secure, then ok         | 3-D Secure again    |
//! | `4200 4600 3702 5901` | ok                          | insufficient funds  |
//! | `4200 4600 3705 4208` | ok                          | rejected            |
//! | `4202 5602 5602 5603` | insufficient funds          | insufficient funds  |
//! | `4205 4202 5602 5607` | rejected (grey-list counter)| rejected            |
//! | `4242 4242 4242 4242` | ok, no 3-D Secure           | ok                  |
//! | any other Luhn-valid  | ok                          | ok                  |
//!
//! The first six are ProAbono's documented sandbox cards (spec §1.10).
//! "At registration" applies to [`PaymentGateway::register_permission`] and
//! to charges in [`ChargeContext::Registration`] (customer present); "at
//! renewal" to charges in [`ChargeContext::Renewal`] (customer absent).
//! Whatever the number, a charge after the end of the card's expiry month
//! fails with [`FailureReason::Expired`] and marks the permission `Expired`.

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::error::GatewayError;
use crate::gateway::{
    ChargeContext, ChargeId, ChargeOutcome, ChargeReceipt, ChargeRequest, DisputeReason,
    FailureReason, GatewayPermission, PaymentDetails, PaymentGateway, PermissionId, Refund,
    Registration, StatePermission, TypeGateway, TypePayment,
};
use crate::ledger::SandboxLedger;
use crate::sandbox::{Later, Record, Sandbox, challenge_url_hint, country_code, ensure_chargeable};
use abo_core::Money;

/// What the simulated issuer does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CardBehaviour {
    /// Approves.
    Succeed,
    /// Demands 3-D Secure; approves if the customer passes it.
    Authenticate,
    /// Declines for insufficient funds (retryable).
    InsufficientFunds,
    /// Declines for good ("do not honor").
    Reject,
}

/// One row of the test-card table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestCard {
    /// As documented, with spaces.
    pub number: &'static str,
    pub at_registration: CardBehaviour,
    pub at_renewal: CardBehaviour,
    pub description: &'static str,
}

use CardBehaviour::{Authenticate, InsufficientFunds, Reject, Succeed};

/// The test cards with a special behaviour. Any other Luhn-valid number
/// always succeeds without 3-D Secure.
pub const TEST_CARDS: &[TestCard] = &[
    TestCard {
        number: "4200 4600 3700 3700",
        at_registration: Authenticate,
        at_renewal: Succeed,
        description: "3-D Secure at registration, then ok; ok at renewal",
    },
    TestCard {
        number: "4200 4600 3700 4609",
        at_registration: Authenticate,
        at_renewal: Authenticate,
        description: "3-D Secure at registration, and again at renewal",
    },
    TestCard {
        number: "4200 4600 3702 5901",
        at_registration: Succeed,
        at_renewal: InsufficientFunds,
        description: "ok at registration, insufficient funds at renewal",
    },
    TestCard {
        number: "4200 4600 3705 4208",
        at_registration: Succeed,
        at_renewal: Reject,
        description: "ok at registration, rejected at renewal",
    },
    TestCard {
        number: "4202 5602 5602 5603",
        at_registration: InsufficientFunds,
        at_renewal: InsufficientFunds,
        description: "insufficient funds at registration",
    },
    TestCard {
        number: "4205 4202 5602 5607",
        at_registration: Reject,
        at_renewal: Reject,
        description: "rejected at registration; repeated use feeds the grey-list counter",
    },
    TestCard {
        number: "4242 4242 4242 4242",
        at_registration: Succeed,
        at_renewal: Succeed,
        description: "always succeeds, never asks for 3-D Secure",
    },
];

/// The behaviour of a card number (digits only) at registration and renewal.
pub fn test_card_behaviour(digits: &str) -> (CardBehaviour, CardBehaviour) {
    TEST_CARDS
        .iter()
        .find(|card| {
            card.number
                .bytes()
                .filter(u8::is_ascii_digit)
                .eq(digits.bytes())
        })
        .map_or((Succeed, Succeed), |card| {
            (card.at_registration, card.at_renewal)
        })
}

/// Whether a string of ASCII digits passes the Luhn check (false for
/// anything else, and for the empty string).
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The digits of a card number typed with optional spaces or dashes: 12 to
/// 19 digits passing the Luhn check.
pub fn parse_card_number(input: &str) -> Result<String, GatewayError> {
    let mut digits = String::with_capacity(19);
    for c in input.trim().chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' => {}
            _ => return Err(GatewayError::InvalidCardNumber),
        }
    }
    if !(12..=19).contains(&digits.len()) {
        return Err(GatewayError::InvalidCardNumber);
    }
    if !luhn_valid(&digits) {
        return Err(GatewayError::LuhnCheckFailed);
    }
    Ok(digits)
}

/// A card's expiry: valid through the last day of `month`/`year`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CardExpiry {
    year: i16,
    month: i8,
}

impl CardExpiry {
    /// `month` 1 to 12, `year` in four digits (2000 to 9998).
    pub fn new(month: i8, year: i16) -> Result<CardExpiry, GatewayError> {
        if (1..=12).contains(&month) && (2000..=9998).contains(&year) {
            Ok(CardExpiry { year, month })
        } else {
            Err(GatewayError::InvalidExpiryMonth)
        }
    }

    /// `MM/YY` as printed on cards (`MM/YYYY` too; spaces around the slash
    /// are ignored). Two-digit years are in the 2000s.
    pub fn parse(text: &str) -> Result<CardExpiry, GatewayError> {
        let (month, year) = text
            .trim()
            .split_once('/')
            .ok_or(GatewayError::InvalidExpiry)?;
        let (month, year) = (month.trim(), year.trim());
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if month.len() != 2 || !digits(month) || !(year.len() == 2 || year.len() == 4) {
            return Err(GatewayError::InvalidExpiry);
        }
        if !digits(year) {
            return Err(GatewayError::InvalidExpiry);
        }
        let month: i8 = month.parse().map_err(|_| GatewayError::InvalidExpiry)?;
        let mut year: i16 = year.parse().map_err(|_| GatewayError::InvalidExpiry)?;
        if year < 100 {
            year += 2000;
        }
        CardExpiry::new(month, year).map_err(|_| GatewayError::InvalidExpiry)
    }

    pub const fn month(self) -> i8 {
        self.month
    }

    pub const fn year(self) -> i16 {
        self.year
    }

    /// The last day the card works (ProAbono's `DateExpiration`).
    pub fn last_day(self) -> Date {
        // Valid by construction: month 1..=12, year 2000..=9998.
        Date::new(self.year, self.month, 1)
            .map(|first| first.last_of_month())
            .unwrap_or(Date::MAX)
    }

    /// Whether the card no longer works at `now` (UTC): the expiry month is
    /// over.
    pub fn is_expired_at(self, now: Timestamp) -> bool {
        let today = now.to_zoned(TimeZone::UTC).date();
        today > self.last_day()
    }
}

/// What the sandbox remembers about a stored card.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct CardScenario {
    at_registration: CardBehaviour,
    at_renewal: CardBehaviour,
    expiry: CardExpiry,
}

/// The sandbox card gateway.
pub struct CardDummy {
    sandbox: Sandbox<CardScenario>,
}

impl Default for CardDummy {
    fn default() -> Self {
        CardDummy::new()
    }
}

impl CardDummy {
    pub fn new() -> CardDummy {
        CardDummy {
            sandbox: Sandbox::new(TypeGateway::CardDummy, "cd"),
        }
    }

    /// A CardDummy whose state lives in `ledger` (the store, in `abo serve`):
    /// it survives restarts and is shared by every node on the database.
    pub fn with_ledger(ledger: Arc<dyn SandboxLedger>) -> CardDummy {
        CardDummy {
            sandbox: Sandbox::with_ledger(TypeGateway::CardDummy, "cd", Some(ledger)),
        }
    }
}

fn outcome_of(behaviour: CardBehaviour, id: &ChargeId) -> ChargeOutcome {
    match behaviour {
        Succeed => ChargeOutcome::Succeeded,
        Authenticate => ChargeOutcome::RequiresAction {
            challenge_url_hint: challenge_url_hint(id.as_str()),
        },
        InsufficientFunds => ChargeOutcome::failed(FailureReason::InsufficientFunds),
        Reject => ChargeOutcome::failed(FailureReason::Rejected),
    }
}

#[async_trait]
impl PaymentGateway for CardDummy {
    fn type_gateway(&self) -> TypeGateway {
        TypeGateway::CardDummy
    }

    async fn register_permission(
        &self,
        customer: &str,
        details: &PaymentDetails,
        now: Timestamp,
    ) -> Result<Registration, GatewayError> {
        let PaymentDetails::Card(card) = details else {
            return Err(GatewayError::WrongPaymentType {
                gateway: TypeGateway::CardDummy,
                payment: details.type_payment(),
            });
        };
        let digits = parse_card_number(&card.number)?;
        let expiry = CardExpiry::parse(&card.expiry)?;
        if expiry.is_expired_at(now) {
            return Err(GatewayError::CardExpired {
                month: expiry.month,
                year: expiry.year,
            });
        }
        let cvc = card.cvc.trim();
        if cvc.len() != 3 || !cvc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(GatewayError::InvalidCvc);
        }
        let country = card.country.as_deref().map(country_code).transpose()?;
        let (at_registration, at_renewal) = test_card_behaviour(&digits);

        let needs = [Record::FailedRegistrations(customer.to_owned())];
        self.sandbox
            .run(&needs, 2, |state| {
                let state_permission = match at_registration {
                    InsufficientFunds | Reject => {
                        state.count_failed_registration(customer);
                        let reason = if at_registration == Reject {
                            FailureReason::Rejected
                        } else {
                            FailureReason::InsufficientFunds
                        };
                        return Err(GatewayError::RegistrationDeclined { reason });
                    }
                    Succeed => StatePermission::Enabled,
                    Authenticate => StatePermission::PendingAuthentication,
                };
                let permission = GatewayPermission {
                    id: PermissionId(state.next_id("pm")),
                    customer: customer.to_owned(),
                    state: state_permission,
                    type_payment: TypePayment::Card,
                    type_gateway: TypeGateway::CardDummy,
                    name_display: format!("****-****-****-{}", &digits[digits.len() - 4..]),
                    country,
                    date_expiration: Some(expiry.last_day()),
                    mandate_reference: None,
                    created_at: now,
                };
                state.store_permission(
                    permission.clone(),
                    CardScenario {
                        at_registration,
                        at_renewal,
                        expiry,
                    },
                );
                if at_registration == Authenticate {
                    let verification_id = state.await_verification(&permission.id);
                    let challenge_url_hint = challenge_url_hint(verification_id.as_str());
                    return Ok(Registration::RequiresAction {
                        permission,
                        verification_id,
                        challenge_url_hint,
                    });
                }
                Ok(Registration::Enabled(permission))
            })
            .await
    }

    async fn permission(&self, id: &PermissionId) -> Result<GatewayPermission, GatewayError> {
        self.sandbox
            .run(&[Record::Permission(id.clone())], 0, |state| {
                Ok(state.permission(id)?.permission.clone())
            })
            .await
    }

    async fn disable_permission(
        &self,
        id: &PermissionId,
        _now: Timestamp,
    ) -> Result<GatewayPermission, GatewayError> {
        self.sandbox
            .run(&[Record::Permission(id.clone())], 0, |state| {
                state.disable_permission(id)
            })
            .await
    }

    async fn charge(
        &self,
        request: &ChargeRequest,
        now: Timestamp,
    ) -> Result<ChargeReceipt, GatewayError> {
        let needs = [
            Record::Idempotency(request.idempotency_key.clone()),
            Record::Permission(request.permission_id.clone()),
        ];
        self.sandbox
            .run(&needs, 1, |state| {
                if let Some(replay) = state.begin_charge(request)? {
                    return Ok(replay);
                }
                let stored = state.permission(&request.permission_id)?;
                ensure_chargeable(&stored.permission)?;
                let scenario = stored.scenario;
                let expired = stored.permission.state == StatePermission::Expired
                    || scenario.expiry.is_expired_at(now);
                if expired {
                    state.set_permission_state(&request.permission_id, StatePermission::Expired);
                    return Ok(state.record_charge(
                        request,
                        |_| ChargeOutcome::failed(FailureReason::Expired),
                        Later::default(),
                        now,
                    ));
                }
                let behaviour = match request.context {
                    ChargeContext::Registration => scenario.at_registration,
                    ChargeContext::Renewal => scenario.at_renewal,
                };
                Ok(state.record_charge(
                    request,
                    |id| outcome_of(behaviour, id),
                    Later::default(),
                    now,
                ))
            })
            .await
    }

    async fn poll(
        &self,
        charge_id: &ChargeId,
        now: Timestamp,
    ) -> Result<ChargeOutcome, GatewayError> {
        self.sandbox
            .run(&[Record::Charge(charge_id.clone())], 0, |state| {
                state.poll(charge_id, now)
            })
            .await
    }

    async fn complete_authentication(
        &self,
        charge_id: &ChargeId,
        success: bool,
        _now: Timestamp,
    ) -> Result<ChargeOutcome, GatewayError> {
        let needs = [
            Record::Verification(charge_id.clone()),
            Record::Charge(charge_id.clone()),
        ];
        self.sandbox
            .run(&needs, 0, |state| {
                state.complete_authentication(charge_id, success)
            })
            .await
    }

    async fn refund(
        &self,
        charge_id: &ChargeId,
        amount: Money,
        now: Timestamp,
    ) -> Result<Refund, GatewayError> {
        self.sandbox.refund(charge_id, amount, now).await
    }

    async fn refund_once(
        &self,
        charge_id: &ChargeId,
        amount: Money,
        idempotency_key: &str,
        now: Timestamp,
    ) -> Result<Refund, GatewayError> {
        self.sandbox
            .refund_once(charge_id, amount, idempotency_key, now)
            .await
    }

    async fn dispute(
        &self,
        charge_id: &ChargeId,
        reason: DisputeReason,
        now: Timestamp,
    ) -> Result<ChargeOutcome, GatewayError> {
        self.sandbox
            .run(&[Record::Charge(charge_id.clone())], 0, |state| {
                state.dispute(charge_id, reason, now)
            })
            .await
    }

    async fn get_charge(&self, charge_id: &ChargeId) -> Result<crate::Charge, GatewayError> {
        self.sandbox
            .run(&[Record::Charge(charge_id.clone())], 0, |state| {
                state.get_charge(charge_id)
            })
            .await
    }

    async fn failed_registrations(&self, customer: &str) -> u32 {
        let needs = [Record::FailedRegistrations(customer.to_owned())];
        // The trait answers a count, not an error: a storage failure reads
        // as what this node knows.
        self.sandbox
            .run(&needs, 0, |state| Ok(state.failed_registrations(customer)))
            .await
            .unwrap_or_else(|_| self.sandbox.lock().failed_registrations(customer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_numbers_pass_luhn() {
        for card in TEST_CARDS {
            assert!(parse_card_number(card.number).is_ok(), "{}", card.number);
        }
    }

    #[test]
    fn luhn_examples() {
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("12a4"));
        assert_eq!(
            parse_card_number("4242 4242 4242 4241"),
            Err(GatewayError::LuhnCheckFailed)
        );
        assert_eq!(
            parse_card_number("4242-4242-4242-4242").as_deref(),
            Ok("4242424242424242")
        );
        assert_eq!(
            parse_card_number("4242 42x2"),
            Err(GatewayError::InvalidCardNumber)
        );
        assert_eq!(
            parse_card_number("42424"),
            Err(GatewayError::InvalidCardNumber)
        );
        assert_eq!(
            parse_card_number("4242 4242 4242 4242 4242"),
            Err(GatewayError::InvalidCardNumber)
        );
        assert_eq!(parse_card_number(""), Err(GatewayError::InvalidCardNumber));
    }

    #[test]
    fn expiry_parsing() {
        let e = CardExpiry::parse("02/28").unwrap();
        assert_eq!((e.month(), e.year()), (2, 2028));
        assert_eq!(e.last_day(), jiff::civil::date(2028, 2, 29));
        assert_eq!(CardExpiry::parse(" 12 / 2030 ").unwrap().year(), 2030);
        for bad in [
            "", "1/28", "13/28", "00/28", "12-28", "ab/cd", "12/028", "12/+8", "+1/28",
        ] {
            assert_eq!(
                CardExpiry::parse(bad),
                Err(GatewayError::InvalidExpiry),
                "{bad}"
            );
        }
    }

    #[test]
    fn expiry_is_through_the_end_of_the_month() {
        let e = CardExpiry::parse("03/26").unwrap();
        let last = "2026-03-31T23:59:59Z".parse().unwrap();
        let after = "2026-04-01T00:00:00Z".parse().unwrap();
        assert!(!e.is_expired_at(last));
        assert!(e.is_expired_at(after));
    }
}
