//! The offers the customer can subscribe to (the segment's visible offers), each with a
//! "Choose" button that starts the subscribe workflow (`wf/subscribe/{offer id}`).

use abo_service::offers::OfferQuery;
use abo_store::PageRequest;
use askama::Template;
use axum::response::{IntoResponse, Response};

use crate::portal::render::Chrome;
use crate::portal::{Ctx, PortalError};

/// One offer as the portal shows it.
pub struct OfferCard {
    pub id: i64,
    pub reference: String,
    pub title: String,
    pub description: Option<String>,
    pub price: String,
    pub trial: Option<String>,
    pub features: Vec<String>,
}

/// The segment's visible offers, in the customer's language.
pub async fn offer_cards(ctx: &Ctx) -> Result<Vec<OfferCard>, PortalError> {
    let query = OfferQuery {
        segment_reference: Some(ctx.look.segment.reference.clone()),
        is_visible: Some(true),
        customer_reference: Some(ctx.customer.reference.clone()),
        language: Some(ctx.locale.as_str().to_owned()),
        html: false,
        ..OfferQuery::default()
    };
    let (page, _) = abo_service::offers::list_offers(
        &ctx.state.store,
        ctx.business.id,
        &query,
        PageRequest::new(0, 100),
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    Ok(page
        .items
        .into_iter()
        .map(|o| OfferCard {
            id: o.id,
            trial: (o.duration_trial > 0).then(|| {
                let unit = o
                    .unit_trial
                    .as_deref()
                    .and_then(|u| u.parse::<abo_core::PeriodUnit>().ok())
                    .unwrap_or(abo_core::PeriodUnit::Day);
                let count = u32::try_from(o.duration_trial).unwrap_or(1);
                abo_service::offers::per_period(unit, count, ctx.locale)
                    .trim_start_matches('/')
                    .to_owned()
            }),
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
            reference: o.reference,
            title: o.title_localized,
            description: o.description_localized,
        })
        .collect())
}

#[derive(Template)]
#[template(path = "portal/offers.html")]
pub struct OffersPage {
    pub c: Chrome,
    pub offers: Vec<OfferCard>,
}

/// `GET /portal/s/{session}/offers`.
pub async fn page(ctx: Ctx) -> Response {
    match offer_cards(&ctx).await {
        Ok(offers) => ctx.render(&OffersPage {
            c: ctx.chrome("offers"),
            offers,
        }),
        Err(e) => e.into_response(),
    }
}
