//! Billing rules (spec §1.8, §1.9; billing-rules "Balance and invoices"):
//! tax by billing country, balance lines, discounts on a period's lines,
//! invoice assembly and its states, credit notes, invoice numbers.
//!
//! Everything is a pure function of its inputs; the billing engine in
//! `abo-service` loads the balance, calls these, and saves the result in one
//! transaction.

mod balance;
mod credit_note;
mod discount;
mod invoice;
mod numbering;
mod percent;
mod tax;

pub use balance::{BalanceLine, LineDate, StateMove, TypeLine};
pub use credit_note::{CreditNoteDraft, CreditRequest, TypeCredit, credit_note};
pub use discount::{AppliedDiscount, apply_discounts};
pub use invoice::{
    Billing, IllegalInvoiceTransition, InvoiceDraft, InvoiceEvent, InvoiceLine, InvoiceState,
    InvoiceStatus, IssueMode, TaxAmount, assemble_invoice, assemble_invoice_by_rate,
};
pub use numbering::full_number;
pub use tax::{EU_STANDARD_VAT_RATES, LegalMention, TaxBasis, TaxDecision, TaxProfile, TaxRule};
