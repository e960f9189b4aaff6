//! Subscriptions section: the list when the customer has several, the detail when one, the
//! offers when none; actions Change plan, Change options, Terminate, Restart, Choose an
//! offer; scheduled changes shown, a scheduled termination cancellable.

use abo_core::{PeriodUnit, SubscriptionState, SubscriptionStatus};
use abo_service::subscriptions::SubscriptionView;
use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};

use super::offers::{OfferCard, offer_cards};
use super::{NoticeQuery, notice};
use crate::portal::render::Chrome;
use crate::portal::{Ctx, ErrorKind, PortalForm};

/// One subscription as the portal shows it.
pub struct SubCard {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    /// `Active`, `Suspended`, `Ended`, `Draft`, `Deleted` (CSS class and `state.*` key).
    pub status: &'static str,
    pub status_key: String,
    pub price: Option<String>,
    /// (catalogue key, value).
    pub facts: Vec<(&'static str, String)>,
    /// A scheduled change, already worded.
    pub scheduled: Option<String>,
    pub features: Vec<String>,
    pub change_plan: bool,
    pub change_options: bool,
    pub terminate: bool,
    pub restart: bool,
    pub choose_offer: bool,
    pub cancel_termination: bool,
}

fn status_name(s: SubscriptionStatus) -> &'static str {
    match s {
        SubscriptionStatus::Active => "Active",
        SubscriptionStatus::Draft => "Draft",
        SubscriptionStatus::Suspended => "Suspended",
        SubscriptionStatus::Ended => "Ended",
        SubscriptionStatus::Deleted => "Deleted",
    }
}

/// The card of one subscription.
pub fn card(ctx: &Ctx, v: &SubscriptionView) -> SubCard {
    let s = &v.subscription;
    let status = status_name(v.status());
    let price = (s.amount_recurrence > 0).then(|| {
        let unit = s
            .unit_recurrence
            .parse::<PeriodUnit>()
            .unwrap_or(PeriodUnit::Month);
        let count = u32::try_from(s.duration_recurrence).unwrap_or(1);
        format!(
            "{}{}",
            ctx.money(s.amount_recurrence, &s.currency),
            abo_service::offers::per_period(unit, count, ctx.locale)
        )
    });
    let mut facts = Vec::new();
    if let Some(d) = s.date_start_us {
        facts.push(("subs.started", ctx.date_us(d)));
    }
    let state = v.state;
    match v.status() {
        SubscriptionStatus::Active => {
            if s.is_trial
                && let Some(end) = s.date_period_end_us
            {
                facts.push(("subs.trial", ctx.date_us(end)));
            }
            if let Some(term) = s.date_term_us {
                let key = if state == SubscriptionState::ActiveRunning {
                    "subs.renews"
                } else {
                    "subs.ends"
                };
                facts.push((key, ctx.date_us(term)));
            }
            if let Some(b) = v.date_next_billing_us
                && state == SubscriptionState::ActiveRunning
            {
                facts.push(("subs.next_billing", ctx.date_us(b)));
            }
        }
        SubscriptionStatus::Ended => {
            if let Some(end) = s.date_end_us {
                facts.push(("subs.ended", ctx.date_us(end)));
            }
        }
        _ => {}
    }
    let term = s.date_term_us.map(|t| ctx.date_us(t)).unwrap_or_default();
    let scheduled = match state {
        SubscriptionState::ActiveDelayedTermination => Some(
            ctx.texts
                .fmt("subs.scheduled_termination", &[("date", &term)]),
        ),
        SubscriptionState::ActiveDelayedUpgrade => {
            Some(ctx.texts.fmt("subs.scheduled_change", &[("date", &term)]))
        }
        SubscriptionState::ActiveDelayedSuspension => Some(
            ctx.texts
                .fmt("subs.scheduled_suspension", &[("date", &term)]),
        ),
        _ => None,
    };
    let unlimited = ctx.texts.get("subs.unlimited");
    let features = v
        .features
        .iter()
        .filter(|f| f.is_visible && f.is_included)
        // What is used against what the plan includes ("Team members: 2 / 5"),
        // so a customer who used nothing yet does not read "0 included".
        .map(|f| {
            match (
                f.type_feature.as_str(),
                f.quantity_current,
                f.quantity_included,
            ) {
                ("OnOff", ..) => f.title.clone(),
                (_, Some(q), Some(included)) => format!("{}: {q} / {included}", f.title),
                (_, Some(q), None) => format!("{}: {q}", f.title),
                (_, None, _) => format!("{}: {unlimited}", f.title),
            }
        })
        .collect();
    let running = state == SubscriptionState::ActiveRunning;
    SubCard {
        id: s.id,
        title: s.title.clone(),
        description: s.description.clone(),
        status,
        status_key: format!("state.{status}"),
        price,
        facts,
        scheduled,
        features,
        // ProAbono hides "Change plan" and "Terminate" while the customer is committed.
        change_plan: running && !v.is_engaged,
        change_options: running && v.features.iter().any(|f| f.type_feature != "Consumption"),
        terminate: running && (!v.is_engaged || s.amount_termination > 0),
        restart: v.status() == SubscriptionStatus::Suspended,
        choose_offer: v.status() == SubscriptionStatus::Ended,
        cancel_termination: state == SubscriptionState::ActiveDelayedTermination,
    }
}

/// The customer's subscriptions worth showing: everything but deleted ones and the drafts
/// that only exist to replace another at its term (shown on that one).
///
/// Read fresh on every page (the home is the portal's busiest page: two or three
/// statements, see `abo_store::portal_reads`), for the session's customer as the recipient,
/// in its segment.
async fn visible_subscriptions(
    ctx: &Ctx,
) -> Result<Vec<SubscriptionView>, crate::portal::PortalError> {
    let mut items = abo_service::subscriptions::list_of_customer(
        &ctx.state.store,
        &ctx.look.segment,
        &ctx.customer,
        MAX_LISTED,
        ctx.now_us,
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    items.retain(|v| {
        !matches!(
            v.state,
            SubscriptionState::Deleted | SubscriptionState::DraftDelayedUpgrade
        )
    });
    // Active first, then suspended, drafts, ended; newest first within each.
    let rank = |v: &SubscriptionView| match v.status() {
        SubscriptionStatus::Active => 0,
        SubscriptionStatus::Suspended => 1,
        SubscriptionStatus::Draft => 2,
        SubscriptionStatus::Ended => 3,
        SubscriptionStatus::Deleted => 4,
    };
    items.sort_by_key(|v| (rank(v), std::cmp::Reverse(v.subscription.id)));
    Ok(items)
}

/// How many subscriptions the home lists at most (oldest first, as the API pages them).
const MAX_LISTED: i64 = 200;

#[derive(Template)]
#[template(path = "portal/subscriptions.html")]
pub struct SubscriptionsPage {
    pub c: Chrome,
    /// Several: the list; one: its detail; none: the offers.
    pub subs: Vec<SubCard>,
    pub detail: bool,
    pub offers: Vec<OfferCard>,
}

/// `GET /portal/s/{session}/home`: the portal home (subscriptions section).
pub async fn home(ctx: Ctx, Query(q): Query<NoticeQuery>) -> Response {
    let subs = match visible_subscriptions(&ctx).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let offers = if subs.is_empty() {
        match offer_cards(&ctx).await {
            Ok(o) => o,
            Err(e) => return e.into_response(),
        }
    } else {
        Vec::new()
    };
    let mut c = ctx.chrome("subscriptions");
    c.notice = notice(q.ok.as_deref());
    let page = SubscriptionsPage {
        detail: subs.len() == 1,
        subs: subs.iter().map(|v| card(&ctx, v)).collect(),
        offers,
        c,
    };
    ctx.render(&page)
}

#[derive(serde::Deserialize)]
pub struct IdPath {
    pub id: i64,
}

async fn own_subscription(
    ctx: &Ctx,
    id: i64,
) -> Result<SubscriptionView, crate::portal::PortalError> {
    let v = abo_service::subscriptions::get(&ctx.state.store, ctx.business.id, id, ctx.now_us)
        .await
        .map_err(|e| ctx.fail(e))?;
    if v.subscription.customer_id != ctx.customer.id {
        return Err(ctx.error(ErrorKind::NotFound));
    }
    Ok(v)
}

/// `GET /portal/s/{session}/subscriptions/{id}`.
pub async fn detail(ctx: Ctx, Path(p): Path<IdPath>, Query(q): Query<NoticeQuery>) -> Response {
    let v = match own_subscription(&ctx, p.id).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let mut c = ctx.chrome("subscriptions");
    c.notice = notice(q.ok.as_deref());
    let page = SubscriptionsPage {
        subs: vec![card(&ctx, &v)],
        detail: true,
        offers: Vec::new(),
        c,
    };
    ctx.render(&page)
}

#[derive(Template)]
#[template(path = "portal/terminate.html")]
pub struct TerminatePage {
    pub c: Chrome,
    pub sub: SubCard,
    /// Worded rules (at term / commitment / fee).
    pub explanation: Vec<String>,
    pub at_term: bool,
    pub with_fee: bool,
}

/// `GET /portal/s/{session}/subscriptions/{id}/terminate`.
pub async fn terminate_page(ctx: Ctx, Path(p): Path<IdPath>) -> Response {
    let v = match own_subscription(&ctx, p.id).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let info = match abo_service::portal::subscriptions::termination_info(
        &ctx.state.store,
        ctx.business.id,
        ctx.customer.id,
        p.id,
        ctx.now_us,
    )
    .await
    {
        Ok(i) => i,
        Err(e) => return ctx.fail(e).into_response(),
    };
    let mut explanation = Vec::new();
    if info.at_term_allowed
        && let Some(term) = info.term
    {
        explanation.push(ctx.texts.fmt("term.at_term", &[("date", &ctx.date(term))]));
    }
    if !info.at_term_allowed
        && let Some(end) = info.commitment_end
    {
        explanation.push(ctx.texts.fmt("term.engaged", &[("date", &ctx.date(end))]));
    }
    if let Some(fee) = info.immediate_with_fee {
        explanation.push(ctx.texts.fmt(
            "term.fee",
            &[("amount", &ctx.money(fee, &v.subscription.currency))],
        ));
    }
    if !info.at_term_allowed && info.immediate_with_fee.is_none() && info.commitment_end.is_none() {
        explanation.push(ctx.texts.get("term.not_allowed").to_owned());
    }
    let page = TerminatePage {
        c: ctx.chrome("subscriptions"),
        sub: card(&ctx, &v),
        explanation,
        at_term: info.at_term_allowed,
        with_fee: info.immediate_with_fee.is_some(),
    };
    ctx.render(&page)
}

#[derive(serde::Deserialize)]
pub struct TerminateForm {
    /// `at-term` (default) or `now-with-fee`.
    #[serde(default)]
    pub mode: String,
}

/// `POST /portal/s/{session}/subscriptions/{id}/terminate`.
pub async fn terminate(
    Path(p): Path<IdPath>,
    PortalForm(ctx, form): PortalForm<TerminateForm>,
) -> Response {
    let with_fee = form.mode == "now-with-fee";
    match abo_service::portal::subscriptions::terminate(
        &ctx.state.store,
        ctx.business.id,
        ctx.customer.id,
        p.id,
        with_fee,
        ctx.now_us,
    )
    .await
    {
        Ok(_) => ctx.redirect(&format!("subscriptions/{}?ok=terminated", p.id)),
        Err(abo_service::ServiceError::Refused { .. } | abo_service::ServiceError::Conflict(_)) => {
            ctx.redirect(&format!("subscriptions/{}/terminate", p.id))
        }
        Err(e) => ctx.fail(e).into_response(),
    }
}

/// `POST /portal/s/{session}/subscriptions/{id}/cancel-termination`.
pub async fn cancel_termination(
    Path(p): Path<IdPath>,
    PortalForm(ctx, _): PortalForm<serde::de::IgnoredAny>,
) -> Response {
    match abo_service::portal::subscriptions::cancel_termination(
        &ctx.state.store,
        ctx.business.id,
        ctx.customer.id,
        p.id,
        ctx.now_us,
    )
    .await
    {
        Ok(()) => ctx.redirect(&format!("subscriptions/{}?ok=uncancelled", p.id)),
        Err(abo_service::ServiceError::Conflict(_)) => {
            ctx.redirect(&format!("subscriptions/{}", p.id))
        }
        Err(e) => ctx.fail(e).into_response(),
    }
}
