//! Invoices (spec §1.9): assembling a draft from the due balance, and the
//! states an invoice moves through.
//!
//! billing-rules: "Tax is computed per invoice and per rate on the sum of
//! that rate's subtotals, rounded once; total = subtotal + tax exactly."
//! Lines are already integers (each was rounded once when it was made), so
//! the subtotal is their exact sum; the only rounding here is one per tax
//! rate.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::currency::Currency;
use crate::error::CoreError;
use crate::period::Period;

use super::balance::{BalanceLine, StateMove};
use super::percent::{check_rate, percent_of};
use super::tax::{LegalMention, TaxDecision};

/// One line of an invoice, from one balance line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub label: String,
    pub quantity: i64,
    /// The unit price, only when it is exact (`amount_subtotal` divides by
    /// `quantity`): tiered or prorated amounts have no honest unit price,
    /// and a rounded one would not multiply back to the line.
    pub unit_amount: Option<i64>,
    pub amount_subtotal: i64,
    /// Percent.
    pub tax_rate: Decimal,
    /// The period of a periodic line; one-off lines have none.
    pub period: Option<Period>,
}

/// The tax of one rate: `amount = round(base × rate / 100)`, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxAmount {
    /// Percent.
    pub rate: Decimal,
    /// The sum of the subtotals of that rate's lines.
    pub base: i64,
    pub amount: i64,
}

/// An invoice before it is issued: no number yet (it gets one only when
/// issued, billing-rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDraft {
    pub currency: Currency,
    pub lines: Vec<InvoiceLine>,
    /// One entry per rate, by increasing rate.
    pub tax_breakdown: Vec<TaxAmount>,
    /// Exact sum of the lines (`AmountSubtotal`).
    pub subtotal: i64,
    /// Exact sum of the breakdown's amounts.
    pub tax: i64,
    /// `subtotal + tax` (`AmountTotal`).
    pub total: i64,
    pub reverse_charge_mention: Option<LegalMention>,
}

/// What billing the due balance gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Billing {
    /// No due line: nothing to bill.
    NothingDue,
    /// An invoice to issue, total zero or more. A zero invoice is still
    /// issued so that every billed line has its document.
    Invoice(InvoiceDraft),
    /// The due lines add up to a credit (a negative total). Our choice: no
    /// invoice is issued and the lines stay `Due`, so they are billed with
    /// the next charges and the credit is consumed exactly, with tax
    /// recomputed on the next invoice's sums. This is what ProAbono's
    /// `AutoBillingReport` achieves, without a report line whose tax rate
    /// would be ambiguous on a multi-rate balance. The draft that would
    /// have been issued is returned for display ("credit balance").
    CreditCarriedForward(InvoiceDraft),
}

/// Bills due lines at the rate of the customer's [`TaxDecision`].
pub fn assemble_invoice(lines: &[BalanceLine], tax: &TaxDecision) -> Result<Billing, CoreError> {
    assemble_invoice_by_rate(lines, |_| tax.rate, tax.mention)
}

/// Bills due lines with a rate per line (`rate_of`, e.g. by `KeyCharge`):
/// lines are grouped by rate and each rate is taxed once on its base.
/// All lines must be `Due` and in one currency.
pub fn assemble_invoice_by_rate(
    lines: &[BalanceLine],
    rate_of: impl Fn(&BalanceLine) -> Decimal,
    reverse_charge_mention: Option<LegalMention>,
) -> Result<Billing, CoreError> {
    let Some(first) = lines.first() else {
        return Ok(Billing::NothingDue);
    };
    let currency = first.currency;
    let mut bases: BTreeMap<Decimal, i64> = BTreeMap::new();
    let mut invoice_lines = Vec::with_capacity(lines.len());
    let mut subtotal: i64 = 0;
    for line in lines {
        if line.currency != currency {
            return Err(CoreError::CurrencyMismatch {
                left: currency.to_string(),
                right: line.currency.to_string(),
            });
        }
        if line.state_move != StateMove::Due {
            return Err(CoreError::Invalid {
                what: "balance line",
                reason: format!("'{}' is {}, not Due", line.label, line.state_move),
            });
        }
        let rate = rate_of(line).normalize();
        check_rate(rate)?;
        let base = bases.entry(rate).or_insert(0);
        *base = add(*base, line.amount_subtotal)?;
        subtotal = add(subtotal, line.amount_subtotal)?;
        invoice_lines.push(InvoiceLine {
            label: line.label.clone(),
            quantity: line.quantity,
            unit_amount: exact_unit_amount(line.amount_subtotal, line.quantity),
            amount_subtotal: line.amount_subtotal,
            tax_rate: rate,
            period: line.date.period(),
        });
    }
    let mut tax: i64 = 0;
    let mut tax_breakdown = Vec::with_capacity(bases.len());
    for (rate, base) in bases {
        let amount = percent_of(base, rate)?;
        tax = add(tax, amount)?;
        tax_breakdown.push(TaxAmount { rate, base, amount });
    }
    let total = add(subtotal, tax)?;
    let draft = InvoiceDraft {
        currency,
        lines: invoice_lines,
        tax_breakdown,
        subtotal,
        tax,
        total,
        reverse_charge_mention,
    };
    Ok(if total < 0 {
        Billing::CreditCarriedForward(draft)
    } else {
        Billing::Invoice(draft)
    })
}

fn add(a: i64, b: i64) -> Result<i64, CoreError> {
    a.checked_add(b).ok_or(CoreError::Overflow("invoice sum"))
}

fn exact_unit_amount(amount: i64, quantity: i64) -> Option<i64> {
    if quantity > 0 && amount.checked_rem(quantity) == Some(0) {
        amount.checked_div(quantity)
    } else {
        None
    }
}

string_enum! {
    /// ProAbono's `Status` of an invoice: the group of its state.
    pub enum InvoiceStatus {
        Draft,
        Due,
        Paid,
        Problem,
        Void,
        Uncollectible,
    }
}

string_enum! {
    /// ProAbono's `StateInvoice`.
    pub enum InvoiceState {
        /// Not issued: no number, may still change.
        Draft,
        /// Being charged; issued only if the charge succeeds.
        DraftCharging,
        /// Issued, to be collected automatically (card, direct debit).
        DueAuto,
        /// Issued, waiting for an offline payment (transfer, check, cash).
        DueOffline,
        /// Issued, waiting to be processed (e.g. a SEPA batch).
        DueToProcess,
        /// A payment was sent and awaits confirmation (SEPA).
        DuePending,
        Paid,
        /// Paid, then fully refunded by a credit note.
        PaidRefunded,
        /// Automatic collection failed after its retries.
        ProblemAuto,
        /// An offline payment is late.
        ProblemOverdue,
        /// The payment is disputed (chargeback).
        ProblemDisputed,
        /// Cancelled by a credit note.
        Void,
        /// Given up on.
        Uncollectible,
    }
}

impl InvoiceState {
    /// The `Status` group of this state.
    pub const fn status(self) -> InvoiceStatus {
        use InvoiceState::*;
        match self {
            Draft | DraftCharging => InvoiceStatus::Draft,
            DueAuto | DueOffline | DueToProcess | DuePending => InvoiceStatus::Due,
            Paid | PaidRefunded => InvoiceStatus::Paid,
            ProblemAuto | ProblemOverdue | ProblemDisputed => InvoiceStatus::Problem,
            Void => InvoiceStatus::Void,
            Uncollectible => InvoiceStatus::Uncollectible,
        }
    }

    /// Whether the invoice has a number (issued invoices are immutable).
    pub const fn is_issued(self) -> bool {
        !matches!(self.status(), InvoiceStatus::Draft)
    }

    /// Whether money is still expected: Due or Problem.
    pub const fn is_unpaid(self) -> bool {
        matches!(self.status(), InvoiceStatus::Due | InvoiceStatus::Problem)
    }

    /// The state after `event`, or the reason it is refused.
    pub fn apply(self, event: InvoiceEvent) -> Result<InvoiceState, IllegalInvoiceTransition> {
        use InvoiceEvent as E;
        use InvoiceState::*;
        let next = match (self, event) {
            (Draft, E::Issue(IssueMode::ChargeFirst)) => Some(DraftCharging),
            (Draft, E::Issue(IssueMode::Auto)) => Some(DueAuto),
            (Draft, E::Issue(IssueMode::Offline)) => Some(DueOffline),
            (Draft, E::Issue(IssueMode::ToProcess)) => Some(DueToProcess),
            // The charge before issuing failed: back to a draft, and no
            // number was burnt.
            (DraftCharging, E::Fail { .. }) => Some(Draft),
            // A successful charge issues and pays at once.
            (DraftCharging, E::Pay) => Some(Paid),
            (DueAuto | DueToProcess | ProblemAuto, E::Submit) => Some(DuePending),
            (DueAuto | DueToProcess | DuePending, E::Fail { last_attempt }) => {
                Some(if last_attempt { ProblemAuto } else { DueAuto })
            }
            // The customer updated the method, or the merchant charges now.
            (ProblemAuto | ProblemOverdue, E::Retry) => Some(DueAuto),
            (DueOffline, E::Overdue) => Some(ProblemOverdue),
            // A late payment of an uncollectible invoice is still welcome.
            (
                DueAuto | DueOffline | DueToProcess | DuePending | ProblemAuto | ProblemOverdue
                | ProblemDisputed | Uncollectible,
                E::Pay,
            ) => Some(Paid),
            (Paid, E::Dispute) => Some(ProblemDisputed),
            (Paid, E::Refund) => Some(PaidRefunded),
            (
                DueAuto | DueOffline | DueToProcess | DuePending | ProblemAuto | ProblemOverdue
                | ProblemDisputed | Uncollectible,
                E::Cancel,
            ) => Some(Void),
            (
                DueAuto | DueOffline | DueToProcess | DuePending | ProblemAuto | ProblemOverdue
                | ProblemDisputed,
                E::MarkUncollectible,
            ) => Some(Uncollectible),
            _ => None,
        };
        next.ok_or(IllegalInvoiceTransition { state: self, event })
    }
}

/// How an issued invoice will be collected, which decides its Due state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IssueMode {
    /// Charge the card first and issue only if it succeeds (`DraftCharging`).
    ChargeFirst,
    /// Collected automatically later (direct debit notice, retries).
    Auto,
    /// Paid offline (transfer, check, cash).
    Offline,
    /// Collected by a batch (SEPA file).
    ToProcess,
}

/// What happens to an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InvoiceEvent {
    /// Issue the draft (it gets its number).
    Issue(IssueMode),
    /// A payment was sent and awaits asynchronous confirmation.
    Submit,
    /// The payment is confirmed or registered.
    Pay,
    /// An automatic payment failed; after the last scheduled retry the
    /// invoice becomes `ProblemAuto`.
    Fail {
        last_attempt: bool,
    },
    /// Schedule a new automatic attempt for an invoice with a problem.
    Retry,
    /// An offline payment passed its limit date.
    Overdue,
    /// The customer disputed a payment.
    Dispute,
    /// A credit note refunds the whole invoice.
    Refund,
    /// A credit note cancels the invoice.
    Cancel,
    MarkUncollectible,
}

impl fmt::Display for InvoiceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvoiceEvent::Issue(_) => "issue",
            InvoiceEvent::Submit => "submit a payment for",
            InvoiceEvent::Pay => "pay",
            InvoiceEvent::Fail { .. } => "fail the payment of",
            InvoiceEvent::Retry => "retry the payment of",
            InvoiceEvent::Overdue => "mark overdue",
            InvoiceEvent::Dispute => "dispute",
            InvoiceEvent::Refund => "refund",
            InvoiceEvent::Cancel => "cancel",
            InvoiceEvent::MarkUncollectible => "mark uncollectible",
        })
    }
}

/// An event the invoice's state does not accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {event} an invoice in state {state}")]
pub struct IllegalInvoiceTransition {
    pub state: InvoiceState,
    pub event: InvoiceEvent,
}

// `CoreError` has no variant of its own for invoices yet; until it does,
// the refusal travels as an invalid argument with the same message.
impl From<IllegalInvoiceTransition> for CoreError {
    fn from(e: IllegalInvoiceTransition) -> Self {
        CoreError::Invalid {
            what: "invoice transition",
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::{LineDate, TaxBasis, TypeLine};
    use jiff::civil::date;
    use rust_decimal::dec;

    fn due(amount: i64) -> BalanceLine {
        BalanceLine::due(
            TypeLine::Manual,
            "line",
            amount,
            Currency::EUR,
            LineDate::Move(date(2026, 1, 1)),
        )
    }

    fn vat(rate: Decimal) -> TaxDecision {
        TaxDecision {
            rate,
            reverse_charge: false,
            mention: None,
            basis: TaxBasis::BusinessCountry,
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(InvoiceState::ALL.len(), 13);
        assert_eq!(InvoiceState::DraftCharging.status(), InvoiceStatus::Draft);
        assert_eq!(InvoiceState::DuePending.status(), InvoiceStatus::Due);
        assert_eq!(InvoiceState::PaidRefunded.status(), InvoiceStatus::Paid);
        assert_eq!(
            InvoiceState::ProblemDisputed.status(),
            InvoiceStatus::Problem
        );
        assert!(!InvoiceState::DraftCharging.is_issued());
        assert!(InvoiceState::Void.is_issued());
        assert!(InvoiceState::ProblemOverdue.is_unpaid());
    }

    #[test]
    fn nothing_due_and_non_due_lines() {
        assert_eq!(
            assemble_invoice(&[], &vat(dec!(20))),
            Ok(Billing::NothingDue)
        );
        let mut billed = due(100);
        billed.state_move = StateMove::Billed;
        assert!(assemble_invoice(&[billed], &vat(dec!(20))).is_err());
        assert!(assemble_invoice(&[due(100)], &vat(dec!(-1))).is_err());
    }

    #[test]
    fn unit_amounts_only_when_exact() {
        assert_eq!(exact_unit_amount(4500, 3), Some(1500));
        assert_eq!(exact_unit_amount(1000, 3), None);
        assert_eq!(exact_unit_amount(1000, 0), None);
        assert_eq!(exact_unit_amount(-600, 2), Some(-300));
    }

    #[test]
    fn failed_charge_before_issue_returns_to_draft() {
        let s = InvoiceState::Draft
            .apply(InvoiceEvent::Issue(IssueMode::ChargeFirst))
            .unwrap();
        assert_eq!(s, InvoiceState::DraftCharging);
        assert_eq!(
            s.apply(InvoiceEvent::Fail { last_attempt: true }),
            Ok(InvoiceState::Draft)
        );
        assert_eq!(s.apply(InvoiceEvent::Pay), Ok(InvoiceState::Paid));
    }
}
