//! The one error type of `abo-gateway`.
//!
//! Errors are requests the gateway refuses (bad input, unknown ids, misuse).
//! A card or bank *declining* a charge is not an error: it is an
//! `Ok(ChargeOutcome::Failed)` the service records and retries. The one
//! exception is a decline at registration, where nothing gets stored.

use abo_core::Currency;
use thiserror::Error;

use crate::gateway::{
    ChargeId, FailureReason, PermissionId, StatePermission, TypeGateway, TypePayment,
};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GatewayError {
    #[error("the card number must have 12 to 19 digits (spaces allowed)")]
    InvalidCardNumber,
    #[error("the card number is not valid (Luhn check failed)")]
    LuhnCheckFailed,
    #[error("the expiry date must be MM/YY")]
    InvalidExpiry,
    #[error("the card expired at the end of {month:02}/{year}")]
    CardExpired { month: i8, year: i16 },
    #[error("the security code (CVC) must be 3 digits")]
    InvalidCvc,
    #[error("the country must be a two-letter ISO 3166 code")]
    InvalidCountry,
    #[error("the IBAN is malformed: {0}")]
    InvalidIban(&'static str),
    #[error("IBANs from {0} are not accepted for SEPA direct debit")]
    IbanCountryNotSepa(String),
    #[error("an IBAN from {country} has {expected} characters, not {actual}")]
    IbanLength {
        country: String,
        expected: usize,
        actual: usize,
    },
    #[error("the IBAN's check digits are wrong")]
    IbanChecksum,
    #[error("the account holder's name is required")]
    MissingHolderName,
    #[error("the customer must accept the SEPA direct debit mandate")]
    MandateNotAccepted,
    #[error("{gateway} does not take {payment} details")]
    WrongPaymentType {
        gateway: TypeGateway,
        payment: TypePayment,
    },
    #[error("the payment method was declined at registration: {reason}")]
    RegistrationDeclined { reason: FailureReason },
    #[error("unknown payment permission {0}")]
    UnknownPermission(PermissionId),
    #[error("payment permission {id} cannot be charged: it is {state}")]
    PermissionNotUsable {
        id: PermissionId,
        state: StatePermission,
    },
    #[error("unknown charge {0}")]
    UnknownCharge(ChargeId),
    #[error("the amount must be positive")]
    InvalidAmount,
    #[error("{gateway} cannot collect {currency}")]
    UnsupportedCurrency {
        gateway: TypeGateway,
        currency: Currency,
    },
    #[error("the amount is in {got}, the charge in {expected}")]
    CurrencyMismatch { expected: Currency, got: Currency },
    #[error("the idempotency key must have 1 to 255 characters")]
    InvalidIdempotencyKey,
    #[error("idempotency key {0} was already used for another request")]
    IdempotencyConflict(String),
    /// The sandbox's ledger (its database) failed; nothing was decided.
    #[error("the sandbox gateway's storage failed: {0}")]
    Storage(String),
    #[error("charge {0} is not waiting for 3-D Secure")]
    NotAwaitingAuthentication(ChargeId),
    #[error("charge {id} cannot be refunded: {why}")]
    NotRefundable { id: ChargeId, why: &'static str },
    #[error("a refund of {requested} minor units exceeds the {remaining} left on the charge")]
    RefundExceedsCharge { requested: i64, remaining: i64 },
    #[error("charge {id} cannot be disputed: {why}")]
    NotDisputable { id: ChargeId, why: &'static str },
    #[error("the expiry month must be 1 to 12 and the year 2000 to 9998")]
    InvalidExpiryMonth,
    #[error("{0} is not supported by this gateway")]
    Unsupported(&'static str),
}
