//! The end of a customer workflow (hosted pages, spec §3.2 and §3.5): after the change is
//! committed, the right payment step — bill what the change wrote and charge it now with the
//! customer's card, or leave it to the SEPA debit, or due offline, or nothing to pay — and the
//! merchant's return URL with `from`, `outcome`, `idc`, `refo`, `idsub`.
//!
//! Exactly once: billing takes the buyer's due lines in one transaction (a second run finds
//! none) and the charge is collection attempt 1 of the invoice, the same attempt the outbox's
//! `CollectInvoice` job runs: whichever comes first charges, the other finds it done.

use abo_core::InvoiceEvent;
use abo_store::{Store, invoices, payments, workflow_settings};

use crate::billing::{self, CollectOutcome, Gateways, collect_invoice};
use crate::error::{Result, ServiceError};

/// `outcome` of the return URL (spec §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing was charged.
    NoCharge,
    /// Charged and paid now.
    Paid,
    /// A payment was sent and settles later (SEPA), or awaits the customer's bank.
    Pending,
    /// A payment method was registered.
    Registered,
    /// An invoice is left to pay (offline, or the charge failed).
    Due,
}

impl Outcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::NoCharge => "nocharge",
            Outcome::Paid => "paid",
            Outcome::Pending => "pending",
            Outcome::Registered => "registered",
            Outcome::Due => "due",
        }
    }
}

/// What the payment step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    pub outcome: Outcome,
    /// The invoice issued (or paid) by the step.
    pub invoice_id: Option<i64>,
    /// The charge was declined (the invoice is due, to be retried).
    pub declined: bool,
    /// The bank asks the customer for 3-D Secure before charging: send them to the
    /// challenge, then [`complete_charge_authentication`].
    pub needs_authentication: bool,
}

/// Bills the customer's due lines now (what the workflow's change wrote) and collects the
/// invoice the way the customer pays.
pub async fn settle(
    store: &Store,
    gateways: &Gateways,
    business_id: i64,
    customer_id: i64,
    now_us: i64,
) -> Result<Settlement> {
    let Some(invoice_id) = billing::bill_customer(store, business_id, customer_id, now_us).await?
    else {
        return Ok(Settlement {
            outcome: Outcome::NoCharge,
            invoice_id: None,
            declined: false,
            needs_authentication: false,
        });
    };
    collect_now(store, gateways, business_id, invoice_id, 1, false, now_us).await
}

/// Pays an unpaid invoice of the customer now with its registered card or mandate (the "pay
/// an invoice" workflow): a failed invoice is put back to automatic collection first.
pub async fn pay_invoice(
    store: &Store,
    gateways: &Gateways,
    business_id: i64,
    customer_id: i64,
    invoice_id: i64,
    now_us: i64,
) -> Result<Settlement> {
    let mut tx = store.begin().await?;
    let invoice = invoices::get(&mut tx, business_id, invoice_id).await?;
    if invoice.customer_id != customer_id || invoice.is_credit_note {
        return Err(ServiceError::NotFound(format!("invoice {invoice_id}")));
    }
    let invoice = match invoice.state.as_str() {
        "ProblemAuto" | "ProblemOverdue" if is_automatic(&invoice.type_payment) => {
            billing::transition(&mut tx, &invoice, InvoiceEvent::Retry, now_us).await?
        }
        _ => invoice,
    };
    let attempt = payments::next_attempt(&mut tx, business_id, invoice_id).await?;
    tx.commit().await?;
    collect_now(
        store,
        gateways,
        business_id,
        invoice.id,
        attempt,
        true,
        now_us,
    )
    .await
}

fn is_automatic(type_payment: &str) -> bool {
    matches!(type_payment, "Card" | "DirectDebit")
}

/// Charges a `DueAuto` card invoice now (and a direct debit when `direct_debit_now`: its
/// notice was given when it was issued); anything else is reported as it stands.
async fn collect_now(
    store: &Store,
    gateways: &Gateways,
    business_id: i64,
    invoice_id: i64,
    attempt: i64,
    direct_debit_now: bool,
    now_us: i64,
) -> Result<Settlement> {
    let invoice = {
        let mut conn = store.acquire().await?;
        invoices::get(&mut conn, business_id, invoice_id).await?
    };
    let chargeable = invoice.type_payment == "Card"
        || (direct_debit_now && invoice.type_payment == "DirectDebit");
    let mut outcome = None;
    if invoice.state == "DueAuto" && chargeable {
        outcome =
            Some(collect_invoice(store, gateways, business_id, invoice_id, attempt, now_us).await?);
    }
    settlement_of(store, business_id, invoice_id, outcome.as_ref()).await
}

/// Where the invoice stands after a collection attempt (`outcome`, if one was made).
async fn settlement_of(
    store: &Store,
    business_id: i64,
    invoice_id: i64,
    outcome: Option<&CollectOutcome>,
) -> Result<Settlement> {
    let declined = matches!(
        outcome,
        Some(CollectOutcome::Retrying { .. } | CollectOutcome::Problem)
    );
    let needs_authentication = matches!(outcome, Some(CollectOutcome::RequiresAuthentication));
    let invoice = {
        let mut conn = store.acquire().await?;
        invoices::get(&mut conn, business_id, invoice_id).await?
    };
    let outcome = match invoice.state.as_str() {
        "Paid" if invoice.amount_total == 0 => Outcome::NoCharge,
        "Paid" => Outcome::Paid,
        "DuePending" | "DueToProcess" => Outcome::Pending,
        // A direct debit is taken after its notice.
        "DueAuto" if invoice.type_payment == "DirectDebit" => Outcome::Pending,
        _ => Outcome::Due,
    };
    Ok(Settlement {
        outcome,
        invoice_id: Some(invoice_id),
        declined,
        needs_authentication,
    })
}

/// The customer came back from the bank's 3-D Secure challenge of the invoice's charge
/// (`success`: the sandbox takes the answer from the page): the gateway completes the charge
/// and its answer is recorded like any collection answer.
pub async fn complete_charge_authentication(
    store: &Store,
    gateways: &Gateways,
    business_id: i64,
    customer_id: i64,
    invoice_id: i64,
    success: bool,
    now_us: i64,
) -> Result<Settlement> {
    let (payment, permission) = {
        let mut conn = store.acquire().await?;
        let invoice = invoices::get(&mut conn, business_id, invoice_id).await?;
        if invoice.customer_id != customer_id {
            return Err(ServiceError::NotFound(format!("invoice {invoice_id}")));
        }
        let waiting = payments::list_for_invoice(&mut conn, business_id, invoice_id)
            .await?
            .into_iter()
            .rev()
            .find(|p| p.state == "RequiresAction" && p.charge_id.is_some());
        let Some(payment) = waiting else {
            // Nothing waits for authentication (already completed): report as it stands.
            return settlement_of(store, business_id, invoice_id, None).await;
        };
        let permission_id = payment.permission_id.ok_or_else(|| {
            ServiceError::Internal(format!("payment {} has no permission", payment.id))
        })?;
        let permission = payments::get_permission(&mut conn, business_id, permission_id).await?;
        (payment, permission)
    };
    let charge_id = payment.charge_id.clone().unwrap_or_default();
    let gateway = gateways.for_permission(&permission)?;
    let answer = gateway
        .complete_authentication(
            &abo_gateway::ChargeId(charge_id.clone()),
            success,
            billing::collect::timestamp(now_us)?,
        )
        .await
        .map_err(|e| ServiceError::Internal(format!("gateway: {e}")))?;
    let mut tx = store.begin().await?;
    let invoice = invoices::get(&mut tx, business_id, invoice_id).await?;
    let outcome = billing::collect::record_outcome(
        &mut tx,
        &invoice,
        &payment,
        &permission,
        Some(&charge_id),
        &answer,
        now_us,
    )
    .await?;
    tx.commit().await?;
    settlement_of(store, business_id, invoice_id, Some(&outcome)).await
}

/// The segment's return URL (spec §3.5), if configured.
pub async fn return_url(
    store: &Store,
    business_id: i64,
    segment_id: i64,
) -> Result<Option<String>> {
    let mut conn = store.acquire().await?;
    Ok(workflow_settings::return_url(&mut conn, business_id, segment_id).await?)
}

/// Sets (or clears) the segment's return URL: an absolute `http`/`https` URL without fragment.
pub async fn set_return_url(
    store: &Store,
    business_id: i64,
    segment_id: i64,
    url: Option<&str>,
    now_us: i64,
) -> Result<()> {
    let url = url.map(str::trim).filter(|u| !u.is_empty());
    if let Some(u) = url {
        let ok = (u.starts_with("https://") || u.starts_with("http://"))
            && u.len() <= 2000
            && !u.contains('#')
            && !u.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(ServiceError::invalid(format!(
                "the return URL must be an absolute http(s) URL without fragment, not '{u}'"
            )));
        }
    }
    let mut conn = store.acquire().await?;
    workflow_settings::set_return_url(&mut conn, business_id, segment_id, url, now_us).await?;
    Ok(())
}

/// Where a finished workflow sends the customer: the return URL with `from`, `outcome`,
/// `idc` (the internal customer id, never the reference), and `refo`/`idsub` when known.
pub fn return_location(
    url: &str,
    from: &str,
    outcome: Outcome,
    customer_id: i64,
    offer_reference: Option<&str>,
    subscription_id: Option<i64>,
) -> String {
    let mut q = format!(
        "from={}&outcome={}&idc={customer_id}",
        encode(from),
        outcome.as_str()
    );
    if let Some(r) = offer_reference {
        q.push_str("&refo=");
        q.push_str(&encode(r));
    }
    if let Some(s) = subscription_id {
        q.push_str(&format!("&idsub={s}"));
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{q}")
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_location_appends_the_query() {
        assert_eq!(
            return_location(
                "https://shop.example/done",
                "upgrade",
                Outcome::Paid,
                7,
                Some("pro plan"),
                Some(12)
            ),
            "https://shop.example/done?from=upgrade&outcome=paid&idc=7&refo=pro%20plan&idsub=12"
        );
        assert_eq!(
            return_location(
                "https://s.example/?a=1",
                "invoice",
                Outcome::Due,
                7,
                None,
                None
            ),
            "https://s.example/?a=1&from=invoice&outcome=due&idc=7"
        );
    }
}
