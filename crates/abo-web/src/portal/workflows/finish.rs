//! The end of a workflow: the payment step after the change, then the merchant's return URL
//! (spec §3.5) or the confirmation page; and the confirmation page itself.

use abo_service::workflows::{self, Outcome, Settlement};
use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};

use super::quote_view::{PayView, QuoteView};
use crate::portal::render::{Chrome, see_other};
use crate::portal::{Ctx, ErrorKind, PortalForm};

/// The confirmation page of every workflow that changes something: the quote, the payment
/// step, and the form that commits.
#[derive(Template)]
#[template(path = "workflows/confirm.html")]
pub struct ConfirmPage {
    pub c: Chrome,
    /// Catalogue keys of the page title and of the commit button.
    pub title: &'static str,
    pub button: &'static str,
    /// What is being done ("Pro, €19.00/month"), already worded.
    pub summary: String,
    pub q: QuoteView,
    pub pay: PayView,
    /// Where the form posts (relative to the session).
    pub action: String,
    /// Hidden fields carried to the POST (`name`, `value`).
    pub hidden: Vec<(String, String)>,
    /// A refusal to show instead of the button (catalogue key).
    pub refusal: Option<&'static str>,
    /// `data-workflow` hook.
    pub workflow: &'static str,
}

impl ConfirmPage {
    /// Whether the commit button can be offered.
    pub fn can_commit(&self) -> bool {
        self.refusal.is_none()
            && !self.pay.needs_method
            && (self.q.is_free || !self.pay.grey_listed)
    }
}

/// Runs the payment step for the customer, then ends the workflow.
pub async fn settle_and_finish(
    ctx: &Ctx,
    from: &'static str,
    offer_reference: Option<&str>,
    subscription_id: Option<i64>,
) -> Response {
    match workflows::settle(
        &ctx.state.store,
        &ctx.state.gateways,
        ctx.business.id,
        ctx.customer.id,
        ctx.now_us,
    )
    .await
    {
        Ok(s) => finish(ctx, from, s, offer_reference, subscription_id).await,
        Err(e) => ctx.fail(e).into_response(),
    }
}

/// Sends the customer to the return URL, or to the confirmation page.
pub async fn finish(
    ctx: &Ctx,
    from: &'static str,
    s: Settlement,
    offer_reference: Option<&str>,
    subscription_id: Option<i64>,
) -> Response {
    if let (true, Some(invoice)) = (s.needs_authentication, s.invoice_id) {
        // The bank asks for 3-D Secure before charging: its challenge first.
        let mut rel = format!("wf/authenticate/{invoice}?from={from}");
        if let Some(r) = offer_reference {
            rel.push_str(&format!("&refo={}", super::quote_view::encode(r)));
        }
        if let Some(id) = subscription_id {
            rel.push_str(&format!("&idsub={id}"));
        }
        return ctx.redirect(&rel);
    }
    let url = workflows::return_url(&ctx.state.store, ctx.business.id, ctx.customer.segment_id)
        .await
        .ok()
        .flatten();
    match url {
        Some(url) => {
            let location = workflows::return_location(
                &url,
                from,
                s.outcome,
                ctx.customer.id,
                offer_reference,
                subscription_id,
            );
            see_other(&location, &ctx.look.csp)
        }
        None => {
            let mut rel = format!("wf/done?from={from}&outcome={}", s.outcome.as_str());
            if s.declined {
                rel.push_str("&declined=1");
            }
            ctx.redirect(&rel)
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub declined: Option<String>,
}

#[derive(Template)]
#[template(path = "workflows/done.html")]
pub struct DonePage {
    pub c: Chrome,
    pub outcome: &'static str,
    /// Catalogue key of the message.
    pub message: &'static str,
    pub declined: bool,
}

/// `GET wf/done?from=&outcome=`: the confirmation page (only known codes are shown).
pub async fn done_page(ctx: Ctx, Query(q): Query<DoneQuery>) -> Response {
    let outcome = match q.outcome.as_str() {
        "paid" => Outcome::Paid,
        "pending" => Outcome::Pending,
        "registered" => Outcome::Registered,
        "due" => Outcome::Due,
        _ => Outcome::NoCharge,
    };
    let message = match outcome {
        Outcome::Paid => "wf.done.paid",
        Outcome::Pending => "wf.done.pending",
        Outcome::Registered => "wf.done.registered",
        Outcome::Due => "wf.done.due",
        Outcome::NoCharge => "wf.done.nocharge",
    };
    let _ = q.from;
    ctx.render(&DonePage {
        c: ctx.chrome(""),
        outcome: outcome.as_str(),
        message,
        declined: q.declined.is_some(),
    })
}

/// The workflow a challenge belongs to (carried to the end of the workflow).
#[derive(Debug, Default, serde::Deserialize)]
pub struct ChallengeQuery {
    #[serde(default)]
    pub from: String,
    pub refo: Option<String>,
    pub idsub: Option<i64>,
}

#[derive(Template)]
#[template(path = "workflows/challenge.html")]
pub struct ChallengePage {
    pub c: Chrome,
    pub action: String,
    pub amount: String,
}

/// The `from` codes of spec §3.5 (a crafted URL cannot send another one on).
fn known_from(from: &str) -> &'static str {
    match from {
        "subscribe" => "subscribe",
        "upgrade" => "upgrade",
        "restart" => "restart",
        "options" => "options",
        "terminate" => "terminate",
        "permission" => "permission",
        "portal" => "portal",
        _ => "invoice",
    }
}

/// `GET wf/authenticate/{invoice id}`: the sandbox bank's 3-D Secure page for the charge.
pub async fn challenge_page(
    ctx: Ctx,
    Path(p): Path<super::IdPath>,
    Query(q): Query<ChallengeQuery>,
) -> Response {
    let invoice = {
        let mut conn = match ctx.state.store.acquire().await {
            Ok(c) => c,
            Err(e) => return ctx.fail(e.into()).into_response(),
        };
        match abo_store::invoices::get(&mut conn, ctx.business.id, p.id).await {
            Ok(i) if i.customer_id == ctx.customer.id => i,
            _ => return ctx.error(ErrorKind::NotFound).into_response(),
        }
    };
    let mut action = format!("wf/authenticate/{}?from={}", p.id, known_from(&q.from));
    if let Some(r) = &q.refo {
        action.push_str(&format!("&refo={}", super::quote_view::encode(r)));
    }
    if let Some(id) = q.idsub {
        action.push_str(&format!("&idsub={id}"));
    }
    ctx.render(&ChallengePage {
        c: ctx.chrome(""),
        action,
        amount: ctx.money(invoice.amount_total, &invoice.currency),
    })
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    pub answer: String,
}

/// `POST wf/authenticate/{invoice id}` (`answer` = `approve` or `refuse`).
pub async fn challenge_submit(
    Path(p): Path<super::IdPath>,
    Query(q): Query<ChallengeQuery>,
    PortalForm(ctx, f): PortalForm<AnswerForm>,
) -> Response {
    match workflows::complete_charge_authentication(
        &ctx.state.store,
        &ctx.state.gateways,
        ctx.business.id,
        ctx.customer.id,
        p.id,
        f.answer == "approve",
        ctx.now_us,
    )
    .await
    {
        Ok(mut s) => {
            // Refused: the invoice stays due; never loop back to the challenge.
            s.needs_authentication = false;
            finish(&ctx, known_from(&q.from), s, q.refo.as_deref(), q.idsub).await
        }
        Err(e) => ctx.fail(e).into_response(),
    }
}
