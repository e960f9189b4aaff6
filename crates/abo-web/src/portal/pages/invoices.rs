//! Invoices section: the customer's invoices and credit notes with their status, the PDF of
//! each (rendered with abo-pdf from the invoice's frozen data), and "Pay" for a due or
//! failed invoice (the pay workflow, `wf/pay/{id}`).

use abo_core::Locale;
use abo_service::billing::query::InvoiceQuery;
use abo_store::customers::Customer;
use abo_store::invoices::Invoice;
use abo_store::{PageRequest, businesses, invoices};
use askama::Template;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::portal::error::{ErrorKind, PortalError};
use crate::portal::render::{Chrome, secure_headers};
use crate::portal::{Ctx, format, i18n};

/// One row of the list.
pub struct InvoiceRow {
    pub id: i64,
    pub number: String,
    pub date: String,
    pub amount: String,
    /// `Paid`, `Due`, `Problem`, `Pending`, `Cancelled`, `Refunded`, `Draft`.
    pub status: &'static str,
    pub status_key: String,
    pub credit_note: bool,
    pub payable: bool,
}

/// Groups ProAbono's invoice states into what a customer needs to know.
pub fn status_of(state: &str) -> &'static str {
    match state {
        "Paid" => "Paid",
        "PaidRefunded" => "Refunded",
        "DueAuto" | "DueOffline" | "DueToProcess" => "Due",
        "DuePending" | "DraftCharging" => "Pending",
        "ProblemAuto" | "ProblemOverdue" | "ProblemDisputed" | "Uncollectible" => "Problem",
        "Void" => "Cancelled",
        _ => "Draft",
    }
}

/// Whether the customer can pay the invoice now (due offline, or collection failed).
pub fn is_payable(inv: &Invoice) -> bool {
    !inv.is_credit_note
        && inv.amount_total > 0
        && matches!(
            inv.state.as_str(),
            "DueOffline" | "DueToProcess" | "ProblemAuto" | "ProblemOverdue"
        )
}

#[derive(Template)]
#[template(path = "portal/invoices.html")]
pub struct InvoicesPage {
    pub c: Chrome,
    pub rows: Vec<InvoiceRow>,
}

/// `GET /portal/s/{session}/invoices`.
pub async fn list(ctx: Ctx) -> Response {
    let query = InvoiceQuery {
        id_customer: Some(ctx.customer.id),
        ..InvoiceQuery::default()
    };
    let page = match abo_service::billing::query::list_invoices(
        &ctx.state.store,
        ctx.business.id,
        &query,
        PageRequest::new(0, 500),
    )
    .await
    {
        Ok(p) => p,
        Err(e) => return ctx.fail(e).into_response(),
    };
    let rows = page
        .items
        .into_iter()
        .map(|v| v.invoice)
        .filter(|i| i.full_number.is_some())
        .map(|i| {
            let status = if i.is_credit_note {
                "Refunded"
            } else {
                status_of(&i.state)
            };
            InvoiceRow {
                id: i.id,
                number: i.full_number.clone().unwrap_or_default(),
                date: i.date_issue_us.map(|d| ctx.date_us(d)).unwrap_or_default(),
                amount: ctx.money(i.amount_total, &i.currency),
                status,
                status_key: format!("inv.status.{status}"),
                credit_note: i.is_credit_note,
                payable: is_payable(&i),
            }
        })
        .collect();
    ctx.render(&InvoicesPage {
        c: ctx.chrome("invoices"),
        rows,
    })
}

#[derive(serde::Deserialize)]
pub struct IdPath {
    pub id: i64,
}

/// `GET /portal/s/{session}/invoices/{id}/pdf`.
pub async fn pdf(ctx: Ctx, Path(p): Path<IdPath>) -> Response {
    pdf_for(&ctx.state, &ctx.customer, Some(p.id), ctx.locale).await
}

/// The PDF of one of `customer`'s issued invoices (also what `/portal-inv-pdf/{token}`
/// serves). Rendering runs on the blocking pool: typst takes tens of milliseconds.
pub async fn pdf_for(
    state: &AppState,
    customer: &Customer,
    invoice_id: Option<i64>,
    fallback: Locale,
) -> Response {
    let look = match state
        .portal
        .looks
        .get(state, customer.business_id, customer.segment_id)
        .await
    {
        Ok(l) => l,
        Err(e) => return PortalError::internal(e, fallback).into_response(),
    };
    let not_found = || {
        PortalError::new(ErrorKind::NotFound, fallback)
            .with_look(look.clone())
            .into_response()
    };
    let Some(id) = invoice_id else {
        return not_found();
    };
    let loaded = async {
        let mut conn = state.store.acquire().await?;
        let invoice = invoices::get(&mut conn, customer.business_id, id).await?;
        let business = businesses::get(&mut conn, customer.business_id).await?;
        let credited = match invoice.credited_invoice_id {
            Some(cid) => {
                invoices::get(&mut conn, customer.business_id, cid)
                    .await?
                    .full_number
            }
            None => None,
        };
        Ok::<_, abo_store::StoreError>((invoice, business, credited))
    }
    .await;
    let (invoice, business, credited) = match loaded {
        Ok(x) => x,
        Err(e) if e.is_not_found() => return not_found(),
        Err(e) => return PortalError::internal(e, fallback).into_response(),
    };
    if invoice.customer_id != customer.id || invoice.full_number.is_none() {
        return not_found();
    }
    let locale = i18n::choose_locale(
        customer.language.as_deref(),
        Some(look.segment.locale.as_str()),
        Some(business.default_language.as_str()),
    );
    let tz = format::time_zone(&look.segment.time_zone);
    let doc = match crate::portal::pdf::document(&invoice, &business, locale, &tz, credited) {
        Ok(d) => d,
        Err(e) => return PortalError::internal(e, locale).into_response(),
    };
    let number = doc.number.clone();
    let bytes = match tokio::task::spawn_blocking(move || abo_pdf::render_pdf(&doc)).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return PortalError::internal(e, locale).into_response(),
        Err(e) => return PortalError::internal(e, locale).into_response(),
    };
    let mut r = (StatusCode::OK, bytes).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    let safe: String = number
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{safe}.pdf\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    secure_headers(h, &look.csp);
    r
}
