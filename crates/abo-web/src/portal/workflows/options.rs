//! Change options (`wf/options/{subscription id}`): the quantities of the subscription's
//! Limitation features that may change after subscribing, and its priced OnOff options. The
//! form is a plain GET ("See the price") that shows the quote of the new values, then a POST
//! that applies them (`usages::record_usages`, all or nothing) and runs the payment step.

use std::collections::HashMap;

use abo_service::quoting::{self, UsageQuoteOptions};
use abo_service::usages::{self, UsageChange, UsageWrite};
use abo_store::subscriptions as store_subs;
use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};

use super::IdPath;
use super::change_plan::subscription_of;
use super::finish::settle_and_finish;
use super::quote_view::{PayView, QuoteView};
use crate::portal::render::Chrome;
use crate::portal::{Ctx, PortalForm};

/// One editable feature.
pub struct OptionField {
    pub reference: String,
    pub title: String,
    /// A quantity (Limitation) or a switch (OnOff option).
    pub is_quantity: bool,
    pub included: i64,
    /// The current value (quantity, or 1/0).
    pub current: i64,
    /// The value in the form (asked for, else current).
    pub value: i64,
    pub price: Option<String>,
}

#[derive(Template)]
#[template(path = "workflows/options.html")]
pub struct OptionsPage {
    pub c: Chrome,
    pub title: String,
    pub fields: Vec<OptionField>,
    pub action: String,
    /// The quote of the asked values, when they change something.
    pub q: Option<QuoteView>,
    pub pay: Option<PayView>,
    pub error: Option<String>,
    /// Hidden fields of the confirmation form.
    pub hidden: Vec<(String, String)>,
}

impl OptionsPage {
    pub fn can_commit(&self) -> bool {
        match (&self.q, &self.pay) {
            (Some(q), Some(p)) => !p.needs_method && (q.is_free || !p.grey_listed),
            _ => false,
        }
    }
}

/// The editable features of a subscription, with the values asked in `form` (`q.{ref}` for
/// quantities, `on.{ref}` for switches; a switch absent from a submitted form is off).
async fn fields(
    ctx: &Ctx,
    id: i64,
    form: &HashMap<String, String>,
    submitted: bool,
) -> Result<Vec<OptionField>, Response> {
    let mut conn = match ctx.state.store.acquire().await {
        Ok(c) => c,
        Err(e) => return Err(ctx.fail(e.into()).into_response()),
    };
    let sub = match store_subs::get(&mut conn, ctx.business.id, id).await {
        Ok(s) => s,
        Err(e) => return Err(ctx.fail(e.into()).into_response()),
    };
    let mut out = Vec::new();
    for f in &sub.features {
        let t = &f.terms;
        let title = abo_store::features::get(&mut conn, ctx.business.id, t.feature_id)
            .await
            .map(|x| x.name)
            .unwrap_or_else(|_| f.feature_reference.clone());
        match f.type_feature.as_str() {
            "Limitation" if t.updatable_after_subscription && t.quantity_included.is_some() => {
                let current = f.quantity_current.unwrap_or(0);
                let value = form
                    .get(&format!("q.{}", f.feature_reference))
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .filter(|v| *v >= 0)
                    .unwrap_or(current);
                out.push(OptionField {
                    reference: f.feature_reference.clone(),
                    title,
                    is_quantity: true,
                    included: t.quantity_included.unwrap_or(0),
                    current,
                    value,
                    price: t.pricing_amount.map(|a| ctx.money(a, &sub.currency)),
                });
            }
            "OnOff" if !t.is_included && t.pricing_amount.is_some_and(|a| a > 0) => {
                let current = i64::from(t.is_enabled);
                let value = if submitted {
                    i64::from(form.contains_key(&format!("on.{}", f.feature_reference)))
                } else {
                    current
                };
                out.push(OptionField {
                    reference: f.feature_reference.clone(),
                    title,
                    is_quantity: false,
                    included: 0,
                    current,
                    value,
                    price: t.pricing_amount.map(|a| ctx.money(a, &sub.currency)),
                });
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The usage writes that take the subscription to the asked values.
fn writes(id: i64, fields: &[OptionField]) -> Vec<UsageWrite> {
    fields
        .iter()
        .filter(|f| f.value != f.current)
        .map(|f| UsageWrite {
            feature_reference: f.reference.clone(),
            customer_reference: None,
            subscription_id: Some(id),
            change: if f.is_quantity {
                UsageChange::Quantity(f.value)
            } else {
                UsageChange::Enabled(f.value != 0)
            },
            date_stamp_us: None,
            idempotency_key: None,
        })
        .collect()
}

fn hidden_of(fields: &[OptionField]) -> Vec<(String, String)> {
    fields
        .iter()
        .filter_map(|f| {
            if f.is_quantity {
                Some((format!("q.{}", f.reference), f.value.to_string()))
            } else {
                (f.value != 0).then(|| (format!("on.{}", f.reference), "on".to_owned()))
            }
        })
        .chain(std::iter::once(("submitted".to_owned(), "1".to_owned())))
        .collect()
}

/// `GET wf/options/{id}[?preview=1&q.seats=4&on.support=on]`.
pub async fn page(
    ctx: Ctx,
    Path(p): Path<IdPath>,
    Query(form): Query<HashMap<String, String>>,
) -> Response {
    let sub = match subscription_of(&ctx, p.id).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let submitted = form.contains_key("submitted");
    let fields = match fields(&ctx, p.id, &form, submitted).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let changes = writes(p.id, &fields);
    let mut page = OptionsPage {
        c: ctx.chrome("subscriptions"),
        title: sub.subscription.title.clone(),
        action: format!("wf/options/{}", p.id),
        q: None,
        pay: None,
        error: None,
        hidden: hidden_of(&fields),
        fields,
    };
    if submitted && !changes.is_empty() {
        let options = UsageQuoteOptions {
            ensure_billable: Some(false),
            next_term: true,
        };
        match quoting::quote_usage_changes(
            &ctx.state.store,
            ctx.business.id,
            &changes,
            options,
            ctx.now_us,
        )
        .await
        {
            Ok(quote) => {
                let q = QuoteView::new(&ctx, &quote);
                let back = format!(
                    "wf/options/{}?{}",
                    p.id,
                    page.hidden
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join("&")
                );
                page.pay = Some(PayView::new(&ctx, q.due_minor, &back).await);
                page.q = Some(q);
            }
            Err(abo_service::ServiceError::Invalid(m)) => page.error = Some(m.join(" ")),
            Err(abo_service::ServiceError::Refused { .. }) => {
                page.error = Some(ctx.texts.get("wf.options.refused").to_owned());
            }
            Err(e) => return ctx.fail(e).into_response(),
        }
    }
    ctx.render(&page)
}

/// `POST wf/options/{id}`: applies the values (all or nothing), then the payment step.
pub async fn submit(
    Path(p): Path<IdPath>,
    PortalForm(ctx, form): PortalForm<HashMap<String, String>>,
) -> Response {
    let sub = match subscription_of(&ctx, p.id).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let fields = match fields(&ctx, p.id, &form, true).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let changes = writes(p.id, &fields);
    if !changes.is_empty()
        && let Err(e) =
            usages::record_usages(&ctx.state.store, ctx.business.id, &changes, ctx.now_us).await
    {
        return match e {
            abo_service::ServiceError::Invalid(_) | abo_service::ServiceError::Refused { .. } => {
                ctx.redirect(&format!("wf/options/{}", p.id))
            }
            e => ctx.fail(e).into_response(),
        };
    }
    settle_and_finish(&ctx, "options", sub.offer_reference.as_deref(), Some(p.id)).await
}
