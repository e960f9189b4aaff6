//! Change plan (`wf/change-plan/{subscription id}[?offer={offer id}]`): without an offer, the
//! offers the subscription can change to (the plan grid); with one, the prorated quote (or the
//! change at renewal, when the segment changes plans at renewal) and the confirmation.

use abo_service::ServiceError;
use abo_service::quoting;
use abo_service::subscriptions::{self, ENGAGED, SubscriptionView, UpgradeOptions};
use abo_store::offers;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};

use super::IdPath;
use super::finish::{ConfirmPage, settle_and_finish};
use super::quote_view::{PayView, QuoteView};
use crate::portal::{Ctx, ErrorKind, PortalForm};

/// The subscription `id` of the customer (404 otherwise).
pub(crate) async fn subscription_of(ctx: &Ctx, id: i64) -> Result<SubscriptionView, Response> {
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

#[derive(Debug, Default, serde::Deserialize)]
pub struct OfferQuery {
    pub offer: Option<i64>,
    pub table: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct OfferForm {
    #[serde(default)]
    pub offer: i64,
}

fn options(ctx: &Ctx, offer: &offers::Offer) -> UpgradeOptions {
    UpgradeOptions {
        offer_reference: offer.reference.clone(),
        immediate: !ctx.look.segment.upgrade_at_renewal,
        bill_now: false,
        ignore_engagement: false,
    }
}

async fn target_offer(
    ctx: &Ctx,
    sub: &SubscriptionView,
    id: i64,
) -> Result<offers::Offer, Response> {
    let mut conn = match ctx.state.store.acquire().await {
        Ok(c) => c,
        Err(e) => return Err(ctx.fail(e.into()).into_response()),
    };
    match offers::get(&mut conn, ctx.business.id, id).await {
        Ok(o)
            if o.segment_id == sub.subscription.segment_id
                && Some(o.id) != sub.subscription.offer_id =>
        {
            Ok(o)
        }
        _ => Err(ctx.error(ErrorKind::NotFound).into_response()),
    }
}

/// `GET wf/change-plan/{id}[?offer=]`.
pub async fn page(ctx: Ctx, Path(p): Path<IdPath>, Query(q): Query<OfferQuery>) -> Response {
    let sub = match subscription_of(&ctx, p.id).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(offer_id) = q.offer else {
        return match super::plans::grid(&ctx, Some(p.id), q.table.as_deref()).await {
            Ok(page) => ctx.render(&page),
            Err(e) => e.into_response(),
        };
    };
    let offer = match target_offer(&ctx, &sub, offer_id).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let back = format!("wf/change-plan/{}?offer={offer_id}", p.id);
    let (quote, refusal) = match quoting::quote_upgrade(
        &ctx.state.store,
        ctx.business.id,
        p.id,
        &options(&ctx, &offer),
        ctx.now_us,
    )
    .await
    {
        Ok(q) => (q, None),
        Err(ServiceError::Refused { code, .. }) if code == ENGAGED => (
            super::subscribe::empty_quote(&ctx, &sub.subscription.currency),
            Some("wf.change.engaged"),
        ),
        Err(ServiceError::Conflict(_)) => (
            super::subscribe::empty_quote(&ctx, &sub.subscription.currency),
            Some("wf.change.not_now"),
        ),
        Err(e) => return ctx.fail(e).into_response(),
    };
    let q = QuoteView::new(&ctx, &quote);
    let pay = PayView::new(&ctx, q.due_minor, &back).await;
    ctx.render(&ConfirmPage {
        c: ctx.chrome("subscriptions"),
        title: "wf.change.title",
        button: if q.is_free {
            "wf.change.confirm"
        } else {
            "wf.change.pay"
        },
        summary: ctx.texts.fmt(
            "wf.change.summary",
            &[("from", &sub.subscription.title), ("to", &offer.name)],
        ),
        q,
        pay,
        action: format!("wf/change-plan/{}", p.id),
        hidden: vec![("offer".into(), offer_id.to_string())],
        refusal,
        workflow: "change-plan",
    })
}

/// `POST wf/change-plan/{id}` (`offer`): changes the plan, then the payment step.
pub async fn submit(Path(p): Path<IdPath>, PortalForm(ctx, f): PortalForm<OfferForm>) -> Response {
    let sub = match subscription_of(&ctx, p.id).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let offer = match target_offer(&ctx, &sub, f.offer).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    match subscriptions::upgrade(
        &ctx.state.store,
        ctx.business.id,
        p.id,
        &options(&ctx, &offer),
        ctx.now_us,
    )
    .await
    {
        Ok(new) => {
            settle_and_finish(
                &ctx,
                "upgrade",
                Some(&offer.reference),
                Some(new.subscription.id),
            )
            .await
        }
        // Refused meanwhile (commitment, state): the page says why.
        Err(ServiceError::Refused { .. } | ServiceError::Conflict(_)) => {
            ctx.redirect(&format!("wf/change-plan/{}?offer={}", p.id, f.offer))
        }
        Err(e) => ctx.fail(e).into_response(),
    }
}
