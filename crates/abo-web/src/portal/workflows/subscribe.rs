//! Subscribe to an offer (`wf/subscribe/{offer id}`) and subscribe to a custom subscription
//! prepared by the merchant (`wf/subscribe-custom/{subscription id}`, a draft).

use abo_service::ServiceError;
use abo_service::quoting::{self, QuoteSubscriptionRequest};
use abo_service::subscriptions::{self, CreateFlags, CreateSubscription, StartOptions};
use abo_store::offers;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};

use super::finish::{ConfirmPage, settle_and_finish};
use super::quote_view::{PayView, QuoteView};
use super::{EmptyForm, IdPath};
use crate::portal::{Ctx, ErrorKind, PortalForm};

/// The offer `id` of the customer's segment.
async fn offer_of(ctx: &Ctx, id: i64) -> Result<offers::Offer, Response> {
    let mut conn = match ctx.state.store.acquire().await {
        Ok(c) => c,
        Err(e) => return Err(ctx.fail(e.into()).into_response()),
    };
    match offers::get(&mut conn, ctx.business.id, id).await {
        Ok(o) if o.segment_id == ctx.customer.segment_id => Ok(o),
        _ => Err(ctx.error(ErrorKind::NotFound).into_response()),
    }
}

fn create_request(ctx: &Ctx, offer: &offers::Offer, try_start: bool) -> CreateSubscription {
    CreateSubscription {
        business_id: ctx.business.id,
        customer_id: Some(ctx.customer.id),
        offer_reference: offer.reference.clone(),
        flags: CreateFlags {
            try_start,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// `GET wf/subscribe/{offer id}`: the quote of subscribing now.
pub async fn page(ctx: Ctx, Path(p): Path<IdPath>) -> Response {
    let offer = match offer_of(&ctx, p.id).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let request = QuoteSubscriptionRequest {
        subscription: create_request(&ctx, &offer, false),
        ensure_billable: false,
    };
    let quote = match quoting::quote_subscription(&ctx.state.store, &request, ctx.now_us).await {
        Ok(q) => q,
        Err(e) => return ctx.fail(e).into_response(),
    };
    let back = format!("wf/subscribe/{}", p.id);
    let q = QuoteView::new(&ctx, &quote);
    let pay = PayView::new(&ctx, q.due_minor, &back).await;
    ctx.render(&ConfirmPage {
        c: ctx.chrome("offers"),
        title: "wf.subscribe.title",
        button: if q.is_free {
            "wf.subscribe.confirm"
        } else {
            "wf.subscribe.pay"
        },
        summary: offer.name.clone(),
        q,
        pay,
        action: back,
        hidden: Vec::new(),
        refusal: None,
        workflow: "subscribe",
    })
}

/// `POST wf/subscribe/{offer id}`: subscribes (started now), then the payment step.
pub async fn submit(Path(p): Path<IdPath>, PortalForm(ctx, _f): PortalForm<EmptyForm>) -> Response {
    let offer = match offer_of(&ctx, p.id).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let view = match subscriptions::create(
        &ctx.state.store,
        &create_request(&ctx, &offer, true),
        ctx.now_us,
    )
    .await
    {
        Ok(v) => v,
        Err(e) => return ctx.fail(e).into_response(),
    };
    if view.state.as_str() == "DraftCustomer" {
        // Something is due and no method is registered (the page offered the forms first).
        return ctx.redirect(&format!("wf/subscribe-custom/{}", view.subscription.id));
    }
    settle_and_finish(
        &ctx,
        "subscribe",
        Some(&offer.reference),
        Some(view.subscription.id),
    )
    .await
}

/// The draft `id` of the customer (prepared by the merchant, or left waiting for a method).
async fn draft_of(ctx: &Ctx, id: i64) -> Result<subscriptions::SubscriptionView, Response> {
    match subscriptions::get(&ctx.state.store, ctx.business.id, id, ctx.now_us).await {
        Ok(v)
            if v.subscription.customer_id == ctx.customer.id
                || v.subscription.customer_buyer_id == ctx.customer.id =>
        {
            Ok(v)
        }
        Ok(_) | Err(ServiceError::NotFound(_)) => {
            Err(ctx.error(ErrorKind::NotFound).into_response())
        }
        Err(e) => Err(ctx.fail(e).into_response()),
    }
}

/// `GET wf/subscribe-custom/{subscription id}`: the quote of starting the draft.
pub async fn custom_page(ctx: Ctx, Path(p): Path<IdPath>) -> Response {
    let view = match draft_of(&ctx, p.id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let is_draft = view.state.as_str().starts_with("Draft");
    let quote = if is_draft {
        match quoting::quote_start(&ctx.state.store, ctx.business.id, p.id, false, ctx.now_us).await
        {
            Ok(q) => Some(q),
            Err(e) => return ctx.fail(e).into_response(),
        }
    } else {
        None
    };
    let back = format!("wf/subscribe-custom/{}", p.id);
    let q = match &quote {
        Some(q) => QuoteView::new(&ctx, q),
        None => QuoteView::new(
            &ctx,
            &empty_quote(&ctx, view.subscription.currency.as_str()),
        ),
    };
    let pay = PayView::new(&ctx, q.due_minor, &back).await;
    ctx.render(&ConfirmPage {
        c: ctx.chrome("subscriptions"),
        title: "wf.custom.title",
        button: if q.is_free {
            "wf.subscribe.confirm"
        } else {
            "wf.subscribe.pay"
        },
        summary: view.subscription.title.clone(),
        q,
        pay,
        action: back,
        hidden: Vec::new(),
        refusal: (!is_draft).then_some("wf.custom.started"),
        workflow: "subscribe-custom",
    })
}

/// A quote of nothing (for pages that have no change to quote).
pub(crate) fn empty_quote(ctx: &Ctx, currency: &str) -> quoting::Quote {
    quoting::Quote {
        customer_id: ctx.customer.id,
        subscription_id: None,
        currency: abo_core::Currency::from_code(currency).unwrap_or(abo_core::Currency::EUR),
        tax_rate: "0".into(),
        reverse_charge: false,
        lines: Vec::new(),
        amount_subtotal: 0,
        amount_tax: 0,
        amount_total: 0,
        amount_total_due: 0,
        date_period_start_us: None,
        date_period_end_us: None,
        next_term: None,
    }
}

/// `POST wf/subscribe-custom/{subscription id}`: starts the draft, then the payment step.
pub async fn custom_submit(
    Path(p): Path<IdPath>,
    PortalForm(ctx, _f): PortalForm<EmptyForm>,
) -> Response {
    let view = match draft_of(&ctx, p.id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let started = match subscriptions::start(
        &ctx.state.store,
        ctx.business.id,
        p.id,
        StartOptions::default(),
        ctx.now_us,
    )
    .await
    {
        Ok(v) => v,
        Err(e) => return ctx.fail(e).into_response(),
    };
    settle_and_finish(
        &ctx,
        "subscribe",
        view.offer_reference.as_deref(),
        Some(started.subscription.id),
    )
    .await
}
