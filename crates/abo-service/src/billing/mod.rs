//! The billing engine (spec §1.8–1.11; billing-rules "Balance and invoices",
//! "Collection", "Exactly once").
//!
//! * [`bill_customer`] turns a customer's due balance lines into one issued
//!   invoice, in one transaction: tax by billing country, assembly (tax
//!   rounded once per rate), a number from the segment's gapless sequence,
//!   the lines marked `Billed`, the invoice's state by the buyer's payment
//!   method, and every effect written to the outbox (`jobs`) with a natural
//!   key.
//! * [`collect::collect_invoice`] charges an issued invoice through the
//!   sandbox gateways ([`Gateways`]), retries on schedule and gives up as
//!   `ProblemAuto`.
//! * [`register_offline_payment`] marks an offline invoice paid.
//! * [`permissions::register_permission`] stores a card or mandate.
//!
//! Every state change goes through [`InvoiceState::apply`].

pub mod collect;
pub mod credit;
pub mod discounts;
pub(crate) mod dunning;
pub mod expiry;
pub mod overdue;
pub mod permissions;
pub mod query;
pub mod sandbox_ledger;

use abo_core::{
    BalanceLine as CoreLine, Billing, Currency, InvoiceEvent, InvoiceState, IssueMode, LineDate,
    Locale, StateMove, TaxDecision, TaxProfile, TypeLine, assemble_invoice,
};
use abo_store::balance_lines::{self, BalanceLine};
use abo_store::customers::{self, Customer};
use abo_store::invoices::{self, Invoice, NewInvoice, NewInvoiceLine};
use abo_store::payments::{self, NewPayment};
use abo_store::{AnyConnection, Store, billing_settings, businesses, jobs, segments};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use serde_json::json;

use crate::error::{Result, ServiceError};

pub use collect::{CollectOutcome, Gateways, collect_invoice, poll_payment};

/// 403 when the customer has no way to pay (ProAbono's code).
pub const PAYMENT_SETTINGS_MISSING: &str = "Error.Customer.PaymentSettings.Missing";

/// Job kinds this module writes to the outbox.
pub const JOB_WEBHOOK: &str = "Webhook";
pub const JOB_EMAIL: &str = "Email";
pub const JOB_COLLECT: &str = "CollectInvoice";
/// Asks the gateway again about a pending (SEPA) payment.
pub const JOB_POLL_PAYMENT: &str = "PollPayment";
/// Tells the customer and the merchant that a card expires soon, or expired.
pub const JOB_CARD_EXPIRY: &str = "CardExpiry";
/// Checks, at its overdue date, whether an invoice is still unpaid.
pub const JOB_INVOICE_OVERDUE: &str = "InvoiceOverdue";
/// Finishes a refund whose process died between its reservation and its
/// credit note (`credit::resume_refund`).
pub const JOB_RESUME_REFUND: &str = "ResumeRefund";

pub(crate) const DAY_US: i64 = 86_400_000_000;
/// Direct debit: days between the notice (issue) and the debit (not configurable in ProAbono).
pub const DIRECT_DEBIT_NOTICE_DAYS: i64 = 3;
/// `DatePaymentLimit`: days after issue.
pub const PAYMENT_TERM_DAYS: i64 = 30;

/// Options of a manual billing (`POST /v1/Billing/Customer`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillOptions {
    /// Collect offline even when the customer pays automatically.
    pub force_offline: bool,
    /// Printed at the bottom of the invoice.
    pub note: Option<String>,
    /// Only lines dated at or after (period start or move date).
    pub date_start_us: Option<i64>,
    /// Only lines dated before.
    pub date_end_us: Option<i64>,
}

/// Bills the customer's due balance lines into one issued invoice, in one
/// transaction. `None` when nothing is due (or the due lines add up to a
/// credit, which stays on the balance for the next billing). Billing twice
/// bills nothing new: the second run finds no due line.
pub async fn bill_customer(
    store: &Store,
    business_id: i64,
    customer_id: i64,
    now_us: i64,
) -> Result<Option<i64>> {
    let mut tx = store.begin().await?;
    let id = bill_in(
        &mut tx,
        business_id,
        customer_id,
        &BillOptions::default(),
        now_us,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// [`bill_customer`] with options, in the caller's transaction.
pub async fn bill_in(
    conn: &mut AnyConnection,
    business_id: i64,
    customer_id: i64,
    options: &BillOptions,
    now_us: i64,
) -> Result<Option<i64>> {
    let customer = customers::get(conn, business_id, customer_id).await?;
    let business = businesses::get(conn, business_id).await?;
    let due: Vec<BalanceLine> =
        balance_lines::list_for_customer(conn, business_id, customer_id, Some("Due"))
            .await?
            .into_iter()
            .filter(|l| in_window(l, options))
            .collect();
    let Some(draft) = draft_invoice(&business.country, &customer, &due, options, now_us)? else {
        return Ok(None);
    };
    let invoice = invoices::create_draft(conn, &draft.new, now_us).await?;
    let mut invoice = invoices::issue(
        conn,
        business_id,
        invoice.id,
        draft.issued_state.as_str(),
        now_us,
    )
    .await?;
    for line in &due {
        if !balance_lines::mark_billed(conn, business_id, line.id, invoice.id).await? {
            return Err(ServiceError::Conflict(format!(
                "balance line {} was billed concurrently",
                line.id
            )));
        }
    }
    if invoice.amount_total == 0 {
        // Nothing to pay: paid at once.
        invoice = pay(conn, &invoice, InvoiceEvent::Pay, now_us).await?;
        let effects = Effects::new(business_id, &invoice, &customer, now_us);
        effects.webhook(conn, "InvoiceDebitPaid").await?;
        effects.email(conn, "InvoiceNewPaid", json!({})).await?;
        return Ok(Some(invoice.id));
    }
    let settings = billing_settings::get(conn, business_id, invoice.segment_id).await?;
    let effects = issue_effects(
        &invoice,
        &customer,
        draft.method,
        settings.overdue_days,
        now_us,
    );
    jobs::enqueue_many(conn, &effects, now_us).await?;
    Ok(Some(invoice.id))
}

/// An invoice ready to be issued: [`draft_invoice`].
pub(crate) struct DraftInvoice {
    pub new: NewInvoice,
    pub method: Method,
    /// Its state once issued.
    pub issued_state: InvoiceState,
}

/// The invoice of the customer's `due` lines (billing-rules: tax by billing
/// country, assembly with tax rounded once per rate, the state by the
/// buyer's payment method). `None` when nothing is due, or the lines add up
/// to a credit, which stays on the balance for the next billing.
pub(crate) fn draft_invoice(
    business_country: &str,
    customer: &Customer,
    due: &[BalanceLine],
    options: &BillOptions,
    now_us: i64,
) -> Result<Option<DraftInvoice>> {
    let tax = tax_of(business_country, customer);
    let core_lines = due.iter().map(core_line).collect::<Result<Vec<_>>>()?;
    let draft = match assemble_invoice(&core_lines, &tax)? {
        Billing::NothingDue | Billing::CreditCarriedForward(_) => return Ok(None),
        Billing::Invoice(draft) => draft,
    };
    // A customer without a payment method (`Free`) is refused up front by
    // the API (`Error.Customer.PaymentSettings.Missing`); what a scheduled
    // billing owes is still invoiced, `DueOffline`, to be paid through the
    // portal's charge link (so a job never loops on a customer who cannot pay).
    let method = Method::of(customer, options.force_offline);
    let locale = customer
        .language
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or(Locale::En);
    let mut note_parts: Vec<String> = Vec::new();
    if let Some(mention) = draft.reverse_charge_mention {
        note_parts.push(mention.text(locale).to_owned());
    }
    for n in [
        options.note.as_deref(),
        customer.payment_settings.note_invoice.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        if !n.trim().is_empty() {
            note_parts.push(n.trim().to_owned());
        }
    }
    let lines = invoice_lines(due, &draft.lines)?;
    let scheduled = match method {
        Method::DirectDebit if draft.total > 0 => Some(now_us + DIRECT_DEBIT_NOTICE_DAYS * DAY_US),
        _ => None,
    };
    let buyer = json!({
        "Name": customer.name,
        "Email": customer.email,
        "Company": customer.billing_address.company,
        "FirstName": customer.billing_address.first_name,
        "LastName": customer.billing_address.last_name,
        "AddressLine1": customer.billing_address.address_line1,
        "AddressLine2": customer.billing_address.address_line2,
        "ZipCode": customer.billing_address.zip_code,
        "City": customer.billing_address.city,
        "Country": customer.billing_address.country,
        "Region": customer.billing_address.region,
        "TaxInformation": customer.billing_address.tax_information,
        "TaxBasis": format!("{:?}", tax.basis),
        "ReverseCharge": tax.reverse_charge,
    });
    let new = NewInvoice {
        business_id: customer.business_id,
        segment_id: customer.segment_id,
        customer_id: customer.id,
        is_credit_note: false,
        type_credit: None,
        credited_invoice_id: None,
        type_payment: method.type_payment(customer).to_owned(),
        currency: draft.currency.code().to_owned(),
        amount_subtotal: draft.subtotal,
        amount_tax: draft.tax,
        amount_total: draft.total,
        date_payment_limit_us: Some(now_us + PAYMENT_TERM_DAYS * DAY_US),
        date_payment_scheduled_us: scheduled,
        note: (!note_parts.is_empty()).then(|| note_parts.join("\n")),
        reason: None,
        buyer: Some(buyer.to_string()),
        lines,
    };
    let mode = match method {
        Method::Card | Method::DirectDebit => IssueMode::Auto,
        Method::Offline | Method::None => IssueMode::Offline,
    };
    let issued_state = InvoiceState::Draft
        .apply(InvoiceEvent::Issue(mode))
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(Some(DraftInvoice {
        new,
        method,
        issued_state,
    }))
}

/// The outbox rows of an issued invoice that waits for money: its overdue
/// check, the merchant's webhook, the customer's e-mail and, when it is
/// paid automatically, its first collection attempt (SEPA: after the notice).
pub(crate) fn issue_effects(
    invoice: &Invoice,
    customer: &Customer,
    method: Method,
    overdue_days: i64,
    now_us: i64,
) -> Vec<jobs::NewJob> {
    let effects = Effects::new(invoice.business_id, invoice, customer, now_us);
    let mut out = vec![overdue::overdue_job(invoice, overdue_days, now_us)];
    match method {
        Method::Card => {
            out.push(effects.webhook_job("InvoiceDebitIssuedPaymentAuto", ""));
            out.push(effects.email_job("InvoiceNewPaymentAuto", json!({}), ""));
            out.push(collect_job(invoice.business_id, invoice.id, 1, now_us));
        }
        Method::DirectDebit => {
            let at = invoice.date_payment_scheduled_us.unwrap_or(now_us);
            out.push(effects.webhook_job("InvoiceDebitIssuedPaymentAuto", ""));
            out.push(effects.email_job(
                "DirectDebitNotice",
                json!({"AmountTotal": invoice.amount_total, "Currency": invoice.currency,
                       "DatePaymentScheduledUs": at}),
                "",
            ));
            out.push(collect_job(invoice.business_id, invoice.id, 1, at));
        }
        Method::Offline | Method::None => {
            out.push(effects.webhook_job("InvoiceDebitIssuedPaymentOffline", ""));
            out.push(effects.email_job("InvoiceNewPaymentOffline", json!({}), ""));
        }
    }
    out
}

/// Marks an offline invoice (or any unpaid one) paid by a payment registered
/// by hand: `method` (`ExternalBank`, `ExternalCheck`, ...), the date it was
/// received, a free note for the accountants.
pub async fn register_offline_payment(
    store: &Store,
    business_id: i64,
    invoice_id: i64,
    method: &str,
    date_payment_us: i64,
    note: Option<&str>,
    now_us: i64,
) -> Result<Invoice> {
    if !method.starts_with("External") {
        return Err(ServiceError::invalid(format!(
            "TypePayment: '{method}' is not an offline method (ExternalBank, ExternalCheck, \
             ExternalCash, ExternalOther)"
        )));
    }
    let mut tx = store.begin().await?;
    let invoice = invoices::get(&mut tx, business_id, invoice_id).await?;
    if invoice.is_credit_note {
        return Err(ServiceError::Conflict(format!(
            "invoice {invoice_id} is a credit note"
        )));
    }
    let attempt = payments::next_attempt(&mut tx, business_id, invoice_id).await?;
    payments::insert_attempt(
        &mut tx,
        &NewPayment {
            business_id,
            invoice_id,
            attempt,
            type_payment: method.to_owned(),
            permission_id: None,
            amount: invoice.amount_total,
            currency: invoice.currency.clone(),
            state: "Registered".into(),
            note: note.map(str::to_owned),
            date_payment_us: Some(date_payment_us),
        },
        now_us,
    )
    .await?;
    let paid = pay_at(&mut tx, &invoice, date_payment_us, now_us).await?;
    let customer = customers::get(&mut tx, business_id, invoice.customer_id).await?;
    Effects::new(business_id, &paid, &customer, now_us)
        .webhook(&mut tx, "InvoiceDebitPaid")
        .await?;
    tx.commit().await?;
    Ok(paid)
}

/// The state machine's answer for an invoice, or a 409.
pub(crate) fn next_state(invoice: &Invoice, event: InvoiceEvent) -> Result<InvoiceState> {
    let state: InvoiceState = invoice.state.parse().map_err(|_| {
        ServiceError::Internal(format!(
            "invoice {} has an unknown state {}",
            invoice.id, invoice.state
        ))
    })?;
    state
        .apply(event)
        .map_err(|e| ServiceError::Conflict(format!("invoice {}: {e}", invoice.id)))
}

/// Applies `event` (normally `Pay`) and records the payment date `now`.
pub(crate) async fn pay(
    conn: &mut AnyConnection,
    invoice: &Invoice,
    event: InvoiceEvent,
    now_us: i64,
) -> Result<Invoice> {
    let next = next_state(invoice, event)?;
    let paid = invoices::set_state(
        conn,
        invoice.business_id,
        invoice.id,
        next.as_str(),
        Some(now_us),
        now_us,
    )
    .await?;
    dunning::restart_paid_up(conn, paid.business_id, paid.customer_id, now_us).await?;
    Ok(paid)
}

async fn pay_at(
    conn: &mut AnyConnection,
    invoice: &Invoice,
    date_payment_us: i64,
    now_us: i64,
) -> Result<Invoice> {
    let next = next_state(invoice, InvoiceEvent::Pay)?;
    let paid = invoices::set_state(
        conn,
        invoice.business_id,
        invoice.id,
        next.as_str(),
        Some(date_payment_us),
        now_us,
    )
    .await?;
    invoices::set_payment_scheduled(conn, invoice.business_id, invoice.id, None, now_us).await?;
    dunning::restart_paid_up(conn, paid.business_id, paid.customer_id, now_us).await?;
    Ok(paid)
}

/// Applies any other event (no payment date).
pub(crate) async fn transition(
    conn: &mut AnyConnection,
    invoice: &Invoice,
    event: InvoiceEvent,
    now_us: i64,
) -> Result<Invoice> {
    let next = next_state(invoice, event)?;
    Ok(invoices::set_state(
        conn,
        invoice.business_id,
        invoice.id,
        next.as_str(),
        None,
        now_us,
    )
    .await?)
}

/// How the customer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Card,
    DirectDebit,
    Offline,
    /// `Free`, `Undefined`: no method.
    None,
}

impl Method {
    fn of(customer: &Customer, force_offline: bool) -> Method {
        match customer.payment_settings.type_payment.as_str() {
            "Card" if !force_offline => Method::Card,
            "DirectDebit" if !force_offline => Method::DirectDebit,
            "Card" | "DirectDebit" => Method::Offline,
            t if t.starts_with("External") => Method::Offline,
            _ => Method::None,
        }
    }

    /// `TypePayment` of the invoice.
    fn type_payment(self, customer: &Customer) -> &str {
        match self {
            Method::Card => "Card",
            Method::DirectDebit => "DirectDebit",
            Method::Offline
                if customer
                    .payment_settings
                    .type_payment
                    .starts_with("External") =>
            {
                &customer.payment_settings.type_payment
            }
            Method::Offline => "ExternalOther",
            Method::None => "Free",
        }
    }
}

/// The tax of the customer's invoices (billing-rules): the segment's rules
/// by billing country; a VAT number marks a business customer.
pub fn tax_of(business_country: &str, customer: &Customer) -> TaxDecision {
    let profile = TaxProfile::with_eu_rates(business_country, Decimal::ZERO);
    let vat = customer
        .billing_address
        .tax_information
        .as_deref()
        .filter(|v| !v.trim().is_empty());
    profile.rate_for(
        customer.billing_address.country.as_deref(),
        vat,
        vat.is_some(),
    )
}

/// `AmountSubtotal × rate`, rounded half away from zero.
pub fn tax_amount(subtotal: i64, rate: Decimal) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    (Decimal::from(subtotal) * rate / Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
        .unwrap_or(0)
}

fn in_window(line: &BalanceLine, options: &BillOptions) -> bool {
    let at = line
        .date_period_start_us
        .or(line.date_move_us)
        .unwrap_or(line.created_at_us);
    options.date_start_us.is_none_or(|s| at >= s) && options.date_end_us.is_none_or(|e| at < e)
}

pub(crate) fn core_line(line: &BalanceLine) -> Result<CoreLine> {
    let currency = Currency::from_code(&line.currency)?;
    // Store lines may carry a TypeLine name the core does not know (legacy
    // spellings): it only matters to discounts, which ran when the line was
    // written, so it is billed as a manual line.
    let type_line = line.type_line.parse().unwrap_or(TypeLine::Manual);
    let date = LineDate::Move(jiff::civil::date(1970, 1, 1));
    let mut core = CoreLine::due(type_line, &line.label, line.amount_subtotal, currency, date);
    core.state_move = StateMove::Due;
    core.quantity = line.quantity_billed.unwrap_or(1);
    core.key_charge = line.key_charge.clone();
    Ok(core)
}

/// The store's invoice lines, with each rate's tax spread over its lines so
/// that they add up exactly to the rate's tax (the last line of a rate takes
/// the rounding).
pub(crate) fn invoice_lines(
    due: &[BalanceLine],
    assembled: &[abo_core::InvoiceLine],
) -> Result<Vec<NewInvoiceLine>> {
    let mut out: Vec<NewInvoiceLine> = Vec::with_capacity(due.len());
    let mut rates: Vec<Decimal> = assembled.iter().map(|l| l.tax_rate).collect();
    rates.sort();
    rates.dedup();
    let mut taxes = vec![0i64; due.len()];
    for rate in rates {
        let idx: Vec<usize> = (0..due.len())
            .filter(|i| assembled[*i].tax_rate == rate)
            .collect();
        let base: i64 = idx.iter().map(|i| due[*i].amount_subtotal).sum();
        let total = tax_amount(base, rate);
        let mut spent = 0;
        for (n, i) in idx.iter().enumerate() {
            let t = if n + 1 == idx.len() {
                total - spent
            } else {
                tax_amount(due[*i].amount_subtotal, rate)
            };
            spent += t;
            taxes[*i] = t;
        }
    }
    for (i, (line, a)) in due.iter().zip(assembled).enumerate() {
        out.push(NewInvoiceLine {
            balance_line_id: Some(line.id),
            type_line: line.type_line.clone(),
            label: line.label.clone(),
            quantity: a.quantity,
            // No exact unit price (tiers, prorata): the line's amount when
            // it is one unit, else 0 ("not applicable").
            unit_amount: a.unit_amount.unwrap_or(if a.quantity <= 1 {
                line.amount_subtotal
            } else {
                0
            }),
            amount_subtotal: line.amount_subtotal,
            tax_rate: a.tax_rate.normalize().to_string(),
            amount_tax: taxes[i],
            date_period_start_us: line.date_period_start_us,
            date_period_end_us: line.date_period_end_us,
        });
    }
    Ok(out)
}

/// Enqueues collection attempt `attempt` of an invoice at `run_at_us`.
pub(crate) async fn enqueue_collect(
    conn: &mut AnyConnection,
    business_id: i64,
    invoice_id: i64,
    attempt: i64,
    run_at_us: i64,
    now_us: i64,
) -> Result<()> {
    let job = collect_job(business_id, invoice_id, attempt, run_at_us);
    jobs::enqueue(conn, &job, now_us).await?;
    Ok(())
}

/// Collection attempt `attempt` of an invoice, at `run_at_us` (natural key
/// `collect:{invoice}:{attempt}`).
pub(crate) fn collect_job(
    business_id: i64,
    invoice_id: i64,
    attempt: i64,
    run_at_us: i64,
) -> jobs::NewJob {
    jobs::NewJob {
        business_id: Some(business_id),
        kind: JOB_COLLECT.into(),
        payload: json!({"business_id": business_id, "invoice_id": invoice_id,
                        "attempt": attempt})
        .to_string(),
        run_at_us,
        max_attempts: 10,
        natural_key: Some(format!("collect:{invoice_id}:{attempt}")),
    }
}

/// The payload of an invoice's webhook, written straight from the rows (an
/// outbox row per invoice event: three per renewal paid by card). Fields in
/// alphabetical order: the order a `json!` map had.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InvoiceWebhook<'a> {
    id_customer: i64,
    id_invoice: i64,
    id_segment: i64,
    invoice_debit: InvoiceDebit<'a>,
    reference_customer: &'a str,
    type_trigger: &'a str,
}

/// The invoice as a webhook shows it (`InvoiceDebit`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InvoiceDebit<'a> {
    amount_subtotal: i64,
    amount_total: i64,
    currency: &'a str,
    full_number: Option<&'a str>,
    id: i64,
    state_invoice: &'a str,
    type_payment: &'a str,
}

/// The outbox writes of one invoice event.
pub(crate) struct Effects<'a> {
    business_id: i64,
    invoice: &'a Invoice,
    customer: &'a Customer,
    now_us: i64,
}

impl<'a> Effects<'a> {
    pub(crate) fn new(
        business_id: i64,
        invoice: &'a Invoice,
        customer: &'a Customer,
        now_us: i64,
    ) -> Effects<'a> {
        Effects {
            business_id,
            invoice,
            customer,
            now_us,
        }
    }

    /// A webhook, once per invoice and trigger (`suffix` tells repeated
    /// events apart, e.g. the attempt number).
    pub(crate) async fn webhook(&self, conn: &mut AnyConnection, trigger: &str) -> Result<()> {
        self.webhook_keyed(conn, trigger, "").await
    }

    pub(crate) async fn webhook_keyed(
        &self,
        conn: &mut AnyConnection,
        trigger: &str,
        suffix: &str,
    ) -> Result<()> {
        self.enqueue(conn, self.webhook_job(trigger, suffix)).await
    }

    /// The outbox row of a webhook, once per invoice and trigger (`suffix`
    /// tells repeated events apart).
    pub(crate) fn webhook_job(&self, trigger: &str, suffix: &str) -> jobs::NewJob {
        let invoice = self.invoice;
        let payload = InvoiceWebhook {
            id_customer: self.customer.id,
            id_invoice: invoice.id,
            id_segment: invoice.segment_id,
            invoice_debit: InvoiceDebit {
                amount_subtotal: invoice.amount_subtotal,
                amount_total: invoice.amount_total,
                currency: &invoice.currency,
                full_number: invoice.full_number.as_deref(),
                id: invoice.id,
                state_invoice: &invoice.state,
                type_payment: &invoice.type_payment,
            },
            reference_customer: &self.customer.reference,
            type_trigger: trigger,
        };
        self.job_text(
            JOB_WEBHOOK,
            serde_json::to_string(&payload).expect("a webhook payload serializes"),
            format!("webhook:invoice={}:{trigger}{suffix}", self.invoice.id),
        )
    }

    /// An e-mail to the customer (the notifications worker renders it).
    pub(crate) async fn email(
        &self,
        conn: &mut AnyConnection,
        template: &str,
        extra: serde_json::Value,
    ) -> Result<()> {
        self.email_keyed(conn, template, extra, "").await
    }

    pub(crate) async fn email_keyed(
        &self,
        conn: &mut AnyConnection,
        template: &str,
        extra: serde_json::Value,
        suffix: &str,
    ) -> Result<()> {
        self.enqueue(conn, self.email_job(template, extra, suffix))
            .await
    }

    /// The outbox row of an e-mail, once per invoice and template.
    pub(crate) fn email_job(
        &self,
        template: &str,
        extra: serde_json::Value,
        suffix: &str,
    ) -> jobs::NewJob {
        let mut payload = json!({
            "Template": template,
            "IdInvoice": self.invoice.id,
            "IdCustomer": self.customer.id,
            "To": self.customer.email,
            "Language": self.customer.language,
        });
        if let (Some(p), serde_json::Value::Object(extra)) = (payload.as_object_mut(), extra) {
            p.extend(extra);
        }
        self.job(
            JOB_EMAIL,
            payload,
            format!("email:invoice={}:{template}{suffix}", self.invoice.id),
        )
    }

    fn job(&self, kind: &str, payload: serde_json::Value, key: String) -> jobs::NewJob {
        self.job_text(kind, payload.to_string(), key)
    }

    fn job_text(&self, kind: &str, payload: String, key: String) -> jobs::NewJob {
        jobs::NewJob {
            business_id: Some(self.business_id),
            kind: kind.into(),
            payload,
            run_at_us: self.now_us,
            max_attempts: 10,
            natural_key: Some(key),
        }
    }

    async fn enqueue(&self, conn: &mut AnyConnection, job: jobs::NewJob) -> Result<()> {
        jobs::enqueue(conn, &job, self.now_us).await?;
        Ok(())
    }
}

/// The segment of an invoice (for `ReferenceSegment`).
pub async fn segment_reference(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_id: i64,
) -> Result<String> {
    Ok(segments::get(conn, business_id, segment_id)
        .await?
        .reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invoice_webhook_is_written_as_its_json_map_was() {
        let payload = InvoiceWebhook {
            id_customer: 7,
            id_invoice: 12,
            id_segment: 3,
            invoice_debit: InvoiceDebit {
                amount_subtotal: 1000,
                amount_total: 1200,
                currency: "EUR",
                full_number: None,
                id: 12,
                state_invoice: "DueAuto",
                type_payment: "Card",
            },
            reference_customer: "c-\"7\"",
            type_trigger: "InvoiceDebitPaid",
        };
        let before = json!({
            "TypeTrigger": "InvoiceDebitPaid",
            "IdInvoice": 12,
            "IdCustomer": 7,
            "IdSegment": 3,
            "ReferenceCustomer": "c-\"7\"",
            "InvoiceDebit": {
                "Id": 12,
                "FullNumber": null,
                "StateInvoice": "DueAuto",
                "TypePayment": "Card",
                "AmountSubtotal": 1000,
                "AmountTotal": 1200,
                "Currency": "EUR",
            },
        });
        // The same text, byte for byte, as the `json!` map wrote: outbox rows
        // written before and after the change read alike.
        assert_eq!(serde_json::to_string(&payload).unwrap(), before.to_string());
    }

    #[test]
    fn tax_amount_rounds_half_away_from_zero() {
        assert_eq!(tax_amount(19000, Decimal::from(20)), 3800);
        assert_eq!(tax_amount(5, Decimal::from(10)), 1);
        assert_eq!(tax_amount(-5, Decimal::from(10)), -1);
    }
}
