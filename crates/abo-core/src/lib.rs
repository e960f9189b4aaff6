//! `abo-core`: the pure billing rules of Abo.
//!
//! Everything here is deterministic: no I/O, no async, no SQL, and no system
//! time except inside [`SystemClock`]. The rules implemented are those of
//! `billing-rules.md` (money as integer minor units, half-open periods that
//! keep their anchor day, actual/actual day proration, tiers on absolute
//! quantity) and ProAbono's vocabulary (offers, features, subscription
//! states).
//!
//! ```
//! use abo_core::{Currency, Locale, Money, OfferChange, Recurrence, change_of_offer};
//! use jiff::civil::date;
//!
//! // billing-rules: monthly €100 from Jan 10, changed on Mar 25 to €180.
//! let lines = change_of_offer(&OfferChange {
//!     anchor: date(2026, 1, 10),
//!     change_date: date(2026, 3, 25),
//!     old_amount: 10000,
//!     old_recurrence: Recurrence::monthly(),
//!     new_amount: 18000,
//!     new_recurrence: Recurrence::monthly(),
//! })?;
//! assert_eq!((lines.credit.amount, lines.charge.amount), (-5161, 9290));
//! assert_eq!(lines.next_renewal, date(2026, 4, 10));
//! assert_eq!(Money::new(lines.net, Currency::EUR).format(Locale::En), "€41.29");
//! # Ok::<(), abo_core::CoreError>(())
//! ```

#[macro_use]
mod string_enum;

pub mod billing;
pub mod catalog;
pub mod clock;
pub mod currency;
pub mod error;
pub mod money;
pub mod period;
pub mod proration;
pub mod reference;
pub mod subscription;

pub use billing::{
    AppliedDiscount, BalanceLine, Billing, CreditNoteDraft, CreditRequest,
    IllegalInvoiceTransition, InvoiceDraft, InvoiceEvent, InvoiceLine, InvoiceState, InvoiceStatus,
    IssueMode, LegalMention, LineDate, StateMove, TaxAmount, TaxBasis, TaxDecision, TaxProfile,
    TaxRule, TypeCredit, TypeLine, apply_discounts, assemble_invoice, assemble_invoice_by_rate,
    credit_note, full_number,
};
pub use catalog::{
    CatalogError, Discount, DiscountTarget, DiscountValue, Feature, FeaturePricing, FeatureType,
    Offer, OfferFeature, PricingTable, Tier, TierMode, TierPrice, Trial, price_quantity,
};
pub use clock::{Clock, SystemClock, TestClock};
pub use currency::Currency;
pub use error::CoreError;
pub use money::{
    Locale, Money, checked_round_half_away_from_zero, round_decimal_half_away_from_zero,
    round_half_away_from_zero,
};
pub use period::{
    CalendarBilling, Period, PeriodUnit, Recurrence, calendar_billing, local_date, local_instant,
    local_midnight,
};
pub use proration::{
    ChangeProration, Fraction, OfferChange, ProratedLine, change_of_offer, fraction,
    limitation_increase, prorate, termination_credit,
};
pub use reference::Reference;
pub use subscription::{
    IllegalTransition, LegacyState, SubscriptionEvent, SubscriptionState, SubscriptionStatus,
};
