//! `abo invoice cancel|refund`: how an operator credits an invoice from the
//! command line (the back office's `POST /Billing/Invoices/{id}/Cancel` and
//! `.../Refund`). Issued invoices are never changed: cancelling an unpaid one
//! issues a voiding credit note (the invoice becomes Void); refunding a paid
//! one issues a refund credit note, through the gateway that collected it or
//! recorded for an offline payment (PaidRefunded once fully refunded).

use std::sync::Arc;

use crate::config::Config;
use abo_core::{Currency, Locale, Money};
use abo_service::billing::Gateways;
use abo_service::billing::credit::{self, CreditOutcome, RefundRequest};
use abo_store::invoices::{self, Invoice};
use anyhow::{Context, bail};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Cancel an issued, unpaid invoice with a credit note for its full amount.
    Cancel(CancelArgs),
    /// Refund a paid invoice, fully or in part, with a credit note.
    Refund(RefundArgs),
}

#[derive(clap::Args)]
pub struct Target {
    /// The business the invoice belongs to.
    #[arg(long)]
    business: i64,
    /// The invoice, by id or by number (e.g. S-7.00001673).
    invoice: String,
    /// Why; printed on the credit note.
    #[arg(long)]
    reason: Option<String>,
}

#[derive(clap::Args)]
pub struct CancelArgs {
    #[command(flatten)]
    target: Target,
}

#[derive(clap::Args)]
pub struct RefundArgs {
    #[command(flatten)]
    target: Target,
    /// Amount to refund, tax included, in minor units (cents): 1000 is €10.00.
    /// Default: everything that remains refundable.
    #[arg(long)]
    amount: Option<i64>,
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    let target = match &command {
        Command::Cancel(args) => &args.target,
        Command::Refund(args) => &args.target,
    };
    let store = super::open_store(&config).await?;
    let (business, invoice) = {
        let mut conn = store.acquire().await?;
        let business = abo_store::businesses::get(&mut conn, target.business)
            .await
            .with_context(|| format!("business {}", target.business))?;
        let invoice = find(&mut conn, business.id, &target.invoice).await?;
        (business, invoice)
    };
    // A test business lives on its own clock, as in the API.
    let now_us = business.test_clock_us.unwrap_or_else(super::now_us);
    let done = match &command {
        Command::Cancel(_) => {
            credit::cancel_invoice(
                &store,
                business.id,
                invoice.id,
                target.reason.as_deref(),
                now_us,
            )
            .await?
        }
        Command::Refund(args) => {
            let gateways = Arc::new(Gateways::persistent(store.clone()));
            credit::refund_invoice(
                &store,
                &gateways,
                business.id,
                invoice.id,
                &RefundRequest {
                    amount: args.amount,
                    reason: target.reason.clone(),
                },
                now_us,
            )
            .await?
        }
    };
    println!("{}", summary(&done)?);
    Ok(())
}

/// The invoice named by an id or a full number.
async fn find(
    conn: &mut abo_store::AnyConnection,
    business_id: i64,
    given: &str,
) -> anyhow::Result<Invoice> {
    let given = given.trim();
    let found = match given.parse::<i64>() {
        Ok(id) => invoices::get(conn, business_id, id).await,
        Err(_) => invoices::get_by_full_number(conn, business_id, given).await,
    };
    match found {
        Ok(invoice) => Ok(invoice),
        Err(e) if e.is_not_found() => {
            bail!("invoice {given} not found in business {business_id}")
        }
        Err(e) => Err(e.into()),
    }
}

/// One line: what was issued and where the invoice stands.
fn summary(done: &CreditOutcome) -> anyhow::Result<String> {
    let note = &done.credit_note;
    let currency = Currency::from_code(&note.currency)?;
    let amount = Money::new(note.amount_total, currency).format(Locale::En);
    let refund = match &done.refund {
        Some(r) if r.state == "Succeeded" => format!(
            ", refunded through the gateway ({})",
            r.gateway_refund_id.as_deref().unwrap_or("-")
        ),
        Some(_) => ", recorded: pay it back by the offline method".to_owned(),
        None => String::new(),
    };
    Ok(format!(
        "credit note {} ({}, {amount}) issued for invoice {}, now {}{refund}",
        note.full_number.as_deref().unwrap_or("-"),
        note.type_credit.as_deref().unwrap_or("-"),
        done.invoice.full_number.as_deref().unwrap_or("-"),
        done.invoice.state,
    ))
}
