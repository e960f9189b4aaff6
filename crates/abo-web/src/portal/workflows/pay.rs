//! Pay an invoice (`wf/pay/{invoice id}`): its amounts, and a charge now with the registered
//! card (a failed invoice is put back to automatic collection first), or the card/SEPA forms
//! first when no method is registered.

use abo_core::InvoiceState;
use abo_service::quoting;
use abo_service::workflows;
use abo_store::invoices;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};

use super::finish::{ConfirmPage, finish};
use super::quote_view::{PayView, QuoteView};
use super::{EmptyForm, IdPath};
use crate::portal::{Ctx, ErrorKind, PortalForm};

/// The invoice `id` of the customer (404 otherwise).
async fn invoice_of(ctx: &Ctx, id: i64) -> Result<invoices::Invoice, Response> {
    let mut conn = match ctx.state.store.acquire().await {
        Ok(c) => c,
        Err(e) => return Err(ctx.fail(e.into()).into_response()),
    };
    match invoices::get(&mut conn, ctx.business.id, id).await {
        Ok(i) if i.customer_id == ctx.customer.id && !i.is_credit_note => Ok(i),
        _ => Err(ctx.error(ErrorKind::NotFound).into_response()),
    }
}

/// `GET wf/pay/{invoice id}`.
pub async fn page(ctx: Ctx, Path(p): Path<IdPath>) -> Response {
    let invoice = match invoice_of(&ctx, p.id).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let quote = match quoting::quote_invoice(&ctx.state.store, ctx.business.id, p.id).await {
        Ok(q) => q,
        Err(e) => return ctx.fail(e).into_response(),
    };
    let state = invoice.state.parse::<InvoiceState>().ok();
    let refusal = match state {
        Some(s) if !s.is_unpaid() => Some("wf.pay.nothing_due"),
        Some(InvoiceState::DuePending) => Some("wf.pay.pending"),
        Some(InvoiceState::DueOffline | InvoiceState::ProblemOverdue) => Some("wf.pay.offline"),
        _ => None,
    };
    let back = format!("wf/pay/{}", p.id);
    let q = QuoteView::new(&ctx, &quote);
    let pay = PayView::new(&ctx, q.due_minor, &back).await;
    ctx.render(&ConfirmPage {
        c: ctx.chrome("invoices"),
        title: "wf.pay.title",
        button: "wf.pay.confirm",
        summary: ctx.texts.fmt(
            "wf.pay.summary",
            &[("number", invoice.full_number.as_deref().unwrap_or("-"))],
        ),
        q,
        pay,
        action: back,
        hidden: Vec::new(),
        refusal,
        workflow: "pay",
    })
}

/// `POST wf/pay/{invoice id}`: charges now.
pub async fn submit(Path(p): Path<IdPath>, PortalForm(ctx, _f): PortalForm<EmptyForm>) -> Response {
    if let Err(r) = invoice_of(&ctx, p.id).await {
        return r;
    }
    match workflows::pay_invoice(
        &ctx.state.store,
        &ctx.state.gateways,
        ctx.business.id,
        ctx.customer.id,
        p.id,
        ctx.now_us,
    )
    .await
    {
        Ok(s) => finish(&ctx, "invoice", s, None, None).await,
        Err(e) => ctx.fail(e).into_response(),
    }
}
