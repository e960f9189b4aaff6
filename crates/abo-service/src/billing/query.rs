//! What the invoice and balance API reads and writes: invoices with the
//! references of their customer and segment, manual billing
//! (`POST /v1/Billing/Customer`), manual balance lines
//! (`POST /v1/BalanceLine`) and the balance (`GET /v1/Balance`).

use abo_core::{Currency, Locale, Money, TypeLine};
use abo_store::balance_lines::{self, BalanceLine, NewBalanceLine};
use abo_store::customers::{self, Customer};
use abo_store::invoices::{self, Invoice, InvoiceFilter};
use abo_store::{AnyConnection, Page, PageRequest, Store, businesses, features, segments};

use super::{BillOptions, PAYMENT_SETTINGS_MISSING, bill_in, tax_amount, tax_of};
use crate::error::{Result, ServiceError};

/// An invoice with what the API shows of its customer and segment.
#[derive(Debug, Clone)]
pub struct InvoiceView {
    pub invoice: Invoice,
    pub customer_reference: String,
    pub customer_links_epoch: i64,
    pub customer_status: String,
    pub segment_reference: String,
}

async fn view(conn: &mut AnyConnection, invoice: Invoice) -> Result<InvoiceView> {
    let customer = customers::get(conn, invoice.business_id, invoice.customer_id).await?;
    let segment = segments::get(conn, invoice.business_id, invoice.segment_id).await?;
    Ok(InvoiceView {
        customer_reference: customer.reference,
        customer_links_epoch: customer.links_epoch,
        customer_status: customer.status,
        segment_reference: segment.reference,
        invoice,
    })
}

fn not_found_invoice(what: String) -> impl FnOnce(abo_store::StoreError) -> ServiceError {
    move |e| {
        if e.is_not_found() {
            ServiceError::not_found(what)
        } else {
            e.into()
        }
    }
}

/// `GET /v1/Invoice/{id}`.
pub async fn get_invoice(store: &Store, business_id: i64, id: i64) -> Result<InvoiceView> {
    let mut conn = store.acquire().await?;
    let invoice = invoices::get(&mut conn, business_id, id)
        .await
        .map_err(not_found_invoice(format!("invoice {id}")))?;
    view(&mut conn, invoice).await
}

/// `GET /v1/Invoice?FullNumber=[&ReferenceSegment=]`.
pub async fn get_invoice_by_number(
    store: &Store,
    business_id: i64,
    full_number: &str,
    segment_reference: Option<&str>,
) -> Result<InvoiceView> {
    let mut conn = store.acquire().await?;
    let invoice = invoices::get_by_full_number(&mut conn, business_id, full_number.trim())
        .await
        .map_err(not_found_invoice(format!("invoice '{full_number}'")))?;
    let found = view(&mut conn, invoice).await?;
    if segment_reference.is_some_and(|r| r != found.segment_reference) {
        return Err(ServiceError::not_found(format!("invoice '{full_number}'")));
    }
    Ok(found)
}

/// Filters of `GET /v1/Invoices`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvoiceQuery {
    pub reference_customer: Option<String>,
    pub id_customer: Option<i64>,
    pub id_subscription: Option<i64>,
    pub reference_segment: Option<String>,
}

/// `GET /v1/Invoices`: debit invoices and credit notes, newest first. An
/// unknown customer or segment matches nothing.
pub async fn list_invoices(
    store: &Store,
    business_id: i64,
    query: &InvoiceQuery,
    page: PageRequest,
) -> Result<Page<InvoiceView>> {
    let mut conn = store.acquire().await?;
    let empty = || {
        Ok(Page {
            items: Vec::new(),
            total: 0,
        })
    };
    let mut filter = InvoiceFilter::default();
    if let Some(r) = &query.reference_segment {
        match segments::find_by_reference(&mut conn, business_id, r).await? {
            Some(s) => filter.segment_id = Some(s.id),
            None => return empty(),
        }
    }
    if let Some(r) = &query.reference_customer {
        match find_customer(
            &mut conn,
            business_id,
            query.reference_segment.as_deref(),
            r,
        )
        .await?
        {
            Some(c) => filter.customer_id = Some(c.id),
            None => return empty(),
        }
    }
    if let Some(id) = query.id_customer {
        if filter.customer_id.is_some_and(|c| c != id) {
            return empty();
        }
        filter.customer_id = Some(id);
    }
    let page = match query.id_subscription {
        Some(sub) => {
            invoices::list_for_subscription(&mut conn, business_id, sub, &filter, page).await?
        }
        None => invoices::list(&mut conn, business_id, &filter, page).await?,
    };
    let mut items = Vec::with_capacity(page.items.len());
    for invoice in page.items {
        items.push(view(&mut conn, invoice).await?);
    }
    Ok(Page {
        items,
        total: page.total,
    })
}

/// The customer `reference`: in the given segment, else in the default
/// segment first, then the oldest.
pub async fn find_customer(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_reference: Option<&str>,
    reference: &str,
) -> Result<Option<Customer>> {
    if let Some(r) = segment_reference {
        let Some(segment) = segments::find_by_reference(conn, business_id, r).await? else {
            return Ok(None);
        };
        return Ok(customers::find_by_reference(conn, business_id, segment.id, reference).await?);
    }
    let all = customers::find_all_by_reference(conn, business_id, reference).await?;
    if all.len() <= 1 {
        return Ok(all.into_iter().next());
    }
    let default = segments::get_default(conn, business_id).await.ok();
    let pick = default
        .and_then(|d| all.iter().position(|c| c.segment_id == d.id))
        .unwrap_or(0);
    Ok(all.into_iter().nth(pick))
}

async fn require_customer(
    conn: &mut AnyConnection,
    business_id: i64,
    segment_reference: Option<&str>,
    reference: &str,
) -> Result<Customer> {
    find_customer(conn, business_id, segment_reference, reference)
        .await?
        .ok_or_else(|| {
            ServiceError::refused(
                "Error.Api.Customer.Unaccessible",
                "You cannot access that Customer",
            )
        })
}

fn is_billable(customer: &Customer) -> bool {
    customer.status == "Enabled"
        && !matches!(
            customer.payment_settings.type_payment.as_str(),
            "Free" | "Undefined"
        )
}

/// `POST /v1/Billing/Customer`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillRequest {
    pub reference_customer: String,
    pub reference_segment: Option<String>,
    pub options: BillOptions,
}

/// Bills the customer now. Refused (403 `Error.Customer.PaymentSettings.Missing`)
/// when the customer has no payment settings, even with `ForceOffline`.
/// `None` when nothing is due.
pub async fn bill_now(
    store: &Store,
    business_id: i64,
    request: &BillRequest,
    now_us: i64,
) -> Result<Option<InvoiceView>> {
    let mut tx = store.begin().await?;
    let customer = require_customer(
        &mut tx,
        business_id,
        request.reference_segment.as_deref(),
        &request.reference_customer,
    )
    .await?;
    if !is_billable(&customer) {
        return Err(ServiceError::refused(
            PAYMENT_SETTINGS_MISSING,
            format!(
                "customer '{}' has no payment settings: it cannot be billed",
                customer.reference
            ),
        ));
    }
    let id = bill_in(&mut tx, business_id, customer.id, &request.options, now_us).await?;
    let found = match id {
        Some(id) => {
            let invoice = invoices::get(&mut tx, business_id, id).await?;
            Some(view(&mut tx, invoice).await?)
        }
        None => None,
    };
    tx.commit().await?;
    Ok(found)
}

/// A balance line with what the API shows around it.
#[derive(Debug, Clone)]
pub struct BalanceLineView {
    pub line: BalanceLine,
    pub customer_reference: String,
    pub segment_reference: String,
    pub feature_reference: Option<String>,
    /// Subtotal plus the customer's tax on it.
    pub amount_total: i64,
    /// The total, formatted in the customer's language (`€600.00`).
    pub pricing_localized: String,
}

struct LineContext {
    country: String,
    customer: Customer,
    segment_reference: String,
}

fn line_view(ctx: &LineContext, line: BalanceLine, feature: Option<String>) -> BalanceLineView {
    let tax = tax_of(&ctx.country, &ctx.customer);
    let amount_total = line.amount_subtotal + tax_amount(line.amount_subtotal, tax.rate);
    let locale = ctx
        .customer
        .language
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or(Locale::En);
    let pricing_localized = Currency::from_code(&line.currency)
        .map(|c| Money::new(amount_total, c).format(locale))
        .unwrap_or_default();
    BalanceLineView {
        customer_reference: ctx.customer.reference.clone(),
        segment_reference: ctx.segment_reference.clone(),
        feature_reference: feature,
        amount_total,
        pricing_localized,
        line,
    }
}

/// `POST /v1/BalanceLine`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BalanceLineInput {
    pub reference_customer: String,
    pub reference_segment: Option<String>,
    /// Minor units, tax excluded; negative = credit.
    pub amount: i64,
    pub id_subscription: Option<i64>,
    pub type_line: Option<String>,
    pub key_charge: Option<String>,
    pub label: Option<String>,
    pub quantity: Option<i64>,
    pub date_us: Option<i64>,
    pub date_period_start_us: Option<i64>,
    pub date_period_end_us: Option<i64>,
    pub ensure_billable: bool,
}

/// Adds a due line to the customer's balance (billed at the next billing).
pub async fn add_balance_line(
    store: &Store,
    business_id: i64,
    input: &BalanceLineInput,
    now_us: i64,
) -> Result<BalanceLineView> {
    let mut problems = Vec::new();
    let type_line = match input.type_line.as_deref() {
        None => TypeLine::Manual,
        Some(t) => t.parse().unwrap_or_else(|_| {
            problems.push(format!("TypeLine: '{t}' is not a ProAbono TypeLine"));
            TypeLine::Manual
        }),
    };
    if input.quantity.is_some_and(|q| q < 0) {
        problems.push("Quantity: must not be negative".to_owned());
    }
    let period = match (input.date_period_start_us, input.date_period_end_us) {
        (Some(s), Some(e)) if s < e => Some((s, e)),
        (None, None) => None,
        _ => {
            problems.push(
                "DatePeriodStart and DatePeriodEnd go together, the start before the end"
                    .to_owned(),
            );
            None
        }
    };
    if period.is_some() && input.date_us.is_some() {
        problems.push("Date and DatePeriodStart/DatePeriodEnd are mutually exclusive".to_owned());
    }
    if input
        .label
        .as_ref()
        .is_some_and(|l| l.chars().count() > 500)
    {
        problems.push("Label: at most 500 characters".to_owned());
    }
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(problems));
    }
    let mut tx = store.begin().await?;
    let customer = require_customer(
        &mut tx,
        business_id,
        input.reference_segment.as_deref(),
        &input.reference_customer,
    )
    .await?;
    if input.ensure_billable && !is_billable(&customer) {
        return Err(ServiceError::refused(
            PAYMENT_SETTINGS_MISSING,
            format!("customer '{}' has no payment settings", customer.reference),
        ));
    }
    if let Some(sub) = input.id_subscription {
        let s = abo_store::subscriptions::get(&mut tx, business_id, sub)
            .await
            .map_err(|_| ServiceError::invalid(format!("IdSubscription: {sub} not found")))?;
        if s.customer_id != customer.id {
            return Err(ServiceError::invalid(format!(
                "IdSubscription: {sub} is not a subscription of '{}'",
                customer.reference
            )));
        }
    }
    let segment = segments::get(&mut tx, business_id, customer.segment_id).await?;
    let quantity = input.quantity.unwrap_or(1);
    let label = input
        .label
        .clone()
        .filter(|l| !l.trim().is_empty())
        .unwrap_or_else(|| type_line.as_str().to_owned());
    let (line, _) = balance_lines::insert(
        &mut tx,
        &NewBalanceLine {
            business_id,
            segment_id: customer.segment_id,
            customer_id: customer.id,
            subscription_id: input.id_subscription,
            feature_id: None,
            type_line: type_line.as_str().to_owned(),
            key_charge: input.key_charge.clone(),
            label,
            quantity_reported: Some(quantity),
            quantity_billed: Some(quantity),
            amount_subtotal: input.amount,
            currency: segment.currency.clone(),
            date_move_us: if period.is_some() {
                None
            } else {
                Some(input.date_us.unwrap_or(now_us))
            },
            date_period_start_us: period.map(|p| p.0),
            date_period_end_us: period.map(|p| p.1),
            natural_key: None,
        },
        now_us,
    )
    .await?;
    let business = businesses::get(&mut tx, business_id).await?;
    tx.commit().await?;
    let ctx = LineContext {
        country: business.country,
        customer,
        segment_reference: segment.reference,
    };
    Ok(line_view(&ctx, line, None))
}

/// Filters of `GET /v1/Balance`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BalanceQuery {
    pub reference_customer: Option<String>,
    pub id_customer: Option<i64>,
    pub id_subscription: Option<i64>,
    pub reference_feature: Option<String>,
}

/// The due lines of the balance (what the next billing takes), oldest first.
pub async fn list_balance(
    store: &Store,
    business_id: i64,
    query: &BalanceQuery,
) -> Result<Vec<BalanceLineView>> {
    let mut conn = store.acquire().await?;
    let mut customer_id = query.id_customer;
    if let Some(r) = &query.reference_customer {
        match find_customer(&mut conn, business_id, None, r).await? {
            Some(c) if customer_id.is_none_or(|id| id == c.id) => customer_id = Some(c.id),
            _ => return Ok(Vec::new()),
        }
    }
    let mut feature_id = None;
    if let Some(r) = &query.reference_feature {
        match features::find_by_reference(&mut conn, business_id, r).await? {
            Some(f) => feature_id = Some(f.id),
            None => return Ok(Vec::new()),
        }
    }
    let lines = balance_lines::list_filtered(
        &mut conn,
        business_id,
        "Due",
        customer_id,
        query.id_subscription,
        feature_id,
    )
    .await?;
    let country = businesses::get(&mut conn, business_id).await?.country;
    let mut contexts: std::collections::HashMap<i64, LineContext> = Default::default();
    let mut feature_refs: std::collections::HashMap<i64, String> = Default::default();
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        if let std::collections::hash_map::Entry::Vacant(slot) = contexts.entry(line.customer_id) {
            let customer = customers::get(&mut conn, business_id, line.customer_id).await?;
            let segment = segments::get(&mut conn, business_id, customer.segment_id).await?;
            slot.insert(LineContext {
                country: country.clone(),
                customer,
                segment_reference: segment.reference,
            });
        }
        let feature = match line.feature_id {
            Some(f) => {
                if let std::collections::hash_map::Entry::Vacant(slot) = feature_refs.entry(f) {
                    slot.insert(features::get(&mut conn, business_id, f).await?.reference);
                }
                feature_refs.get(&f).cloned()
            }
            None => None,
        };
        out.push(line_view(&contexts[&line.customer_id], line, feature));
    }
    Ok(out)
}
