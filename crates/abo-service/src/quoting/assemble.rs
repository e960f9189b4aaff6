//! Turning the balance lines a dry run wrote into a [`Quote`], with the
//! billing engine's own assembly (tax by billing country, rounded once per
//! rate, spread over the lines exactly as the invoice spreads it).

use abo_core::{Billing, Currency, assemble_invoice};
use abo_store::balance_lines::{self, BalanceLine};
use abo_store::{AnyConnection, businesses, customers, segments};
use serde::Serialize;
use std::collections::HashSet;

use crate::billing::{core_line, invoice_lines, tax_of};
use crate::error::Result;

/// A quote: what the billing engine will invoice for a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quote {
    /// The customer who pays.
    pub customer_id: i64,
    /// The subscription the change is about (the new one for a change of
    /// offer or a subscription created by the change).
    pub subscription_id: Option<i64>,
    pub currency: Currency,
    /// Tax rate in percent, as the invoice will apply it ("20").
    pub tax_rate: String,
    pub reverse_charge: bool,
    pub lines: Vec<QuoteLine>,
    pub amount_subtotal: i64,
    pub amount_tax: i64,
    pub amount_total: i64,
    /// Due now: `amount_total` when positive, else 0 (a credit is carried
    /// forward on the balance).
    pub amount_total_due: i64,
    pub date_period_start_us: Option<i64>,
    pub date_period_end_us: Option<i64>,
    /// The next renewal, when asked for.
    pub next_term: Option<Box<Quote>>,
}

/// One line of a quote, as it will appear on the invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuoteLine {
    pub subscription_id: Option<i64>,
    pub feature_id: Option<i64>,
    /// ProAbono's `TypeLine` (`AutoSubscriptionRecurrenceProrata`, ...): a
    /// page can word the line in its own language from it.
    pub type_line: String,
    pub label: String,
    pub quantity_reported: Option<i64>,
    pub quantity_billed: Option<i64>,
    pub amount_subtotal: i64,
    pub amount_tax: i64,
    pub amount_total: i64,
    pub date_move_us: Option<i64>,
    pub date_period_start_us: Option<i64>,
    pub date_period_end_us: Option<i64>,
}

impl Quote {
    /// Whether nothing is to be paid now.
    pub fn is_free(&self) -> bool {
        self.amount_total_due <= 0
    }

    /// The quote's amount due as a `Money`.
    pub fn due(&self) -> abo_core::Money {
        abo_core::Money::new(self.amount_total_due, self.currency)
    }
}

/// The ids of the buyer's due lines now (taken before the dry run changes
/// anything, to tell the lines the change writes from those already there).
pub(crate) async fn due_ids(
    conn: &mut AnyConnection,
    business_id: i64,
    buyer_ids: &[i64],
) -> Result<HashSet<i64>> {
    let mut out = HashSet::new();
    for buyer in buyer_ids {
        for line in balance_lines::list_for_customer(conn, business_id, *buyer, Some("Due")).await?
        {
            out.insert(line.id);
        }
    }
    Ok(out)
}

/// The buyer's due lines that are not in `before`: what the dry run wrote.
pub(crate) async fn written_since(
    conn: &mut AnyConnection,
    business_id: i64,
    buyer_id: i64,
    before: &HashSet<i64>,
) -> Result<Vec<BalanceLine>> {
    Ok(
        balance_lines::list_for_customer(conn, business_id, buyer_id, Some("Due"))
            .await?
            .into_iter()
            .filter(|l| !before.contains(&l.id))
            .collect(),
    )
}

/// The quote of `lines` for `buyer_id`: assembled exactly as `bill_in`
/// assembles an invoice.
pub(crate) async fn quote_of(
    conn: &mut AnyConnection,
    business_id: i64,
    buyer_id: i64,
    subscription_id: Option<i64>,
    lines: &[BalanceLine],
) -> Result<Quote> {
    let customer = customers::get(conn, business_id, buyer_id).await?;
    let business = businesses::get(conn, business_id).await?;
    let tax = tax_of(&business.country, &customer);
    let currency = match lines.first() {
        Some(l) => Currency::from_code(&l.currency)?,
        None => {
            let segment = segments::get(conn, business_id, customer.segment_id).await?;
            Currency::from_code(&segment.currency)?
        }
    };
    let mut quote = Quote {
        customer_id: buyer_id,
        subscription_id,
        currency,
        tax_rate: tax.rate.normalize().to_string(),
        reverse_charge: tax.reverse_charge,
        lines: Vec::new(),
        amount_subtotal: 0,
        amount_tax: 0,
        amount_total: 0,
        amount_total_due: 0,
        date_period_start_us: lines.iter().filter_map(|l| l.date_period_start_us).min(),
        date_period_end_us: lines.iter().filter_map(|l| l.date_period_end_us).max(),
        next_term: None,
    };
    let core_lines = lines.iter().map(core_line).collect::<Result<Vec<_>>>()?;
    let draft = match assemble_invoice(&core_lines, &tax)? {
        Billing::NothingDue => return Ok(quote),
        Billing::Invoice(d) | Billing::CreditCarriedForward(d) => d,
    };
    let spread = invoice_lines(lines, &draft.lines)?;
    quote.lines = lines
        .iter()
        .zip(&spread)
        .map(|(l, s)| QuoteLine {
            subscription_id: l.subscription_id,
            feature_id: l.feature_id,
            type_line: l.type_line.clone(),
            label: l.label.clone(),
            quantity_reported: l.quantity_reported,
            quantity_billed: l.quantity_billed,
            amount_subtotal: l.amount_subtotal,
            amount_tax: s.amount_tax,
            amount_total: l.amount_subtotal + s.amount_tax,
            date_move_us: l.date_move_us,
            date_period_start_us: l.date_period_start_us,
            date_period_end_us: l.date_period_end_us,
        })
        .collect();
    quote.amount_subtotal = draft.subtotal;
    quote.amount_tax = draft.tax;
    quote.amount_total = draft.total;
    quote.amount_total_due = draft.total.max(0);
    Ok(quote)
}
