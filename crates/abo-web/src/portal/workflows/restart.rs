//! Restart a suspended subscription (`wf/restart/{subscription id}`): the quote of restarting
//! now (a new period when the suspended one has ended), then the payment step.

use abo_service::quoting;
use abo_service::subscriptions::{self, StartOptions};
use axum::extract::Path;
use axum::response::{IntoResponse, Response};

use super::change_plan::subscription_of;
use super::finish::{ConfirmPage, settle_and_finish};
use super::quote_view::{PayView, QuoteView};
use super::subscribe::empty_quote;
use super::{EmptyForm, IdPath};
use crate::portal::{Ctx, PortalForm};

/// `GET wf/restart/{id}`.
pub async fn page(ctx: Ctx, Path(p): Path<IdPath>) -> Response {
    let sub = match subscription_of(&ctx, p.id).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let suspended = sub.state.as_str().starts_with("Suspended");
    let quote = if suspended {
        match quoting::quote_start(&ctx.state.store, ctx.business.id, p.id, false, ctx.now_us).await
        {
            Ok(q) => q,
            Err(e) => return ctx.fail(e).into_response(),
        }
    } else {
        empty_quote(&ctx, &sub.subscription.currency)
    };
    let back = format!("wf/restart/{}", p.id);
    let q = QuoteView::new(&ctx, &quote);
    let pay = PayView::new(&ctx, q.due_minor, &back).await;
    ctx.render(&ConfirmPage {
        c: ctx.chrome("subscriptions"),
        title: "wf.restart.title",
        button: if q.is_free {
            "wf.restart.confirm"
        } else {
            "wf.restart.pay"
        },
        summary: sub.subscription.title.clone(),
        q,
        pay,
        action: back,
        hidden: Vec::new(),
        refusal: (!suspended).then_some("wf.restart.not_suspended"),
        workflow: "restart",
    })
}

/// `POST wf/restart/{id}`.
pub async fn submit(Path(p): Path<IdPath>, PortalForm(ctx, _f): PortalForm<EmptyForm>) -> Response {
    let sub = match subscription_of(&ctx, p.id).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = subscriptions::start(
        &ctx.state.store,
        ctx.business.id,
        p.id,
        StartOptions::default(),
        ctx.now_us,
    )
    .await
    {
        return ctx.fail(e).into_response();
    }
    settle_and_finish(&ctx, "restart", sub.offer_reference.as_deref(), Some(p.id)).await
}
