//! Quotes: what a change will cost, before the customer commits (spec §1.8
//! "Quoting", contract tag Quoting; billing-rules: "a quote always equals
//! what is then billed").
//!
//! # How a quote is computed: a dry run
//! A quote does not re-implement any rule. It runs the **real use case**
//! (`create_in` + `start_in` to subscribe, `start_in` to start or restart,
//! `upgrade_in` to change the offer, `usages::apply_write` to change a
//! quantity or an option) inside a transaction, collects the balance lines
//! that the use case wrote for the buyer, assembles them into an invoice with
//! the billing engine's own functions (tax by billing country, rounded once
//! per rate: `billing::tax_of`, `abo_core::assemble_invoice`,
//! `billing::invoice_lines`), and **rolls the transaction back**. Nothing is
//! kept: no subscription, no line, no outbox row, no invoice number. The
//! amounts are therefore exactly those the change then writes and the billing
//! engine then invoices, by construction, including proration, trials,
//! up-front fees, feature extras and any rule added later to the use cases.
//!
//! `NextTerm` is the same dry run pushed one step further: after the change,
//! the renewal of the subscription at its term (`renewal::renew_in`) runs in
//! the same rolled-back transaction and its lines are quoted. For that
//! projection the buyer is assumed able to pay (a renewal without a payment
//! method would suspend instead of charging, which is not a price).
//!
//! # What a quote covers
//! The lines the change causes, invoiced alone. When the buyer already has
//! other due lines waiting for the next billing (rare: billing follows every
//! change), the invoice also carries those, and its tax is rounded on the
//! sum per rate; the quote of the change itself is unchanged.
//!
//! `AmountTotalDue` is what is due now: the total when positive; a change
//! that adds up to a credit (a downgrade) is due 0, and the credit stays on
//! the balance for the next invoice, as billing does.
//!
//! Cost: a quote takes a write transaction for a few milliseconds (on SQLite
//! the write lock), which is what makes it exact.

mod assemble;
mod balance;
mod invoice;
mod next_term;
mod subscription;
mod usage;

pub use assemble::{Quote, QuoteLine};
pub use balance::{BalanceLineQuote, BalanceLineQuoteRequest, quote_balance_line};
pub use invoice::quote_invoice;
pub use subscription::{QuoteSubscriptionRequest, quote_start, quote_subscription, quote_upgrade};
pub use usage::{UsageQuoteOptions, quote_usage_changes};

/// The 403 code when a quote needs a buyer that can pay (ProAbono's).
pub use crate::subscriptions::PAYMENT_SETTINGS_MISSING;
