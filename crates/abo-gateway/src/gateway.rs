//! What the billing engine needs from any payment service provider.
//!
//! The trait is shaped after what Stripe (PaymentMethod / SetupIntent /
//! PaymentIntent) and GoCardless (mandate / payment) expose, so a real adapter
//! can implement it later without changing the service:
//!
//! * a **permission** (ProAbono's `GatewayPermission`) is a stored card or a
//!   SEPA mandate; the service keeps our [`GatewayPermission`] snapshot and
//!   only ever hands the gateway its [`PermissionId`] back;
//! * a **charge** has an idempotency key chosen by the service (its natural
//!   key, e.g. `invoice + attempt number`), so a crash between "ask the
//!   gateway" and "record the answer" can never charge twice;
//! * outcomes can be **asynchronous** (SEPA settles days later:
//!   [`ChargeOutcome::Pending`], then [`PaymentGateway::poll`]) or need the
//!   customer (3-D Secure: [`ChargeOutcome::RequiresAction`], then
//!   [`PaymentGateway::complete_authentication`]).
//!
//! Time always comes from the caller (`now`); no implementation reads the
//! system clock, so the engine's test clock drives the sandboxes too.

use std::fmt;

use abo_core::Money;
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::error::GatewayError;

/// Enums whose wire form is their ProAbono name (serde uses the variant name).
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $( $(#[$vmeta])* $variant ),+ }

        impl $name {
            /// The exact ProAbono spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => stringify!($variant) ),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// ProAbono's `StatePermission`.
    pub enum StatePermission {
        /// Usable for charges.
        Enabled,
        /// Removed by the customer or the merchant, refused 3-D Secure at
        /// registration, or a SEPA mandate revoked by the bank.
        Disabled,
        /// A card past the end of its expiry month.
        Expired,
        /// Abo addition: registered, waiting for the customer to pass 3-D
        /// Secure ([`PaymentGateway::complete_authentication`]).
        PendingAuthentication,
    }
}

named_enum! {
    /// ProAbono's `TypePayment`.
    pub enum TypePayment { Card, DirectDebit }
}

named_enum! {
    /// ProAbono's `TypeGateway`. Real PSPs (Stripe, GoCardless) come later.
    pub enum TypeGateway { CardDummy, DirectDebitDummy }
}

named_enum! {
    /// Why a charge (or a registration) failed.
    pub enum FailureReason {
        /// Temporary: the same method may work later (retried on schedule).
        InsufficientFunds,
        /// The issuer or bank refused ("do not honor"); retrying is pointless.
        Rejected,
        /// The card is past its expiry month.
        Expired,
        /// The customer failed or abandoned 3-D Secure.
        AuthenticationFailed,
        /// SEPA: the debtor's bank reports the mandate revoked or unknown.
        MandateRevoked,
    }
}

impl FailureReason {
    /// Whether retrying the same permission later may succeed. Only a lack
    /// of funds is temporary; everything else needs the customer to act.
    pub const fn retryable(self) -> bool {
        matches!(self, FailureReason::InsufficientFunds)
    }
}

named_enum! {
    /// Why a settled charge was disputed (charged back).
    pub enum DisputeReason {
        /// The cardholder says they did not make the payment.
        Fraudulent,
        /// SEPA: the debtor asked their bank for a refund (8 weeks, no
        /// questions asked) or says there was no mandate.
        DebtorRefund,
        /// Any other reason.
        General,
    }
}

named_enum! {
    /// Which kind of charge this is, as far as the issuer is concerned.
    ///
    /// This is how the sandbox tells "at registration" from "at renewal":
    /// * `Registration`: the customer is present (on-session), at the
    ///   checkout where the method was just registered — the first invoice of
    ///   a subscription, a "pay now" in the portal. Issuers may demand 3-D
    ///   Secure here. [`PaymentGateway::register_permission`] itself runs as
    ///   a `Registration`-context verification.
    /// * `Renewal`: merchant-initiated, customer absent (off-session) — every
    ///   automatic charge afterwards (renewals, usage, retries).
    ///
    /// A Stripe adapter maps `Renewal` to `off_session: true`.
    pub enum ChargeContext { Registration, Renewal }
}

/// Identifiers given by the gateway (a Stripe `pm_...`, a GoCardless `MD...`).
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name(value.to_owned())
            }
        }
    };
}

id_type!(
    /// The gateway's id of a stored card or mandate.
    PermissionId
);
id_type!(
    /// The gateway's id of a charge (or of a registration's verification).
    ChargeId
);
id_type!(
    /// The gateway's id of a refund.
    RefundId
);

/// A stored card or SEPA mandate: ProAbono's `GatewayPermission`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayPermission {
    pub id: PermissionId,
    /// The customer reference the service registered it for.
    pub customer: String,
    pub state: StatePermission,
    pub type_payment: TypePayment,
    pub type_gateway: TypeGateway,
    /// `****-****-****-4242` for a card, `DE89 **** **** **** **30 00` for
    /// an IBAN.
    pub name_display: String,
    /// ISO 3166 alpha-2: the IBAN's country, or the card's billing country
    /// when the form gave one.
    pub country: Option<String>,
    /// Cards: the last day of the expiry month (the card works through it).
    /// Mandates: `None` (a SEPA mandate lapses only after 36 months unused,
    /// which the service tracks from its own charges).
    pub date_expiration: Option<Date>,
    /// SEPA: the unique mandate reference (UMR) shown on the debit notice.
    pub mandate_reference: Option<String>,
    pub created_at: Timestamp,
}

/// What the customer typed in the payment-method form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentDetails {
    Card(CardDetails),
    DirectDebit(DirectDebitDetails),
}

impl PaymentDetails {
    pub const fn type_payment(&self) -> TypePayment {
        match self {
            PaymentDetails::Card(_) => TypePayment::Card,
            PaymentDetails::DirectDebit(_) => TypePayment::DirectDebit,
        }
    }
}

/// A card as typed: the sandbox sees the number; a real adapter never does
/// (the PSP's form tokenises it in the browser and we get a token instead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardDetails {
    /// 12 to 19 digits, spaces or dashes allowed.
    pub number: String,
    /// `MM/YY` (`MM/YYYY` is accepted too).
    pub expiry: String,
    /// 3 digits.
    pub cvc: String,
    /// Billing country (ISO 3166 alpha-2), if the form asked for it.
    pub country: Option<String>,
}

/// A SEPA mandate as signed in the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectDebitDetails {
    /// Any case, spaces allowed.
    pub iban: String,
    pub holder_name: String,
    /// The customer ticked "I authorise ... to debit my account" (SEPA
    /// requires the mandate to be accepted before any debit).
    pub mandate_accepted: bool,
}

/// The answer to [`PaymentGateway::register_permission`]. A decline is an
/// error ([`GatewayError::RegistrationDeclined`]): nothing is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Registration {
    /// Stored and usable.
    Enabled(GatewayPermission),
    /// Stored in `PendingAuthentication`: the customer must pass 3-D Secure
    /// for the verification `verification_id`, through
    /// [`PaymentGateway::complete_authentication`].
    RequiresAction {
        permission: GatewayPermission,
        verification_id: ChargeId,
        challenge_url_hint: String,
    },
}

impl Registration {
    pub fn permission(&self) -> &GatewayPermission {
        match self {
            Registration::Enabled(permission) => permission,
            Registration::RequiresAction { permission, .. } => permission,
        }
    }
}

/// A request to collect `amount` with a stored permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeRequest {
    pub permission_id: PermissionId,
    /// Strictly positive.
    pub amount: Money,
    pub context: ChargeContext,
    /// The service's natural key for this attempt (e.g.
    /// `invoice:<id>:attempt:<n>`), 1 to 255 characters. The same key with the
    /// same request replays the first answer; with another request it is an
    /// error.
    pub idempotency_key: String,
}

/// Where a charge stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChargeOutcome {
    /// Money collected.
    Succeeded,
    /// 3-D Secure: the customer must authenticate; the hint is where the
    /// portal sends them (the sandbox's own challenge page path).
    RequiresAction { challenge_url_hint: String },
    /// Not collected. `retryable` is [`FailureReason::retryable`].
    Failed {
        reason: FailureReason,
        retryable: bool,
    },
    /// Accepted, not settled yet (SEPA): ask again with
    /// [`PaymentGateway::poll`] at or after `settles_at`.
    Pending { settles_at: Timestamp },
    /// Collected, then charged back: the money went back to the payer.
    Disputed {
        reason: DisputeReason,
        disputed_at: Timestamp,
    },
}

impl ChargeOutcome {
    pub(crate) fn failed(reason: FailureReason) -> ChargeOutcome {
        ChargeOutcome::Failed {
            reason,
            retryable: reason.retryable(),
        }
    }

    /// Whether the outcome can no longer change. `Pending` settles,
    /// `RequiresAction` waits for the customer, and `Succeeded` may still be
    /// charged back (which [`PaymentGateway::poll`] reports), so only
    /// `Failed` and `Disputed` are final.
    pub const fn is_final(&self) -> bool {
        matches!(
            self,
            ChargeOutcome::Failed { .. } | ChargeOutcome::Disputed { .. }
        )
    }
}

/// The answer to [`PaymentGateway::charge`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeReceipt {
    pub charge_id: ChargeId,
    /// The outcome when the charge was made. A replay (same idempotency key)
    /// returns this same first answer, like Stripe does; the current state
    /// is [`PaymentGateway::poll`]'s.
    pub outcome: ChargeOutcome,
}

/// A charge as the gateway knows it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub id: ChargeId,
    pub permission_id: PermissionId,
    pub amount: Money,
    pub context: ChargeContext,
    pub idempotency_key: String,
    pub outcome: ChargeOutcome,
    /// Sum of the refunds made on it, same currency as `amount`.
    pub refunded: Money,
    pub created_at: Timestamp,
}

/// A refund of (part of) a succeeded charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: RefundId,
    pub charge_id: ChargeId,
    pub amount: Money,
    /// All refunds on the charge so far, this one included.
    pub refunded_total: Money,
    pub created_at: Timestamp,
}

/// A payment service provider, as the billing engine sees it.
///
/// Async because real adapters call HTTP APIs; the sandboxes never wait.
/// Every method takes the caller's `now`.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Which gateway this is (stored on each permission).
    fn type_gateway(&self) -> TypeGateway;

    /// Validates and stores a card or mandate for `customer`, verifying it
    /// with the issuer (in [`ChargeContext::Registration`]). Validation errors
    /// and declines are errors and store nothing.
    async fn register_permission(
        &self,
        customer: &str,
        details: &PaymentDetails,
        now: Timestamp,
    ) -> Result<Registration, GatewayError>;

    /// The permission as the gateway knows it now.
    async fn permission(&self, id: &PermissionId) -> Result<GatewayPermission, GatewayError>;

    /// Detaches a card or cancels a mandate (the customer removed it).
    async fn disable_permission(
        &self,
        id: &PermissionId,
        now: Timestamp,
    ) -> Result<GatewayPermission, GatewayError>;

    /// Asks for `request.amount`. Declines are `Ok(Failed)`, not errors:
    /// they are a normal answer the service records and retries.
    async fn charge(
        &self,
        request: &ChargeRequest,
        now: Timestamp,
    ) -> Result<ChargeReceipt, GatewayError>;

    /// The charge's outcome at `now`: settles pending debits whose time has
    /// come, and reports chargebacks.
    async fn poll(
        &self,
        charge_id: &ChargeId,
        now: Timestamp,
    ) -> Result<ChargeOutcome, GatewayError>;

    /// The customer came back from 3-D Secure for a charge (or a
    /// registration's verification) in `RequiresAction`. The sandbox takes
    /// the result from `success`; a real adapter ignores it and asks the PSP.
    async fn complete_authentication(
        &self,
        charge_id: &ChargeId,
        success: bool,
        now: Timestamp,
    ) -> Result<ChargeOutcome, GatewayError>;

    /// Refunds `amount` of a succeeded charge; all refunds together never
    /// exceed the charge.
    async fn refund(
        &self,
        charge_id: &ChargeId,
        amount: Money,
        now: Timestamp,
    ) -> Result<Refund, GatewayError>;

    /// [`PaymentGateway::refund`] under the caller's idempotency key (its
    /// natural key, e.g. `refund:<id>`): the same key with the same charge
    /// and amount replays the first refund instead of refunding again; with
    /// another charge or amount it is [`GatewayError::IdempotencyConflict`].
    async fn refund_once(
        &self,
        charge_id: &ChargeId,
        amount: Money,
        idempotency_key: &str,
        now: Timestamp,
    ) -> Result<Refund, GatewayError>;

    /// Simulation hook: the payer disputes a succeeded charge now. Real
    /// adapters return [`GatewayError::Unsupported`]: there, disputes arrive
    /// from the PSP (webhook or [`PaymentGateway::poll`]).
    async fn dispute(
        &self,
        charge_id: &ChargeId,
        reason: DisputeReason,
        now: Timestamp,
    ) -> Result<ChargeOutcome, GatewayError>;

    /// The charge as the gateway knows it (without settling anything).
    async fn get_charge(&self, charge_id: &ChargeId) -> Result<Charge, GatewayError>;

    /// How many registrations of `customer` were declined (including failed
    /// 3-D Secure), so the service can grey-list after N. Real adapters
    /// return 0 (the PSP's fraud tools decide); the service should keep its
    /// own persisted count as well.
    async fn failed_registrations(&self, customer: &str) -> u32;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_insufficient_funds_is_retryable() {
        assert!(FailureReason::InsufficientFunds.retryable());
        for reason in [
            FailureReason::Rejected,
            FailureReason::Expired,
            FailureReason::AuthenticationFailed,
            FailureReason::MandateRevoked,
        ] {
            assert!(!reason.retryable(), "{reason}");
        }
    }

    #[test]
    fn finality() {
        let at = Timestamp::UNIX_EPOCH;
        assert!(ChargeOutcome::failed(FailureReason::Rejected).is_final());
        assert!(
            ChargeOutcome::Disputed {
                reason: DisputeReason::General,
                disputed_at: at
            }
            .is_final()
        );
        assert!(!ChargeOutcome::Succeeded.is_final());
        assert!(!ChargeOutcome::Pending { settles_at: at }.is_final());
    }

    #[test]
    fn names_are_proabono_spellings() {
        assert_eq!(StatePermission::Enabled.to_string(), "Enabled");
        assert_eq!(TypePayment::DirectDebit.as_str(), "DirectDebit");
        assert_eq!(TypeGateway::CardDummy.to_string(), "CardDummy");
        assert_eq!(
            serde_json::to_string(&TypeGateway::DirectDebitDummy).unwrap(),
            "\"DirectDebitDummy\""
        );
        assert_eq!(
            serde_json::from_str::<StatePermission>("\"Expired\"").unwrap(),
            StatePermission::Expired
        );
    }
}
