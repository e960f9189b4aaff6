//! Choose a plan (`wf/plans[?subscription=&table=]`): the segment's pricing tables as tabs
//! (monthly / yearly ...), plain links so that the switcher works without JavaScript, and
//! each offer with its price and a "Choose" button: subscribe, or change the plan of
//! `subscription`.

use abo_service::offers::{OfferQuery, list_offers};
use abo_store::{PageRequest, pricing_tables};
use askama::Template;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};

use crate::portal::render::Chrome;
use crate::portal::{Ctx, ErrorKind, PortalError};

/// One tab of the switcher.
pub struct TableTab {
    pub name: String,
    pub url: String,
    pub current: bool,
    pub reference: String,
}

/// One offer of the grid.
pub struct PlanCard {
    pub reference: String,
    pub title: String,
    pub description: Option<String>,
    pub price: String,
    pub upfront: Option<String>,
    pub trial: Option<String>,
    pub features: Vec<String>,
    pub choose_url: String,
}

#[derive(Template)]
#[template(path = "workflows/plans.html")]
pub struct PlansPage {
    pub c: Chrome,
    pub tabs: Vec<TableTab>,
    pub plans: Vec<PlanCard>,
    /// Changing the plan of a subscription (else subscribing).
    pub upgrade: bool,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct PlansQuery {
    pub subscription: Option<i64>,
    pub table: Option<String>,
}

/// `GET wf/plans`.
pub async fn page(ctx: Ctx, Query(q): Query<PlansQuery>) -> Response {
    if let Some(id) = q.subscription
        && let Err(r) = super::change_plan::subscription_of(&ctx, id).await
    {
        return r;
    }
    match grid(&ctx, q.subscription, q.table.as_deref()).await {
        Ok(page) => ctx.render(&page),
        Err(e) => e.into_response(),
    }
}

/// The grid for subscribing (`subscription` = `None`) or changing the plan of a
/// subscription of the customer (checked by the caller).
pub async fn grid(
    ctx: &Ctx,
    subscription: Option<i64>,
    table: Option<&str>,
) -> Result<PlansPage, PortalError> {
    let tables = {
        let mut conn = ctx
            .state
            .store
            .acquire()
            .await
            .map_err(|e| ctx.fail(e.into()))?;
        pricing_tables::list(&mut conn, ctx.business.id, ctx.customer.segment_id)
            .await
            .map_err(|e| ctx.fail(e.into()))?
    };
    let selected = table
        .and_then(|r| tables.iter().find(|t| t.reference == r))
        .or(tables.first())
        .map(|t| t.reference.clone());
    if table.is_some() && selected.as_deref() != table {
        return Err(ctx.error(ErrorKind::NotFound));
    }
    let base = match subscription {
        Some(id) => format!("wf/plans?subscription={id}&"),
        None => "wf/plans?".to_owned(),
    };
    let tabs = tables
        .iter()
        .filter(|_| tables.len() > 1)
        .map(|t| TableTab {
            name: t.name.clone(),
            url: ctx.url(&format!(
                "{base}table={}",
                super::quote_view::encode(&t.reference)
            )),
            current: selected.as_deref() == Some(t.reference.as_str()),
            reference: t.reference.clone(),
        })
        .collect();
    let query = OfferQuery {
        segment_reference: Some(ctx.look.segment.reference.clone()),
        is_visible: Some(true),
        pricing_table_reference: selected,
        customer_reference: Some(ctx.customer.reference.clone()),
        upgrade: subscription.is_some(),
        subscription_id: subscription,
        language: Some(ctx.locale.as_str().to_owned()),
        html: false,
        ..OfferQuery::default()
    };
    let (page, _) = list_offers(
        &ctx.state.store,
        ctx.business.id,
        &query,
        PageRequest::new(0, 100),
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    let plans = page
        .items
        .into_iter()
        .map(|o| {
            let trial = (o.duration_trial > 0).then(|| {
                let unit = o
                    .unit_trial
                    .as_deref()
                    .and_then(|u| u.parse::<abo_core::PeriodUnit>().ok())
                    .unwrap_or(abo_core::PeriodUnit::Day);
                let count = u32::try_from(o.duration_trial).unwrap_or(1);
                abo_service::offers::per_period(unit, count, ctx.locale)
                    .trim_start_matches('/')
                    .to_owned()
            });
            let choose_url = match subscription {
                Some(id) => ctx.url(&format!("wf/change-plan/{id}?offer={}", o.id)),
                None => ctx.url(&format!("wf/subscribe/{}", o.id)),
            };
            PlanCard {
                upfront: (o.amount_upfront > 0).then(|| ctx.money(o.amount_upfront, &o.currency)),
                price: o.pricing_localized.clone().unwrap_or_default(),
                features: o
                    .features
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|f| f.is_visible && f.is_included)
                    .map(|f| match f.pricing_localized {
                        Some(p) => format!("{} ({p})", f.title_localized),
                        None => f.title_localized,
                    })
                    .collect(),
                trial,
                choose_url,
                reference: o.reference,
                title: o.title_localized,
                description: o.description_localized,
            }
        })
        .collect();
    Ok(PlansPage {
        c: ctx.chrome(if subscription.is_some() {
            "subscriptions"
        } else {
            "offers"
        }),
        tabs,
        plans,
        upgrade: subscription.is_some(),
    })
}
