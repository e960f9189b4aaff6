//! `DirectDebitDummy`: the sandbox SEPA direct debit gateway.
//!
//! Registration validates the IBAN (SEPA country, length, mod 97), requires
//! the holder's name and the accepted mandate, and issues a deterministic
//! unique mandate reference. It is never declined: as with real SEPA, a bad
//! account only shows at the first debit.
//!
//! Debits are asynchronous, like the real thing: [`PaymentGateway::charge`]
//! answers `Pending { settles_at }` with `settles_at` =
//! [`SETTLEMENT_BUSINESS_DAYS`] business days later (Monday to Friday in UTC,
//! same time of day; bank holidays are ignored), and
//! [`PaymentGateway::poll`] at or after that instant gives the bank's answer,
//! decided by the IBAN:
//!
//! | IBAN                              | at settlement                                        |
//! |-----------------------------------|------------------------------------------------------|
//! | `DE89 3704 0044 0532 0130 00`     | succeeds                                             |
//! | `FR76 3000 6000 0112 3456 7890 189` | succeeds                                           |
//! | `DE97 5001 0517 0000 0000 01`     | fails: insufficient funds (retryable)                |
//! | `FR13 3000 6000 0100 0000 0001 189` | fails: insufficient funds (retryable)              |
//! | `DE70 5001 0517 0000 0000 02`     | fails: mandate revoked; the permission is disabled   |
//! | `DE43 5001 0517 0000 0000 03`     | succeeds, then is charged back (`DebtorRefund`) [`CHARGEBACK_DAYS`] days after settling |
//! | any other valid SEPA IBAN         | succeeds                                             |
//!
//! All of them have correct check digits. Only EUR can be debited. The
//! charge context does not matter (SEPA has no 3-D Secure).

use std::sync::Arc;

use async_trait::async_trait;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use abo_core::{Currency, Money};

use crate::error::GatewayError;
use crate::gateway::{
    Charge, ChargeId, ChargeOutcome, ChargeReceipt, ChargeRequest, DisputeReason, FailureReason,
    GatewayPermission, PaymentDetails, PaymentGateway, PermissionId, Refund, Registration,
    StatePermission, TypeGateway, TypePayment,
};
use crate::iban::Iban;
use crate::ledger::SandboxLedger;
use crate::sandbox::{Later, Record, Sandbox, ensure_chargeable};

/// Business days between a debit request and its settlement.
pub const SETTLEMENT_BUSINESS_DAYS: u32 = 3;

/// Days between the settlement of a charged-back debit and the chargeback.
pub const CHARGEBACK_DAYS: i64 = 7;

/// What the simulated debtor bank does with debits on an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DebitBehaviour {
    Succeed,
    InsufficientFunds,
    MandateRevoked,
    /// Succeeds, then the debtor claims the money back.
    ChargedBack,
}

/// One row of the test-IBAN table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestIban {
    /// With spaces, as a customer would type it.
    pub iban: &'static str,
    pub behaviour: DebitBehaviour,
    pub description: &'static str,
}

/// The magic IBANs. Any other valid SEPA IBAN succeeds.
pub const TEST_IBANS: &[TestIban] = &[
    TestIban {
        iban: "DE89 3704 0044 0532 0130 00",
        behaviour: DebitBehaviour::Succeed,
        description: "German account: debits succeed",
    },
    TestIban {
        iban: "FR76 3000 6000 0112 3456 7890 189",
        behaviour: DebitBehaviour::Succeed,
        description: "French account: debits succeed",
    },
    TestIban {
        iban: "DE97 5001 0517 0000 0000 01",
        behaviour: DebitBehaviour::InsufficientFunds,
        description: "German account: debits fail for insufficient funds",
    },
    TestIban {
        iban: "FR13 3000 6000 0100 0000 0001 189",
        behaviour: DebitBehaviour::InsufficientFunds,
        description: "French account: debits fail for insufficient funds",
    },
    TestIban {
        iban: "DE70 5001 0517 0000 0000 02",
        behaviour: DebitBehaviour::MandateRevoked,
        description: "debits are rejected: mandate revoked (permission disabled)",
    },
    TestIban {
        iban: "DE43 5001 0517 0000 0000 03",
        behaviour: DebitBehaviour::ChargedBack,
        description: "debits succeed, then are charged back 7 days later",
    },
];

/// The behaviour of a validated IBAN.
pub fn test_iban_behaviour(iban: &Iban) -> DebitBehaviour {
    TEST_IBANS
        .iter()
        .find(|test| {
            test.iban
                .chars()
                .filter(|c| !c.is_whitespace())
                .eq(iban.as_str().chars())
        })
        .map_or(DebitBehaviour::Succeed, |test| test.behaviour)
}

/// `now` plus `days` business days (Monday to Friday, in UTC), at the same
/// time of day. A request made on a Saturday settles on Wednesday.
pub fn add_business_days(now: Timestamp, days: u32) -> Timestamp {
    let mut at = now;
    let mut left = days;
    while left > 0 {
        at = at
            .checked_add(SignedDuration::from_hours(24))
            .unwrap_or(Timestamp::MAX);
        if at == Timestamp::MAX {
            return at;
        }
        let weekday = at.to_zoned(TimeZone::UTC).weekday();
        if !matches!(
            weekday,
            jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
        ) {
            left -= 1;
        }
    }
    at
}

/// A deterministic unique mandate reference: `ABO-` + FNV-1a of the
/// customer and IBAN + `-` + the gateway's sequence number. At most 35
/// characters of the SEPA character set, as the rulebook requires.
pub fn mandate_reference(customer: &str, iban: &Iban, sequence: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in customer.bytes().chain([0]).chain(iban.as_str().bytes()) {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let sequence: String = sequence.chars().filter(char::is_ascii_digit).collect();
    format!("ABO-{hash:08X}-{sequence}")
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct DebitScenario {
    behaviour: DebitBehaviour,
}

/// The sandbox SEPA direct debit gateway.
pub struct DirectDebitDummy {
    sandbox: Sandbox<DebitScenario>,
}

impl Default for DirectDebitDummy {
    fn default() -> Self {
        DirectDebitDummy::new()
    }
}

impl DirectDebitDummy {
    pub fn new() -> DirectDebitDummy {
        DirectDebitDummy {
            sandbox: Sandbox::new(TypeGateway::DirectDebitDummy, "dd"),
        }
    }

    /// A DirectDebitDummy whose state lives in `ledger` (the store, in `abo serve`):
    /// it survives restarts and is shared by every node on the database.
    pub fn with_ledger(ledger: Arc<dyn SandboxLedger>) -> DirectDebitDummy {
        DirectDebitDummy {
            sandbox: Sandbox::with_ledger(TypeGateway::DirectDebitDummy, "dd", Some(ledger)),
        }
    }
}

#[async_trait]
impl PaymentGateway for DirectDebitDummy {
    fn type_gateway(&self) -> TypeGateway {
        TypeGateway::DirectDebitDummy
    }

    async fn register_permission(
        &self,
        customer: &str,
        details: &PaymentDetails,
        now: Timestamp,
    ) -> Result<Registration, GatewayError> {
        let PaymentDetails::DirectDebit(debit) = details else {
            return Err(GatewayError::WrongPaymentType {
                gateway: TypeGateway::DirectDebitDummy,
                payment: details.type_payment(),
            });
        };
        let iban = Iban::parse(&debit.iban)?;
        if debit.holder_name.trim().is_empty() {
            return Err(GatewayError::MissingHolderName);
        }
        if !debit.mandate_accepted {
            return Err(GatewayError::MandateNotAccepted);
        }
        self.sandbox
            .run(&[], 1, |state| {
                let id = state.next_id("md");
                let permission = GatewayPermission {
                    id: PermissionId(id.clone()),
                    customer: customer.to_owned(),
                    state: StatePermission::Enabled,
                    type_payment: TypePayment::DirectDebit,
                    type_gateway: TypeGateway::DirectDebitDummy,
                    name_display: iban.masked(),
                    country: Some(iban.country().to_owned()),
                    date_expiration: None,
                    mandate_reference: Some(mandate_reference(customer, &iban, &id)),
                    created_at: now,
                };
                state.store_permission(
                    permission.clone(),
                    DebitScenario {
                        behaviour: test_iban_behaviour(&iban),
                    },
                );
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
                if request.amount.currency != Currency::EUR {
                    return Err(GatewayError::UnsupportedCurrency {
                        gateway: TypeGateway::DirectDebitDummy,
                        currency: request.amount.currency,
                    });
                }
                let stored = state.permission(&request.permission_id)?;
                ensure_chargeable(&stored.permission)?;
                let settles_at = add_business_days(now, SETTLEMENT_BUSINESS_DAYS);
                let (settled, chargeback) = match stored.scenario.behaviour {
                    DebitBehaviour::Succeed => (ChargeOutcome::Succeeded, None),
                    DebitBehaviour::InsufficientFunds => (
                        ChargeOutcome::failed(FailureReason::InsufficientFunds),
                        None,
                    ),
                    DebitBehaviour::MandateRevoked => {
                        (ChargeOutcome::failed(FailureReason::MandateRevoked), None)
                    }
                    DebitBehaviour::ChargedBack => (
                        ChargeOutcome::Succeeded,
                        Some((
                            settles_at
                                .checked_add(SignedDuration::from_hours(24 * CHARGEBACK_DAYS))
                                .unwrap_or(Timestamp::MAX),
                            DisputeReason::DebtorRefund,
                        )),
                    ),
                };
                let later = Later {
                    settlement: Some((settles_at, settled)),
                    chargeback,
                };
                Ok(state.record_charge(
                    request,
                    |_| ChargeOutcome::Pending { settles_at },
                    later,
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
        _success: bool,
        _now: Timestamp,
    ) -> Result<ChargeOutcome, GatewayError> {
        // SEPA never asks for 3-D Secure; still say "unknown" for ids that do
        // not exist.
        self.sandbox
            .run(&[Record::Charge(charge_id.clone())], 0, |state| {
                state.get_charge(charge_id)
            })
            .await?;
        Err(GatewayError::NotAwaitingAuthentication(charge_id.clone()))
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

    async fn get_charge(&self, charge_id: &ChargeId) -> Result<Charge, GatewayError> {
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
    fn every_test_iban_is_valid() {
        for test in TEST_IBANS {
            let iban = Iban::parse(test.iban).unwrap();
            assert_eq!(test_iban_behaviour(&iban), test.behaviour, "{}", test.iban);
        }
    }

    #[test]
    fn business_days_skip_weekends() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        // Monday → Thursday; Wednesday → Monday; Friday → Wednesday;
        // Saturday and Sunday → Wednesday.
        assert_eq!(
            add_business_days(at("2026-03-02T10:00:00Z"), 3),
            at("2026-03-05T10:00:00Z")
        );
        assert_eq!(
            add_business_days(at("2026-03-04T10:00:00Z"), 3),
            at("2026-03-09T10:00:00Z")
        );
        assert_eq!(
            add_business_days(at("2026-03-06T10:00:00Z"), 3),
            at("2026-03-11T10:00:00Z")
        );
        assert_eq!(
            add_business_days(at("2026-03-07T10:00:00Z"), 3),
            at("2026-03-11T10:00:00Z")
        );
        assert_eq!(
            add_business_days(at("2026-03-08T23:59:00Z"), 3),
            at("2026-03-11T23:59:00Z")
        );
        assert_eq!(add_business_days(Timestamp::MAX, 3), Timestamp::MAX);
    }

    #[test]
    fn mandate_reference_is_deterministic_and_sepa_shaped() {
        let iban = Iban::parse("DE89370400440532013000").unwrap();
        let a = mandate_reference("cust-1", &iban, "dd_md_000001");
        assert_eq!(a, mandate_reference("cust-1", &iban, "dd_md_000001"));
        assert_ne!(a, mandate_reference("cust-2", &iban, "dd_md_000001"));
        assert!(a.starts_with("ABO-") && a.ends_with("-000001") && a.len() <= 35);
    }
}
