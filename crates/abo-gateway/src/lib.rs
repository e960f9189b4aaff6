//! `abo-gateway`: the payment gateway trait of Abo and its sandbox gateways.
//!
//! * [`PaymentGateway`] is what the billing engine needs from any PSP:
//!   register a card or mandate ([`GatewayPermission`]), charge it with an
//!   idempotency key, follow asynchronous settlement, 3-D Secure, refunds and
//!   disputes. Real adapters (Stripe, GoCardless) will implement it too.
//! * [`CardDummy`] and [`DirectDebitDummy`] are ProAbono's sandbox gateways:
//!   only the card network and the banks are simulated, driven by test card
//!   numbers ([`TEST_CARDS`]) and test IBANs ([`TEST_IBANS`]).
//! * [`retry`] holds the dunning dates as pure functions.
//!
//! Nothing here reads the system clock: every method takes the caller's
//! `now`, so the engine's test clock drives the sandboxes.
//!
//! ```
//! use abo_core::{Currency, Money};
//! use abo_gateway::{
//!     CardDetails, CardDummy, ChargeContext, ChargeOutcome, ChargeRequest, PaymentDetails,
//!     PaymentGateway, Registration,
//! };
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
//! #         std::task::Poll::Ready(v) => v,
//! #         std::task::Poll::Pending => unreachable!("the sandboxes never wait"),
//! #     }
//! # }
//! # block_on(async {
//! let gateway = CardDummy::new();
//! let now = "2026-03-01T10:00:00Z".parse()?;
//! let card = PaymentDetails::Card(CardDetails {
//!     number: "4200 4600 3702 5901".into(),
//!     expiry: "12/28".into(),
//!     cvc: "123".into(),
//!     country: Some("FR".into()),
//! });
//! let Registration::Enabled(permission) = gateway.register_permission("cust-1", &card, now).await?
//! else { unreachable!() };
//! assert_eq!(permission.name_display, "****-****-****-5901");
//! let receipt = gateway
//!     .charge(
//!         &ChargeRequest {
//!             permission_id: permission.id.clone(),
//!             amount: Money::new(1900, Currency::EUR),
//!             context: ChargeContext::Renewal,
//!             idempotency_key: "invoice:42:attempt:1".into(),
//!         },
//!         now,
//!     )
//!     .await?;
//! assert!(matches!(receipt.outcome, ChargeOutcome::Failed { retryable: true, .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

pub mod card_dummy;
pub mod direct_debit_dummy;
pub mod error;
pub mod gateway;
pub mod iban;
pub mod ledger;
pub mod retry;
mod sandbox;

pub use card_dummy::{
    CardBehaviour, CardDummy, CardExpiry, TEST_CARDS, TestCard, luhn_valid, parse_card_number,
    test_card_behaviour,
};
pub use direct_debit_dummy::{
    CHARGEBACK_DAYS, DebitBehaviour, DirectDebitDummy, SETTLEMENT_BUSINESS_DAYS, TEST_IBANS,
    TestIban, add_business_days, mandate_reference, test_iban_behaviour,
};
pub use error::GatewayError;
pub use gateway::{
    CardDetails, Charge, ChargeContext, ChargeId, ChargeOutcome, ChargeReceipt, ChargeRequest,
    DirectDebitDetails, DisputeReason, FailureReason, GatewayPermission, PaymentDetails,
    PaymentGateway, PermissionId, Refund, RefundId, Registration, StatePermission, TypeGateway,
    TypePayment,
};
pub use iban::{Iban, SEPA_IBAN_LENGTHS, iban_mod97, sepa_iban_length};
pub use ledger::SandboxLedger;
pub use retry::{
    DEFAULT_EXPIRY_NOTICE_DAYS, DEFAULT_RETRY_DELAYS_DAYS, card_expiry_notices,
    card_expiry_notices_with, next_retry, next_retry_with,
};
