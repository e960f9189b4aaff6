//! The errors of the billing core.
//!
//! One enum for the whole crate ([`CoreError`]), as the house rules ask; the
//! service layer maps each variant to a ProAbono error code. Catalogue
//! validation reports every problem at once, so it has its own list-friendly
//! type, [`crate::catalog::CatalogError`], and illegal subscription
//! transitions have [`crate::subscription::IllegalTransition`]; both convert
//! into `CoreError`.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::catalog::CatalogError;
use crate::subscription::IllegalTransition;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// A currency code that is not in the built-in ISO 4217 table.
    #[error("unknown currency '{0}'")]
    UnknownCurrency(String),

    /// Two amounts in different currencies were combined.
    #[error("currency mismatch: {left} and {right}")]
    CurrencyMismatch { left: String, right: String },

    /// An amount left the range of a signed 64-bit integer of minor units.
    #[error("amount overflow in {0}")]
    Overflow(&'static str),

    /// A merchant reference that breaks ProAbono's rules.
    #[error("invalid reference '{value}': {reason}")]
    InvalidReference { value: String, reason: &'static str },

    /// A string that is not one of the ProAbono names of an enum.
    #[error("unknown {kind} '{value}'")]
    UnknownName { kind: &'static str, value: String },

    /// A recurrence that cannot lay out periods (count 0, or a unit that
    /// does not fit the operation).
    #[error("invalid recurrence: {0}")]
    InvalidRecurrence(String),

    /// A period whose end is not after its start.
    #[error("invalid period [{start}, {end}): the end must be after the start")]
    InvalidPeriod { start: Date, end: Date },

    /// A date asked of a schedule before its anchor.
    #[error("date {date} is before the anchor {anchor}")]
    BeforeAnchor { date: Date, anchor: Date },

    /// A proration was asked for a date outside `[start, end)`.
    #[error("change date {date} is outside the period [{start}, {end})")]
    DateOutsidePeriod { date: Date, start: Date, end: Date },

    /// A calendar computation left jiff's supported range (years -9999..=9999)
    /// or hit an impossible local time.
    #[error("date arithmetic failed: {0}")]
    Calendar(String),

    /// The test clock was asked to move backwards.
    #[error("the clock cannot go backwards (now {now}, requested {requested})")]
    ClockBackwards {
        now: Timestamp,
        requested: Timestamp,
    },

    /// An invalid argument that has no more specific variant.
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },

    /// A subscription event that the current state does not accept.
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),

    /// An offer, feature, pricing table or discount failed validation.
    #[error("invalid catalogue: {}", join(.0))]
    Catalog(Vec<CatalogError>),
}

impl From<jiff::Error> for CoreError {
    fn from(e: jiff::Error) -> Self {
        CoreError::Calendar(e.to_string())
    }
}

impl From<Vec<CatalogError>> for CoreError {
    fn from(errors: Vec<CatalogError>) -> Self {
        CoreError::Catalog(errors)
    }
}

fn join(errors: &[CatalogError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
