//! Invoices: `GET /v1/Invoice/{id}`, `GET /v1/Invoice?FullNumber=`,
//! `GET /v1/Invoices` (debit invoices and credit notes together) and
//! `POST /v1/Billing/Customer` (bill the customer's balance now). The rules
//! live in `abo_service::billing`.

use super::auth::Caller;
use super::body::{JsonBody, lenient};
use super::dates::format_us;
use super::error::{ApiError, ApiResult};
use super::links::{Link, LinkFamily, LinkSigner};
use super::page::{Paging, respond};
use super::params::Params;
use crate::AppState;
use abo_core::InvoiceState;
use abo_links::Purpose;
use abo_service::billing::BillOptions;
use abo_service::billing::query::{self, BillRequest, InvoiceQuery, InvoiceView};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// The invoice routes, in lower case (see `api::normalise_path`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/invoice", get(get_invoice_by_number))
        .route("/v1/invoice/{id}", get(get_invoice))
        .route("/v1/invoices", get(get_invoices))
        .route("/v1/billing/customer", post(post_billing_customer))
}

/// The contract's `Invoice`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvoiceDto {
    pub id: i64,
    pub id_customer: i64,
    pub id_segment: i64,
    pub reference_customer: String,
    pub reference_segment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_number: Option<String>,
    pub currency: String,
    pub amount_subtotal: i64,
    pub amount_total: i64,
    pub status: String,
    pub state_invoice: String,
    pub type_payment: String,
    pub date_issue: Option<String>,
    pub date_update: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_payment: Option<String>,
    /// Only when `DueAuto` (contract).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_payment_scheduled: Option<String>,
    pub date_payment_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note_localized: Option<String>,
    /// Absent on a debit invoice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_credit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub links: Vec<Link>,
}

/// `TypePayment` values the contract lists; anything else reads `Free`.
fn type_payment(value: &str) -> String {
    const KNOWN: [&str; 7] = [
        "Free",
        "ExternalCheck",
        "ExternalCash",
        "ExternalBank",
        "ExternalOther",
        "Card",
        "DirectDebit",
    ];
    if KNOWN.contains(&value) {
        value.to_owned()
    } else {
        "Free".to_owned()
    }
}

/// The invoice's links: its PDF, the portal home, "pay now" while money is
/// expected, the customer's invoice list. A suspended customer gets none.
fn links_for(
    view: &InvoiceView,
    signer: Option<&LinkSigner>,
    state: Option<InvoiceState>,
) -> Vec<Link> {
    let Some(signer) = signer else {
        return Vec::new();
    };
    let id = view.invoice.id;
    let mut links = Vec::new();
    if view.invoice.full_number.is_some() {
        let pdf = signer.url(Purpose::InvoicePdf, Some(id));
        for rel in ["insite-related-invoice", "hosted-related-invoice"] {
            links.push(Link {
                rel: rel.into(),
                href: Some(pdf.clone()),
                query: None,
                mime: Some("application/pdf".into()),
            });
        }
    }
    signer.push(&mut links, LinkFamily::Home, None);
    if state.is_some_and(|s| s.is_unpaid()) && !view.invoice.is_credit_note {
        signer.push(&mut links, LinkFamily::Charge, Some(id));
    }
    signer.push(&mut links, LinkFamily::CollectionInvoice, None);
    links
}

/// The contract's `Invoice` of an invoice or credit note (also the answer of
/// the back office's cancel and refund).
pub(crate) async fn render(
    state: &AppState,
    caller: &Caller,
    view: &InvoiceView,
) -> ApiResult<InvoiceDto> {
    let signer = if view.customer_status == "Suspended" {
        None
    } else {
        Some(
            LinkSigner::new(
                state,
                caller.business_id(),
                view.invoice.customer_id,
                view.customer_links_epoch,
                caller.now_us,
            )
            .await?,
        )
    };
    let inv = &view.invoice;
    let parsed: Option<InvoiceState> = inv.state.parse().ok();
    let status = parsed
        .map(|s| s.status().as_str().to_owned())
        .unwrap_or_else(|| "Draft".into());
    let state_invoice = parsed
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|| "Draft".into());
    Ok(InvoiceDto {
        id: inv.id,
        id_customer: inv.customer_id,
        id_segment: inv.segment_id,
        reference_customer: view.customer_reference.clone(),
        reference_segment: view.segment_reference.clone(),
        full_number: inv.full_number.clone(),
        currency: inv.currency.clone(),
        amount_subtotal: inv.amount_subtotal,
        amount_total: inv.amount_total,
        status,
        type_payment: type_payment(&inv.type_payment),
        date_issue: inv.date_issue_us.map(format_us),
        date_update: Some(format_us(inv.updated_at_us)),
        date_payment: inv.date_payment_us.map(format_us),
        date_payment_scheduled: (state_invoice == "DueAuto")
            .then_some(inv.date_payment_scheduled_us)
            .flatten()
            .map(format_us),
        state_invoice,
        date_payment_limit: inv.date_payment_limit_us.map(format_us),
        note_localized: inv.note.clone(),
        type_credit: inv.type_credit.clone(),
        reason: inv.reason.clone(),
        links: links_for(view, signer.as_ref(), parsed),
    })
}

/// A path id that is not a number names no invoice: 404.
fn invoice_id(raw: &str) -> ApiResult<i64> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::not_found(format!("invoice '{raw}' not found")))
}

/// `GET /v1/Invoice/{id}`.
async fn get_invoice(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<InvoiceDto>> {
    let view = query::get_invoice(&state.store, caller.business_id(), invoice_id(&id)?).await?;
    Ok(Json(render(&state, &caller, &view).await?))
}

/// `GET /v1/Invoice?FullNumber=[&ReferenceSegment=]`.
async fn get_invoice_by_number(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Json<InvoiceDto>> {
    let number = params.required_str("FullNumber")?;
    let view = query::get_invoice_by_number(
        &state.store,
        caller.business_id(),
        number,
        params.str("ReferenceSegment"),
    )
    .await?;
    Ok(Json(render(&state, &caller, &view).await?))
}

/// `GET /v1/Invoices` with `ReferenceCustomer`, `IdCustomer`,
/// `IdSubscription`, `ReferenceSegment`, `Page`, `SizePage`; 204 when empty.
async fn get_invoices(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Response> {
    let paging = Paging::from_params(&params)?;
    let filter = InvoiceQuery {
        reference_customer: params.str("ReferenceCustomer").map(str::to_owned),
        id_customer: params.i64("IdCustomer")?,
        id_subscription: params.i64("IdSubscription")?,
        reference_segment: params.str("ReferenceSegment").map(str::to_owned),
    };
    let page = query::list_invoices(
        &state.store,
        caller.business_id(),
        &filter,
        paging.request(),
    )
    .await?;
    let mut items = Vec::with_capacity(page.items.len());
    for view in &page.items {
        items.push(render(&state, &caller, view).await?);
    }
    let mut extra = Vec::new();
    for (name, value) in [
        ("ReferenceCustomer", filter.reference_customer.clone()),
        ("IdCustomer", filter.id_customer.map(|v| v.to_string())),
        (
            "IdSubscription",
            filter.id_subscription.map(|v| v.to_string()),
        ),
        ("ReferenceSegment", filter.reference_segment.clone()),
    ] {
        if let Some(v) = value {
            extra.push(format!("{name}={}", encode(&v)));
        }
    }
    Ok(respond(
        items,
        page.total,
        paging,
        "/v1/Invoices",
        &extra.join("&"),
        caller.now_us,
    ))
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The contract's `BillingCustomerRequest`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BillingCustomerRequest {
    reference_customer: Option<String>,
    reference_segment: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_date")]
    date_start: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_date")]
    date_end: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    force_offline: Option<bool>,
    note_localized: Option<String>,
}

/// `POST /v1/Billing/Customer`: the issued invoice (200); 403
/// `Error.Customer.PaymentSettings.Missing` when the customer cannot be
/// billed; 204 when nothing is due.
async fn post_billing_customer(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: JsonBody,
) -> ApiResult<Response> {
    let request: BillingCustomerRequest = body.parse()?;
    let params = params.with_body(&body.0);
    let Some(reference) = request
        .reference_customer
        .clone()
        .or_else(|| params.str("ReferenceCustomer").map(str::to_owned))
        .filter(|r| !r.trim().is_empty())
    else {
        return Err(ApiError::invalid(
            "ReferenceCustomer",
            "ReferenceCustomer is required",
        ));
    };
    let bill = BillRequest {
        reference_customer: reference,
        reference_segment: request
            .reference_segment
            .clone()
            .or_else(|| params.str("ReferenceSegment").map(str::to_owned)),
        options: BillOptions {
            force_offline: request.force_offline.unwrap_or(false),
            note: request.note_localized.clone(),
            date_start_us: request.date_start,
            date_end_us: request.date_end,
        },
    };
    match query::bill_now(&state.store, caller.business_id(), &bill, caller.now_us).await? {
        Some(view) => Ok(Json(render(&state, &caller, &view).await?).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}
